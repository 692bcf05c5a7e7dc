// SPDX-License-Identifier: GPL-2.0
/*
 * mkseeds DIR: the generated seed inputs of the "records" and "capture"
 * fuzz targets, written with the records synthesizer of the host tests
 * (tests/host/synth.h), so they follow the ABI of the tree they are built
 * from:
 *
 *   DIR/records/SCENARIO-VARIANT   records_fuzz.c's head, then frames
 *   DIR/capture/SCENARIO           a capture file, as oteld --capture writes
 *
 * Each scenario is a list of frames (as in a capture file): records from
 * one or two CPUs in the order a reader may see them, anchors, pass ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "synth.h"

#define T0 1000000000ull
#define REAL0 1700000000000000000ull

/* records_fuzz.c's head flags and extra frame types */
#define HEAD_LIVE	0x1
#define HEAD_ENCODE	0x2
#define HEAD_PASSES	0x4
#define FZ_EXPIRE	0x100
#define FZ_FLUSH	0x101

static void put_frame(struct buf *out, uint32_t type, const void *p,
		      size_t len)
{
	static const uint8_t pad[8];
	struct capture_frame fr = { type, (uint32_t)len };

	buf_put(out, &fr, sizeof(fr));
	if (len)
		buf_put(out, p, len);
	if (len % 8)
		buf_put(out, pad, 8 - len % 8);
}

/* The records in @b as one RECORDS frame of @out; @b emptied. */
static void records(struct buf *out, struct buf *b)
{
	put_frame(out, CAPTURE_RECORDS, b->data, b->len);
	b->len = 0;
}

