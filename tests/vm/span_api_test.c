// SPDX-License-Identifier: GPL-2.0
/*
 * The span API, read back from /dev/oteltrace: attributes of every type
 * round-trip exactly, events, links, status and errno, limits and dropped
 * counts, implicit nesting (also ended out of order), W3C remote parents,
 * entered spans, the instrumentation scope, and well-formed records.
 * ABI 2's shapes: the benchmark's span is one ring record; begin_records
 * mode adds one SPAN_BEGIN per span (and a span never ended shows only
 * that); attributes past the handle's 128-byte inline budget (shared with
 * the status message) come as ATTR records counted in nr_records; event and
 * link attributes come inside their records, the excess as ATTR records;
 * records stay well formed on ring memory earlier records dirtied.
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
	/* 11 entries of 24 to 40 bytes: more than the 128 inline bytes */
	EXPECT_LT(0, s->nr_attr_records);
	EXPECT_EQ(s->nr_attr_records, s->nr_records);
	EXPECT_EQ(11, rec_nr_target(s, 0));
	EXPECT_LT(0, s->nr_inline);
	EXPECT_GE(REC_INLINE_BYTES, s->inline_bytes);

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
	EXPECT_EQ(1, a->has_den);
	EXPECT_EQ(1, a->value);
	EXPECT_EQ(2, a->den);
	a = rec_attr(s, 0, "t.neg_frac");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(-12250, a->value);
	EXPECT_EQ(1000, a->den);

	a = rec_attr(s, 0, "t.pi_bits");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_ATTR_DOUBLE, a->type);
	EXPECT_EQ(0, a->has_den);
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
	EXPECT_EQ(0, s->span_flags);
	EXPECT_EQ(0, s->has_begin);	/* begin_records is off by default */
	EXPECT_TRUE(span_is_zero_id(s->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_EQ((uint32_t)getpid(), s->tgid);
	EXPECT_NE(0, s->pid);
	EXPECT_EQ(OTEL_CTX_TASK, s->begin_ctx);
	EXPECT_EQ(OTEL_CTX_TASK, s->end_ctx);
	EXPECT_LT(0, s->start_ns);
	EXPECT_LE(s->start_ns, s->end_ns);
}

TEST_F(api, events_and_links)
{
	const struct rec_span *s, *target;
	const struct rec_event *e;
	const struct rec_attr *a;

	run(_metadata, self, "events");
	s = get(_metadata, self, "t.events");
	target = get(_metadata, self, "t.events.target");
	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, target);
	EXPECT_TRUE(rec_complete(s));
	/* Two EVENT and one LINK record, their attributes inside them. */
	EXPECT_EQ(3, s->nr_records);
	EXPECT_EQ(2, s->nr_event_records);
	EXPECT_EQ(1, s->nr_link_records);
	EXPECT_EQ(0, s->nr_attr_records);

	ASSERT_EQ(2, s->nr_events);
	e = rec_event_at(s, 1);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("t.plain", e->name);
	EXPECT_EQ(0, e->nr_attrs);
	EXPECT_LE(s->start_ns, e->time_ns);
	EXPECT_LE(e->time_ns, s->end_ns);
	e = rec_event_at(s, 2);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("t.timed", e->name);
	EXPECT_EQ(123456789, e->time_ns);
	EXPECT_EQ(2, e->nr_attrs);

	a = rec_attr(s, 2, "t.step");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_REC_EVENT, a->rec_type);
	EXPECT_EQ(OTEL_ATTR_INT, a->type);
	EXPECT_EQ(1, a->value);
	a = rec_attr(s, 2, "t.what");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_REC_EVENT, a->rec_type);
	EXPECT_STREQ("x", a->str);
	EXPECT_EQ(NULL, rec_attr(s, 1, "t.step"));
	EXPECT_EQ(NULL, rec_attr(s, 0, "t.step"));

	ASSERT_EQ(1, s->nr_links);
	EXPECT_EQ(1, s->links[0].index);
	EXPECT_EQ(1, s->links[0].nr_attrs);
	EXPECT_EQ(0, memcmp(s->links[0].trace_id, target->trace_id,
			    OTEL_TRACE_ID_SIZE));
	EXPECT_EQ(0, memcmp(s->links[0].span_id, target->span_id,
			    OTEL_SPAN_ID_SIZE));
	EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->links[0].trace_flags);
	a = rec_attr(s, OTEL_ATTR_TARGET_LINK | 1, "t.linked");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_REC_LINK, a->rec_type);
	EXPECT_EQ(OTEL_ATTR_BOOL, a->type);
	EXPECT_EQ(1, a->value);
	EXPECT_EQ(3, s->nr_attrs);
	EXPECT_EQ(0, s->nr_inline);
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
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(OTEL_STATUS_OK, s->status);
	EXPECT_EQ(0, s->status_msg_len);	/* OK carries no message */
	EXPECT_EQ(0, s->nr_records);

	s = get(_metadata, self, "t.status.error");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
	EXPECT_STREQ("boom", s->status_msg);
	EXPECT_EQ(0, s->nr_records);

	/* OK is final: the later ERROR and its message are ignored. */
	s = get(_metadata, self, "t.status.ok_final");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(OTEL_STATUS_OK, s->status);
	EXPECT_EQ(0, s->status_msg_len);

	s = get(_metadata, self, "t.status.errno");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(2, s->nr_attrs);		/* errno 0 records nothing */
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
	EXPECT_STREQ("errno 4000", s->status_msg);
	a = rec_attr(s, 0, "error.type");
	ASSERT_NE(NULL, a);
	EXPECT_STREQ("errno 4000", a->str);
	a = rec_attr(s, 0, "oteltrace.errno");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(4000, a->value);
}

