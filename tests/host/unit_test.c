// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of oteld's stages (ASan + UBSan): span decoding and assembly
 * from ABI 2 records in any order, bad records, limits and drops, OTLP
 * protobuf and JSON encoding, capture files, the queue, configuration
 * parsing, gzip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <zlib.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "capture.h"
#include "ring.h"
#include "otlp.h"
#include "synth.h"
#include "trace_service.pb-c.h"
#include "utf8.h"

#define T0 1000000000ull
#define REAL0 (1700000000ull * T0)	/* what mono T0 is in Unix ns */
#define MAX_OUT 64

struct sinkbuf {
	struct span *s[MAX_OUT];
	int n;
};

static void collect(struct span *s, void *arg)
{
	struct sinkbuf *o = arg;

	if (o->n < MAX_OUT)
		o->s[o->n++] = s;
	else
		span_free(s);
}

static void release(struct sinkbuf *o)
{
	while (o->n)
		span_free(o->s[--o->n]);
}

/* Span timeout 60 s, grace 1 s, mono T0 = REAL0. */
static struct assembler *mk(struct sinkbuf *o, size_t max_open)
{
	struct assembler *a = assembler_new(max_open, 60 * T0, T0, collect, o);
	struct anchor an = { T0, REAL0 };

	assembler_set_anchor(a, &an);
	return a;
}

static void sspan(struct synth_span *s, uint64_t trace, uint64_t id)
{
	memset(s, 0, sizeof(*s));
	synth_id(s->trace_id, sizeof(s->trace_id), trace);
	synth_id(s->span_id, sizeof(s->span_id), id);
}

/* A span with a name and a scope, begun at T0 + @t. */
static void sstart(struct synth_span *s, uint64_t trace, uint64_t id,
		   uint64_t t)
{
	sspan(s, trace, id);
	synth_start(s, T0 + t, OTEL_SPAN_KIND_INTERNAL, "x", "m", "");
}

static const struct attr *find_attr(const struct span *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->nr_attrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

static size_t count_target(const struct span *s, uint16_t target)
{
	size_t i, n = 0;

	for (i = 0; i < s->nr_attrs; i++)
		n += s->attrs[i].target == target;
	return n;
}

/* The first attribute entry of the record at @rec_off of @b. */
static struct otel_attr_entry *first_entry(struct buf *b, size_t rec_off,
					   size_t attrs_offset)
{
	return (struct otel_attr_entry *)(b->data + rec_off + attrs_offset);
}

static unsigned long long counter(atomic_ullong *c)
{
	return atomic_load(c);
}

/* The fast path: one record, every field, every attribute type. */
TEST(one_record_span_decodes_every_field)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s, parent;
	struct buf b = { 0 };
	const struct span *got;
	double d = -2.5e-3;

	sspan(&s, 1, 2);
	sspan(&parent, 1, 3);
	memcpy(s.parent, parent.span_id, sizeof(s.parent));
	synth_start(&s, T0 + 10, OTEL_SPAN_KIND_SERVER, "req", "mod", "1.0");
	synth_status(&s, OTEL_STATUS_ERROR, "it broke");
	s.begin_cpu = 3;
	s.begin_context = OTEL_CTX_SOFTIRQ;
	synth_str(&s.attrs, "s", "a string value");
	synth_str(&s.attrs, "empty", "");
	synth_entry(&s.attrs, OTEL_ATTR_BOOL, "b", NULL, 5, 0);
	synth_entry(&s.attrs, OTEL_ATTR_BOOL, "f", NULL, 0, 0);
	synth_int(&s.attrs, "min", INT64_MIN);
	synth_int(&s.attrs, "neg", -5);
	synth_double(&s.attrs, "raw", d);
	synth_entry(&s.attrs, OTEL_ATTR_DOUBLE, "frac", NULL, -7, 2);
	synth_entry(&s.attrs, OTEL_ATTR_DOUBLE, "third", NULL, 1, 3);
	s.pid = 42;
	s.tgid = 41;
	synth_end(&b, &s, 1, T0 + 30, 1, 2, 3);
	ASSERT_EQ(b.len, assembler_feed(a, b.data, b.len));
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(0, assembler_open(a));	/* never in the table */
	got = o.s[0];
	EXPECT_FALSE(got->incomplete);
	EXPECT_EQ(0, memcmp(got->trace_id, s.trace_id, 16));
	EXPECT_EQ(0, memcmp(got->span_id, s.span_id, 8));
	EXPECT_EQ(0, memcmp(got->parent_span_id, parent.span_id, 8));
	EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, got->trace_flags);
	EXPECT_EQ(OTEL_SPAN_KIND_SERVER, got->kind);
	EXPECT_STREQ("req", got->name);
	EXPECT_STREQ("mod", got->scope_name);
	EXPECT_STREQ("1.0", got->scope_version);
	EXPECT_EQ(OTEL_STATUS_ERROR, got->status_code);
	EXPECT_STREQ("it broke", got->status_message);
	EXPECT_EQ(REAL0 + 10, got->start);
	EXPECT_EQ(REAL0 + 30, got->end);
	EXPECT_EQ(42, got->pid);
	EXPECT_EQ(41, got->tgid);
	EXPECT_EQ(3, got->begin_cpu);
	EXPECT_EQ(OTEL_CTX_SOFTIRQ, got->begin_context);
	EXPECT_EQ(1, got->dropped_attrs);
	EXPECT_EQ(2, got->dropped_events);
	EXPECT_EQ(3, got->dropped_links);
	EXPECT_EQ(0, got->nr_events);
	EXPECT_EQ(0, got->nr_links);
	ASSERT_EQ(9, got->nr_attrs);
	EXPECT_EQ(9, count_target(got, OTEL_ATTR_TARGET_SPAN));
	EXPECT_EQ(OTEL_ATTR_STRING, find_attr(got, "s")->type);
	EXPECT_STREQ("a string value", find_attr(got, "s")->str);
	EXPECT_STREQ("", find_attr(got, "empty")->str);
	EXPECT_EQ(OTEL_ATTR_BOOL, find_attr(got, "b")->type);
	EXPECT_EQ(1, find_attr(got, "b")->i);
	EXPECT_EQ(0, find_attr(got, "f")->i);
	EXPECT_EQ(OTEL_ATTR_INT, find_attr(got, "min")->type);
	EXPECT_EQ(INT64_MIN, find_attr(got, "min")->i);
	EXPECT_EQ(-5, find_attr(got, "neg")->i);
	EXPECT_EQ(OTEL_ATTR_DOUBLE, find_attr(got, "raw")->type);
	EXPECT_TRUE(find_attr(got, "raw")->d == d);
	EXPECT_TRUE(find_attr(got, "frac")->d == -3.5);
	EXPECT_TRUE(find_attr(got, "third")->d == 1.0 / 3.0);
	EXPECT_EQ(NULL, find_attr(got, "oteltrace.incomplete"));
	EXPECT_EQ(1, counter(&stats.spans_complete));
	EXPECT_EQ(1, counter(&stats.records));
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* No status message, no version, no attributes: empty, not missing. */
TEST(one_record_span_minimal)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_STREQ("", o.s[0]->scope_version);
	EXPECT_EQ(NULL, o.s[0]->status_message);
	EXPECT_EQ(0, o.s[0]->nr_attrs);
	EXPECT_EQ(OTEL_STATUS_UNSET, o.s[0]->status_code);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* Is [@p, @p + @n) inside the block of SPAN_BLOCK_BYTES at @s? */
static bool in_block(const struct span *s, const void *p, size_t n)
{
	const char *b = (const char *)s, *q = p;

	return q >= b && q + n <= b + SPAN_BLOCK_BYTES;
}

/*
 * A one-record span is one block: the span, its attributes and every
 * string but its scope's, which the assembler keeps once for every span of
 * that scope; a pooled one when it fits SPAN_BLOCK_BYTES, else one of its
 * own size.  A span of several records is allocated in parts.
 */
TEST(one_record_span_is_one_block)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s, t;
	struct buf b = { 0 };
	const struct span *got;
	char name[300];
	size_t i;

	sstart(&s, 1, 2, 0);
	synth_status(&s, OTEL_STATUS_ERROR, "why");
	synth_int(&s.attrs, "bench.a", 1);
	synth_str(&s.attrs, "bench.s", "value");
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	sspan(&t, 1, 3);
	synth_start(&t, T0, OTEL_SPAN_KIND_INTERNAL, name, "m", "");
	synth_end(&b, &t, 0, T0 + 1, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(2, o.n);
	got = o.s[0];
	EXPECT_EQ(SPAN_POOLED, got->alloc);
	EXPECT_EQ((const void *)(got + 1), (const void *)got->attrs);
	EXPECT_TRUE(in_block(got, got->name, strlen(got->name) + 1));
	EXPECT_FALSE(in_block(got, got->scope_name, 1));
	EXPECT_EQ(o.s[1]->scope_name, got->scope_name);	/* one scope */
	EXPECT_EQ(o.s[1]->scope_version, got->scope_version);
	EXPECT_STREQ("m", got->scope_name);
	EXPECT_TRUE(in_block(got, got->status_message, 4));
	ASSERT_EQ(2, got->nr_attrs);
	for (i = 0; i < got->nr_attrs; i++)
		EXPECT_TRUE(in_block(got, got->attrs[i].key, 8));
	EXPECT_TRUE(in_block(got, got->attrs[1].str, 6));
	EXPECT_STREQ("value", got->attrs[1].str);
	EXPECT_EQ(NULL, got->attrs[0].str);
	EXPECT_EQ(SPAN_BLOCK, o.s[1]->alloc);	/* too big for the pool */
	EXPECT_STREQ(name, o.s[1]->name);
	release(&o);
	b.len = 0;
	sstart(&s, 1, 4, 0);
	synth_int(&s.attrs, "flushed", 1);
	synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_SPAN, &s.attrs);
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(SPAN_PARTS, o.s[0]->alloc);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * A span that wrote an EVENT (with attributes), a LINK and an ATTR record
 * aimed at the event, then its SPAN: the same span whatever order the
 * records are read in, SPAN first or last.
 */
static void three_records(struct buf *before, struct buf *span,
			  struct synth_span *s, struct synth_span *to)
{
	struct synth_attrs ev = { 0 }, later = { 0 };

	sstart(s, 1, 2, 0);
	sspan(to, 7, 8);
	synth_int(&s->attrs, "span.attr", 1);
	synth_int(&ev, "ev.n", 5);
	synth_str(&ev, "ev.s", "inside");
	synth_entry(&later, OTEL_ATTR_DOUBLE, "ev.later", NULL, 1, 4);
	synth_event(before, s, 1, T0 + 5, 1, "ev", &ev);
	synth_link(before, s, 0, 1, to, NULL);
	synth_attr(before, s, 1, 1, &later);
	synth_end(span, s, 0, T0 + 9, 0, 0, 0);
}

static void check_three(struct __test_metadata *_metadata,
			const struct span *got, const struct synth_span *to)
{
	ASSERT_NE(NULL, got);
	EXPECT_FALSE(got->incomplete);
	EXPECT_STREQ("x", got->name);
	EXPECT_EQ(9, got->end - got->start);
	ASSERT_EQ(1, got->nr_events);
	EXPECT_STREQ("ev", got->events[0].name);
	EXPECT_EQ(1, got->events[0].index);
	EXPECT_EQ(5, got->events[0].time - got->start);
	ASSERT_EQ(1, got->nr_links);
	EXPECT_EQ(1, got->links[0].index);
	EXPECT_EQ(0, memcmp(got->links[0].span_id, to->span_id, 8));
	EXPECT_EQ(0, memcmp(got->links[0].trace_id, to->trace_id, 16));
	EXPECT_EQ(4, got->nr_attrs);
	EXPECT_EQ(1, count_target(got, OTEL_ATTR_TARGET_SPAN));
	EXPECT_EQ(3, count_target(got, 1));
	EXPECT_EQ(1, find_attr(got, "span.attr")->i);
	EXPECT_EQ(5, find_attr(got, "ev.n")->i);
	EXPECT_EQ(1, find_attr(got, "ev.n")->target);
	EXPECT_STREQ("inside", find_attr(got, "ev.s")->str);
	EXPECT_TRUE(find_attr(got, "ev.later")->d == 0.25);
	EXPECT_EQ(1, find_attr(got, "ev.later")->target);
	EXPECT_EQ(0, got->dropped_attrs);
}

TEST(three_records_span_first)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct buf before = { 0 }, span = { 0 };
	struct synth_span s, to;

	three_records(&before, &span, &s, &to);
	assembler_feed(a, span.data, span.len);
	EXPECT_EQ(0, o.n);
	EXPECT_EQ(1, assembler_open(a));
	assembler_feed(a, before.data, before.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(0, assembler_open(a));
	check_three(_metadata, o.s[0], &to);
	EXPECT_EQ(1, counter(&stats.spans_complete));
	release(&o);
	assembler_free(a);
	buf_free(&before);
	buf_free(&span);
}

TEST(three_records_span_last)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct buf before = { 0 }, span = { 0 };
	struct synth_span s, to;

	three_records(&before, &span, &s, &to);
	assembler_feed(a, before.data, before.len);
	EXPECT_EQ(0, o.n);
	EXPECT_EQ(1, assembler_open(a));
	assembler_feed(a, span.data, span.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(0, assembler_open(a));
	check_three(_metadata, o.s[0], &to);
	release(&o);
	assembler_free(a);
	buf_free(&before);
	buf_free(&span);
}

/* The ATTR record aimed at the event read before the EVENT itself. */
TEST(three_records_attr_before_its_event)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct buf before = { 0 }, span = { 0 };
	struct synth_span s, to;
	size_t ev_size;

	three_records(&before, &span, &s, &to);
	ev_size = ((struct otel_rec_hdr *)before.data)->size;
	/* the records after the EVENT, then the EVENT, then the SPAN */
	assembler_feed(a, before.data + ev_size, before.len - ev_size);
	assembler_feed(a, before.data, ev_size);
	EXPECT_EQ(0, o.n);
	assembler_feed(a, span.data, span.len);
	ASSERT_EQ(1, o.n);
	check_three(_metadata, o.s[0], &to);
	release(&o);
	assembler_free(a);
	buf_free(&before);
	buf_free(&span);
}

TEST(missing_record_waits_for_grace_then_incomplete)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	synth_event(&b, &s, 0, T0 + 3, 1, "seen", NULL);
	s.nr += 2;	/* two records lost */
	synth_end(&b, &s, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	assembler_expire(a, T0 + 9 + T0 / 2);
	ASSERT_EQ(0, o.n);
	assembler_expire(a, T0 + 9 + T0);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	EXPECT_EQ(9, o.s[0]->end - o.s[0]->start);
	EXPECT_EQ(1, o.s[0]->nr_events);
	EXPECT_EQ(1, find_attr(o.s[0], "oteltrace.incomplete")->i);
	EXPECT_EQ(2, find_attr(o.s[0], "oteltrace.missing_records")->i);
	EXPECT_EQ(1, counter(&stats.spans_incomplete));
	EXPECT_EQ(0, counter(&stats.spans_complete));
	EXPECT_EQ(0, assembler_open(a));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* A record of a span already exported incomplete: counted, not kept. */
TEST(late_record_after_export_is_counted)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 }, late = { 0 };

	sstart(&s, 1, 2, 0);
	synth_event(&late, &s, 1, T0 + 3, 1, "late", NULL);
	synth_end(&b, &s, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	assembler_expire(a, T0 + 9 + T0);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	assembler_feed(a, late.data, late.len);
	EXPECT_EQ(0, assembler_open(a));
	EXPECT_EQ(1, counter(&stats.records_late));
	assembler_flush(a);
	EXPECT_EQ(1, o.n);
	EXPECT_EQ(0, counter(&stats.spans_no_begin));
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&late);
}

