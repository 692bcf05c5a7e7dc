// SPDX-License-Identifier: GPL-2.0
/*
 * gencapture: write an oteld capture file (the --capture/--input format of
 * userspace/oteld/capture.h) holding N spans like otel_bench's kernel span:
 * SPAN_BEGIN "otel_bench.span" (kind INTERNAL, scope otel_bench), two INT
 * attributes bench.a and bench.b, SPAN_END.  Records come in frames of
 * whole spans, about as big as one ring read.
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

/* Append a zeroed record of @used bytes (rounded up); fill its header. */
static void *record(uint16_t type, size_t used, uint64_t time_ns,
		    const uint8_t *span_id)
{
	struct otel_rec_hdr *h = (void *)(frame + frame_len);
	size_t size = round8(used);

	memset(h, 0, size);
	h->type = type;
	h->size = size;
	h->time_ns = time_ns;
	memcpy(h->span_id, span_id, OTEL_SPAN_ID_SIZE);
	frame_len += size;
	return h;
}

static void attr(const char *key, int64_t value, uint64_t t,
		 const uint8_t *span_id)
{
	size_t klen = strlen(key);
	struct otel_rec_attr *a = record(OTEL_REC_ATTR, sizeof(*a) + klen, t,
					 span_id);

	a->value_type = OTEL_ATTR_INT;
	a->target = OTEL_ATTR_TARGET_SPAN;
	a->key_len = klen;
	a->value = value;
	memcpy(a + 1, key, klen);
}

static void span(uint64_t i, uint64_t t)
{
	struct otel_rec_span_begin *b;
	struct otel_rec_span_end *e;
	uint8_t span_id[OTEL_SPAN_ID_SIZE];
	uint64_t sid = mix64(i ^ 0x5bd1e995u) | 1;
	char *p;

	put_be64(span_id, sid);
	b = record(OTEL_REC_SPAN_BEGIN, sizeof(*b) + strlen(NAME) +
		   strlen(SCOPE), t, span_id);
	put_be64(b->trace_id, mix64(i ^ 0x9e3779b97f4a7c15ULL) | 1);
	put_be64(b->trace_id + 8, mix64(i + 0x632be59bd9b4e019ULL));
	b->trace_flags = OTEL_TRACE_FLAG_SAMPLED;
	b->kind = OTEL_SPAN_KIND_INTERNAL;
	b->name_len = strlen(NAME);
	b->scope_name_len = strlen(SCOPE);
	b->pid = 1000;
	b->tgid = 1000;
	p = (char *)(b + 1);
	memcpy(p, NAME, strlen(NAME));
	memcpy(p + strlen(NAME), SCOPE, strlen(SCOPE));
	attr("bench.a", (int64_t)i, t + 200, span_id);
	attr("bench.b", -(int64_t)i, t + 400, span_id);
	e = record(OTEL_REC_SPAN_END, sizeof(*e), t + 1000, span_id);
	e->nr_records = 3;
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