/* Each of 0..n-1 exactly once among the values of @key on @target. */
static int values_once(const struct rec_span *s, uint16_t target,
		       const char *key, size_t n)
{
	char seen[256] = { 0 };
	size_t i, found = 0;

	for (i = 0; i < s->nr_attrs; i++) {
		const struct rec_attr *a = &s->attrs[i];

		if (a->target != target || strcmp(a->key, key))
			continue;
		if (a->type != OTEL_ATTR_INT || a->value < 0 ||
		    (size_t)a->value >= n || seen[a->value]++)
			return 0;
		found++;
	}
	return found == n;
}

TEST_F(api, limits_count_what_they_cut)
{
	char seen[256] = { 0 };
	const struct rec_span *s;
	size_t i, n;

	run(_metadata, self, "limits");

	/* The first 128 are kept, in ATTR records and the SPAN record. */
	s = get(_metadata, self, "t.limits.attrs");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(128, s->nr_attrs);
	EXPECT_EQ(2, s->dropped_attrs);
	EXPECT_TRUE(values_once(s, 0, "t.i", 128));
	EXPECT_EQ(s->nr_attr_records, s->nr_records);
	EXPECT_LT(0, s->nr_attr_records);

	s = get(_metadata, self, "t.limits.events");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(128, s->nr_events);
	EXPECT_EQ(128, s->nr_records);
	EXPECT_EQ(3, s->dropped_events);
	EXPECT_EQ(0, s->dropped_attrs);	/* the cut events' went with them */
	for (i = 0, n = 0; i < s->nr_events; i++) {
		if (s->events[i].index >= 1 && s->events[i].index <= 128 &&
		    !seen[s->events[i].index]++)
			n++;
	}
	EXPECT_EQ(128, n);

	s = get(_metadata, self, "t.limits.links");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(128, s->nr_links);
	EXPECT_EQ(128, s->nr_records);
	EXPECT_EQ(1, s->dropped_links);
	EXPECT_EQ(0, s->dropped_attrs);	/* the cut link's went with it */

	/*
	 * 130 on event 1 (2 cut), each an ATTR record aimed at it, then one
	 * aimed at event 1 after event 2 (cut: only the latest takes any).
	 */
	s = get(_metadata, self, "t.limits.evattrs");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_TRUE(values_once(s, 1, "t.i", 128));
	EXPECT_EQ(128, rec_nr_target(s, 1));
	EXPECT_EQ(128, s->nr_attrs);
	EXPECT_EQ(NULL, rec_attr(s, 1, "t.late"));
	/*
	 * The 2 cut are event 1's, each counted in an ATTR record of its own
	 * (no entries, the count); t.late could not be placed: the span's.
	 */
	EXPECT_EQ(1, s->dropped_attrs);
	for (i = 0; i < s->nr_events; i++)
		EXPECT_EQ(s->events[i].index == 1 ? 2 : 0,
			  s->events[i].dropped_attrs);
	EXPECT_EQ(2, s->nr_events);
	EXPECT_EQ(130, s->nr_attr_records);
	EXPECT_EQ(132, s->nr_records);
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
	struct otel_span_stats st0, st1;

	ASSERT_EQ(0, span_stats(self->fd, &st0));
	run(_metadata, self, "nest 1");
	ASSERT_EQ(0, span_stats(self->fd, &st1));
	a = get(_metadata, self, "t.ooo.a");
	b = get(_metadata, self, "t.ooo.b");
	after = get(_metadata, self, "t.ooo.after");
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, after);
	EXPECT_TRUE(rec_complete(a));
	EXPECT_TRUE(rec_complete(b));
	EXPECT_EQ(0, memcmp(b->parent_id, a->span_id, 8));
	EXPECT_TRUE(span_is_zero_id(after->parent_id, 8));
	EXPECT_NE(0, memcmp(after->trace_id, a->trace_id, 16));
	/* a ended before its child b: counted as misnested, nothing else */
	EXPECT_EQ(1, st1.misnested - st0.misnested);
	EXPECT_EQ(0, st1.stale_current - st0.stale_current);
	EXPECT_EQ(0, st1.end_twice - st0.end_twice);
	EXPECT_EQ(0, st1.bad_handle - st0.bad_handle);
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
	EXPECT_EQ(OTEL_SPANF_REMOTE_PARENT, s->span_flags);
	EXPECT_EQ(OTEL_SPAN_KIND_SERVER, s->kind);
	EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->trace_flags);

	p = get(_metadata, self, "t.enter.parent");
	s = get(_metadata, self, "t.enter.child");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(0, memcmp(s->parent_id, p->span_id, 8));
	EXPECT_EQ(0, memcmp(s->trace_id, p->trace_id, 16));
	EXPECT_EQ(0, s->span_flags);
	EXPECT_EQ(0, p->span_flags);
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