/* begin_records mode: BEGIN, an event, never a SPAN. */
TEST(unended_span_times_out)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sspan(&s, 1, 2);
	s.pid = 42;
	s.tgid = 41;
	synth_comm(&b, 2, T0, 42, 41, "kworker/0:1");
	synth_begin(&b, &s, 2, T0, OTEL_SPAN_KIND_INTERNAL, "x", "m", "");
	synth_event(&b, &s, 0, T0 + 100, 1, "e", NULL);
	synth_begin(&b, &s, 1, T0 + 5, OTEL_SPAN_KIND_INTERNAL, "y", "m", "");
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(1, counter(&stats.records_corrupt));	/* a second BEGIN */
	assembler_expire(a, T0 + 59 * T0);
	ASSERT_EQ(0, o.n);
	assembler_expire(a, T0 + 61 * T0);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	EXPECT_STREQ("x", o.s[0]->name);
	EXPECT_EQ(2, o.s[0]->begin_cpu);
	EXPECT_EQ(42, o.s[0]->pid);
	EXPECT_STREQ("kworker/0:1", o.s[0]->thread_name);
	EXPECT_EQ(100, o.s[0]->end - o.s[0]->start);	/* last seen */
	EXPECT_EQ(NULL, find_attr(o.s[0], "oteltrace.missing_records"));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* begin_records mode, complete: the SPAN's data wins over the BEGIN's. */
TEST(begin_then_span_is_complete)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 }, span = { 0 };

	sspan(&s, 1, 2);
	synth_begin(&b, &s, 0, T0, OTEL_SPAN_KIND_CLIENT, "begun", "m", "1");
	synth_start(&s, T0, OTEL_SPAN_KIND_CLIENT, "renamed", "m", "1");
	synth_end(&span, &s, 1, T0 + 7, 0, 0, 0);
	assembler_feed(a, span.data, span.len);
	EXPECT_EQ(1, assembler_open(a));
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_FALSE(o.s[0]->incomplete);
	EXPECT_STREQ("renamed", o.s[0]->name);
	EXPECT_EQ(7, o.s[0]->end - o.s[0]->start);
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&span);
}

TEST(full_table_evicts_oldest)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 2);
	struct synth_span s;
	struct buf b = { 0 };
	int i;

	for (i = 0; i < 3; i++) {
		sspan(&s, 1, 10 + i);
		synth_begin(&b, &s, 0, T0 + i, 1, "x", "m", "");
	}
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	EXPECT_EQ(REAL0, o.s[0]->start);	/* the first */
	EXPECT_EQ(1, counter(&stats.spans_evicted));
	EXPECT_EQ(2, assembler_open(a));
	assembler_flush(a);
	EXPECT_EQ(3, o.n);
	EXPECT_EQ(0, assembler_open(a));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* Records with neither SPAN nor BEGIN: nothing to export, counted. */
TEST(records_without_span_are_counted)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sspan(&s, 1, 2);
	synth_event(&b, &s, 0, T0, 1, "orphan", NULL);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(1, assembler_open(a));
	assembler_flush(a);
	EXPECT_EQ(0, o.n);
	EXPECT_EQ(1, counter(&stats.spans_no_begin));
	assembler_free(a);
	buf_free(&b);
}

TEST(unknown_types_skipped_corrupt_counted)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };
	uint16_t bad = 12;

	sstart(&s, 1, 2, 0);
	synth_unknown(&b, 200, 64);
	synth_unknown(&b, OTEL_REC_PAD, 8);
	synth_unknown(&b, 2, 40);	/* ABI 1's SPAN_END */
	synth_unknown(&b, 6, 32);	/* ABI 1's STATUS */
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	synth_unknown(&b, 201, 32);
	memcpy(b.data + b.len - 32 + 2, &bad, 2);	/* size 12: not x8 */
	EXPECT_EQ(b.len, assembler_feed(a, b.data, b.len));
	EXPECT_EQ(1, o.n);
	EXPECT_EQ(3, counter(&stats.records_unknown));
	EXPECT_EQ(1, counter(&stats.records_corrupt));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * Feed @b, whose SPAN record at @rec_off was damaged: it must be counted
 * corrupt and skipped, and the good span after it still decoded.
 */
static void expect_skipped(struct __test_metadata *_metadata, struct buf *b)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span good;

	sstart(&good, 5, 6, 0);
	synth_end(b, &good, 0, T0 + 2, 0, 0, 0);
	EXPECT_EQ(b->len, assembler_feed(a, b->data, b->len));
	EXPECT_EQ(1, counter(&stats.records_corrupt));
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(0, memcmp(o.s[0]->span_id, good.span_id, 8));
	EXPECT_EQ(0, assembler_open(a));
	assembler_flush(a);
	EXPECT_EQ(1, o.n);
	release(&o);
	assembler_free(a);
}

/* A one-record span with two attributes, in @b; its record's offset. */
static size_t two_attr_span(struct buf *b, struct otel_rec_span **r)
{
	struct synth_span s;
	size_t off;

	sstart(&s, 1, 2, 0);
	synth_str(&s.attrs, "key", "value");
	synth_int(&s.attrs, "n", 1);
	off = synth_end(b, &s, 0, T0 + 1, 0, 0, 0);
	*r = (struct otel_rec_span *)(b->data + off);
	return off;
}

FIXTURE(corrupt)
{
	struct buf b;
	struct otel_rec_span *r;
	struct otel_attr_entry *e;
};

FIXTURE_SETUP(corrupt)
{
	size_t off;

	memset(&self->b, 0, sizeof(self->b));
	off = two_attr_span(&self->b, &self->r);
	self->e = first_entry(&self->b, off, self->r->attrs_offset);
}

FIXTURE_TEARDOWN(corrupt)
{
	buf_free(&self->b);
}

TEST_F(corrupt, entry_size_zero)
{
	self->e->size = 0;
	expect_skipped(_metadata, &self->b);
}

/*
 * Make the second entry a 16-byte INT with an empty key (still valid), so
 * the entries leave 8 spare bytes in the record to be moved into.
 */
static struct otel_attr_entry *shrink_second(struct otel_attr_entry *first)
{
	struct otel_attr_entry *second = (struct otel_attr_entry *)
		((uint8_t *)first + first->size);

	second->key_len = 0;
	second->size = sizeof(*second);
	return second;
}

TEST_F(corrupt, entry_size_not_multiple_of_8)
{
	/* the second entry moved to where the first's size says it is */
	uint8_t *second = (uint8_t *)shrink_second(self->e);

	memmove(second + 4, second, sizeof(struct otel_attr_entry));
	self->e->size += 4;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, entry_size_past_record_end)
{
	struct otel_attr_entry *last = (struct otel_attr_entry *)
		((uint8_t *)self->e + self->e->size);

	last->size += 8;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, key_len_past_entry)
{
	self->e->key_len = self->e->size;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, value_len_past_entry)
{
	self->e->value_len = 200;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, more_entries_than_the_record_holds)
{
	self->r->nr_attrs = 3;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, unknown_value_type)
{
	self->e->value_type = 9;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, value_len_on_an_int)
{
	/* "n" takes 17 of its 24 bytes: a 3-byte value would fit */
	struct otel_attr_entry *n = (struct otel_attr_entry *)
		((uint8_t *)self->e + self->e->size);

	n->value_len = 3;
	expect_skipped(_metadata, &self->b);
}

/* A one-record span whose only attribute is the fraction 1/@den. */
static void fraction_span(struct buf *b, uint8_t type, uint64_t den)
{
	struct otel_attr_entry *e;
	struct otel_rec_span *r;
	struct synth_span s;
	size_t off;

	sstart(&s, 1, 2, 0);
	synth_entry(&s.attrs, OTEL_ATTR_DOUBLE, "r", NULL, 1, 3);
	off = synth_end(b, &s, 0, T0 + 1, 0, 0, 0);
	r = (struct otel_rec_span *)(b->data + off);
	e = first_entry(b, off, r->attrs_offset);
	e->value_type = type;
	memcpy(e + 1, &den, sizeof(den));
}

TEST(denominator_zero)
{
	struct buf b = { 0 };

	fraction_span(&b, OTEL_ATTR_DOUBLE, 0);
	expect_skipped(_metadata, &b);
	buf_free(&b);
}

TEST(denominator_on_an_int)
{
	struct buf b = { 0 };

	fraction_span(&b, OTEL_ATTR_INT, 3);
	expect_skipped(_metadata, &b);
	buf_free(&b);
}

TEST_F(corrupt, attrs_offset_not_aligned)
{
	/* both entries moved 4 bytes on, where the offset says they are */
	shrink_second(self->e);
	memmove((uint8_t *)self->e + 4, self->e,
		self->e->size + sizeof(struct otel_attr_entry));
	self->r->attrs_offset += 4;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, attrs_offset_past_record_end)
{
	self->r->attrs_offset = self->r->hdr.size + 8;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, attrs_offset_inside_the_strings)
{
	self->r->attrs_offset = sizeof(struct otel_rec_span);
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, name_past_record_end)
{
	self->r->name_len = 4000;
	expect_skipped(_metadata, &self->b);
}

TEST(name_past_record_end_without_attrs)
{
	struct otel_rec_span *r;
	struct synth_span s;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	synth_end(&b, &s, 0, T0, 0, 0, 0);
	r = (struct otel_rec_span *)b.data;
	r->name_len = r->hdr.size;
	expect_skipped(_metadata, &b);
	buf_free(&b);
}

TEST_F(corrupt, status_message_past_record_end)
{
	self->r->status_message_len = self->r->hdr.size;
	expect_skipped(_metadata, &self->b);
}

TEST_F(corrupt, unknown_status_code)
{
	self->r->status_code = 3;
	expect_skipped(_metadata, &self->b);
}

TEST(record_shorter_than_span)
{
	/* a 32-byte record that says it is a SPAN */
	struct synth_span s;
	struct buf b = { 0 };

	sspan(&s, 1, 2);
	synth_unknown(&b, OTEL_REC_SPAN, 32);
	memcpy(((struct otel_rec_hdr *)b.data)->span_id, s.span_id, 8);
	expect_skipped(_metadata, &b);
	buf_free(&b);
}

/* An EVENT, a LINK and an ATTR record, each with a bad entry. */
TEST(corrupt_entries_in_other_records)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs at = { 0 };
	struct synth_span s, to;
	struct otel_rec_event *ev;
	struct buf b = { 0 };
	size_t ev_off, link_off, attr_off;

	sstart(&s, 1, 2, 0);
	sspan(&to, 3, 4);
	synth_int(&at, "k", 1);
	ev_off = b.len;
	synth_event(&b, &s, 0, T0 + 1, 1, "e", &at);
	link_off = b.len;
	synth_link(&b, &s, 0, 1, &to, &at);
	attr_off = b.len;
	synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_SPAN, &at);
	synth_end(&b, &s, 0, T0 + 9, 0, 0, 0);
	ev = (struct otel_rec_event *)(b.data + ev_off);
	first_entry(&b, ev_off, ev->attrs_offset)->size = 0;
	first_entry(&b, link_off, sizeof(struct otel_rec_link))->key_len = 99;
	((struct otel_rec_attr *)(b.data + attr_off))->nr_attrs = 2;
	EXPECT_EQ(b.len, assembler_feed(a, b.data, b.len));
	EXPECT_EQ(3, counter(&stats.records_corrupt));
	EXPECT_EQ(0, o.n);	/* waits for the three records */
	assembler_expire(a, T0 + 9 + T0);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	EXPECT_EQ(0, o.s[0]->nr_events);
	EXPECT_EQ(0, o.s[0]->nr_links);
	EXPECT_EQ(3, find_attr(o.s[0], "oteltrace.missing_records")->i);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* A second EVENT 1, and a second SPAN while the first waits. */
TEST(duplicates_are_corrupt)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct buf b = { 0 }, link = { 0 };
	struct synth_span s, to;

	sstart(&s, 1, 2, 0);
	sspan(&to, 3, 4);
	synth_event(&b, &s, 0, T0 + 1, 1, "e", NULL);
	synth_event(&b, &s, 0, T0 + 2, 1, "again", NULL);
	synth_link(&link, &s, 0, 1, &to, NULL);
	s.nr--;		/* the kernel wrote one event and the link */
	synth_end(&b, &s, 0, T0 + 9, 0, 0, 0);
	synth_end(&b, &s, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(2, counter(&stats.records_corrupt));
	EXPECT_EQ(0, o.n);
	assembler_feed(a, link.data, link.len);
	ASSERT_EQ(1, o.n);
	EXPECT_FALSE(o.s[0]->incomplete);
	ASSERT_EQ(1, o.s[0]->nr_events);
	EXPECT_STREQ("e", o.s[0]->events[0].name);
	EXPECT_EQ(0, assembler_open(a));
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&link);
}

/*
 * Attributes aimed at something the span does not have: event 0 (an EVENT
 * record with index 0), a link that never came, an event cut by the
 * limits: dropped, never shown on another item, and never counted in the
 * span's dropped_attrs (OTLP: the span's own attributes only).  Those of
 * an event or link that cannot be named (index 0) count on it; those aimed
 * at an item not there count in item_attrs_lost.
 */
