// SPDX-License-Identifier: GPL-2.0
/*
 * The span API, read back from /dev/oteltrace: attributes of every type
 * round-trip exactly, events, links, status and errno, limits and dropped
 * counts, implicit nesting (also ended out of order), W3C remote parents,
 * entered spans, the instrumentation scope, and well-formed records.
 */
#include <math.h>

#include "kselftest_harness.h"
#include "span_util.h"

FIXTURE(api) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(api)
{
	rec_db_init(&self->db);
	self->fd = span_load(NULL, SPANTEST_KO);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(api)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* Run @cmd, read everything back, check the records are well formed. */
static void run(struct __test_metadata *_metadata,
		FIXTURE_DATA(api) *self, const char *cmd)
{
	ASSERT_EQ(0, span_cmd("%s", cmd));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
}

static const struct rec_span *get(struct __test_metadata *_metadata,
				  FIXTURE_DATA(api) *self, const char *name)
{
	const struct rec_span *s = rec_find(&self->db, name, 0);

	if (!s)
		TH_LOG("no span %s", name);
	return s;
}

TEST_F(api, attribute_types_round_trip)
{
	const struct rec_attr *a;
	const struct rec_span *s;
	double pi;

	run(_metadata, self, "attrs");
	s = get(_metadata, self, "t.attrs");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(11, s->nr_attrs);

	a = rec_attr(s, 0, "t.str");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_STRING, a->type);
	EXPECT_EQ(12, a->str_len);
	EXPECT_STREQ("hello, world", a->str);

	a = rec_attr(s, 0, "t.str_empty");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_STRING, a->type);
	EXPECT_EQ(0, a->str_len);

	a = rec_attr(s, 0, "t.str_nul");
	ASSERT_NE(NULL, a);
	ASSERT_EQ(3, a->str_len);
	EXPECT_EQ(0, memcmp(a->str, "a\0b", 3));

	a = rec_attr(s, 0, "t.true");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_BOOL, a->type);
	EXPECT_EQ(1, a->value);
	a = rec_attr(s, 0, "t.false");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_BOOL, a->type);
	EXPECT_EQ(0, a->value);

	a = rec_attr(s, 0, "t.int_max");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_INT, a->type);
	EXPECT_EQ(INT64_MAX, a->value);
	a = rec_attr(s, 0, "t.int_min");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(INT64_MIN, a->value);
	a = rec_attr(s, 0, "t.int_neg");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(-1, a->value);

	a = rec_attr(s, 0, "t.half");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_DOUBLE, a->type);
	EXPECT_EQ(1, a->value);
	EXPECT_EQ(2, a->den);
	a = rec_attr(s, 0, "t.neg_frac");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(-12250, a->value);
	EXPECT_EQ(1000, a->den);

	a = rec_attr(s, 0, "t.pi_bits");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_DOUBLE, a->type);
	EXPECT_EQ(0, a->den);
	memcpy(&pi, &a->value, sizeof(pi));
	EXPECT_EQ(M_PI, pi);
}

