// SPDX-License-Identifier: GPL-2.0
/*
 * The scope guard, OTEL_KSPAN_SCOPED(): its span ends on every way out of
 * the scope.  The "scoped" command of tests/kmod/otel_spantest.c leaves a
 * function that declares one ("t.s.request") by three early exits (a
 * return at once, a goto out, a return from inside a nested block with a
 * scoped span of its own) and by its normal end after an explicit end (with
 * a loop whose scoped span is left by continue, then by break).  Every span
 * writes exactly one SPAN record, each child is under its own request, no
 * span stays current (the command checks otel_kspan_current(), and the span
 * "t.s.after" begun with otel_kspan_begin() after each call is a root), and
 * nothing counts as misuse (no stale current span, no second end).  With
 * tracing disabled, the guard writes nothing and leaves nothing behind.
 */
#include "kselftest_harness.h"
#include "span_util.h"

#define ROUNDS	50
#define PATHS	4

/* What each path leaves under its request (scoped_request()'s comment). */
static const struct {
	int	step, inner, iter;
	int	status;
} want[PATHS] = {
	{ 0, 0, 0, OTEL_STATUS_UNSET },		/* return at once */
	{ 1, 0, 0, OTEL_STATUS_ERROR },		/* goto out, -EIO */
	{ 1, 1, 0, OTEL_STATUS_UNSET },		/* return from a nested block */
	{ 1, 1, 2, OTEL_STATUS_UNSET },		/* the whole way */
};

/* Spans per round: 4 requests, their children, 4 t.s.after. */
#define PER_ROUND	(PATHS + 1 + 2 + 4 + PATHS)

struct call {
	const struct rec_span	*req;
	int			reqs, step, inner, iter, after;
};

/* The call (round, path) a span names with t.seq and t.path, or NULL. */
static struct call *call_of(struct call *calls, const struct rec_span *s)
{
	const struct rec_attr *p = rec_attr(s, 0, "t.path");
	const struct rec_attr *q = rec_attr(s, 0, "t.seq");

	if (!p || !q || p->value < 0 || p->value >= PATHS || q->value < 0 ||
	    q->value >= ROUNDS)
		return NULL;
	return &calls[q->value * PATHS + p->value];
}

FIXTURE(scope) {
	int fd;
	struct rec_db db;
	struct otel_span_stats st0;
	struct otel_cpu_stats r0;
};

FIXTURE_SETUP(scope)
{
	rec_db_init(&self->db);
	self->fd = span_load("ring_size_kb=1024", SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, span_stats(self->fd, &self->st0));
	ASSERT_EQ(0, span_ring_stats(self->fd, &self->r0));
}

FIXTURE_TEARDOWN(scope)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* No misuse counted, and the rings wrote exactly @records, dropping none. */
static void expect_clean(struct __test_metadata *_metadata,
			 FIXTURE_DATA(scope) *self, long records)
{
	struct otel_span_stats st1;
	struct otel_cpu_stats r1 = { 0 };

	ASSERT_EQ(0, span_stats(self->fd, &st1));
#define SAME(f) EXPECT_EQ(self->st0.f, st1.f) TH_LOG("span stats: " #f)
	SAME(begin_active);
	SAME(end_twice);
	SAME(end_foreign);
	SAME(stale_current);
	SAME(misnested);
	SAME(bad_handle);
	SAME(context_full);
	SAME(depth_full);
#undef SAME
	ASSERT_EQ(0, span_ring_stats(self->fd, &r1));
	/* and named the task in COMM records (not counted in @records) */
	EXPECT_EQ(records + (long)self->db.comm_records,
		  r1.records - self->r0.records);
	EXPECT_EQ(0, span_ring_dropped(&r1) - span_ring_dropped(&self->r0));
}