TEST(attributes_without_target_are_dropped)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs two = { 0 }, one = { 0 };
	struct synth_span s, to;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	sspan(&to, 3, 4);
	synth_int(&s.attrs, "mine", 1);
	synth_int(&two, "a", 1);
	synth_int(&two, "b", 2);
	synth_int(&one, "c", 3);
	synth_event(&b, &s, 0, T0 + 1, 0, "zero", &two);	/* 2 dropped */
	synth_event(&b, &s, 0, T0 + 2, 2, "two", NULL);
	synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_LINK | 1, &one);	/* 1 */
	synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_LINK, &one);	/* link 0: 1 */
	synth_attr(&b, &s, 0, 3, &two);		/* event 3: 2 */
	synth_link(&b, &s, 0, 0, &to, &one);	/* link index 0: 1 */
	synth_end(&b, &s, 0, T0 + 9, 4, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_FALSE(o.s[0]->incomplete);
	EXPECT_EQ(4, o.s[0]->dropped_attrs);
	EXPECT_EQ(1 + 1 + 2, counter(&stats.item_attrs_lost));
	ASSERT_EQ(1, o.s[0]->nr_attrs);
	EXPECT_STREQ("mine", o.s[0]->attrs[0].key);
	ASSERT_EQ(2, o.s[0]->nr_events);
	EXPECT_STREQ("zero", o.s[0]->events[0].name);
	EXPECT_EQ(2, o.s[0]->events[0].dropped_attrs);
	/* event 0 matches no attribute target, the span's above all */
	EXPECT_NE(OTEL_ATTR_TARGET_SPAN, o.s[0]->events[0].index);
	EXPECT_EQ(0, count_target(o.s[0], o.s[0]->events[0].index));
	EXPECT_EQ(1, o.s[0]->nr_links);
	EXPECT_EQ(1, o.s[0]->links[0].dropped_attrs);
	EXPECT_EQ(0, count_target(o.s[0], OTEL_ATTR_TARGET_LINK |
					  o.s[0]->links[0].index));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * Per-event and per-link dropped attribute counts: from the EVENT and LINK
 * records, from ATTR records aimed at them (even when the ATTR comes
 * first), and the relay's own bound; a count aimed at an event the span
 * does not have is not the span's: counted in item_attrs_lost.
 */
TEST(item_dropped_counts)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs one = { 0 };
	struct synth_span s, to;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	sspan(&to, 3, 4);
	synth_int(&one, "k", 1);
	/* the ATTR records of event 1 and link 1 before the items */
	synth_attr_dropped(&b, &s, 1, 1, NULL, 2);
	synth_attr_dropped(&b, &s, 1, OTEL_ATTR_TARGET_LINK | 1, &one, 3);
	synth_attr_dropped(&b, &s, 1, 7, NULL, 5);	/* no event 7 */
	synth_event_dropped(&b, &s, 0, T0 + 1, 1, "e", &one, 4);
	synth_link_dropped(&b, &s, 0, 1, &to, NULL, 6);
	synth_end(&b, &s, 0, T0 + 9, 1, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_FALSE(o.s[0]->incomplete);
	ASSERT_EQ(1, o.s[0]->nr_events);
	EXPECT_EQ(2 + 4, o.s[0]->events[0].dropped_attrs);
	ASSERT_EQ(1, o.s[0]->nr_links);
	EXPECT_EQ(3 + 6, o.s[0]->links[0].dropped_attrs);
	EXPECT_EQ(1, o.s[0]->dropped_attrs);
	EXPECT_EQ(1, counter(&stats.item_attrs_lost));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * Task names: a SPAN read before the COMM of its task (another ring, read
 * later in the same pass) is named at the end of the pass; one whose COMM
 * never comes goes out after the next pass without a name, counted.  A
 * span begun in an interrupt waits for nothing.
 */
TEST(task_names_from_comm_records)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s1, s2, s3;
	struct buf b = { 0 }, c = { 0 };
	struct attr where[SPAN_WHERE_MAX];
	size_t n;

	sstart(&s1, 1, 2, 0);
	s1.pid = 100;
	s1.tgid = 99;
	s1.begin_cpu = 1;
	sstart(&s2, 1, 3, 0);
	s2.pid = 200;
	s2.tgid = 200;
	sstart(&s3, 1, 4, 0);
	s3.begin_context = OTEL_CTX_HARDIRQ;
	synth_end(&b, &s1, 0, T0 + 5, 0, 0, 0);
	synth_end(&b, &s2, 0, T0 + 6, 0, 0, 0);
	synth_end(&b, &s3, 0, T0 + 7, 0, 0, 0);
	synth_comm(&c, 1, T0, 100, 99, "sh");
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);		/* the hardirq span */
	EXPECT_EQ(OTEL_CTX_HARDIRQ, o.s[0]->begin_context);
	assembler_feed(a, c.data, c.len);	/* the other ring */
	assembler_pass_end(a);
	ASSERT_EQ(2, o.n);
	EXPECT_EQ(100, o.s[1]->pid);
	EXPECT_STREQ("sh", o.s[1]->thread_name);
	n = span_where_attrs(o.s[1], where);
	ASSERT_EQ(5, n);
	EXPECT_STREQ("cpu.logical_number", where[0].key);
	EXPECT_EQ(1, where[0].i);
	EXPECT_STREQ("linux.context", where[1].key);
	EXPECT_STREQ("task", where[1].str);
	EXPECT_STREQ("thread.id", where[2].key);
	EXPECT_EQ(100, where[2].i);
	EXPECT_STREQ("process.pid", where[3].key);
	EXPECT_EQ(99, where[3].i);
	EXPECT_STREQ("thread.name", where[4].key);
	EXPECT_STREQ("sh", where[4].str);
	EXPECT_EQ(0, counter(&stats.names_unresolved));
	assembler_pass_end(a);	/* pid 200: never named */
	ASSERT_EQ(3, o.n);
	EXPECT_EQ(200, o.s[2]->pid);
	EXPECT_STREQ("", o.s[2]->thread_name);
	EXPECT_EQ(4, span_where_attrs(o.s[2], where));
	EXPECT_EQ(1, counter(&stats.names_unresolved));
	EXPECT_EQ(1, counter(&stats.records_comm));
	/* interrupt context: CPU and context only */
	EXPECT_EQ(2, span_where_attrs(o.s[0], where));
	EXPECT_STREQ("hardirq", where[1].str);
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&c);
}

/* A key the driver set on the span wins over the one oteld adds. */
TEST(driver_attribute_wins_over_where)
{
	struct attr mine = { .key = "thread.name", .type = OTEL_ATTR_STRING,
			     .str = "driver's" };
	struct attr where[SPAN_WHERE_MAX];
	struct span s;
	size_t n, i;

	memset(&s, 0, sizeof(s));
	s.pid = 5;
	s.tgid = 5;
	snprintf(s.thread_name, sizeof(s.thread_name), "comm");
	s.attrs = &mine;
	s.nr_attrs = 1;
	n = span_where_attrs(&s, where);
	EXPECT_EQ(4, n);
	for (i = 0; i < n; i++)
		EXPECT_NE(0, strcmp("thread.name", where[i].key));
}

/*
 * A wall-clock step between a parent's and a child's export: each span is
 * converted with the anchor current when it started, not when it is
 * finished, so spans recorded before the step keep the old clock and both
 * agree whatever the order they are finished in.
 */
TEST(clock_step_converts_by_record_time)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	const uint64_t step = 3600 * T0;	/* the wall clock jumps 1 h */
	struct anchor stepped = { T0 + 1000, REAL0 + 1000 + step };
	struct synth_span parent, child, after;
	struct synth_attrs one = { 0 };
	struct buf b = { 0 }, c = { 0 }, d = { 0 };

	sstart(&parent, 1, 2, 10);
	sstart(&child, 1, 3, 20);
	memcpy(child.parent, parent.span_id, sizeof(child.parent));
	sstart(&after, 1, 4, 2000);
	synth_int(&one, "k", 1);
	/* the parent waits for a record; the child is whole */
	synth_attr(&b, &parent, 0, OTEL_ATTR_TARGET_SPAN, &one);
	synth_end(&c, &parent, 0, T0 + 500, 0, 0, 0);
	synth_end(&c, &child, 0, T0 + 100, 0, 0, 0);
	synth_end(&d, &after, 0, T0 + 3000, 0, 0, 0);
	assembler_feed(a, c.data, c.len);	/* parent waits, child out */
	ASSERT_EQ(1, o.n);
	assembler_set_anchor(a, &stepped);	/* the step is noticed */
	assembler_feed(a, b.data, b.len);	/* parent complete now */
	assembler_feed(a, d.data, d.len);
	ASSERT_EQ(3, o.n);
	EXPECT_EQ(REAL0 + 20, o.s[0]->start);	/* child */
	EXPECT_EQ(REAL0 + 10, o.s[1]->start);	/* parent: old anchor */
	EXPECT_EQ(REAL0 + 500, o.s[1]->end);
	EXPECT_EQ(REAL0 + 2000 + step, o.s[2]->start);	/* after the step */
	EXPECT_EQ(REAL0 + 3000 + step, o.s[2]->end);
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&d);
}

/* The partial success of an OTLP/JSON answer, parsed, not searched. */
#define JSON_REJECTED(body, msg) \
	otlp_json_rejected(body, strlen(body), msg, sizeof(msg))
TEST(partial_success_json)
{
	char msg[64];

	EXPECT_EQ(3, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":\"3\","
				   "\"errorMessage\":\"bad \\\"x\\\" \\u00e9"
				   "\\ud83d\\ude00\"}}", msg));
	EXPECT_STREQ("bad \"x\" \xc3\xa9\xf0\x9f\x98\x80", msg);
	/* a warning: nothing rejected, a message; a number works too */
	EXPECT_EQ(0, JSON_REJECTED(" { \"x\" : [1, {\"rejectedSpans\": 9}],"
				   "\"partialSuccess\" : {\"rejectedSpans\": 0,"
				   " \"errorMessage\": \"slow down\"} }", msg));
	EXPECT_STREQ("slow down", msg);
	EXPECT_EQ(7, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":7}}",
				   msg));
	/* the key inside a string is not it; broken JSON is nothing */
	EXPECT_EQ(-1, JSON_REJECTED("{\"a\":\"\\\"rejectedSpans\\\": 5\"}", msg));
	EXPECT_EQ(-1, JSON_REJECTED("{}", msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{", msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{}} x", msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":1.5}}",
				    msg));
}

/* A warning (nothing rejected) is logged once per message, counted. */
TEST(partial_success_warning_logged_once)
{
	static const char body[] =
		"{\"partialSuccess\":{\"errorMessage\":\"deprecated field\"}}";
	static const char other[] =
		"{\"partialSuccess\":{\"errorMessage\":\"another\"}}";
	uint8_t pb[64];
	Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	char log[4096] = "";
	size_t len;
	FILE *saved = stderr, *mem;

	ps.error_message = "deprecated field";
	r.partial_success = &ps;
	len = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&r, pb);
	mem = fmemopen(log, sizeof(log) - 1, "w");
	ASSERT_NE(NULL, mem);
	stderr = mem;
	partial_success_check(true, body, strlen(body));
	partial_success_check(true, body, strlen(body));
	partial_success_check(false, pb, len);
	partial_success_check(true, other, strlen(other));
	fflush(mem);
	stderr = saved;
	fclose(mem);
	EXPECT_EQ(4, counter(&stats.partial_warnings));
	EXPECT_EQ(0, counter(&stats.partial_rejected));
	ASSERT_NE(NULL, strstr(log, "deprecated field"));
	EXPECT_EQ(NULL, strstr(strstr(log, "deprecated field") + 1,
			       "deprecated field"));
	EXPECT_NE(NULL, strstr(log, "another"));
}

/*
 * proto3 JSON: an int64 is a number or a decimal string, in range, no '+'
 * or space; null is the field's default.  Out of range is no answer (not
 * 2^63 - 1 spans rejected).
 */
TEST(partial_success_json_proto3)
{
	char msg[64];
	char big[128];

	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":"
				    "99999999999999999999999}}", msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":"
				    "\"99999999999999999999999\"}}", msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":"
				    "9223372036854775808}}", msg));
	EXPECT_EQ(INT64_MAX, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":"
					   "\"9223372036854775807\"}}", msg));
	EXPECT_EQ(0, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":"
				   "-9223372036854775808}}", msg));
	snprintf(big, sizeof(big), "{\"partialSuccess\":{\"rejectedSpans\":%s}}",
		 "1234567890123456789012345678901234567890123456789012345678901234567890");
	EXPECT_EQ(-1, JSON_REJECTED(big, msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":\" 5\"}}",
				    msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":\"+5\"}}",
				    msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":\"5 \"}}",
				    msg));
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":\"\"}}",
				    msg));
	EXPECT_EQ(1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":1,"
				   "\"errorMessage\":null}}", msg));
	EXPECT_STREQ("", msg);
	EXPECT_EQ(0, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":null,"
				   "\"errorMessage\":\"w\"}}", msg));
	EXPECT_STREQ("w", msg);
	EXPECT_EQ(-1, JSON_REJECTED("{\"partialSuccess\":{\"rejectedSpans\":true}}",
				    msg));
}

/*
 * Rejected spans count up to the spans sent; the receiver's text reaches
 * the log escaped: no control byte, no invalid UTF-8.
 */
TEST(partial_success_clamped_and_escaped)
{
	static const char body[] =
		"{\"partialSuccess\":{\"rejectedSpans\":\"1000\","
		"\"errorMessage\":\"a\\nFAKE LINE\\u001b[31m\\u0085\xff\"}}";
	char log[4096] = "";
	FILE *saved = stderr, *mem;

	mem = fmemopen(log, sizeof(log) - 1, "w");
	ASSERT_NE(NULL, mem);
	stderr = mem;
	partial_set_sent(3);
	partial_success_check(true, body, strlen(body));
	partial_set_sent(0);
	fflush(mem);
	stderr = saved;
	fclose(mem);
	EXPECT_EQ(3, counter(&stats.partial_rejected));
	EXPECT_NE(NULL, strstr(log, "rejected 3 spans: a\\x0aFAKE LINE\\x1b[31m"
			       "\\u0085" UTF8_REPLACEMENT));
	EXPECT_EQ(NULL, strchr(log, '\x1b'));
	EXPECT_EQ(NULL, strstr(log, "\xc2\x85"));
	/* one line only */
	ASSERT_NE(NULL, strchr(log, '\n'));
	EXPECT_EQ('\0', strchr(log, '\n')[1]);
}

/* A name for the terminal: control bytes escaped, UTF-8 repaired. */
TEST(utf8_escape_for_logs)
{
	char out[64];

	EXPECT_EQ(strlen("a\\x1b\\x0a\\\\b" UTF8_REPLACEMENT "\xc3\xa9"),
		  utf8_escape("a\x1b\n\\b\xff\xc3\xa9", 8, out, sizeof(out)));
	EXPECT_STREQ("a\\x1b\\x0a\\\\b" UTF8_REPLACEMENT "\xc3\xa9", out);
	/* whole characters only */
	utf8_escape("ab\x01", 3, out, 5);
	EXPECT_STREQ("ab", out);
	utf8_escape("\x7f", 1, out, sizeof(out));
	EXPECT_STREQ("\\x7f", out);
}

/* Two spans of task 100 after a COMM: hold logic helpers. */
static void task_span(struct buf *b, struct synth_span *s, uint64_t id,
		      uint16_t begin_cpu, uint16_t end_cpu, uint32_t pid,
		      uint32_t tgid, uint64_t t)
{
	sstart(s, id, id, t);
	s->pid = pid;
	s->tgid = tgid;
	s->begin_cpu = begin_cpu;
	s->begin_context = OTEL_CTX_TASK;
	synth_end(b, s, end_cpu, T0 + t + 100, 0, 0, 0);
}

/*
 * A pid recycled by another process is not named with the old one's name:
 * it waits for its own COMM (here in the other ring, later in the pass).
 */