static void pass(struct buf *out)
{
	put_frame(out, CAPTURE_PASS, NULL, 0);
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

/* Spans of one SPAN record each, every attribute type. */
static void whole(struct buf *out)
{
	struct buf b = { 0 };
	struct synth_span r, c;

	span_init(&r, 1, 11, NULL);
	synth_start(&r, T0 + 1000, OTEL_SPAN_KIND_SERVER, "req", "mod", "1");
	synth_str(&r.attrs, "s", "v");
	synth_int(&r.attrs, "i", -7);
	synth_double(&r.attrs, "d", 0.5);
	synth_entry(&r.attrs, OTEL_ATTR_BOOL, "b", NULL, 1, 0);
	synth_entry(&r.attrs, OTEL_ATTR_DOUBLE, "f", NULL, 3, 4);
	synth_int(&r.attrs, "i", 8);	/* a key set twice */
	synth_status(&r, OTEL_STATUS_ERROR, "boom");
	r.pid = 42;
	r.tgid = 40;
	span_init(&c, 1, 12, &r);
	synth_start(&c, T0 + 2000, OTEL_SPAN_KIND_CLIENT, "child", "mod", "");
	c.begin_context = OTEL_CTX_HARDIRQ;
	synth_comm(&b, 0, T0 + 500, 42, 40, "worker");
	synth_end(&b, &c, 0, T0 + 3000, 0, 0, 0);
	synth_end(&b, &r, 0, T0 + 4000, 1, 0, 0);
	records(out, &b);
	pass(out);
	buf_free(&b);
}

/* A span of many records over two CPUs, its SPAN read first. */
static void parts(struct buf *out)
{
	struct synth_attrs more = { 0 }, ev = { 0 }, why = { 0 };
	struct buf cpu0 = { 0 }, cpu1 = { 0 };
	struct synth_span r, x;

	span_init(&r, 2, 21, NULL);
	span_init(&x, 9, 91, NULL);
	synth_begin(&cpu0, &r, 0, T0 + 100, OTEL_SPAN_KIND_PRODUCER, "job",
		    "mod", "2");
	r.pid = 7;
	r.tgid = 7;
	synth_str(&more, "k", "v");
	synth_int(&ev, "n", 3);
	synth_str(&why, "w", "retry");
	synth_attr(&cpu0, &r, 0, OTEL_ATTR_TARGET_SPAN, &more);
	synth_event_dropped(&cpu0, &r, 0, T0 + 200, 1, "queued", &ev, 2);
	synth_event(&cpu0, &r, 0, T0 + 300, 2, "run", NULL);
	synth_link_dropped(&cpu0, &r, 0, 1, &x, NULL, 1);
	synth_attr(&cpu0, &r, 0, OTEL_ATTR_TARGET_LINK | 1, &why);
	synth_attr_dropped(&cpu0, &r, 0, 2, NULL, 4);
	synth_comm(&cpu0, 0, T0 + 50, 7, 7, "job");
	synth_unknown(&cpu1, 99, 40);
	synth_unknown(&cpu1, OTEL_REC_PAD, 8);
	synth_end(&cpu1, &r, 1, T0 + 1000, 0, 1, 0);
	records(out, &cpu1);
	records(out, &cpu0);
	pass(out);
	buf_free(&cpu0);
	buf_free(&cpu1);
}

/* A span that never ends, one that lost a record, one 5 s later. */
static void incomplete(struct buf *out)
{
	struct synth_attrs one = { 0 };
	struct synth_span i1, i2, late;
	struct buf b = { 0 };
	uint64_t t = T0 + 6000000000ull;

	span_init(&i1, 3, 31, NULL);
	span_init(&i2, 3, 32, NULL);
	span_init(&late, 4, 41, NULL);
	synth_begin(&b, &i1, 0, T0 + 100, OTEL_SPAN_KIND_INTERNAL, "open",
		    "mod", "1");
	synth_int(&one, "x", 1);
	synth_attr(&b, &i1, 0, OTEL_ATTR_TARGET_SPAN, &one);
	synth_start(&i2, T0 + 200, OTEL_SPAN_KIND_INTERNAL, "lossy", "m2", "");
	i2.nr++;
	synth_end(&b, &i2, 0, T0 + 300, 0, 0, 0);
	records(out, &b);
	pass(out);
	put_frame(out, FZ_EXPIRE, &t, sizeof(t));
	synth_start(&late, T0 + 5000000000ull, OTEL_SPAN_KIND_INTERNAL,
		    "late", "mod", "1");
	synth_end(&b, &late, 1, T0 + 5000001000ull, 0, 0, 0);
	records(out, &b);
	pass(out);
	put_frame(out, FZ_FLUSH, NULL, 0);
	buf_free(&b);
}

/* Strings cut inside a character or not UTF-8, and control bytes. */
static void utf8(struct buf *out)
{
	struct synth_attrs ev = { 0 };
	struct buf b = { 0 };
	struct synth_span s;

	span_init(&s, 5, 51, NULL);
	synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "caf\xc3\xa9.\xe2\x82",
		    "mod\xffule", "1.0\xf0\x9f");
	synth_str(&s.attrs, "key\xc0", "val\xed\xa0\x80ue\x01\"\\");
	synth_status(&s, OTEL_STATUS_ERROR, "timeout \xe2\x82\xac\xe2\x82");
	synth_str(&ev, "note", "cut \xf0\x9f\x98");
	synth_event(&b, &s, 0, T0 + 10, 1, "ev\x80" "ent", &ev);
	synth_comm(&b, 0, T0, 9, 9, "\x1b[31m\xff");
	s.pid = 9;
	s.tgid = 9;
	synth_end(&b, &s, 0, T0 + 100, 0, 0, 0);
	records(out, &b);
	buf_free(&b);
}

/* New clock anchors between spans, one far in the past. */
static void anchors(struct buf *out)
{
	struct anchor an = { T0 + 1000000, REAL0 + 1000000 };
	struct buf b = { 0 };
	struct synth_span s;
	int i;

	for (i = 0; i < 4; i++) {
		span_init(&s, 6, 60 + i, NULL);
		synth_start(&s, T0 + i * 2000000ull, OTEL_SPAN_KIND_INTERNAL,
			    "tick", "mod", "1");
		synth_end(&b, &s, i % 2, T0 + i * 2000000ull + 10, 0, 0, 0);
		records(out, &b);
		an.mono_ns += 2000000;
		an.real_ns += 2000000 + i * 1000;
		put_frame(out, CAPTURE_ANCHOR, &an, sizeof(an));
	}
	pass(out);
	buf_free(&b);
}