#define BENCH_SPANS	1000

/* The benchmark's span (begin, 2 int attributes, end) is one ring record. */
TEST_F(api, one_record_per_span)
{
	struct otel_cpu_stats r0, r1;
	const struct rec_span *s;
	const struct rec_attr *a;
	char seen[BENCH_SPANS] = { 0 };
	long n;
	size_t i;

	ASSERT_EQ(0, span_ring_stats(self->fd, &r0));
	ASSERT_EQ(0, span_cmd("bench %d", BENCH_SPANS));
	ASSERT_EQ(0, span_ring_stats(self->fd, &r1));
	EXPECT_EQ(0, span_ring_dropped(&r1) - span_ring_dropped(&r0));

	/* and the task named once per CPU it began spans on, at most */
	n = rec_drain(self->fd, &self->db);
	EXPECT_GE(2, self->db.comm_records);
	EXPECT_EQ(BENCH_SPANS, r1.records - r0.records - self->db.comm_records);
	EXPECT_EQ(BENCH_SPANS, n);	/* rec_drain() counts no COMM */
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	ASSERT_EQ(BENCH_SPANS, self->db.nr);
	ASSERT_EQ(BENCH_SPANS, rec_count(&self->db, "t.bench"));
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		ASSERT_TRUE(rec_complete(s));
		ASSERT_EQ(0, s->nr_records);
		ASSERT_EQ(0, s->received);
		ASSERT_EQ(2, s->nr_inline);
		ASSERT_EQ(2, s->nr_attrs);
		ASSERT_EQ(48, s->inline_bytes);	/* two 24-byte entries */
		ASSERT_TRUE(span_is_zero_id(s->parent_id, 8));
		a = rec_attr(s, 0, "bench.a");
		ASSERT_NE(NULL, a);
		ASSERT_EQ(OTEL_REC_SPAN, a->rec_type);
		ASSERT_LE(0, a->value);
		ASSERT_GT(BENCH_SPANS, a->value);
		ASSERT_EQ(0, seen[a->value]++);
		a = rec_attr(s, 0, "bench.b");
		ASSERT_NE(NULL, a);
		ASSERT_EQ(-rec_attr(s, 0, "bench.a")->value, a->value);
	}
}

/*
 * begin_records=1 (OTEL_IOC_SET_CONFIG): one SPAN_BEGIN per span, counted
 * in SPAN.nr_records and flagged; a span never ended shows its BEGIN only;
 * off again, no BEGIN.
 */