TEST_F_TIMEOUT(scope, every_way_out_ends_the_span, 300)
{
	struct call *calls = calloc(ROUNDS * PATHS, sizeof(*calls));
	const struct rec_span *s, *up;
	const struct rec_attr *a;
	struct span_verdict v = { 0 };
	struct call *c;
	uint32_t me = getpid();
	long records;
	size_t i;

	ASSERT_NE(NULL, calls);
	ASSERT_EQ(0, span_cmd("scoped %d", ROUNDS))
		TH_LOG("a scoped span stayed current (-EPROTO) or the command failed");
	records = rec_drain(self->fd, &self->db);
	ASSERT_LE(0, records);
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	/* One record per span, nothing else. */
	EXPECT_EQ((size_t)ROUNDS * PER_ROUND, self->db.nr);
	EXPECT_EQ((long)self->db.nr, records);

	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		if (!rec_complete(s))
			span_fail(&v, s, "incomplete");
		if (s->pid != me || s->begin_ctx != OTEL_CTX_TASK)
			span_fail(&v, s, "not begun in the test's task");
		if (!strcmp(s->name, "t.s.request") ||
		    !strcmp(s->name, "t.s.after")) {
			c = call_of(calls, s);
			if (!c) {
				span_fail(&v, s, "no t.path / t.seq");
				continue;
			}
			if (!rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE))
				span_fail(&v, s, "not a root: a span stayed current");
			if (!strcmp(s->name, "t.s.after")) {
				c->after++;
			} else {
				c->reqs++;
				c->req = s;
			}
			continue;
		}
		up = rec_by_id(&self->db, s->parent_id);
		if (!up || strcmp(up->name, "t.s.request") ||
		    memcmp(up->trace_id, s->trace_id, OTEL_TRACE_ID_SIZE)) {
			span_fail(&v, s, "not under a t.s.request");
			continue;
		}
		c = call_of(calls, up);
		if (!c) {
			span_fail(&v, s, "parent without t.path / t.seq");
			continue;
		}
		if (!strcmp(s->name, "t.s.step"))
			c->step++;
		else if (!strcmp(s->name, "t.s.inner"))
			c->inner++;
		else if (!strcmp(s->name, "t.s.iter"))
			c->iter++;
		else
			span_fail(&v, s, "unexpected span");
	}
	EXPECT_EQ(0, v.bad) TH_LOG("%zu bad spans, first: %s", v.bad, v.why);

	for (i = 0; i < ROUNDS * PATHS; i++) {
		int path = i % PATHS;

		c = &calls[i];
		ASSERT_EQ(1, c->reqs) TH_LOG("round %zu path %d: requests", i / PATHS, path);
		ASSERT_EQ(1, c->after) TH_LOG("round %zu path %d: t.s.after", i / PATHS, path);
		EXPECT_EQ(want[path].step, c->step) TH_LOG("path %d: t.s.step", path);
		EXPECT_EQ(want[path].inner, c->inner) TH_LOG("path %d: t.s.inner", path);
		EXPECT_EQ(want[path].iter, c->iter) TH_LOG("path %d: t.s.iter", path);
		EXPECT_EQ(want[path].status, c->req->status) TH_LOG("path %d: status", path);
		if (want[path].status == OTEL_STATUS_ERROR) {
			EXPECT_STREQ("EIO", c->req->status_msg);
			a = rec_attr(c->req, 0, "error.type");
			ASSERT_NE(NULL, a);
			EXPECT_STREQ("EIO", a->str);
		}
	}
	expect_clean(_metadata, self, records);
	free(calls);
}

/* Tracing off (otelctl config --disable): nothing written, nothing left. */
TEST_F(scope, disabled_writes_nothing)
{
	struct otel_config cfg;
	long records;

	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	cfg.enabled = 0;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	EXPECT_EQ(0, span_cmd("scoped 5"));
	cfg.enabled = 1;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	records = rec_drain(self->fd, &self->db);
	EXPECT_EQ(0, records);
	/* And on again: the same calls make every span. */
	ASSERT_EQ(0, span_cmd("scoped 1"));
	records = rec_drain(self->fd, &self->db);
	EXPECT_EQ(PER_ROUND, records);
	expect_clean(_metadata, self, records);
}

TEST_HARNESS_MAIN
