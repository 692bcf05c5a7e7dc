// SPDX-License-Identifier: GPL-2.0
/*
 * gencap: write synthetic oteld capture files for the host tests.
 *
 *   gencap contract FILE   the contract scenario (otlp_test.js checks it)
 *   gencap many N FILE     N one-attribute root spans
 *   gencap utf8 FILE       one span whose strings are not valid UTF-8
 *   gencap big N KB FILE   N root spans of about KB kilobytes each: 900-byte
 *                          string attributes in ATTR records (256 at most)
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
 * over CPUs 0 and 1 and read back in an order where R's SPAN record comes
 * before the EVENT, LINK and ATTR records it wrote earlier; C is one SPAN
 * record; span I1 never ends (only its SPAN_BEGIN and an ATTR record were
 * written, begin_records mode); span I2 ends but lost one record.  R began
 * in a task named by a COMM record read after R is whole; C in a softirq.
 */
static void contract(struct capture *c)
{
	struct synth_span r, ch, x, i1, i2, late;
	struct otel_cpu_stats k = { .dropped_full = 5, .dropped_too_big = 1 };
	struct synth_attrs more = { 0 }, depth = { 0 }, why = { 0 };
	struct synth_attrs one = { 0 };
	struct buf cpu0 = { 0 }, cpu1 = { 0 };

	span_init(&r, 1, 101, NULL);
	span_init(&ch, 1, 102, &r);
	span_init(&x, 9, 109, NULL);	/* link target, never sent */
	span_init(&i1, 2, 201, NULL);
	span_init(&i2, 3, 301, NULL);
	span_init(&late, 4, 401, NULL);

	/* R: four attributes inline, two flushed earlier as an ATTR record */
	synth_start(&r, T0 + 1000, OTEL_SPAN_KIND_SERVER, "demo.request",
		    "oteltrace_demo", "1.2.3");
	synth_str(&more, "demo.str", "hello \"world\"\n");
	synth_int(&more, "demo.int", -42);
	synth_int(&r.attrs, "demo.big", 9007199254740993ll);
	synth_entry(&r.attrs, OTEL_ATTR_BOOL, "demo.bool", NULL, 1, 0);
	synth_entry(&r.attrs, OTEL_ATTR_DOUBLE, "demo.ratio", NULL, 3, 4);
	synth_double(&r.attrs, "demo.pi", 3.14159);
	synth_int(&depth, "queue.depth", 7);
	synth_str(&why, "link.why", "retry");
	synth_status(&r, OTEL_STATUS_ERROR, "device timeout");
	r.pid = 4242;		/* began in task 4242 of process 4240, CPU 0 */
	r.tgid = 4240;

	/* CPU 0 ring, read last: what R wrote before it ended */
	synth_attr(&cpu0, &r, 0, OTEL_ATTR_TARGET_SPAN, &more);
	synth_event_dropped(&cpu0, &r, 0, T0 + 1500, 1, "queued", &depth, 2);
	synth_event(&cpu0, &r, 0, T0 + 1800, 2, "dispatched", NULL);
	synth_link_dropped(&cpu0, &r, 0, 1, &x, NULL, 1);
	synth_attr(&cpu0, &r, 0, OTEL_ATTR_TARGET_LINK | 1, &why);
	synth_start(&ch, T0 + 100000, OTEL_SPAN_KIND_CLIENT, "demo.child",
		    "oteltrace_demo", "1.2.3");
	synth_status(&ch, OTEL_STATUS_OK, NULL);
	ch.begin_cpu = 1;
	ch.begin_context = OTEL_CTX_SOFTIRQ;
	synth_end(&cpu0, &ch, 0, T0 + 1500000, 0, 0, 0);
	/* R's task is named last, after R is whole: R waits for it */
	synth_comm(&cpu0, 0, T0 + 900, 4242, 4240, "sh");
	/* CPU 1 ring, read first: R ended there */
	synth_unknown(&cpu1, 99, 40);
	synth_unknown(&cpu1, OTEL_REC_PAD, 8);
	synth_end(&cpu1, &r, 1, T0 + 2001000, 2, 1, 0);
	frame(c, &cpu1);
	frame(c, &cpu0);

	/* I1: never ends; I2: one record lost */
	synth_begin(&cpu0, &i1, 0, T0 + 3000000, OTEL_SPAN_KIND_INTERNAL,
		    "demo.unended", "oteltrace_demo", "1.2.3");
	synth_int(&one, "demo.int", 1);
	synth_attr(&cpu0, &i1, 0, OTEL_ATTR_TARGET_SPAN, &one);
	synth_start(&i2, T0 + 3100000, OTEL_SPAN_KIND_INTERNAL, "demo.lossy",
		    "oteltrace_other", "");
	i2.nr++;	/* a record the kernel wrote and we never see */
	synth_end(&cpu0, &i2, 0, T0 + 3200000, 0, 0, 0);
	frame(c, &cpu0);
	capture_write(c, CAPTURE_KSTATS, &k, sizeof(k));
	/* 5 s later: past I2's grace period, a last complete span */
	synth_start(&late, T0 + 5000000000ull, OTEL_SPAN_KIND_INTERNAL,
		    "demo.late", "oteltrace_demo", "1.2.3");
	synth_end(&cpu0, &late, 0, T0 + 5000001000ull, 0, 0, 0);
	frame(c, &cpu0);
	buf_free(&cpu0);
	buf_free(&cpu1);
}