/* Records that must be refused: bad sizes, unknown types, a cut one. */
static void corrupt(struct buf *out)
{
	struct buf b = { 0 };
	struct synth_span s;
	size_t at;

	span_init(&s, 7, 71, NULL);
	synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "bad", "mod", "1");
	synth_str(&s.attrs, "k", "v");
	at = synth_end(&b, &s, 0, T0 + 10, 0, 0, 0);
	/* the attribute entry's key runs past the record */
	((struct otel_rec_span *)(b.data + at))->attrs_offset += 8;
	records(out, &b);
	synth_unknown(&b, 2, 48);	/* ABI 1's SPAN_END */
	synth_unknown(&b, OTEL_REC_RAW, 64);
	synth_unknown(&b, 0x7fff, 16);
	records(out, &b);
	span_init(&s, 7, 72, NULL);
	synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "cut", "mod", "1");
	synth_end(&b, &s, 0, T0 + 20, 0, 0, 0);
	b.len -= 8;			/* cut by the end of the frame */
	records(out, &b);
	pass(out);
	buf_free(&b);
}

/* Many small spans of a few traces, their parents in other frames. */
static void many(struct buf *out)
{
	struct synth_span s, parent;
	struct buf b = { 0 };
	int i;

	span_init(&parent, 8, 800, NULL);
	for (i = 0; i < 40; i++) {
		span_init(&s, 8 + i % 3, 801 + i, i % 3 ? &parent : NULL);
		synth_start(&s, T0 + i * 1000, OTEL_SPAN_KIND_SERVER, "many",
			    i % 2 ? "a" : "b", "1");
		synth_int(&s.attrs, "i", i);
		synth_end(&b, &s, i % 2, T0 + i * 1000 + 500, 0, 0, 0);
		if (i % 8 == 7) {
			records(out, &b);
			pass(out);
		}
	}
	buf_free(&b);
}

static const struct {
	const char *name;
	void (*fn)(struct buf *out);
} scenarios[] = {
	{ "whole", whole }, { "parts", parts }, { "incomplete", incomplete },
	{ "utf8", utf8 }, { "anchors", anchors }, { "corrupt", corrupt },
	{ "many", many },
};

static int write_file(const char *dir, const char *name, const char *sub,
		      const void *a, size_t alen, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s%s", dir, name, sub);
	f = fopen(path, "wb");
	if (!f || (alen && fwrite(a, alen, 1, f) != 1) ||
	    (b->len && fwrite(b->data, b->len, 1, f) != 1) || fclose(f)) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* records_fuzz.c's head: flags, open_log2, max_record, timers */
	static const uint8_t heads[][8] = {
		{ HEAD_ENCODE | HEAD_PASSES, 16, 0, 0x84 },
		{ HEAD_ENCODE, 1, 0, 0x11 },
		{ HEAD_LIVE | HEAD_ENCODE | HEAD_PASSES, 4, 0, 0x21 },
		{ HEAD_PASSES, 2, 40, 0x00 },
	};
	static const char *const variant[] = { "-replay", "-unpassed",
					       "-live", "-small" };
	struct capture_header ch = { .version = CAPTURE_VERSION,
				     .abi_version = OTEL_ABI_VERSION,
				     .mono_ns = T0, .real_ns = REAL0,
				     .nr_cpus = 2, .flags = CAPTURE_F_PASSES };
	char dir[4096];
	size_t i, k;

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	memcpy(ch.magic, CAPTURE_MAGIC, sizeof(ch.magic));
	for (k = 0; k < 2; k++) {
		snprintf(dir, sizeof(dir), "%s/%s", argv[1],
			 k ? "capture" : "records");
		if ((mkdir(argv[1], 0755) && errno != EEXIST) ||
		    (mkdir(dir, 0755) && errno != EEXIST)) {
			fprintf(stderr, "mkseeds: %s: %s\n", dir,
				strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct buf b = { 0 };

		scenarios[i].fn(&b);
		snprintf(dir, sizeof(dir), "%s/records", argv[1]);
		for (k = 0; k < sizeof(heads) / sizeof(heads[0]); k++)
			if (write_file(dir, scenarios[i].name, variant[k],
				       heads[k], sizeof(heads[k]), &b))
				return 1;
		snprintf(dir, sizeof(dir), "%s/capture", argv[1]);
		if (write_file(dir, scenarios[i].name, "", &ch, sizeof(ch),
			       &b))
			return 1;
		buf_free(&b);
	}
	return 0;
}
