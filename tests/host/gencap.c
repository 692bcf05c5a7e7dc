// SPDX-License-Identifier: GPL-2.0
/*
 * gencap: write synthetic oteld capture files for the host tests.
 *
 *   gencap contract FILE   the contract scenario (otlp_test.js checks it)
 *   gencap many N FILE     N one-attribute root spans
 *
 * Capture clock anchor: mono 1 s = Unix 1700000000 s, so a record at
 * mono 1 s + x ns is exported at 1700000000000000000 + x.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "synth.h"

#define T0 1000000000ull

static const struct anchor anchor = { T0, 1700000000000000000ull };

static void frame(struct capture *c, struct buf *b)
{
	capture_write(c, CAPTURE_RECORDS, b->data, b->len);
	b->len = 0;
}

static void span_init(struct synth_span *s, uint64_t trace, uint64_t id,
		      const struct synth_span *parent)
{
	memset(s, 0, sizeof(*s));
	synth_id(s->trace_id, sizeof(s->trace_id), trace);
	synth_id(s->span_id, sizeof(s->span_id), id);
	if (parent)
		memcpy(s->parent, parent->span_id, sizeof(s->parent));
}

/*
 * Root R (server) and child C (client) of one trace, their records split
 * over CPUs 0 and 1 and read back in an order where R's END comes before
 * its BEGIN; span I1 never ends; span I2 ends but lost one record.
 */
static void contract(struct capture *c)
{
	struct synth_span r, ch, x, i1, i2, late;
	struct otel_cpu_stats k = { .dropped_full = 5, .dropped_too_big = 1 };
	struct buf cpu0 = { 0 }, cpu1 = { 0 };
	double pi = 3.14159;
	int64_t pi_bits;

	memcpy(&pi_bits, &pi, sizeof(pi_bits));
	span_init(&r, 1, 101, NULL);
	span_init(&ch, 1, 102, &r);
	span_init(&x, 9, 109, NULL);	/* link target, never sent */
	span_init(&i1, 2, 201, NULL);
	span_init(&i2, 3, 301, NULL);
	span_init(&late, 4, 401, NULL);

	/* CPU 1 ring, read first */
	synth_attr(&cpu1, &r, 1, 0, OTEL_ATTR_STRING, "demo.str",
		   "hello \"world\"\n", 0, 0);
	synth_attr(&cpu1, &r, 1, 0, OTEL_ATTR_INT, "demo.int", NULL, -42, 0);
	synth_begin(&cpu1, &ch, 1, T0 + 100000, OTEL_SPAN_KIND_CLIENT,
		    "demo.child", "oteltrace_demo", "1.2.3");
	synth_status(&cpu1, &r, 1, T0 + 100, OTEL_STATUS_OK, "");
	synth_unknown(&cpu1, 99, 40);
	synth_unknown(&cpu1, OTEL_REC_PAD, 8);
	/* CPU 0 ring */
	synth_begin(&cpu0, &r, 0, T0 + 1000, OTEL_SPAN_KIND_SERVER,
		    "demo.request", "oteltrace_demo", "1.2.3");
	synth_attr(&cpu0, &r, 0, 0, OTEL_ATTR_INT, "demo.big", NULL,
		   9007199254740993ll, 0);
	synth_attr(&cpu0, &r, 0, 0, OTEL_ATTR_BOOL, "demo.bool", NULL, 1, 0);
	synth_attr(&cpu0, &r, 0, 0, OTEL_ATTR_DOUBLE, "demo.ratio", NULL, 3,
		   4);
	synth_attr(&cpu0, &r, 0, 0, OTEL_ATTR_DOUBLE, "demo.pi", NULL,
		   pi_bits, 0);
	synth_event(&cpu0, &r, 0, T0 + 1500, 1, "queued");
	synth_attr(&cpu0, &r, 0, 1, OTEL_ATTR_INT, "queue.depth", NULL, 7, 0);
	synth_event(&cpu0, &r, 0, T0 + 1800, 2, "dispatched");
	synth_link(&cpu0, &r, 0, 1, &x);
	synth_attr(&cpu0, &r, 0, OTEL_ATTR_TARGET_LINK | 1, OTEL_ATTR_STRING,
		   "link.why", "retry", 0, 0);
	synth_status(&cpu0, &ch, 0, T0 + 1400000, OTEL_STATUS_OK, "");
	synth_end(&cpu0, &ch, 0, T0 + 1500000, 0, 0, 0);
	/* R's status ERROR is later in time than its OK on CPU 1: it wins */
	synth_status(&cpu0, &r, 0, T0 + 1900, OTEL_STATUS_ERROR,
		     "device timeout");
	/* R's END goes on CPU 1 and is read before R's BEGIN on CPU 0 */
	synth_end(&cpu1, &r, 1, T0 + 2001000, 2, 1, 0);
	frame(c, &cpu1);
	frame(c, &cpu0);

	/* I1: never ends; I2: one record lost */
	synth_begin(&cpu0, &i1, 0, T0 + 3000000, OTEL_SPAN_KIND_INTERNAL,
		    "demo.unended", "oteltrace_demo", "1.2.3");
	synth_attr(&cpu0, &i1, 0, 0, OTEL_ATTR_INT, "demo.int", NULL, 1, 0);
	synth_begin(&cpu0, &i2, 0, T0 + 3100000, OTEL_SPAN_KIND_INTERNAL,
		    "demo.lossy", "oteltrace_other", "");
	i2.nr++;	/* a record the kernel wrote and we never see */
	synth_end(&cpu0, &i2, 0, T0 + 3200000, 0, 0, 0);
	frame(c, &cpu0);
	capture_write(c, CAPTURE_KSTATS, &k, sizeof(k));
	/* 5 s later: past I2's grace period, a last complete span */
	synth_begin(&cpu0, &late, 0, T0 + 5000000000ull,
		    OTEL_SPAN_KIND_INTERNAL, "demo.late", "oteltrace_demo",
		    "1.2.3");
	synth_end(&cpu0, &late, 0, T0 + 5000001000ull, 0, 0, 0);
	frame(c, &cpu0);
	buf_free(&cpu0);
	buf_free(&cpu1);
}

static void many(struct capture *c, long n)
{
	struct buf b = { 0 };
	struct synth_span s;
	long i;

	for (i = 0; i < n; i++) {
		span_init(&s, 1000 + i, 5000 + i, NULL);
		synth_begin(&b, &s, i % 2, T0 + i * 1000, OTEL_SPAN_KIND_SERVER,
			    "many", "oteltrace_many", "1");
		synth_attr(&b, &s, i % 2, 0, OTEL_ATTR_INT, "i", NULL, i, 0);
		synth_end(&b, &s, (i + 1) % 2, T0 + i * 1000 + 500, 0, 0, 0);
		if (b.len > 32768)
			frame(c, &b);
	}
	if (b.len)
		frame(c, &b);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	struct capture *c;
	const char *out;

	if (argc == 3 && !strcmp(argv[1], "contract"))
		out = argv[2];
	else if (argc == 4 && !strcmp(argv[1], "many"))
		out = argv[3];
	else {
		fprintf(stderr, "usage: gencap contract FILE | many N FILE\n");
		return 2;
	}
	c = capture_create(out, &anchor, 2);
	if (!c)
		return 1;
	if (argc == 3)
		contract(c);
	else
		many(c, atol(argv[2]));
	return capture_close(c) ? 1 : 0;
}