TEST_F(api, scope_and_begin_fields)
{
	const struct rec_span *s;

	run(_metadata, self, "attrs");
	s = get(_metadata, self, "t.attrs");
	ASSERT_NE(NULL, s);
	EXPECT_STREQ("otel_spantest", s->scope);
	EXPECT_STREQ("test", s->scope_version);
	EXPECT_EQ(OTEL_SPAN_KIND_INTERNAL, s->kind);
	EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->trace_flags);
	EXPECT_EQ(0, s->begin_flags);
	EXPECT_TRUE(span_is_zero_id(s->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_EQ((uint32_t)getpid(), s->tgid);
	EXPECT_NE(0, s->pid);
	EXPECT_EQ(OTEL_CTX_TASK, s->begin_ctx);
	EXPECT_LE(s->start_ns, s->end_ns);
}

TEST_F(api, events_and_links)
{
	const struct rec_span *s, *target;
	const struct rec_attr *a;

	run(_metadata, self, "events");
	s = get(_metadata, self, "t.events");
	target = get(_metadata, self, "t.events.target");
	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, target);
	EXPECT_TRUE(rec_complete(s));

	ASSERT_EQ(2, s->nr_events);
	EXPECT_EQ(1, s->events[0].index);
	EXPECT_STREQ("t.plain", s->events[0].name);
	EXPECT_LE(s->start_ns, s->events[0].time_ns);
	EXPECT_LE(s->events[0].time_ns, s->end_ns);
	EXPECT_EQ(2, s->events[1].index);
	EXPECT_STREQ("t.timed", s->events[1].name);
	EXPECT_EQ(123456789, s->events[1].time_ns);

	a = rec_attr(s, 2, "t.step");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_INT, a->type);
	EXPECT_EQ(1, a->value);
	a = rec_attr(s, 2, "t.what");
	ASSERT_NE(NULL, a);
	EXPECT_STREQ("x", a->str);
	EXPECT_EQ(NULL, rec_attr(s, 1, "t.step"));

	ASSERT_EQ(1, s->nr_links);
	EXPECT_EQ(1, s->links[0].index);
	EXPECT_EQ(0, memcmp(s->links[0].trace_id, target->trace_id,
			    OTEL_TRACE_ID_SIZE));
	EXPECT_EQ(0, memcmp(s->links[0].span_id, target->span_id,
			    OTEL_SPAN_ID_SIZE));
	EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->links[0].trace_flags);
	a = rec_attr(s, OTEL_ATTR_TARGET_LINK | 1, "t.linked");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_BOOL, a->type);
	EXPECT_EQ(1, a->value);
	EXPECT_EQ(0, s->dropped_attrs);
	EXPECT_EQ(0, s->dropped_events);
	EXPECT_EQ(0, s->dropped_links);
}

TEST_F(api, status_and_errno)
{
	const struct rec_span *s;
	const struct rec_attr *a;

	run(_metadata, self, "status");

	s = get(_metadata, self, "t.status.ok");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(OTEL_STATUS_OK, s->status);
	EXPECT_STREQ("", s->status_msg);	/* OK carries no message */

	s = get(_metadata, self, "t.status.error");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
	EXPECT_STREQ("boom", s->status_msg);

	s = get(_metadata, self, "t.status.ok_final");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(OTEL_STATUS_OK, s->status);
	EXPECT_EQ(1, s->nr_status);

	s = get(_metadata, self, "t.status.errno");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(1, s->nr_status);		/* errno 0 records nothing */
	EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
	EXPECT_STREQ("EIO", s->status_msg);
	a = rec_attr(s, 0, "error.type");
	ASSERT_NE(NULL, a);
	EXPECT_STREQ("EIO", a->str);
	a = rec_attr(s, 0, "oteltrace.errno");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_INT, a->type);
	EXPECT_EQ(EIO, a->value);

	s = get(_metadata, self, "t.status.errno_unknown");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
	a = rec_attr(s, 0, "error.type");
	ASSERT_NE(NULL, a);
	EXPECT_STREQ("errno 4000", a->str);
	a = rec_attr(s, 0, "oteltrace.errno");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(4000, a->value);
}

TEST_F(api, limits_count_what_they_cut)
{
	const struct rec_span *s;
	size_t i, n;

	run(_metadata, self, "limits");

	s = get(_metadata, self, "t.limits.attrs");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(128, s->nr_attrs);
	EXPECT_EQ(2, s->dropped_attrs);
	EXPECT_EQ(127, s->attrs[127].value);	/* the first 128 are kept */

	s = get(_metadata, self, "t.limits.events");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(128, s->nr_events);
	EXPECT_EQ(3, s->dropped_events);

	s = get(_metadata, self, "t.limits.links");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(128, s->nr_links);
	EXPECT_EQ(1, s->dropped_links);

	/* 130 on event 1 (2 cut), then one aimed at event 1 after event 2. */
	s = get(_metadata, self, "t.limits.evattrs");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	for (i = 0, n = 0; i < s->nr_attrs; i++)
		n += s->attrs[i].target == 1;
	EXPECT_EQ(128, n);
	EXPECT_EQ(128, s->nr_attrs);
	EXPECT_EQ(3, s->dropped_attrs);
	EXPECT_EQ(2, s->nr_events);
}