/* N root spans of one SPAN record each, with one inline attribute. */
static void many(struct capture *c, long n)
{
	struct buf b = { 0 };
	struct synth_span s;
	long i;

	for (i = 0; i < n; i++) {
		span_init(&s, 1000 + i, 5000 + i, NULL);
		synth_start(&s, T0 + i * 1000, OTEL_SPAN_KIND_SERVER, "many",
			    "oteltrace_many", "1");
		synth_int(&s.attrs, "i", i);
		synth_end(&b, &s, i % 2, T0 + i * 1000 + 500, 0, 0, 0);
		if (b.len > 32768)
			frame(c, &b);
	}
	if (b.len)
		frame(c, &b);
	buf_free(&b);
}

/*
 * Strings as the kernel may hand them over: cut in the middle of a
 * character (it truncates by bytes) or not UTF-8 at all.  otlp_test.js
 * knows what each must become.
 */
static void utf8(struct capture *c)
{
	struct synth_attrs ev = { 0 };
	struct buf b = { 0 };
	struct synth_span s;

	span_init(&s, 7, 701, NULL);
	synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "caf\xc3\xa9.\xe2\x82",
		    "mod\xffule", "1.0\xf0\x9f");
	synth_str(&s.attrs, "key\xc0", "val\xed\xa0\x80ue");
	synth_status(&s, OTEL_STATUS_ERROR, "timeout \xe2\x82\xac\xe2\x82");
	synth_str(&ev, "note", "cut \xf0\x9f\x98");
	synth_event(&b, &s, 0, T0 + 10, 1, "ev\x80" "ent", &ev);
	synth_end(&b, &s, 0, T0 + 100, 0, 0, 0);
	frame(c, &b);
	buf_free(&b);
}

/*
 * N root spans of about @kb KiB encoded each: one 900-byte string attribute
 * per ATTR record (up to the 256 attributes a span keeps), then the SPAN.
 */
static void big(struct capture *c, long n, long kb)
{
	long i, k, nr_attrs = kb * 1024 / 915;
	struct buf b = { 0 };
	struct synth_span s;
	char key[24], val[901];

	if (nr_attrs > SPAN_MAX_ATTRS)
		nr_attrs = SPAN_MAX_ATTRS;
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (i = 0; i < n; i++) {
		span_init(&s, 3000 + i, 7000 + i, NULL);
		synth_start(&s, T0 + i * 1000, OTEL_SPAN_KIND_SERVER, "big",
			    "oteltrace_big", "1");
		for (k = 0; k < nr_attrs; k++) {
			struct synth_attrs one = { 0 };

			snprintf(key, sizeof(key), "a%ld", k);
			synth_str(&one, key, val);
			synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_SPAN, &one);
		}
		synth_end(&b, &s, 0, T0 + i * 1000 + 500, 0, 0, 0);
		frame(c, &b);
	}
	buf_free(&b);
}

int main(int argc, char **argv)
{
	struct capture *c;
	const char *out;

	if (argc == 3 && (!strcmp(argv[1], "contract") ||
			  !strcmp(argv[1], "utf8")))
		out = argv[2];
	else if (argc == 4 && !strcmp(argv[1], "many"))
		out = argv[3];
	else if (argc == 5 && !strcmp(argv[1], "big"))
		out = argv[4];
	else {
		fprintf(stderr, "usage: gencap contract FILE | many N FILE | "
			"utf8 FILE | big N KB FILE\n");
		return 2;
	}
	c = capture_create(out, &anchor, 2, 0);
	if (!c)
		return 1;
	if (argc == 3 && !strcmp(argv[1], "utf8"))
		utf8(c);
	else if (argc == 3)
		contract(c);
	else if (argc == 5)
		big(c, atol(argv[2]), atol(argv[3]));
	else
		many(c, atol(argv[2]));
	return capture_close(c) ? 1 : 0;
}