TEST(recycled_pid_is_not_named_by_the_old_process)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 }, c = { 0 };

	synth_comm(&b, 0, T0, 100, 100, "oldproc");
	task_span(&b, &s, 1, 0, 0, 100, 100, 10);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_STREQ("oldproc", o.s[0]->thread_name);
	assembler_pass_end(a);
	b.len = 0;
	task_span(&b, &s, 2, 0, 0, 100, 200, 2000);
	synth_comm(&c, 1, T0 + 1990, 100, 200, "newproc");
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(1, o.n);		/* waits */
	EXPECT_TRUE(assembler_held(a));
	assembler_feed(a, c.data, c.len);
	assembler_pass_end(a);
	ASSERT_EQ(2, o.n);
	EXPECT_STREQ("newproc", o.s[1]->thread_name);
	EXPECT_FALSE(assembler_held(a));
	/* never named in the new process: unnamed, counted */
	b.len = 0;
	task_span(&b, &s, 3, 0, 0, 100, 300, 3000);
	assembler_feed(a, b.data, b.len);
	assembler_pass_end(a);
	assembler_pass_end(a);
	ASSERT_EQ(3, o.n);
	EXPECT_STREQ("", o.s[2]->thread_name);
	EXPECT_EQ(1, counter(&stats.names_unresolved));
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&c);
}

/*
 * A span begun (on CPU 1) after a rename whose COMM is in CPU 1's ring,
 * not read yet when the SPAN (CPU 0's ring) is: the old name is not taken;
 * the span waits for the end of the pass.  A span whose begin CPU's ring
 * was read past its start takes the table's name at once.
 */
TEST(renamed_task_span_waits_for_the_new_name)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 }, c = { 0 };

	synth_comm(&b, 1, T0, 100, 100, "before");
	task_span(&b, &s, 1, 1, 1, 100, 100, 10);
	assembler_feed(a, b.data, b.len);
	assembler_pass_end(a);
	ASSERT_EQ(1, o.n);
	EXPECT_STREQ("before", o.s[0]->thread_name);
	b.len = 0;
	task_span(&b, &s, 2, 1, 0, 100, 100, 2000);
	synth_comm(&c, 1, T0 + 1990, 100, 100, "after");
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(1, o.n);		/* held: CPU 1 not read up to its start */
	assembler_feed(a, c.data, c.len);
	assembler_pass_end(a);
	ASSERT_EQ(2, o.n);
	EXPECT_STREQ("after", o.s[1]->thread_name);
	/* begun and ended on CPU 1: its ring is read past the start */
	b.len = 0;
	task_span(&b, &s, 3, 1, 1, 100, 100, 3000);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(3, o.n);
	EXPECT_STREQ("after", o.s[2]->thread_name);
	/* no newer COMM comes in the pass: the name there is taken */
	b.len = 0;
	task_span(&b, &s, 4, 2, 0, 100, 100, 4000);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(3, o.n);
	assembler_pass_end(a);
	ASSERT_EQ(4, o.n);
	EXPECT_STREQ("after", o.s[3]->thread_name);
	EXPECT_EQ(0, counter(&stats.names_unresolved));
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&c);
}

/*
 * prctl(PR_SET_NAME, "") is legal: the task is named "", its spans get no
 * thread.name (OTel: no empty attribute) and do not wait; nothing corrupt.
 * A COMM of pid 0 (an idle task; an older kernel module wrote them) is not
 * corrupt either, and names nothing.
 */
TEST(empty_and_idle_comm_are_not_corrupt)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct attr where[SPAN_WHERE_MAX];
	struct synth_span s;
	struct buf b = { 0 };

	synth_comm(&b, 0, T0, 100, 100, "oldname");
	synth_comm(&b, 0, T0 + 5, 100, 100, "");
	synth_comm(&b, 0, T0 + 6, 0, 0, "swapper/0");
	task_span(&b, &s, 1, 0, 0, 100, 100, 10);
	task_span(&b, &s, 2, 0, 0, 0, 0, 20);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	EXPECT_EQ(3, counter(&stats.records_comm));
	ASSERT_EQ(2, o.n);		/* neither waits */
	EXPECT_STREQ("", o.s[0]->thread_name);
	EXPECT_EQ(4, span_where_attrs(o.s[0], where));	/* no thread.name */
	EXPECT_EQ(2, span_where_attrs(o.s[1], where));	/* pid 0: no thread */
	assembler_pass_end(a);
	assembler_pass_end(a);
	EXPECT_EQ(0, counter(&stats.names_unresolved));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* The table holds COMM_SLOTS names: one pushed out is counted. */
TEST(evicted_names_are_counted)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct buf b = { 0 };
	uint32_t i;

	for (i = 0; i < 20000; i++)
		synth_comm(&b, 0, T0 + i, 1000 + i, 1000 + i, "t");
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(20000, counter(&stats.records_comm));
	EXPECT_LE(20000 - 16384, counter(&stats.names_evicted));
	EXPECT_GT(20000, counter(&stats.names_evicted));
	assembler_free(a);
	buf_free(&b);
}

/*
 * An event or link dropped by the relay's bound takes its attributes (and
 * their dropped count) with it: not the span's droppedAttributesCount.
 */
TEST(dropped_items_do_not_count_as_span_attributes)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs two = { 0 };
	struct synth_span s, to;
	struct buf b = { 0 };
	unsigned int i;

	sstart(&s, 1, 2, 0);
	sspan(&to, 3, 4);
	synth_int(&two, "a", 1);
	synth_int(&two, "b", 2);
	for (i = 1; i <= SPAN_MAX_EVENTS + 1; i++)
		synth_event_dropped(&b, &s, 0, T0 + i, i, "e", &two, 5);
	for (i = 1; i <= SPAN_MAX_LINKS + 1; i++)
		synth_link_dropped(&b, &s, 0, i, &to, &two, 7);
	synth_end(&b, &s, 0, T0 + 1000, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(0, o.s[0]->dropped_attrs);
	EXPECT_EQ(1, o.s[0]->dropped_events);
	EXPECT_EQ(1, o.s[0]->dropped_links);
	EXPECT_EQ(5, o.s[0]->events[0].dropped_attrs);
	EXPECT_EQ(7, o.s[0]->links[0].dropped_attrs);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * Dropped counts aimed at 65,534 distinct events and links: bounded work
 * (SPAN_MAX_EVENTS + SPAN_MAX_LINKS targets kept), the rest counted.
 */
TEST(item_drop_targets_are_bounded)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };
	struct timespec t0, t1;
	long i;

	sstart(&s, 1, 2, 0);
	for (i = 0; i < 65534; i++)
		synth_attr_dropped(&b, &s, 0,
				   (uint16_t)((i % 0x7fff) + 1) |
				   (i & 0x8000 ? OTEL_ATTR_TARGET_LINK : 0) |
				   (i >= 0x7fff ? OTEL_ATTR_TARGET_LINK : 0),
				   NULL, 3);
	synth_event_dropped(&b, &s, 0, T0 + 1, 1, "ev", NULL, 1);
	synth_end(&b, &s, 0, T0 + 100, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assembler_feed(a, b.data, b.len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(1 + 3, o.s[0]->events[0].dropped_attrs);
	EXPECT_EQ(0, o.s[0]->dropped_attrs);
	EXPECT_EQ(65534 - 1, counter(&stats.item_attrs_lost));
	/* quadratic took 46 s under ASan; bounded, well under 5 s */
	EXPECT_GT(5, t1.tv_sec - t0.tv_sec);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * Anchors that convert as the last one kept (periodic re-anchors, no step)
 * do not push steps out of the history; a span older than the oldest kept
 * is converted with it, counted (clock_too_old).
 */
TEST(anchor_history_keeps_steps)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };
	struct anchor an;
	uint64_t i;

	/* 200 re-anchors without a step: the first anchor still holds */
	for (i = 1; i <= 200; i++) {
		an.mono_ns = T0 + i * 1000;
		an.real_ns = REAL0 + i * 1000 + (i & 1) * 10;	/* jitter */
		assembler_set_anchor(a, &an);
	}
	sstart(&s, 1, 1, 10);
	synth_end(&b, &s, 0, T0 + 20, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(REAL0 + 10, o.s[0]->start);
	EXPECT_EQ(0, counter(&stats.clock_too_old));
	/* 70 steps of 1 h: a span older than the 64 kept is counted */
	for (i = 1; i <= 70; i++) {
		an.mono_ns = T0 + 1000000 + i * 1000000;
		an.real_ns = REAL0 + 1000000 + i * 1000000 +
			     i * 3600 * T0;
		assembler_set_anchor(a, &an);
	}
	b.len = 0;
	sstart(&s, 1, 2, 10);
	synth_end(&b, &s, 0, T0 + 20, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(2, o.n);
	EXPECT_EQ(1, counter(&stats.clock_too_old));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(attribute_limit_counts_drops)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs at;
	struct synth_span s;
	struct buf b = { 0 };
	char key[16];
	int i, r;

	sstart(&s, 1, 2, 0);
	for (r = 0; r < 10; r++) {	/* 300 attributes in ATTR records */
		memset(&at, 0, sizeof(at));
		for (i = 0; i < 30; i++) {
			snprintf(key, sizeof(key), "k%03d", r * 30 + i);
			synth_int(&at, key, r * 30 + i);
		}
		synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_SPAN, &at);
	}
	synth_end(&b, &s, 0, T0 + 1, 4, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	EXPECT_EQ(SPAN_MAX_ATTRS, o.s[0]->nr_attrs);
	EXPECT_EQ(300 - SPAN_MAX_ATTRS + 4, o.s[0]->dropped_attrs);
	EXPECT_EQ(300 - SPAN_MAX_ATTRS, counter(&stats.span_items_dropped));
	/* the first written stay */
	EXPECT_EQ(SPAN_MAX_ATTRS - 1, o.s[0]->attrs[SPAN_MAX_ATTRS - 1].i);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * Random damage to a stream of valid records, many times over: whatever
 * comes out, no crash, no leak (ASan) and no open span left after a flush.
 */
TEST(random_damage_never_crashes)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 4);
	struct synth_attrs at = { 0 };
	struct synth_span s, to;
	struct buf good = { 0 }, b = { 0 };
	unsigned int seed = 12345;
	int round, i;

	sstart(&s, 1, 2, 0);
	sspan(&to, 3, 4);
	synth_str(&at, "key", "value");
	synth_entry(&at, OTEL_ATTR_DOUBLE, "d", NULL, 1, 3);
	s.attrs = at;
	synth_event(&good, &s, 0, T0 + 1, 1, "e", &at);
	synth_link(&good, &s, 1, 1, &to, &at);
	synth_attr(&good, &s, 0, 1, &at);
	synth_begin(&good, &s, 0, T0, 1, "x", "m", "1");
	synth_end(&good, &s, 0, T0 + 9, 0, 0, 0);
	for (round = 0; round < 20000; round++) {
		b.len = 0;
		buf_put(&b, good.data, good.len);
		for (i = 0; i < 1 + round % 4; i++)
			b.data[rand_r(&seed) % b.len] = rand_r(&seed);
		assembler_feed(a, b.data, b.len);
		assembler_flush(a);
		ASSERT_EQ(0, assembler_open(a));
		release(&o);
	}
	EXPECT_LT(0, counter(&stats.records_corrupt));
	assembler_free(a);
	buf_free(&good);
	buf_free(&b);
}

/* ---- keys set twice, clocks, record bounds, the ring reader ---- */

/* The attribute of @s aimed at @target with @key (NULL if none). */
static const struct attr *find_target_attr(const struct span *s,
					   uint16_t target, const char *key)
{
	size_t i;

	for (i = 0; i < s->nr_attrs; i++)
		if (s->attrs[i].target == target && !strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

/* How many attributes of @s have @key (any target). */
static size_t count_key(const struct span *s, const char *key)
{
	size_t i, n = 0;

	for (i = 0; i < s->nr_attrs; i++)
		n += !strcmp(s->attrs[i].key, key);
	return n;
}

/* Set hdr.time_ns of the record at @off of @b (synth stamps ATTR with 0). */
static void stamp(struct buf *b, size_t off, uint64_t t)
{
	((struct otel_rec_hdr *)(b->data + off))->time_ns = t;
}

/* One record: a key set twice keeps its first place and its last value. */
TEST(key_set_twice_in_one_record_keeps_last)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	synth_int(&s.attrs, "a", 1);
	synth_str(&s.attrs, "b", "bee");
	synth_int(&s.attrs, "a", 2);
	synth_str(&s.attrs, "a", "three");
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	ASSERT_EQ(2, o.s[0]->nr_attrs);
	EXPECT_STREQ("a", o.s[0]->attrs[0].key);
	EXPECT_EQ(OTEL_ATTR_STRING, o.s[0]->attrs[0].type);
	EXPECT_STREQ("three", o.s[0]->attrs[0].str);
	EXPECT_STREQ("b", o.s[0]->attrs[1].key);
	EXPECT_EQ(0, o.s[0]->dropped_attrs);
	EXPECT_EQ(0, counter(&stats.span_items_dropped));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/*
 * Span attributes flushed as an ATTR record, then the same key inline in
 * the SPAN record (written last): the inline value wins, whichever record
 * is read first.
 */
static void attr_then_inline(struct __test_metadata *_metadata,
			     bool span_first)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs flushed = { 0 };
	struct buf attr = { 0 }, span = { 0 };
	struct synth_span s;
	size_t off;

	sstart(&s, 1, 2, 0);
	synth_str(&flushed, "k", "old");
	synth_int(&flushed, "only.flushed", 1);
	off = attr.len;
	synth_attr(&attr, &s, 1, OTEL_ATTR_TARGET_SPAN, &flushed);
	stamp(&attr, off, T0 + 5);
	synth_str(&s.attrs, "k", "new");
	synth_end(&span, &s, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, span_first ? span.data : attr.data,
		       span_first ? span.len : attr.len);
	assembler_feed(a, span_first ? attr.data : span.data,
		       span_first ? attr.len : span.len);
	ASSERT_EQ(1, o.n);
	EXPECT_FALSE(o.s[0]->incomplete);
	ASSERT_EQ(2, o.s[0]->nr_attrs);
	EXPECT_EQ(1, count_key(o.s[0], "k"));
	EXPECT_STREQ("new", find_attr(o.s[0], "k")->str);
	EXPECT_EQ(1, find_attr(o.s[0], "only.flushed")->i);
	/* write order: the flushed record first, the inline entries last */
	EXPECT_STREQ("k", o.s[0]->attrs[0].key);
	EXPECT_STREQ("only.flushed", o.s[0]->attrs[1].key);
	release(&o);
	assembler_free(a);
	buf_free(&attr);
	buf_free(&span);
}

TEST(key_in_attr_record_and_inline_span_read_first)
{
	attr_then_inline(_metadata, true);
}

TEST(key_in_attr_record_and_inline_attr_read_first)
{
	attr_then_inline(_metadata, false);
}

/*
 * Two ATTR records on two CPUs, read in the opposite order: the one the
 * ring stamped later wins; with equal stamps, the one read later.
 */
TEST(key_in_two_attr_records_goes_by_ring_time)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs first = { 0 }, second = { 0 }, tie = { 0 };
	struct buf cpu0 = { 0 }, cpu1 = { 0 };
	struct synth_span s;
	size_t off;

	sstart(&s, 1, 2, 0);
	synth_str(&first, "k", "first");
	synth_str(&first, "t", "tie.1");
	synth_str(&second, "k", "second");
	synth_str(&tie, "t", "tie.2");
	off = cpu0.len;
	synth_attr(&cpu0, &s, 0, OTEL_ATTR_TARGET_SPAN, &first);
	stamp(&cpu0, off, T0 + 3);
	off = cpu1.len;
	synth_attr(&cpu1, &s, 1, OTEL_ATTR_TARGET_SPAN, &second);
	stamp(&cpu1, off, T0 + 4);
	off = cpu1.len;
	synth_attr(&cpu1, &s, 1, OTEL_ATTR_TARGET_SPAN, &tie);
	stamp(&cpu1, off, T0 + 3);
	synth_end(&cpu0, &s, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, cpu1.data, cpu1.len);
	assembler_feed(a, cpu0.data, cpu0.len);
	ASSERT_EQ(1, o.n);
	ASSERT_EQ(2, o.s[0]->nr_attrs);
	EXPECT_STREQ("second", find_attr(o.s[0], "k")->str);
	/* same stamp: "tie.1" was read after "tie.2" */
	EXPECT_STREQ("tie.1", find_attr(o.s[0], "t")->str);
	release(&o);
	assembler_free(a);
	buf_free(&cpu0);
	buf_free(&cpu1);
}

/*
 * An event's and a link's own attributes, then an ATTR record aimed at
 * each (read before the EVENT and LINK themselves): the ATTR record wins,
 * per target; the span's own key of the same name is another attribute.
 */
TEST(key_set_again_on_event_and_link)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs own = { 0 }, later = { 0 };
	struct buf items = { 0 }, attrs = { 0 }, span = { 0 };
	struct synth_span s, to;
	const struct span *got;

	sstart(&s, 1, 2, 0);
	sspan(&to, 3, 4);
	synth_str(&own, "e", "own");
	synth_str(&later, "e", "later");
	synth_str(&s.attrs, "e", "span");
	synth_event(&items, &s, 0, T0 + 1, 1, "ev", &own);
	synth_link(&items, &s, 0, 1, &to, &own);
	synth_attr(&attrs, &s, 1, 1, &later);
	synth_attr(&attrs, &s, 1, OTEL_ATTR_TARGET_LINK | 1, &later);
	synth_end(&span, &s, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, attrs.data, attrs.len);
	assembler_feed(a, items.data, items.len);
	assembler_feed(a, span.data, span.len);
	ASSERT_EQ(1, o.n);
	got = o.s[0];
	EXPECT_FALSE(got->incomplete);
	EXPECT_EQ(3, got->nr_attrs);
	EXPECT_STREQ("later", find_target_attr(got, 1, "e")->str);
	EXPECT_STREQ("later", find_target_attr(got, OTEL_ATTR_TARGET_LINK | 1,
					       "e")->str);
	EXPECT_STREQ("span", find_target_attr(got, OTEL_ATTR_TARGET_SPAN,
					      "e")->str);
	release(&o);
	assembler_free(a);
	buf_free(&items);
	buf_free(&attrs);
	buf_free(&span);
}

