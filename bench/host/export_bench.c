// SPDX-License-Identifier: GPL-2.0
/*
 * export_bench: oteld's export path alone, fed by an in-memory span
 * generator instead of a capture, so it can be measured whatever the
 * record format: spans like otel_bench's kernel span (name
 * "otel_bench.span", kind INTERNAL, scope otel_bench, two INT attributes),
 * allocated field by field as the assembler does (span_free() frees them).
 *
 *   export_bench encode N
 *	wire_encode() of batches of 512 such spans: ns per span (one thread)
 *   export_bench send N URL [OTELD FLAGS...]
 *	the generator (this thread) -> queue -> exporter threads -> URL, with
 *	oteld's configuration (flags and OTEL_* environment); prints the CPU
 *	(user + sys) per span of the whole process and of the generator
 *
 * Built by bench/Makefile with oteld's sources (not main.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "otlp.h"

#define BATCH 512

static struct span *make_span(uint64_t i, uint64_t t0)
{
	struct span *s = calloc(1, sizeof(*s));
	uint64_t id = i * 0x9e3779b97f4a7c15ull + 1;

	if (!s)
		return NULL;
	memcpy(s->trace_id, &id, 8);
	memcpy(s->trace_id + 8, &i, 8);
	memcpy(s->span_id, &id, 8);
	s->trace_flags = 1;
	s->kind = OTEL_SPAN_KIND_INTERNAL;
	s->name = strdup("otel_bench.span");
	s->scope_name = strdup("otel_bench");
	s->scope_version = strdup("");
	s->start = t0 + i * 1000;
	s->end = s->start + 700;
	s->attrs = calloc(2, sizeof(*s->attrs));
	if (!s->name || !s->scope_name || !s->scope_version || !s->attrs)
		return s;	/* span_free() takes what there is */
	s->attrs[0] = (struct attr){ .key = strdup("bench.a"),
				     .type = OTEL_ATTR_INT, .i = (int64_t)i };
	s->attrs[1] = (struct attr){ .key = strdup("bench.b"),
				     .type = OTEL_ATTR_INT, .i = -(int64_t)i };
	s->nr_attrs = 2;
	return s;
}

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int encode(long n)
{
	struct config cfg = { 0 };
	struct resource res;
	struct span *v[BATCH];
	struct wire w = { 0 };
	size_t bytes = 0;
	double t0, t;
	long i, done;
	int j;

	if (resource_build(&res, &cfg))
		return 1;
	for (j = 0; j < BATCH; j++)
		v[j] = make_span(j, 1700000000000000000ull);
	wire_encode(&w, v, BATCH, &res);	/* warm: the buffer grows once */
	t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	for (i = 0, done = 0; done < n; i++, done += BATCH) {
		if (wire_encode(&w, v, BATCH, &res))
			return 1;
		bytes += wire_len(&w);
	}
	t = now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
	printf("wire_encode: %.1f ns/span, %.1f bytes/span, %ld spans\n",
	       t * 1e9 / done, (double)bytes / done, done);
	for (j = 0; j < BATCH; j++)
		span_free(v[j]);
	wire_free(&w);
	resource_free(&res);
	return 0;
}

static int send_spans(long n, int argc, char **argv)
{
	struct resource res;
	struct exporter *e;
	struct config cfg;
	struct rusage ru;
	struct queue *q;
	double gen0, gen, wall0, cpu;
	long i;

	if (config_load(&cfg, argc, argv) || resource_build(&res, &cfg))
		return 2;
	q = queue_new(cfg.max_queue, cfg.max_batch, cfg.schedule_delay_ms);
	if (!q)
		return 1;
	queue_set_blocking(q, true);	/* as a replay: nothing dropped */
	e = exporter_start(&cfg, &res, q);
	if (!e)
		return 1;
	wall0 = now_s(CLOCK_MONOTONIC);
	gen0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	for (i = 0; i < n; i++)
		queue_push(q, make_span(i, 1700000000000000000ull));
	gen = now_s(CLOCK_THREAD_CPUTIME_ID) - gen0;
	exporter_stop(e);
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("send: %ld spans in %.3f s wall; process cpu %.3f us/span "
	       "(user %.3f s, sys %.3f s), %.0f spans/s per core; "
	       "generator %.3f us/span\n", n, now_s(CLOCK_MONOTONIC) - wall0,
	       cpu * 1e6 / n, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, n / cpu,
	       gen * 1e6 / n);
	stats_log("exit");
	queue_free(q);
	resource_free(&res);
	config_free(&cfg);
	return atomic_load(&stats.spans_exported) == (unsigned long long)n ?
	       0 : 1;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;

	if (argc == 3 && !strcmp(argv[1], "encode") && n > 0)
		return encode(n);
	if (argc >= 4 && !strcmp(argv[1], "send") && n > 0) {
		/* oteld's flags: export_bench --endpoint URL [FLAGS...] */
		argv[1] = "export_bench";
		argv[2] = "--endpoint";
		return send_spans(n, argc - 1, argv + 1);
	}
	fprintf(stderr, "usage: export_bench encode N | "
		"send N URL [OTELD FLAGS...]\n");
	return 2;
}