TEST_F(api, value_length_limit)
{
	const struct rec_span *s;
	const struct rec_attr *a;

	ASSERT_EQ(0, span_write_file("/sys/module/oteltrace/parameters/attr_value_length_limit",
				     "5"));
	run(_metadata, self, "attrs");
	s = get(_metadata, self, "t.attrs");
	ASSERT_NE(NULL, s);
	a = rec_attr(s, 0, "t.str");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(5, a->str_len);
	EXPECT_STREQ("hello", a->str);
	EXPECT_EQ(0, s->dropped_attrs);	/* cutting is not dropping */
}

TEST_F(api, implicit_nesting)
{
	const struct rec_span *s, *up;
	const struct rec_attr *a;
	size_t i;

	run(_metadata, self, "nest 8");
	ASSERT_EQ(8, rec_count(&self->db, "t.nest"));
	/* Depth 8 is the root; each deeper span's parent is one level up. */
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		if (strcmp(s->name, "t.nest"))
			continue;
		a = rec_attr(s, 0, "t.depth");
		ASSERT_NE(NULL, a);
		EXPECT_TRUE(rec_complete(s));
		if (a->value == 8) {
			EXPECT_TRUE(span_is_zero_id(s->parent_id, 8));
			continue;
		}
		up = rec_by_id(&self->db, s->parent_id);
		ASSERT_NE(NULL, up) TH_LOG("depth %ld has no parent",
					   (long)a->value);
		EXPECT_EQ(a->value + 1, rec_attr(up, 0, "t.depth")->value);
		EXPECT_EQ(0, memcmp(s->trace_id, up->trace_id, 16));
		EXPECT_LE(up->start_ns, s->start_ns);
		EXPECT_LE(s->end_ns, up->end_ns);
	}
}

TEST_F(api, out_of_order_end_restores_context)
{
	const struct rec_span *a, *b, *after;

	run(_metadata, self, "nest 1");
	a = get(_metadata, self, "t.ooo.a");
	b = get(_metadata, self, "t.ooo.b");
	after = get(_metadata, self, "t.ooo.after");
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, after);
	EXPECT_EQ(0, memcmp(b->parent_id, a->span_id, 8));
	EXPECT_TRUE(span_is_zero_id(after->parent_id, 8));
	EXPECT_NE(0, memcmp(after->trace_id, a->trace_id, 16));
}

TEST_F(api, remote_parent_and_enter)
{
	static const uint8_t trace[16] = {
		0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
		0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t parent[8] = {
		0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
	const struct rec_span *s, *p;

	run(_metadata, self, "remote");
	s = get(_metadata, self, "t.remote");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(0, memcmp(s->trace_id, trace, 16));
	EXPECT_EQ(0, memcmp(s->parent_id, parent, 8));
	EXPECT_EQ(OTEL_BEGINF_REMOTE_PARENT, s->begin_flags);
	EXPECT_EQ(OTEL_SPAN_KIND_SERVER, s->kind);
	EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->trace_flags);

	p = get(_metadata, self, "t.enter.parent");
	s = get(_metadata, self, "t.enter.child");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(0, memcmp(s->parent_id, p->span_id, 8));
	EXPECT_EQ(0, memcmp(s->trace_id, p->trace_id, 16));
}

TEST_F(api, trace_event_probe_cannot_recurse)
{
	const struct rec_span *outer, *probe;

	run(_metadata, self, "recursion");
	outer = get(_metadata, self, "t.recursion.outer");
	ASSERT_NE(NULL, outer);
	ASSERT_EQ(1, rec_count(&self->db, "t.recursion.probe"));
	probe = get(_metadata, self, "t.recursion.probe");
	/* Begun while the outer span was current: its child. */
	EXPECT_EQ(0, memcmp(probe->parent_id, outer->span_id, 8));
	EXPECT_TRUE(rec_complete(probe));
	EXPECT_TRUE(rec_complete(outer));
}

TEST_HARNESS_MAIN