/*
 * The bound applies to what is left once keys are unique: 256 keys each
 * set twice drop nothing; one key set 600 times (more than an open span
 * holds before merging) keeps its last value.
 */
TEST(bound_applies_after_keys_are_merged)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs at;
	struct synth_span s, t;
	struct buf b = { 0 };
	char key[16];
	int i, r, v = 0;

	sstart(&s, 1, 2, 0);
	for (r = 0; r < 2 * SPAN_MAX_ATTRS / 32; r++) {
		memset(&at, 0, sizeof(at));
		for (i = 0; i < 32; i++) {
			snprintf(key, sizeof(key), "k%03d",
				 (r * 32 + i) % SPAN_MAX_ATTRS);
			synth_int(&at, key, (r * 32 + i) / SPAN_MAX_ATTRS);
		}
		synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_SPAN, &at);
	}
	synth_end(&b, &s, 0, T0 + 9, 0, 0, 0);
	sstart(&t, 1, 3, 0);
	for (r = 0; r < 15; r++) {
		memset(&at, 0, sizeof(at));
		if (!r)
			synth_int(&at, "other", -1);
		for (i = 0; i < 40; i++)
			synth_int(&at, "k", v++);
		synth_attr(&b, &t, 0, OTEL_ATTR_TARGET_SPAN, &at);
	}
	synth_end(&b, &t, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	ASSERT_EQ(2, o.n);
	EXPECT_EQ(SPAN_MAX_ATTRS, o.s[0]->nr_attrs);
	EXPECT_EQ(0, o.s[0]->dropped_attrs);
	EXPECT_EQ(1, find_attr(o.s[0], "k000")->i);	/* the second write */
	EXPECT_EQ(1, find_attr(o.s[0], "k255")->i);
	ASSERT_EQ(2, o.s[1]->nr_attrs);
	EXPECT_EQ(v - 1, find_attr(o.s[1], "k")->i);
	EXPECT_EQ(-1, find_attr(o.s[1], "other")->i);
	EXPECT_EQ(0, o.s[1]->dropped_attrs);
	EXPECT_EQ(0, counter(&stats.span_items_dropped));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* A span that lost one of its records, ending at T0 + @t. */
static void lossy_span(struct buf *b, uint64_t id, uint64_t t)
{
	struct synth_span s;

	sstart(&s, 1, id, t - 1);
	s.nr = 1;
	synth_end(b, &s, 0, T0 + t, 0, 0, 0);
}

/*
 * Replay: one record from the far future (counted, ignored), an EVENT at a
 * time a driver gave from the wrong clock, and a corrupt record: none may
 * move the replay clock, or the span that lost a record would never time
 * out.  The span written 2 s later does.
 */
TEST(replay_clock_ignores_far_jumps_event_times_and_bad_records)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span far, ev, bad, next;
	struct buf b = { 0 };
	size_t off;

	sstart(&far, 1, 2, 0);
	synth_end(&b, &far, 0, T0 + (1ull << 62), 0, 0, 0);
	sstart(&ev, 1, 3, 0);
	synth_event(&b, &ev, 0, REAL0, 1, "realtime", NULL);
	synth_end(&b, &ev, 0, T0 + 20, 0, 0, 0);
	sstart(&bad, 1, 4, 0);
	off = synth_end(&b, &bad, 0, T0 + 1800 * T0, 0, 0, 0);
	((struct otel_rec_span *)(b.data + off))->status_code = 7;
	lossy_span(&b, 5, 30);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(1, counter(&stats.clock_jumps));
	EXPECT_EQ(1, counter(&stats.records_corrupt));
	EXPECT_EQ(T0 + 30, assembler_last_time(a));
	ASSERT_EQ(2, o.n);		/* "far" and "ev", complete */
	EXPECT_FALSE(o.s[1]->incomplete);
	b.len = 0;
	sstart(&next, 1, 6, 0);
	synth_end(&b, &next, 0, T0 + 2 * T0, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	assembler_expire(a, assembler_last_time(a));	/* as main.c does */
	ASSERT_EQ(4, o.n);
	EXPECT_TRUE(o.s[3]->incomplete);
	EXPECT_EQ(1, find_attr(o.s[3], "oteltrace.missing_records")->i);
	EXPECT_EQ(0, assembler_open(a));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * T0 + ts.tv_nsec;
}

/*
 * Live: the timers run on CLOCK_MONOTONIC, whatever the records say (an
 * EVENT with a CLOCK_REALTIME time, a SPAN from the far future).
 */
TEST(live_clock_ignores_record_times)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	uint64_t now = mono_now();
	struct synth_span ev, far, lossy;
	struct buf b = { 0 };

	assembler_set_live(a);
	sstart(&ev, 1, 2, 0);
	synth_event(&b, &ev, 0, REAL0 + now, 1, "realtime", NULL);
	synth_end(&b, &ev, 0, now, 0, 0, 0);
	sstart(&far, 1, 3, 0);
	synth_end(&b, &far, 0, now + (1ull << 62), 0, 0, 0);
	sstart(&lossy, 1, 4, 0);
	lossy.nr = 1;
	synth_end(&b, &lossy, 0, now + 10, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(2, o.n);
	assembler_expire(a, now + T0 / 2);
	EXPECT_EQ(2, o.n);		/* within the grace period */
	assembler_expire(a, mono_now() + 2 * T0);
	ASSERT_EQ(3, o.n);
	EXPECT_TRUE(o.s[2]->incomplete);
	EXPECT_EQ(0, assembler_open(a));
	EXPECT_EQ(0, counter(&stats.clock_jumps));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* Bytes after the last whole record, or a record cut short: corrupt. */
TEST(cut_records_and_trailing_bytes_are_corrupt)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s, t;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	buf_put(&b, "\x08\x00\x40\x00", 4);	/* a SPAN header's first half */
	EXPECT_EQ(b.len, assembler_feed(a, b.data, b.len));
	EXPECT_EQ(1, counter(&stats.records_corrupt));
	EXPECT_EQ(1, o.n);
	b.len = 0;
	sstart(&t, 1, 3, 0);
	synth_end(&b, &t, 0, T0 + 1, 0, 0, 0);
	EXPECT_EQ(b.len - 8, assembler_feed(a, b.data, b.len - 8));
	EXPECT_EQ(2, counter(&stats.records_corrupt));
	EXPECT_EQ(1, o.n);
	EXPECT_EQ(1, counter(&stats.records));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* A record longer than the kernel ever writes (OTEL_REC_MAX_SIZE). */
TEST(record_longer_than_max_record_is_corrupt)
{
	static char name[OTEL_REC_MAX_SIZE];
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	memset(name, 'n', sizeof(name) - 1);
	sspan(&s, 1, 2);
	synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, name, "m", "");
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	ASSERT_LT(OTEL_REC_MAX_SIZE, b.len);
	expect_skipped(_metadata, &b);
	/* a module that says it writes longer records (info.max_record) */
	assembler_set_max_record(a, 2 * OTEL_REC_MAX_SIZE);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(2, o.n);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* The trace id of a SPAN or SPAN_BEGIN is never all zero. */
TEST(zero_trace_id_is_corrupt)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	memset(s.trace_id, 0, sizeof(s.trace_id));
	synth_begin(&b, &s, 0, T0, 1, "x", "m", "");
	s.nr = 0;
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(2, counter(&stats.records_corrupt));
	EXPECT_EQ(0, assembler_open(a));
	EXPECT_EQ(0, o.n);
	assembler_free(a);
	buf_free(&b);
}

/* Dropped counts saturate instead of wrapping to small numbers. */
TEST(dropped_counts_saturate)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs at = { 0 };
	struct synth_span s;
	struct buf b = { 0 };

	sstart(&s, 1, 2, 0);
	synth_int(&at, "to.missing.event", 1);
	synth_attr(&b, &s, 0, 5, &at);
	synth_end(&b, &s, 0, T0 + 1, UINT32_MAX, UINT32_MAX, UINT32_MAX);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(UINT32_MAX, o.s[0]->dropped_attrs);
	EXPECT_EQ(UINT32_MAX, o.s[0]->dropped_events);
	EXPECT_EQ(UINT32_MAX, o.s[0]->dropped_links);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* fmix64 of the old, unkeyed hash_id(), inverted: ids chosen to collide. */
static uint64_t unkeyed_preimage(uint64_t h)
{
	uint64_t c = 0xff51afd7ed558ccdull, inv = c;
	int i;

	for (i = 0; i < 6; i++)
		inv *= 2 - c * inv;	/* Newton: c * inv = 1 mod 2^64 */
	h ^= h >> 33;
	h *= inv;
	h ^= h >> 33;
	return h;
}

/*
 * Span ids chosen so that an unkeyed hash puts them all in one bucket and
 * one slot of the remembered ids: with the keyed hash, the late records of
 * 64 spans exported incomplete are nearly all recognised as late.
 */
TEST(hash_is_keyed_against_chosen_ids)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 1024);
	struct synth_span s[64];
	struct buf b = { 0 }, late = { 0 };
	uint64_t id;
	int i;

	for (i = 0; i < 64; i++) {
		sstart(&s[i], 1, 2, 0);
		id = unkeyed_preimage((uint64_t)(i + 1) << 24);
		memcpy(s[i].span_id, &id, sizeof(id));
		synth_event(&late, &s[i], 0, T0 + 1, 1, "late", NULL);
		synth_end(&b, &s[i], 0, T0 + 2, 0, 0, 0);
	}
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(64, assembler_open(a));
	assembler_expire(a, T0 + 2 * T0);
	ASSERT_EQ(64, o.n);
	assembler_feed(a, late.data, late.len);
	EXPECT_LE(56, counter(&stats.records_late));
	EXPECT_GE(8, assembler_open(a));
	release(&o);
	assembler_free(a);
	buf_free(&b);
	buf_free(&late);
}

/*
 * The ring reader on rings in memory laid out as the device maps them,
 * with an inaccessible page right after the data area: the producer page,
 * RING_TEST_SIZE bytes of records, the guard.
 */
#define RING_TEST_PAGE	4096u
#define RING_TEST_SIZE	8192u

struct test_ring {
	uint8_t *map;
	struct otel_ring_producer *prod;
	uint8_t *data;
	struct otel_ring_consumer cons;
	struct otel_info info;
	struct buf got;		/* what the reader passed on */
	int calls;
};