TEST_F(api, begin_records_mode)
{
	const struct rec_span *s, *root;
	struct otel_cpu_stats r0, r1;
	struct otel_config cfg;
	char buf[8] = "";
	size_t i, roots = 0, children = 0;
	int fd;

	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(0, cfg.begin_records);
	ASSERT_EQ(0, span_begin_records(self->fd, true));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(1, cfg.begin_records);
	fd = open("/sys/module/oteltrace/parameters/begin_records", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	EXPECT_STREQ("Y\n", buf);

	ASSERT_EQ(0, span_ring_stats(self->fd, &r0));
	ASSERT_EQ(0, span_cmd("tree 10"));
	ASSERT_EQ(0, span_ring_stats(self->fd, &r1));
	/* 20 spans, BEGIN + SPAN; the task named once per CPU at most */
	ASSERT_EQ(40, rec_drain(self->fd, &self->db));
	EXPECT_GE(2, self->db.comm_records);
	EXPECT_EQ(40, r1.records - r0.records - self->db.comm_records);
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		EXPECT_TRUE(rec_complete(s)) TH_LOG("%s", s->name);
		EXPECT_EQ(1, s->has_begin);
		EXPECT_EQ(1, s->nr_records);
		EXPECT_EQ(OTEL_SPANF_BEGIN_RECORD, s->span_flags);
		EXPECT_EQ(s->start_ns, s->begin.start_ns);
		if (!strcmp(s->name, "t.tree.root")) {
			roots++;
			EXPECT_TRUE(span_is_zero_id(s->begin.parent_id, 8));
		} else if (!strcmp(s->name, "t.tree.child")) {
			children++;
			root = rec_by_id(&self->db, s->begin.parent_id);
			ASSERT_NE(NULL, root);
			EXPECT_STREQ("t.tree.root", root->name);
		}
	}
	EXPECT_EQ(10, roots);
	EXPECT_EQ(10, children);

	/* Attributes still ride in the SPAN record: BEGIN is the only extra. */
	rec_db_free(&self->db);
	ASSERT_EQ(0, span_cmd("bench 10"));
	ASSERT_EQ(20, rec_drain(self->fd, &self->db));
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		EXPECT_TRUE(rec_complete(s));
		EXPECT_EQ(1, s->nr_records);
		EXPECT_EQ(2, s->nr_inline);
	}

	/* Never ended: its BEGIN, nothing else (not its attribute). */
	rec_db_free(&self->db);
	ASSERT_EQ(0, span_cmd("noend"));
	ASSERT_EQ(1, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	s = rec_find(&self->db, "t.noend", 0);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(1, s->has_begin);
	EXPECT_EQ(0, s->has_span);
	EXPECT_EQ(0, s->nr_attrs);
	EXPECT_STREQ("otel_spantest", s->scope);
	EXPECT_EQ((uint32_t)getpid(), s->tgid);
	EXPECT_TRUE(span_is_zero_id(s->parent_id, 8));
	EXPECT_FALSE(rec_is_zero(s->trace_id, 16));

	/* Off again: no BEGIN, and a span never ended leaves no trace. */
	ASSERT_EQ(0, span_begin_records(self->fd, false));
	rec_db_free(&self->db);
	ASSERT_EQ(0, span_cmd("tree 1"));
	ASSERT_EQ(0, span_cmd("noend"));
	ASSERT_EQ(2, rec_drain(self->fd, &self->db));
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		EXPECT_TRUE(rec_complete(s));
		EXPECT_EQ(0, s->has_begin);
		EXPECT_EQ(0, s->nr_records);
		EXPECT_EQ(0, s->span_flags);
	}
	EXPECT_EQ(0, rec_count(&self->db, "t.noend"));
}

TEST(begin_records_parameter_at_load)
{
	struct otel_config cfg;
	struct rec_db db;
	size_t i;
	int fd;

	rec_db_init(&db);
	fd = span_load("begin_records=1", SPANTEST_KO);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(1, cfg.begin_records);
	ASSERT_EQ(0, span_cmd("roots 5"));
	ASSERT_EQ(10, rec_drain(fd, &db));
	EXPECT_EQ(0, db.bad) TH_LOG("%s", db.why);
	ASSERT_EQ(5, db.nr);
	for (i = 0; i < db.nr; i++) {
		EXPECT_TRUE(rec_complete(db.spans[i]));
		EXPECT_EQ(1, db.spans[i]->has_begin);
	}
	rec_db_free(&db);
	span_unload(fd);
}

