// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of oteld's stages (ASan + UBSan): span decoding and assembly
 * from ABI 2 records in any order, bad records, limits and drops, OTLP
 * protobuf and JSON encoding, capture files, the queue, configuration
 * parsing, gzip.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kselftest_harness.h"
#include "capture.h"
#include "synth.h"
#include "trace_service.pb-c.h"

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
 * limits: dropped, counted in dropped_attrs, never shown on another item.
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
	EXPECT_EQ(4 + 2 + 1 + 1 + 2 + 1, o.s[0]->dropped_attrs);
	ASSERT_EQ(1, o.s[0]->nr_attrs);
	EXPECT_STREQ("mine", o.s[0]->attrs[0].key);
	ASSERT_EQ(2, o.s[0]->nr_events);
	EXPECT_STREQ("zero", o.s[0]->events[0].name);
	/* event 0 matches no attribute target, the span's above all */
	EXPECT_NE(OTEL_ATTR_TARGET_SPAN, o.s[0]->events[0].index);
	EXPECT_EQ(0, count_target(o.s[0], o.s[0]->events[0].index));
	EXPECT_EQ(1, o.s[0]->nr_links);
	EXPECT_EQ(0, count_target(o.s[0], OTEL_ATTR_TARGET_LINK |
					  o.s[0]->links[0].index));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(attribute_limit_counts_drops)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_attrs at = { 0 };
	struct synth_span s;
	struct buf b = { 0 };
	int i;

	sstart(&s, 1, 2, 0);
	for (i = 0; i < 100; i++)
		synth_int(&at, "k", i);
	for (i = 0; i < 3; i++)		/* 300 attributes in ATTR records */
		synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_SPAN, &at);
	synth_end(&b, &s, 0, T0 + 1, 4, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(0, counter(&stats.records_corrupt));
	EXPECT_EQ(SPAN_MAX_ATTRS, o.s[0]->nr_attrs);
	EXPECT_EQ(300 - SPAN_MAX_ATTRS + 4, o.s[0]->dropped_attrs);
	EXPECT_EQ(300 - SPAN_MAX_ATTRS, counter(&stats.span_items_dropped));
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
	c = capture_create(path, &a1, 4);
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
	c = capture_create(path, &a1, 4);
	capture_close(c);
	truncate(path, 10);
	EXPECT_EQ(NULL, capture_open(path, &got));
	unlink(path);
	buf_free(&f);
}

TEST(queue_bounds_and_batches)
{
	struct queue *q = queue_new(3);
	struct span *l, *s;
	size_t n;
	int i;

	for (i = 0; i < 5; i++)
		queue_push(q, calloc(1, sizeof(struct span)));
	EXPECT_EQ(3, queue_len(q));
	EXPECT_EQ(2, atomic_load(&stats.dropped_queue_full));
	EXPECT_EQ(3, atomic_load(&stats.spans_queued));
	l = queue_pop_batch(q, 2, 0, &n);
	EXPECT_EQ(2, n);
	while (l) {
		s = l->next;
		span_free(l);
		l = s;
	}
	queue_close(q);
	l = queue_pop_batch(q, 2, 10000, &n);	/* closed: no wait */
	EXPECT_EQ(1, n);
	span_free(l);
	EXPECT_EQ(NULL, queue_pop_batch(q, 2, 10000, &n));
	EXPECT_TRUE(queue_closed(q));
	queue_free(q);
}

TEST(headers_and_percent_decoding)
{
	char **h = NULL, *d;
	size_t n = 0;

	ASSERT_EQ(0, parse_headers(" a = b%2Cc ,x-k=%3D%zz", &h, &n));
	ASSERT_EQ(2, n);
	EXPECT_STREQ("a: b,c", h[0]);
	EXPECT_STREQ("x-k: =%zz", h[1]);
	free(h[0]);
	free(h[1]);
	free(h);
	EXPECT_EQ(-1, parse_headers("novalue", &h, &n));
	EXPECT_EQ(-1, parse_headers("a b=c", &h, &n));
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

TEST_HARNESS_MAIN