static void test_ring_init(struct test_ring *t)
{
	memset(t, 0, sizeof(*t));
	t->map = mmap(NULL, 2 * RING_TEST_PAGE + RING_TEST_SIZE,
		      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(t->map + RING_TEST_PAGE + RING_TEST_SIZE, RING_TEST_PAGE,
		 PROT_NONE);
	t->prod = (struct otel_ring_producer *)t->map;
	t->data = t->map + RING_TEST_PAGE;
	t->prod->ring_size = RING_TEST_SIZE;
	t->info.abi_version = OTEL_ABI_VERSION;
	t->info.nr_cpus = 1;
	t->info.page_size = RING_TEST_PAGE;
	t->info.ring_size = RING_TEST_SIZE;
	t->info.mmap_stride = 2 * RING_TEST_PAGE + RING_TEST_SIZE;
	t->info.max_record = OTEL_REC_MAX_SIZE;
}

static struct ring_reader *test_ring_attach(struct test_ring *t)
{
	struct otel_ring_consumer *cons = &t->cons;
	const void *prod = t->prod;

	return ring_attach(&t->info, &cons, &prod);
}

static bool test_ring_sink(const void *p, size_t len, void *arg)
{
	struct test_ring *t = arg;

	buf_put(&t->got, p, len);
	t->calls++;
	return true;
}

/* One ring_drain() into @t: the bytes it read. */
static size_t test_ring_drain(struct ring_reader *r, struct test_ring *t)
{
	bool stopped;

	return ring_drain(r, test_ring_sink, t, &stopped);
}

/* Write @b's records at producer_pos and publish them. */
static void test_ring_write(struct test_ring *t, const struct buf *b)
{
	memcpy(t->data + (t->prod->producer_pos & (RING_TEST_SIZE - 1)),
	       b->data, b->len);
	t->prod->producer_pos += b->len;
}

static void test_ring_free(struct test_ring *t)
{
	munmap(t->map, 2 * RING_TEST_PAGE + RING_TEST_SIZE);
	buf_free(&t->got);
}

/* consumer_pos scribbled to 1 byte before the data area's end, at open. */
TEST(ring_bad_consumer_pos_at_open)
{
	struct ring_reader *r;
	struct test_ring t;

	test_ring_init(&t);
	memset(t.data, 0xff, RING_TEST_SIZE);	/* junk */
	t.prod->producer_pos = 3 * RING_TEST_SIZE;
	t.cons.consumer_pos = 3 * RING_TEST_SIZE - 1;
	r = test_ring_attach(&t);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(1, counter(&stats.records_corrupt));
	EXPECT_EQ(0, test_ring_drain(r, &t));
	EXPECT_EQ(0, t.calls);
	EXPECT_EQ(3 * RING_TEST_SIZE, t.cons.consumer_pos);
	/* far behind, far ahead: the same */
	ring_close(r);
	t.cons.consumer_pos = RING_TEST_SIZE - 8;
	r = test_ring_attach(&t);
	t.cons.consumer_pos = 5 * RING_TEST_SIZE;
	ring_close(test_ring_attach(&t));
	EXPECT_EQ(0, test_ring_drain(r, &t));
	EXPECT_EQ(3, counter(&stats.records_corrupt));
	ring_close(r);
	test_ring_free(&t);
}

/*
 * consumer_pos scribbled between passes (unaligned, backwards): the reader
 * goes on from its own position, reading each record once; a move forward
 * to a record's start, as OTEL_IOC_CLEAR makes, is followed.
 */
TEST(ring_reader_keeps_its_own_position)
{
	struct ring_reader *r;
	struct synth_span s;
	struct test_ring t;
	struct buf b = { 0 };
	size_t one;

	test_ring_init(&t);
	t.prod->producer_pos = t.cons.consumer_pos = 2 * RING_TEST_SIZE;
	r = test_ring_attach(&t);
	ASSERT_NE(NULL, r);
	sstart(&s, 1, 2, 0);
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	one = b.len;
	test_ring_write(&t, &b);
	EXPECT_EQ(one, test_ring_drain(r, &t));
	EXPECT_EQ(one, t.got.len);
	t.cons.consumer_pos += 4;		/* unaligned */
	test_ring_write(&t, &b);
	EXPECT_EQ(one, test_ring_drain(r, &t));
	t.cons.consumer_pos = 2 * RING_TEST_SIZE;	/* backwards */
	EXPECT_EQ(0, test_ring_drain(r, &t));
	EXPECT_EQ(2 * one, t.got.len);
	EXPECT_EQ(2 * RING_TEST_SIZE + 2 * one, t.cons.consumer_pos);
	test_ring_write(&t, &b);
	t.cons.consumer_pos = t.prod->producer_pos;	/* cleared */
	EXPECT_EQ(0, test_ring_drain(r, &t));
	EXPECT_EQ(2 * one, t.got.len);
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	ring_close(r);
	test_ring_free(&t);
	buf_free(&b);
}

/* Record headers that do not fit the data area end the pass, counted. */
TEST(ring_record_crossing_the_end_is_corrupt)
{
	struct otel_rec_hdr h = { .type = OTEL_REC_SPAN, .size = 64 };
	struct ring_reader *r;
	struct test_ring t;

	test_ring_init(&t);
	t.prod->producer_pos = t.cons.consumer_pos = RING_TEST_SIZE - 16;
	r = test_ring_attach(&t);
	ASSERT_NE(NULL, r);
	memcpy(t.data + RING_TEST_SIZE - 16, &h, 16);
	t.prod->producer_pos += 64;
	EXPECT_EQ(0, test_ring_drain(r, &t));
	EXPECT_EQ(1, counter(&stats.records_corrupt));
	EXPECT_EQ(RING_TEST_SIZE + 48, t.cons.consumer_pos);
	ring_close(r);
	test_ring_free(&t);
}

/*
 * otelctl stats against a fake device: its ioctl() calls, and only its,
 * go to fake_ioctl(), which fails OTEL_IOC_SPAN_STATS with fake_errno.
 */
static int fake_errno;

static int fake_ioctl(int fd, unsigned long cmd, ...)
{
	struct otel_stats_req *req;
	struct otel_info *info;
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	switch (cmd) {
	case OTEL_IOC_INFO:
		info = arg;
		memset(info, 0, sizeof(*info));
		info->abi_version = OTEL_ABI_VERSION;
		info->nr_cpus = 2;
		return 0;
	case OTEL_IOC_STATS:
		req = arg;
		memset(&req->stats, 0, sizeof(req->stats));
		req->stats.records = 7;
		return 0;
	}
	errno = cmd == OTEL_IOC_SPAN_STATS ? fake_errno : ENOTTY;
	return -1;
}

#define ioctl fake_ioctl
#include "../../userspace/otelctl/stats.c"
#undef ioctl

const char *prog = "otelctl";

void errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int dev_open(void)
{
	return open("/dev/null", O_RDONLY);
}

int dev_ioctl(int fd, unsigned long cmd, void *arg, const char *what)
{
	return fake_ioctl(fd, cmd, arg) ? -1 : 0;
}

/* Run "otelctl stats --json"; its stdout and stderr in @out and @err. */
static int run_stats_json(char *out, size_t outlen, char *err, size_t errlen)
{
	char *argv[] = { "stats", "--json", NULL };
	FILE *fo = tmpfile(), *fe = tmpfile();
	int saved_out = dup(1), saved_err = dup(2), ret;
	size_t n;

	fflush(stdout);
	fflush(stderr);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	ret = cmd_stats(2, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(fo);
	n = fread(out, 1, outlen - 1, fo);
	out[n] = '\0';
	rewind(fe);
	n = fread(err, 1, errlen - 1, fe);
	err[n] = '\0';
	fclose(fo);
	fclose(fe);
	return ret;
}

/* Whatever OTEL_IOC_SPAN_STATS fails with, --json stays one JSON object. */
TEST(otelctl_stats_json_stays_whole)
{
	static const int errs[] = { ENOTTY, EIO, EFAULT, EINVAL };
	static const char head[] = "{\"cpus\": [{\"cpu\": 0, ";
	static const char tail[] = ", \"span_stats\": null}\n";
	char out[4096], err[4096];
	size_t i, len;
	int ret;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		fake_errno = errs[i];
		ret = run_stats_json(out, sizeof(out), err, sizeof(err));
		EXPECT_EQ(errs[i] == ENOTTY ? EXIT_OK : EXIT_RUNTIME, ret);
		len = strlen(out);
		ASSERT_LT(sizeof(tail) - 1, len);
		EXPECT_STREQ(tail, out + len - (sizeof(tail) - 1));
		EXPECT_EQ(0, strncmp(out, head, strlen(head)));
		EXPECT_NE(NULL, strstr(err, "span stats"));
	}
}

/* Two scopes, a parent and child, all fields: pack, unpack, compare. */
TEST(protobuf_round_trip)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
	Opentelemetry__Proto__Trace__V1__ResourceSpans *rs;
	Opentelemetry__Proto__Trace__V1__Span *sp;
	struct config cfg = { 0 };
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs eb = { 0 }, li = { 0 };
	struct synth_span s1, s2;
	struct resource res;
	struct buf b = { 0 }, out = { 0 };

	sspan(&s1, 1, 2);
	sspan(&s2, 1, 3);
	memcpy(s2.parent, s1.span_id, 8);
	synth_start(&s1, T0, OTEL_SPAN_KIND_SERVER, "a", "m1", "1");
	synth_entry(&eb, OTEL_ATTR_BOOL, "eb", NULL, 1, 0);
	synth_int(&li, "li", 9);
	synth_event(&b, &s1, 0, T0 + 2, 1, "ev", &eb);
	synth_link(&b, &s1, 0, 1, &s2, NULL);
	synth_attr(&b, &s1, 0, OTEL_ATTR_TARGET_LINK | 1, &li);
	synth_end(&b, &s1, 0, T0 + 5, 1, 2, 3);
	synth_start(&s2, T0 + 1, OTEL_SPAN_KIND_CLIENT, "b", "m2", "");
	synth_end(&b, &s2, 1, T0 + 4, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(2, o.n);
	ASSERT_EQ(0, resource_build(&res, &cfg));
	ASSERT_EQ(0, otlp_proto_encode(o.s, 2, &res, &out));
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, out.len, out.data);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(1, req->n_resource_spans);
	rs = req->resource_spans[0];
	EXPECT_EQ(res.nr, rs->resource->n_attributes);
	EXPECT_STREQ("service.name", rs->resource->attributes[0]->key);
	EXPECT_STREQ("unknown_service:oteld",
		     rs->resource->attributes[0]->value->string_value);
	ASSERT_EQ(2, rs->n_scope_spans);
	EXPECT_STREQ("m1", rs->scope_spans[0]->scope->name);
	EXPECT_STREQ("1", rs->scope_spans[0]->scope->version);
	EXPECT_STREQ("m2", rs->scope_spans[1]->scope->name);
	sp = rs->scope_spans[0]->spans[0];
	EXPECT_EQ(0, memcmp(sp->trace_id.data, s1.trace_id, 16));
	EXPECT_EQ(0, memcmp(sp->span_id.data, s1.span_id, 8));
	EXPECT_EQ(0, sp->parent_span_id.len);
	EXPECT_EQ(2, sp->kind);
	EXPECT_EQ(5, sp->end_time_unix_nano - sp->start_time_unix_nano);
	EXPECT_EQ(1, sp->dropped_attributes_count);
	EXPECT_EQ(2, sp->dropped_events_count);
	EXPECT_EQ(3, sp->dropped_links_count);
	EXPECT_EQ(0x101, sp->flags);
	ASSERT_EQ(1, sp->n_events);
	ASSERT_EQ(1, sp->events[0]->n_attributes);
	EXPECT_TRUE(sp->events[0]->attributes[0]->value->bool_value);
	ASSERT_EQ(1, sp->n_links);
	EXPECT_EQ(0, memcmp(sp->links[0]->span_id.data, s2.span_id, 8));
	EXPECT_EQ(9, sp->links[0]->attributes[0]->value->int_value);
	sp = rs->scope_spans[1]->spans[0];
	EXPECT_EQ(0, memcmp(sp->parent_span_id.data, s1.span_id, 8));
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req, NULL);

	out.len = 0;
	ASSERT_EQ(0, otlp_json_encode(o.s, 2, &res, &out));
	buf_put(&out, "", 1);
	EXPECT_NE(NULL, strstr((char *)out.data, "\"droppedLinksCount\":3"));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"scope\":{\"name\":\"m2\"},"));
	EXPECT_NE(NULL, strstr((char *)out.data, "{\"key\":\"li\",\"value\":{\"intValue\":\"9\"}}"));
	resource_free(&res);
	buf_free(&out);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(json_escapes_and_utf8)
{
	struct span s = { 0 };
	struct attr at[2] = {
		{ .key = "q\"\\", .type = OTEL_ATTR_STRING, .str = "\x01\xff\xc3\xa9" },
		{ .key = "nan", .type = OTEL_ATTR_DOUBLE, .d = 0.0 / 0.0 },
	};
	struct span *v[1] = { &s };
	struct resource r = { 0 };
	struct buf out = { 0 };

	s.name = "n";
	s.scope_name = "m";
	s.scope_version = "";
	s.attrs = at;
	s.nr_attrs = 2;
	s.start = 18446744073709551615ull;
	ASSERT_EQ(0, otlp_json_encode(v, 1, &r, &out));
	buf_put(&out, "", 1);
	EXPECT_NE(NULL, strstr((char *)out.data,
		"{\"key\":\"q\\\"\\\\\",\"value\":{\"stringValue\":\"\\u0001\\ufffd\xc3\xa9\"}}"));
	EXPECT_NE(NULL, strstr((char *)out.data, "{\"doubleValue\":\"NaN\"}"));
	EXPECT_NE(NULL, strstr((char *)out.data,
			       "\"startTimeUnixNano\":\"18446744073709551615\""));
	buf_free(&out);
}

TEST(capture_round_trip)
{
	char path[] = "/tmp/oteld-unit-XXXXXX";
	struct anchor a1 = { 11, 22 }, a2 = { 33, 44 }, got;
	struct buf f = { 0 };
	struct capture *c;
	uint32_t type;
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	close(fd);
	c = capture_create(path, &a1, 4, 0);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, capture_write(c, CAPTURE_RECORDS, "abcdefghij", 10));
	ASSERT_EQ(0, capture_write(c, CAPTURE_ANCHOR, &a2, sizeof(a2)));
	ASSERT_EQ(0, capture_close(c));
	c = capture_open(path, &got);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(11, got.mono_ns);
	EXPECT_EQ(22, got.real_ns);
	ASSERT_EQ(1, capture_next(c, &type, &f));
	EXPECT_EQ(CAPTURE_RECORDS, type);
	ASSERT_EQ(10, f.len);
	EXPECT_EQ(0, memcmp(f.data, "abcdefghij", 10));
	ASSERT_EQ(1, capture_next(c, &type, &f));
	EXPECT_EQ(CAPTURE_ANCHOR, type);
	EXPECT_EQ(0, memcmp(f.data, &a2, sizeof(a2)));
	EXPECT_EQ(0, capture_next(c, &type, &f));
	capture_close(c);
	/* not a capture */
	c = capture_create(path, &a1, 4, 0);
	capture_close(c);
	truncate(path, 10);
	EXPECT_EQ(NULL, capture_open(path, &got));
	unlink(path);
	buf_free(&f);
}

TEST(queue_bounds_and_batches)
{
	struct queue *q = queue_new(3, 2, 0);
	struct span *out[2];
	size_t n;
	int i;

	for (i = 0; i < 5; i++)
		queue_push(q, calloc(1, sizeof(struct span)));
	EXPECT_EQ(3, queue_len(q));
	EXPECT_EQ(2, atomic_load(&stats.dropped_queue_full));
	EXPECT_EQ(3, atomic_load(&stats.spans_queued));
	n = queue_pop_batch(q, out);
	EXPECT_EQ(2, n);
	while (n)
		span_free(out[--n]);
	queue_close(q);
	EXPECT_EQ(1, queue_pop_batch(q, out));	/* closed: no wait */
	span_free(out[0]);
	EXPECT_EQ(0, queue_pop_batch(q, out));
	EXPECT_TRUE(queue_closed(q));
	queue_free(q);
}

/* queue_push_batch(): pushes in order, one lock; what finds no room drops. */
TEST(queue_push_batch_drops_what_does_not_fit)
{
	struct queue *q = queue_new(3, 2, 0);
	struct span *v[5], *out[2];
	size_t n;
	int i;

	for (i = 0; i < 5; i++) {
		v[i] = calloc(1, sizeof(struct span));
		v[i]->pid = i;
	}
	queue_push_batch(q, v, 5);
	EXPECT_EQ(3, queue_len(q));
	EXPECT_EQ(2, atomic_load(&stats.dropped_queue_full));
	EXPECT_EQ(3, atomic_load(&stats.spans_queued));
	n = queue_pop_batch(q, out);
	ASSERT_EQ(2, n);
	EXPECT_EQ(0, out[0]->pid);	/* in the order given */
	EXPECT_EQ(1, out[1]->pid);
	span_free_batch(out, n);
	queue_close(q);
	for (i = 0; i < 2; i++)
		v[i] = calloc(1, sizeof(struct span));
	queue_push_batch(q, v, 2);	/* closed: dropped */
	EXPECT_EQ(4, atomic_load(&stats.dropped_queue_full));
	EXPECT_EQ(1, queue_pop_batch(q, out));
	EXPECT_EQ(2, out[0]->pid);
	span_free(out[0]);
	queue_free(q);
}