/* The value of every t.kNN attribute of @s is NN, each once; how many. */
static size_t keys_ok(const struct rec_span *s, size_t n)
{
	const struct rec_attr *a;
	char key[8];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "t.k%02zu", i);
		a = rec_attr(s, 0, key);
		if (!a || a->type != OTEL_ATTR_INT || a->value != (int64_t)i)
			return i;
	}
	return n;
}

/* The test module's 200-byte text: 'a'..'z' repeated. */
static int is_text(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != 'a' + i % 26)
			return 0;
	return 1;
}

/*
 * Attributes past the 128-byte inline budget: 12 int entries of 24 bytes
 * (5 fit at a time), a 224-byte string entry (never fits) and one more int:
 * four ATTR records of the span, all counted, the last int inline.
 */
TEST_F(api, inline_budget_overflow)
{
	const struct rec_span *s;
	const struct rec_attr *a;
	size_t i;

	run(_metadata, self, "budget");
	s = get(_metadata, self, "t.budget");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(14, s->nr_attrs);
	EXPECT_EQ(12, keys_ok(s, 12));
	a = rec_attr(s, 0, "t.big");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_REC_ATTR, a->rec_type);
	ASSERT_EQ(200, a->str_len);
	EXPECT_TRUE(is_text(a->str, 200));
	a = rec_attr(s, 0, "t.last");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(OTEL_REC_SPAN, a->rec_type);
	EXPECT_EQ(12, a->value);
	/* k00-k04, k05-k09, k10-k11, t.big; t.last inline */
	EXPECT_EQ(4, s->nr_attr_records);
	EXPECT_EQ(4, s->nr_records);
	EXPECT_EQ(1, s->nr_inline);
	EXPECT_EQ(24, s->inline_bytes);
	for (i = 0; i < s->nr_attrs; i++)
		EXPECT_EQ(OTEL_ATTR_TARGET_SPAN, s->attrs[i].target);
	EXPECT_EQ(0, s->dropped_attrs);
	EXPECT_EQ(OTEL_STATUS_UNSET, s->status);
}

/*
 * The status message shares the inline budget: 3 entries (72 bytes) and
 * an 80-byte message do not fit together, so the entries go first as an
 * ATTR record; of 3 more, 2 fit beside the message, the third flushes
 * them.  A 200-byte message is cut at 128 and leaves no room at all.
 */
TEST_F(api, status_message_and_overflow)
{
	const struct rec_span *s;

	run(_metadata, self, "budget");
	s = get(_metadata, self, "t.budget.status");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
	ASSERT_EQ(80, s->status_msg_len);
	EXPECT_TRUE(is_text(s->status_msg, 80));
	EXPECT_EQ(6, s->nr_attrs);
	EXPECT_EQ(6, keys_ok(s, 6));
	EXPECT_EQ(2, s->nr_attr_records);
	EXPECT_EQ(2, s->nr_records);
	EXPECT_EQ(1, s->nr_inline);
	EXPECT_GE(REC_INLINE_BYTES, s->inline_bytes + s->status_msg_len);

	s = get(_metadata, self, "t.budget.longmsg");
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
	ASSERT_EQ(REC_MSG_MAX, s->status_msg_len);
	EXPECT_TRUE(is_text(s->status_msg, REC_MSG_MAX));
	EXPECT_EQ(2, keys_ok(s, 2));
	EXPECT_EQ(2, s->nr_attrs);
	EXPECT_EQ(0, s->nr_inline);
	EXPECT_EQ(2, s->nr_attr_records);
	EXPECT_EQ(2, s->nr_records);
}

/*
 * An event and a link with 10 attributes of 224 bytes each: as many as fit
 * ride inside the EVENT / LINK record, the rest follow as ATTR records
 * aimed at the event (index 1) or the link (LINK | 1); every record stays
 * within OTEL_REC_MAX_SIZE (the reader checks) and all are counted.
 */
