// SPDX-License-Identifier: GPL-2.0
/*
 * gencapture: write an oteld capture file (the --capture/--input format of
 * userspace/oteld/capture.h) holding N spans like otel_bench's kernel span,
 * written as the kernel writes it (ABI 2): one SPAN record "otel_bench.span"
 * (kind INTERNAL, scope otel_bench) with its two INT attributes bench.a and
 * bench.b inline, begun in task context by one task, whose name is a COMM
 * record before the first span, as the kernel writes it when a CPU first
 * sees the task.  Records come in frames about as big as one ring read.
 *
 *   gencapture FILE N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "userspace/oteld/capture.h"

#define FRAME_BYTES	(256 * 1024)
#define NAME		"otel_bench.span"
#define SCOPE		"otel_bench"
#define PID		1000
#define COMM		"kbench"

static uint8_t frame[FRAME_BYTES];
static size_t frame_len;

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Append a zeroed record of @size bytes (a multiple of 8); fill its header. */
static void *record(uint16_t type, size_t size, uint64_t time_ns,
		    const uint8_t *span_id)
{
	struct otel_rec_hdr *h = (void *)(frame + frame_len);

	memset(h, 0, size);
	h->type = type;
	h->size = size;
	h->time_ns = time_ns;
	memcpy(h->span_id, span_id, OTEL_SPAN_ID_SIZE);
	frame_len += size;
	return h;
}

static size_t int_entry_size(const char *key)
{
	return round8(sizeof(struct otel_attr_entry) + strlen(key));
}

/* An INT attribute entry at @p; returns the bytes it took. */
static size_t int_entry(uint8_t *p, const char *key, int64_t value)
{
	struct otel_attr_entry e = {
		.value_type = OTEL_ATTR_INT,
		.key_len = strlen(key),
		.size = int_entry_size(key),
		.value = value,
	};

	memcpy(p, &e, sizeof(e));
	memcpy(p + sizeof(e), key, e.key_len);
	return e.size;
}

/* The task's name, as the kernel writes it before the task's first span. */
static void comm(uint64_t t)
{
	static const uint8_t no_span[OTEL_SPAN_ID_SIZE];
	struct otel_rec_comm *r;

	r = record(OTEL_REC_COMM, sizeof(*r), t, no_span);
	r->pid = PID;
	r->tgid = PID;
	memcpy(r->comm, COMM, strlen(COMM));
}

static void span(uint64_t i, uint64_t t)
{
	size_t strings = sizeof(struct otel_rec_span) + strlen(NAME) +
			 strlen(SCOPE);
	size_t attrs = round8(strings);
	struct otel_rec_span *r;
	uint8_t span_id[OTEL_SPAN_ID_SIZE];
	uint64_t sid = mix64(i ^ 0x5bd1e995u) | 1;
	uint8_t *p;

	put_be64(span_id, sid);
	r = record(OTEL_REC_SPAN, attrs + int_entry_size("bench.a") +
		   int_entry_size("bench.b"), t + 1000, span_id);
	put_be64(r->trace_id, mix64(i ^ 0x9e3779b97f4a7c15ULL) | 1);
	put_be64(r->trace_id + 8, mix64(i + 0x632be59bd9b4e019ULL));
	r->start_ns = t;
	r->trace_flags = OTEL_TRACE_FLAG_SAMPLED;
	r->kind = OTEL_SPAN_KIND_INTERNAL;
	r->name_len = strlen(NAME);
	r->scope_name_len = strlen(SCOPE);
	r->nr_attrs = 2;
	r->attrs_offset = attrs;
	r->pid = PID;
	r->tgid = PID;
	p = (uint8_t *)r;
	memcpy(p + sizeof(*r), NAME, strlen(NAME));
	memcpy(p + sizeof(*r) + strlen(NAME), SCOPE, strlen(SCOPE));
	p += attrs;
	p += int_entry(p, "bench.a", (int64_t)i);
	int_entry(p, "bench.b", -(int64_t)i);
}

static int put(FILE *f, const void *p, size_t len)
{
	return fwrite(p, 1, len, f) == len ? 0 : -1;
}

static int flush_frame(FILE *f)
{
	struct capture_frame fr = { CAPTURE_RECORDS, (uint32_t)frame_len };
	int ret;

	/* frame_len is a multiple of 8: no padding needed */
	ret = put(f, &fr, sizeof(fr)) || put(f, frame, frame_len);
	frame_len = 0;
	return ret;
}

int main(int argc, char **argv)
{
	struct capture_header h = { .version = CAPTURE_VERSION,
				    .abi_version = OTEL_ABI_VERSION,
				    .nr_cpus = 1 };
	uint64_t n, i, t;
	struct timespec mono, real;
	FILE *f;

	if (argc != 3 || !(n = strtoull(argv[2], NULL, 0))) {
		fprintf(stderr, "usage: gencapture FILE N\n");
		return 2;
	}
	f = fopen(argv[1], "wb");
	if (!f) {
		fprintf(stderr, "gencapture: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	memcpy(h.magic, CAPTURE_MAGIC, sizeof(h.magic));
	h.mono_ns = mono.tv_sec * 1000000000ULL + mono.tv_nsec;
	h.real_ns = real.tv_sec * 1000000000ULL + real.tv_nsec;
	if (put(f, &h, sizeof(h)))
		goto fail;
	comm(h.mono_ns);
	for (i = 0, t = h.mono_ns; i < n; i++, t += 2000) {
		if (frame_len + 1024 > FRAME_BYTES && flush_frame(f))
			goto fail;
		span(i, t);
	}
	if ((frame_len && flush_frame(f)) || fclose(f)) {
		f = NULL;
		goto fail;
	}
	printf("gencapture: %llu spans in %s\n", (unsigned long long)n,
	       argv[1]);
	return 0;
fail:
	fprintf(stderr, "gencapture: %s: write failed\n", argv[1]);
	if (f)
		fclose(f);
	return 1;
}