/*
 * The pool keeps at most its bound and frees the rest; the reader's cache
 * takes blocks from it before making any; span_free_batch() sorts a mix.
 */
TEST(pool_keeps_at_most_its_bound)
{
	struct block_cache c = { 0 };
	struct span *v[3], *mix[3], *got;
	int i;

	EXPECT_EQ(0, pool_len());
	ASSERT_EQ(0, pool_init(2));
	for (i = 0; i < 3; i++) {
		v[i] = block_get(&c);	/* the pool is empty: made */
		ASSERT_NE(NULL, v[i]);
		memset(v[i], 0, SPAN_BLOCK_BYTES);
	}
	blocks_put(v, 3);
	EXPECT_EQ(2, pool_len());	/* v[0] was freed (ASan: no leak) */
	got = block_get(&c);		/* from the pool, through the cache */
	EXPECT_TRUE(got == v[1] || got == v[2]);
	EXPECT_EQ(0, pool_len());
	EXPECT_EQ(1, c.n);
	memset(got, 0, sizeof(*got));
	got->alloc = SPAN_POOLED;
	mix[0] = got;
	mix[1] = calloc(1, sizeof(struct span));	/* SPAN_PARTS */
	mix[2] = NULL;
	span_free_batch(mix, 3);
	EXPECT_EQ(1, pool_len());
	block_cache_drain(&c);
	EXPECT_EQ(2, pool_len());
	EXPECT_EQ(0, c.n);
	pool_free();
	EXPECT_EQ(0, pool_len());
	v[0] = block_get(&c);		/* no pool: made, and freed */
	blocks_put(v, 1);
	EXPECT_EQ(0, pool_len());
}

TEST(headers_and_percent_decoding)
{
	char **h = NULL, *d, why[256];
	size_t n = 0;

	ASSERT_EQ(0, parse_headers(" a = b%2Cc ,x-k=%3D%zz", false, &h, &n,
				   why, sizeof(why)));
	ASSERT_EQ(2, n);
	EXPECT_STREQ("a: b,c", h[0]);
	EXPECT_STREQ("x-k: =%zz", h[1]);
	free(h[0]);
	free(h[1]);
	free(h);
	EXPECT_EQ(-1, parse_headers("novalue", false, &h, &n, why,
				    sizeof(why)));
	EXPECT_EQ(-1, parse_headers("a b=c", false, &h, &n, why,
				    sizeof(why)));
	d = percent_decode("100%", 4);
	EXPECT_STREQ("100%", d);
	free(d);
}

TEST(config_precedence)
{
	char *argv[] = { "oteld", "--protocol", "http/json", "--timeout", "7",
			 NULL };
	struct config c;

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:1/", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "9", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "8", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
	ASSERT_EQ(0, config_load(&c, 5, argv));
	EXPECT_STREQ("http://h:1/v1/traces", c.endpoint);
	EXPECT_EQ(PROTO_HTTP_JSON, c.protocol);
	EXPECT_EQ(7, c.timeout_ms);
	EXPECT_EQ(100, c.max_queue);
	EXPECT_EQ(100, c.max_batch);	/* default 512 follows the queue */
	config_free(&c);
	argv[1] = NULL;
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://t/x", 1);
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_STREQ("https://t/x", c.endpoint);
	EXPECT_EQ(9, c.timeout_ms);
	config_free(&c);
}

TEST(gzip_inflates_back)
{
	static char in[100000];
	struct buf out = { 0 };
	uLongf len = sizeof(in);
	static char back[100000];
	z_stream zs = { 0 };
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = "oteltrace"[i % 9];
	ASSERT_EQ(0, gzip_buf(in, sizeof(in), &out));
	EXPECT_LT(out.len, sizeof(in) / 10);
	EXPECT_EQ(0x1f, out.data[0]);
	EXPECT_EQ(0x8b, out.data[1]);
	ASSERT_EQ(Z_OK, inflateInit2(&zs, 16 + 15));
	zs.next_in = out.data;
	zs.avail_in = out.len;
	zs.next_out = (Bytef *)back;
	zs.avail_out = len;
	EXPECT_EQ(Z_STREAM_END, inflate(&zs, Z_FINISH));
	EXPECT_EQ(sizeof(in), zs.total_out);
	inflateEnd(&zs);
	EXPECT_EQ(0, memcmp(in, back, sizeof(in)));
	buf_free(&out);
}

/* ---- export path: UTF-8 repair, the direct protobuf encoder, the queue ---- */

struct utf8_case {
	const char *in, *out;
};

static const struct utf8_case utf8_cases[] = {
	{ "plain ascii", "plain ascii" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	/* cut by the end of the string (the kernel truncates by bytes) */
	{ "caf\xc3", "caf" },
	{ "euro\xe2\x82", "euro" },
	{ "smile\xf0\x9f\x98", "smile" },
	{ "\xf0", "" },
	/* ill-formed: one U+FFFD per maximal subpart */
	{ "a\xff" "b", "a\xef\xbf\xbd" "b" },
	{ "a\xe2\x82" "b", "a\xef\xbf\xbd" "b" },
	{ "\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },		/* overlong */
	{ "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* surrogate */
	{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xe2\x82\xe2\x82\xac", "\xef\xbf\xbd\xe2\x82\xac" },
	/* a bad byte in the middle, a cut character at the end */
	{ "0123456789\xfe" "abcdef\xe2\x82", "0123456789\xef\xbf\xbd" "abcdef" },
};

TEST(utf8_repair_replaces_and_cuts)
{
	char out[64];
	size_t i, n, m;

	for (i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct utf8_case *c = &utf8_cases[i];

		n = strlen(c->in);
		m = utf8_repaired_len(c->in, n);
		ASSERT_EQ(strlen(c->out), m) TH_LOG("case %zu", i);
		ASSERT_EQ(m, utf8_repair(c->in, n, out));
		EXPECT_EQ(0, memcmp(c->out, out, m)) TH_LOG("case %zu", i);
		EXPECT_EQ(strcmp(c->in, c->out) ? 0 : 1,
			  utf8_valid_prefix(c->in, n) == n) TH_LOG("case %zu", i);
		EXPECT_EQ(m, utf8_valid_prefix(out, m));
	}
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest PbRequest;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKeyValue;
typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;

static PbRequest *pb_unpack(const struct buf *b)
{
	return opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, b->len, b->data);
}

static void pb_free(PbRequest *r)
{
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
}

/* Compare decoded KeyValues with the attributes of @s aimed at @target. */
static int same_attrs(PbKeyValue **kv, size_t n, const struct attr *attrs,
		      size_t nr, uint16_t target)
{
	size_t i, k = 0;

	for (i = 0; i < nr; i++) {
		const struct attr *a = &attrs[i];
		const Opentelemetry__Proto__Common__V1__AnyValue *v;

		if (a->target != target)
			continue;
		if (k >= n || strcmp(kv[k]->key, a->key) || !kv[k]->value)
			return -1;
		v = kv[k++]->value;
		switch (a->type) {
		case OTEL_ATTR_STRING:
			if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE ||
			    strcmp(v->string_value, a->str))
				return -1;
			break;
		case OTEL_ATTR_BOOL:
			if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE ||
			    v->bool_value != !!a->i)
				return -1;
			break;
		case OTEL_ATTR_INT:
			if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE ||
			    v->int_value != a->i)
				return -1;
			break;
		default:
			if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE ||
			    memcmp(&v->double_value, &a->d, sizeof(a->d)))
				return -1;
		}
	}
	return k == n ? 0 : -1;
}

/* The span's own attributes, then those oteld adds (where it began). */
static int same_span_attrs(PbKeyValue **kv, size_t n, const struct span *s)
{
	struct attr all[64];
	size_t i, k = 0;

	for (i = 0; i < s->nr_attrs && k < 64 - SPAN_WHERE_MAX; i++)
		if (s->attrs[i].target == OTEL_ATTR_TARGET_SPAN)
			all[k++] = s->attrs[i];
	k += span_where_attrs(s, all + k);
	return same_attrs(kv, n, all, k, OTEL_ATTR_TARGET_SPAN);
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* Every field protobuf-c decodes from a span the encoder wrote. */
static int same_span(const PbSpan *m, const struct span *s)
{
	static const uint8_t zero[OTEL_SPAN_ID_SIZE];
	size_t i;

	if (m->trace_id.len != 16 || memcmp(m->trace_id.data, s->trace_id, 16) ||
	    m->span_id.len != 8 || memcmp(m->span_id.data, s->span_id, 8))
		return __LINE__;
	if (memcmp(s->parent_span_id, zero, 8) ?
	    m->parent_span_id.len != 8 ||
	    memcmp(m->parent_span_id.data, s->parent_span_id, 8) :
	    m->parent_span_id.len != 0)
		return __LINE__;
	if (*m->trace_state || strcmp(m->name, str_or_empty(s->name)) ||
	    m->kind != s->kind || m->start_time_unix_nano != s->start ||
	    m->end_time_unix_nano != s->end || m->flags != span_flags(s))
		return __LINE__;
	if (same_span_attrs(m->attributes, m->n_attributes, s))
		return __LINE__;
	if (m->dropped_attributes_count != s->dropped_attrs ||
	    m->dropped_events_count != s->dropped_events ||
	    m->dropped_links_count != s->dropped_links)
		return __LINE__;
	if (!m->status || m->status->code != s->status_code ||
	    strcmp(m->status->message, str_or_empty(s->status_message)))
		return __LINE__;
	if (m->n_events != s->nr_events || m->n_links != s->nr_links)
		return __LINE__;
	for (i = 0; i < s->nr_events; i++) {
		const Opentelemetry__Proto__Trace__V1__Span__Event *e = m->events[i];

		if (e->time_unix_nano != s->events[i].time ||
		    strcmp(e->name, s->events[i].name) ||
		    e->dropped_attributes_count != s->events[i].dropped_attrs ||
		    same_attrs(e->attributes, e->n_attributes, s->attrs,
			       s->nr_attrs, s->events[i].index))
			return __LINE__;
	}
	for (i = 0; i < s->nr_links; i++) {
		const Opentelemetry__Proto__Trace__V1__Span__Link *l = m->links[i];

		if (memcmp(l->trace_id.data, s->links[i].trace_id, 16) ||
		    l->trace_id.len != 16 || l->span_id.len != 8 ||
		    memcmp(l->span_id.data, s->links[i].span_id, 8) ||
		    *l->trace_state ||
		    l->dropped_attributes_count != s->links[i].dropped_attrs ||
		    /* a LINK record knows nothing of is_remote: no 0x100 */
		    l->flags != s->links[i].trace_flags ||
		    same_attrs(l->attributes, l->n_attributes, s->attrs,
			       s->nr_attrs,
			       OTEL_ATTR_TARGET_LINK | s->links[i].index))
			return __LINE__;
	}
	return 0;
}

static struct attr full_attrs[] = {
	{ .key = "s", .type = OTEL_ATTR_STRING, .str = "value" },
	{ .key = "empty", .type = OTEL_ATTR_STRING, .str = "" },
	{ .key = "t", .type = OTEL_ATTR_BOOL, .i = 1 },
	{ .key = "f", .type = OTEL_ATTR_BOOL, .i = 0 },
	{ .key = "zero", .type = OTEL_ATTR_INT, .i = 0 },
	{ .key = "neg", .type = OTEL_ATTR_INT, .i = INT64_MIN },
	{ .key = "big", .type = OTEL_ATTR_INT, .i = 9007199254740993ll },
	{ .key = "d", .type = OTEL_ATTR_DOUBLE, .d = -2.5e-3 },
	{ .key = "dz", .type = OTEL_ATTR_DOUBLE, .d = 0.0 },
	{ .key = "ev", .target = 1, .type = OTEL_ATTR_INT, .i = 7 },
	{ .key = "ev2", .target = 2, .type = OTEL_ATTR_STRING, .str = "x" },
	{ .key = "li", .target = OTEL_ATTR_TARGET_LINK | 1,
	  .type = OTEL_ATTR_BOOL, .i = 1 },
	{ .key = "", .type = OTEL_ATTR_INT, .i = 300 },
	{ .key = "long", .type = OTEL_ATTR_STRING,
	  .str = "a string longer than one hundred and twenty-eight bytes, "
		 "so that its length takes a two-byte varint in the wire "
		 "format: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
};

static struct event full_events[] = {
	{ .index = 1, .time = 1700000000000000100ull, .name = "first",
	  .dropped_attrs = 4 },
	{ .index = 2, .time = 1700000000000000200ull, .name = "second" },
	{ .index = 3, .time = 1700000000000000300ull, .name = "" },
};

static struct link full_links[] = {
	{ .index = 1, .trace_id = { 9, 9, 9 }, .span_id = { 8, 8 },
	  .trace_flags = 1 },
	{ .index = 2, .trace_id = { 7 }, .span_id = { 6 }, .dropped_attrs = 5 },
};

static struct attr res_attrs[] = {
	{ .key = "service.name", .type = OTEL_ATTR_STRING, .str = "svc" },
	{ .key = "host.name", .type = OTEL_ATTR_STRING, .str = "h" },
};

/* Spans of three scopes, interleaved; every field set somewhere. */
static void full_spans(struct span *sp, size_t n)
{
	static const char *const scopes[][2] = {
		{ "mod_a", "1.0" }, { "mod_b", "" }, { "mod_a", "1.0" },
		{ "mod_c", "2" },
	};
	size_t i;

	memset(sp, 0, n * sizeof(*sp));
	for (i = 0; i < n; i++) {
		struct span *s = &sp[i];

		synth_id(s->trace_id, 16, 100 + i);
		synth_id(s->span_id, 8, 200 + i);
		if (i % 2)
			synth_id(s->parent_span_id, 8, 200 + i - 1);
		s->trace_flags = i % 2;
		s->kind = i % 6;
		s->begin_flags = i % 3 == 1 ? OTEL_BEGINF_REMOTE_PARENT : 0;
		s->status_code = i % 3;
		s->status_message = i % 3 == 2 ? "it failed" : NULL;
		s->name = i % 4 == 3 ? "" : "span.name";
		s->scope_name = (char *)scopes[i % 4][0];
		s->scope_version = (char *)scopes[i % 4][1];
		s->start = 1700000000000000000ull + i;
		s->end = s->start + 1000 * i;
		s->begin_cpu = i % 5;
		s->begin_context = i % 4;
		s->pid = i % 3 ? 1000 + i : 0;
		s->tgid = 999;
		if (i % 2)
			snprintf(s->thread_name, sizeof(s->thread_name), "kw/%u",
				 (unsigned int)(i % 1000));
		if (i % 2 == 0) {
			s->attrs = full_attrs;
			s->nr_attrs = ARRAY_LEN(full_attrs);
			s->events = full_events;
			s->nr_events = ARRAY_LEN(full_events);
			s->links = full_links;
			s->nr_links = ARRAY_LEN(full_links);
			s->dropped_attrs = 1;
			s->dropped_events = 200;
			s->dropped_links = 3;
		}
	}
}

/* Decode with protobuf-c: scopes in order of first appearance, every field. */
TEST(wire_encoder_decodes_with_protobuf_c)
{
	struct span sp[7], *v[7];
	struct resource res = { res_attrs, ARRAY_LEN(res_attrs) };
	Opentelemetry__Proto__Trace__V1__ResourceSpans *rs;
	static const size_t order[] = { 0, 2, 4, 6, 1, 5, 3 };
	struct buf out = { 0 };
	PbRequest *req;
	size_t i, j, k = 0;

	full_spans(sp, 7);
	for (i = 0; i < 7; i++)
		v[i] = &sp[i];
	ASSERT_EQ(0, otlp_proto_encode(v, 7, &res, &out));
	req = pb_unpack(&out);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(1, req->n_resource_spans);
	rs = req->resource_spans[0];
	EXPECT_EQ(0, same_attrs(rs->resource->attributes,
				rs->resource->n_attributes, res_attrs, 2, 0));
	EXPECT_EQ(0, rs->resource->dropped_attributes_count);
	ASSERT_EQ(3, rs->n_scope_spans);
	EXPECT_STREQ("mod_a", rs->scope_spans[0]->scope->name);
	EXPECT_STREQ("1.0", rs->scope_spans[0]->scope->version);
	EXPECT_STREQ("mod_b", rs->scope_spans[1]->scope->name);
	EXPECT_STREQ("", rs->scope_spans[1]->scope->version);
	EXPECT_STREQ("mod_c", rs->scope_spans[2]->scope->name);
	ASSERT_EQ(4, rs->scope_spans[0]->n_spans);
	ASSERT_EQ(2, rs->scope_spans[1]->n_spans);
	ASSERT_EQ(1, rs->scope_spans[2]->n_spans);
	for (i = 0; i < 3; i++)
		for (j = 0; j < rs->scope_spans[i]->n_spans; j++, k++)
			EXPECT_EQ(0, same_span(rs->scope_spans[i]->spans[j],
					       &sp[order[k]]))
				TH_LOG("span %zu", order[k]);
	pb_free(req);

	/* no spans at all: a request with the resource only */
	out.len = 0;
	ASSERT_EQ(0, otlp_proto_encode(v, 0, &res, &out));
	req = pb_unpack(&out);
	ASSERT_NE(NULL, req);
	EXPECT_EQ(0, req->resource_spans[0]->n_scope_spans);
	pb_free(req);
	buf_free(&out);
}

/* The direct encoder writes what protobuf-c itself would: byte for byte. */
TEST(wire_encoder_bytes_equal_protobuf_c_pack)
{
	struct span sp[7], *v[7];
	struct resource res = { res_attrs, ARRAY_LEN(res_attrs) };
	struct buf out = { 0 };
	PbRequest *req;
	uint8_t *again;
	size_t i, len;

	full_spans(sp, 7);
	for (i = 0; i < 7; i++)
		v[i] = &sp[i];
	ASSERT_EQ(0, otlp_proto_encode(v, 7, &res, &out));
	req = pb_unpack(&out);
	ASSERT_NE(NULL, req);
	len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(req);
	again = malloc(len);
	ASSERT_NE(NULL, again);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, again);
	ASSERT_EQ(len, out.len);
	EXPECT_EQ(0, memcmp(again, out.data, len));
	free(again);
	pb_free(req);
	buf_free(&out);
}

/* Every string the encoders write comes out valid UTF-8. */
TEST(encoders_repair_utf8_everywhere)
{
	struct attr at[] = {
		{ .key = "k\xff", .type = OTEL_ATTR_STRING, .str = "v\xe2\x82" },
		{ .key = "e", .target = 1, .type = OTEL_ATTR_STRING,
		  .str = "\xc0\xaf" },
	};
	struct event ev = { .index = 1, .time = 5, .name = "ev\xf0\x9f" };
	struct attr rat = { .key = "r\x80", .type = OTEL_ATTR_STRING,
			    .str = "host\xed\xa0\x80" };
	struct resource res = { &rat, 1 };
	struct span s = { 0 }, *v[1] = { &s };
	Opentelemetry__Proto__Trace__V1__ResourceSpans *rs;
	struct buf out = { 0 };
	PbRequest *req;
	PbSpan *m;

	s.name = "name\xc3";
	s.scope_name = "scope\xfe";
	s.scope_version = "1\xe2\x82\xac\xe2";
	s.status_code = OTEL_STATUS_ERROR;
	s.status_message = "bad \xff\xfe end";
	s.attrs = at;
	s.nr_attrs = 2;
	s.events = &ev;
	s.nr_events = 1;
	ASSERT_EQ(0, otlp_proto_encode(v, 1, &res, &out));
	req = pb_unpack(&out);
	ASSERT_NE(NULL, req);
	rs = req->resource_spans[0];
	EXPECT_STREQ("r\xef\xbf\xbd", rs->resource->attributes[0]->key);
	EXPECT_STREQ("host\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		     rs->resource->attributes[0]->value->string_value);
	EXPECT_STREQ("scope\xef\xbf\xbd", rs->scope_spans[0]->scope->name);
	EXPECT_STREQ("1\xe2\x82\xac", rs->scope_spans[0]->scope->version);
	m = rs->scope_spans[0]->spans[0];
	EXPECT_STREQ("name", m->name);
	EXPECT_STREQ("bad \xef\xbf\xbd\xef\xbf\xbd end", m->status->message);
	EXPECT_STREQ("k\xef\xbf\xbd", m->attributes[0]->key);
	EXPECT_STREQ("v", m->attributes[0]->value->string_value);
	EXPECT_STREQ("ev", m->events[0]->name);
	EXPECT_STREQ("\xef\xbf\xbd\xef\xbf\xbd",
		     m->events[0]->attributes[0]->value->string_value);
	pb_free(req);

	out.len = 0;
	ASSERT_EQ(0, otlp_json_encode(v, 1, &res, &out));
	buf_put(&out, "", 1);
	EXPECT_EQ(out.len - 1, utf8_valid_prefix((char *)out.data, out.len - 1));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"name\":\"name\","));
	EXPECT_NE(NULL, strstr((char *)out.data, "{\"stringValue\":\"v\"}"));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"version\":\"1\xe2\x82\xac\""));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"message\":\"bad \\ufffd\\ufffd end\""));
	buf_free(&out);
}