TEST_F(api, event_and_link_attrs_in_their_records)
{
	const struct rec_span *s, *target;
	const struct rec_event *e;
	size_t i, in_event = 0, in_link = 0;
	char key[8];

	run(_metadata, self, "evbig");
	s = get(_metadata, self, "t.evbig");
	target = get(_metadata, self, "t.evbig.target");
	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, target);
	EXPECT_TRUE(rec_complete(s));
	ASSERT_EQ(1, s->nr_events);
	ASSERT_EQ(1, s->nr_links);
	e = rec_event_at(s, 1);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("t.ev", e->name);
	EXPECT_EQ(0, memcmp(s->links[0].span_id, target->span_id, 8));

	for (i = 0; i < 10; i++) {
		const struct rec_attr *a;

		snprintf(key, sizeof(key), "t.k%02zu", i);
		a = rec_attr(s, 1, key);
		ASSERT_NE(NULL, a) TH_LOG("event attribute %s", key);
		EXPECT_EQ(200, a->str_len);
		EXPECT_TRUE(is_text(a->str, a->str_len));
		in_event += a->rec_type == OTEL_REC_EVENT;
		a = rec_attr(s, OTEL_ATTR_TARGET_LINK | 1, key);
		ASSERT_NE(NULL, a) TH_LOG("link attribute %s", key);
		EXPECT_EQ(200, a->str_len);
		EXPECT_TRUE(is_text(a->str, a->str_len));
		in_link += a->rec_type == OTEL_REC_LINK;
	}
	EXPECT_EQ(10, rec_nr_target(s, 1));
	EXPECT_EQ(10, rec_nr_target(s, OTEL_ATTR_TARGET_LINK | 1));
	EXPECT_EQ(e->nr_attrs, in_event);
	EXPECT_EQ(s->links[0].nr_attrs, in_link);
	/* 4 entries of 224 bytes fit in a record of at most 1024 */
	EXPECT_EQ(4, in_event);
	EXPECT_EQ(4, in_link);
	EXPECT_EQ(4, s->nr_attr_records);	/* 6 + 6 left: 4 + 2 each */
	EXPECT_EQ(6, s->nr_records);
	EXPECT_EQ(0, s->nr_inline);
	EXPECT_EQ(20, s->nr_attrs);
	EXPECT_EQ(0, s->dropped_attrs);
}

/* 1 once otel_ringtest.ko's writers are done, 0 before, -1 on error. */
static int ringtest_done(void)
{
	char buf[16] = "";
	int fd = open("/sys/module/otel_ringtest/parameters/done", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/*
 * Records are whole and zero-padded even on ring memory that earlier
 * records filled with non-zero bytes: otel_ringtest.ko first fills every
 * ring several times over (its records read and skipped), then every
 * command writes its record shapes over that, with SPAN_BEGIN on, and the
 * strict reader must find nothing wrong.
 */
TEST(records_well_formed_on_a_used_ring)
{
	static const char *const cmds[] = {
		"attrs", "events", "status", "budget", "evbig", "remote",
		"tree 3", "nest 3", "bench 20", "noend",
	};
	struct rec_db db;
	size_t i, spans = 0;
	int fd, tries;

	rec_db_init(&db);
	fd = span_load("ring_size_kb=64", SPANTEST_KO);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vm_load_module("tests/kmod/otel_ringtest.ko",
				    "task_records=3000 min_size=40 max_size=1024"));
	for (tries = 0; ringtest_done() != 1 && tries < 60000; tries++) {
		ASSERT_LE(0, rec_drain(fd, &db));
		usleep(1000);
	}
	ASSERT_EQ(1, ringtest_done());
	ASSERT_EQ(0, vm_unload_module("otel_ringtest"));
	ASSERT_LE(0, rec_drain(fd, &db));
	EXPECT_EQ(0, db.nr);		/* only RAW records so far */
	EXPECT_EQ(0, db.bad) TH_LOG("%s", db.why);

	ASSERT_EQ(0, span_begin_records(fd, true));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ASSERT_EQ(0, span_cmd("%s", cmds[i]));
		ASSERT_LT(0, rec_drain(fd, &db)) TH_LOG("%s", cmds[i]);
		if (db.bad)
			break;
	}
	EXPECT_EQ(0, db.bad) TH_LOG("after %s: %s", cmds[i], db.why);
	for (i = 0; i < db.nr; i++) {
		if (!strcmp(db.spans[i]->name, "t.noend"))
			continue;
		EXPECT_TRUE(rec_complete(db.spans[i]))
			TH_LOG("%s", db.spans[i]->name);
		spans++;
	}
	EXPECT_LT(40, spans);
	rec_db_free(&db);
	span_unload(fd);
}

TEST_HARNESS_MAIN