/* Encoding stops past the byte cap: the exporter splits the batch. */
TEST(wire_encoder_stops_past_the_limit)
{
	struct span sp[7], *v[7];
	struct resource res = { res_attrs, ARRAY_LEN(res_attrs) };
	struct wire w = { 0 };
	size_t i, all;

	full_spans(sp, 7);
	for (i = 0; i < 7; i++)
		v[i] = &sp[i];
	ASSERT_EQ(0, wire_encode(&w, v, 7, &res));
	all = wire_len(&w);
	w.limit = all;
	EXPECT_EQ(0, wire_encode(&w, v, 7, &res));
	EXPECT_EQ(all, wire_len(&w));
	w.limit = all - 1;
	EXPECT_EQ(1, wire_encode(&w, v, 7, &res));
	w.limit = 0;
	EXPECT_EQ(0, wire_encode(&w, v, 7, &res));
	EXPECT_EQ(all, wire_len(&w));
	wire_free(&w);
}

/* Buffers are kept between batches; one a huge batch grew is given back. */
TEST(encoder_reuses_its_buffers)
{
	struct config c = { .protocol = PROTO_HTTP_PROTOBUF,
			    .max_request_bytes = 64 << 20 };
	struct resource res = { res_attrs, ARRAY_LEN(res_attrs) };
	static char big[4096];
	struct attr at = { .key = "big", .type = OTEL_ATTR_STRING, .str = big };
	struct span sp[7], *v[600];
	struct encoder e;
	const uint8_t *data, *gz;
	size_t i, cap;

	memset(big, 'x', sizeof(big) - 1);
	full_spans(sp, 7);
	for (i = 0; i < 7; i++)
		v[i] = &sp[i];
	encoder_init(&e, &c, &res);
	ASSERT_EQ(0, encoder_run(&e, v, 7));
	encoder_trim(&e);
	data = e.wire.data;
	cap = e.wire.cap;
	ASSERT_NE(NULL, data);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, encoder_run(&e, v, 7 - i));
		EXPECT_EQ(data, e.wire.data);
		EXPECT_EQ(cap, e.wire.cap);
		encoder_trim(&e);
	}
	/* a batch of 600 spans of 4 KiB: grows past the keep cap, then freed */
	sp[0].attrs = &at;
	sp[0].nr_attrs = 1;
	for (i = 0; i < 600; i++)
		v[i] = &sp[0];
	ASSERT_EQ(0, encoder_run(&e, v, 600));
	EXPECT_GT(e.len, ENCODER_KEEP_BYTES);
	encoder_trim(&e);
	EXPECT_LE(e.wire.cap, ENCODER_KEEP_BYTES);
	ASSERT_EQ(0, encoder_run(&e, v + 599, 1));
	EXPECT_LE(e.wire.cap, ENCODER_KEEP_BYTES);
	encoder_free(&e);

	/* gzip: its output buffer and deflate state are kept too */
	c.gzip = true;
	encoder_init(&e, &c, &res);
	ASSERT_EQ(0, encoder_run(&e, v, 3));
	gz = e.gz.data;
	encoder_trim(&e);
	ASSERT_EQ(0, encoder_run(&e, v, 3));
	EXPECT_EQ(gz, e.body);
	EXPECT_EQ(0x1f, e.body[0]);
	encoder_free(&e);
}

static struct span *new_span(void)
{
	return calloc(1, sizeof(struct span));
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct popper {
	struct queue *q;
	size_t batch, got, calls;
	double took;
	double at;	/* pop_one(): when its batch came (mono_s()) */
};

/* Take batches until the queue is closed and empty. */
static void *pop_all(void *arg)
{
	struct popper *p = arg;
	struct span **out = calloc(p->batch, sizeof(*out));
	double t0 = mono_s();
	size_t n;

	while ((n = queue_pop_batch(p->q, out))) {
		if (!p->calls++)
			p->took = mono_s() - t0;
		p->got += n;
		while (n)
			span_free(out[--n]);
	}
	free(out);
	return NULL;
}

/* Pop one batch: how long it took. */
static void *pop_one(void *arg)
{
	struct popper *p = arg;
	struct span **out = calloc(p->batch, sizeof(*out));
	double t0 = mono_s();

	p->got = queue_pop_batch(p->q, out);
	p->at = mono_s();
	p->took = p->at - t0;
	while (p->got && out[p->got - 1] && p->calls++ < p->got)
		span_free(out[p->calls - 1]);
	free(out);
	return NULL;
}

/*
 * A full batch goes at once, whatever the batch size (here not a multiple
 * of 64, and a queue under 64 that a full batch fills): the schedule delay
 * (20 s) is for partial batches.
 */
TEST(queue_full_batch_wakes_the_exporter)
{
	static const size_t cases[][2] = { { 1000, 100 }, { 50, 50 },
					   { 2048, 512 }, { 7, 3 } };
	size_t c, i;

	for (c = 0; c < ARRAY_LEN(cases); c++) {
		struct popper p = { .batch = cases[c][1] };
		pthread_t t;

		p.q = queue_new(cases[c][0], cases[c][1], 20000);
		ASSERT_EQ(0, pthread_create(&t, NULL, pop_one, &p));
		usleep(50000);		/* the consumer waits on an empty queue */
		for (i = 0; i < cases[c][1]; i++) {
			queue_push(p.q, new_span());
			usleep(1000);	/* trickling in, as from the rings */
		}
		pthread_join(t, NULL);
		EXPECT_EQ(cases[c][1], p.got) TH_LOG("queue %zu batch %zu",
						      cases[c][0], cases[c][1]);
		EXPECT_LT(p.took, 5.0) TH_LOG("queue %zu batch %zu: %.1f s",
					      cases[c][0], cases[c][1], p.took);
		EXPECT_EQ(0, atomic_load(&stats.dropped_queue_full));
		queue_close(p.q);
		queue_free(p.q);
	}
}

/* A partial batch goes when the schedule delay has passed. */
TEST(queue_timer_sends_a_partial_batch)
{
	struct popper p = { .batch = 100 };
	double pushed;
	pthread_t t;
	int i;

	p.q = queue_new(1000, 100, 300);
	ASSERT_EQ(0, pthread_create(&t, NULL, pop_one, &p));
	pushed = mono_s();	/* the timer is armed after this */
	for (i = 0; i < 10; i++)
		queue_push(p.q, new_span());
	/* a hang (no timer) is the harness's timeout */
	pthread_join(t, NULL);
	EXPECT_EQ(10, p.got);
	/*
	 * An ordering, not a speed: the partial batch was not handed out
	 * before its delay from the first push had passed, however late the
	 * consumer started or woke.
	 */
	EXPECT_GE(p.at - pushed, 0.3) TH_LOG("after %.3f s", p.at - pushed);
	queue_free(p.q);
}

/* Several consumers: every span taken exactly once, all of them drained. */
TEST(queue_several_consumers_drain_everything)
{
	struct popper p[4];
	pthread_t t[4];
	size_t got = 0;
	int i;
	struct queue *q = queue_new(10000, 64, 60000);

	for (i = 0; i < 4; i++) {
		p[i] = (struct popper){ .q = q, .batch = 64 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, pop_all, &p[i]));
	}
	for (i = 0; i < 5000; i++)
		queue_push(q, new_span());
	queue_close(q);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		got += p[i].got;
	}
	EXPECT_EQ(5000, got);
	EXPECT_EQ(0, queue_len(q));
	EXPECT_EQ(5000, atomic_load(&stats.spans_queued));
	/* closed: a late span is dropped and counted, never stranded */
	queue_push(q, new_span());
	EXPECT_EQ(1, atomic_load(&stats.dropped_queue_full));
	queue_free(q);
}

TEST(config_export_concurrency)
{
	char *argv[] = { "oteld", "--exporters", "9", NULL };
	struct config c;

	unsetenv("OTELD_EXPORT_CONCURRENCY");
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_EQ(4, c.exporters);
	config_free(&c);
	setenv("OTELD_EXPORT_CONCURRENCY", "2", 1);
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_EQ(2, c.exporters);
	config_free(&c);
	ASSERT_EQ(0, config_load(&c, 3, argv));
	EXPECT_EQ(9, c.exporters);
	config_free(&c);
	setenv("OTELD_EXPORT_CONCURRENCY", "0", 1);
	EXPECT_EQ(-1, config_load(&c, 1, argv));
	config_free(&c);
}

TEST_HARNESS_MAIN
