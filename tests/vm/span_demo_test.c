// SPDX-License-Identifier: GPL-2.0
/*
 * The demo driver's exact contract (docs/driver-api.md, make demo): writing
 * N to /dev/otel_demo makes N traces of otel_demo.request (root, INTERNAL,
 * demo.seq/name/ratio/ok, ERROR "demo failure" when seq % 10 == 9), each
 * with an implicit child otel_demo.work carrying event checkpoint
 * (demo.step = 1) and an explicit child otel_demo.complete ended in a
 * workqueue before the write returns; scope otel_demo.  A request that
 * succeeds and the complete span are one record each; work adds its event's.
 */
#include "kselftest_harness.h"
#include "span_util.h"

#define N	20

FIXTURE(demo) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(demo)
{
	rec_db_init(&self->db);
	self->fd = span_load(NULL, DEMO_KO);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(demo)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* The only child of @parent named @name, or NULL. */
static const struct rec_span *child_of(const struct rec_db *db,
				       const struct rec_span *parent,
				       const char *name, int *count)
{
	const struct rec_span *found = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < db->nr; i++) {
		const struct rec_span *s = db->spans[i];

		if (!strcmp(s->name, name) &&
		    !memcmp(s->parent_id, parent->span_id, OTEL_SPAN_ID_SIZE)) {
			found = s;
			(*count)++;
		}
	}
	return found;
}

TEST_F(demo, exact_output)
{
	const struct rec_span *req, *work, *done;
	const struct rec_attr *a;
	int seen[N] = { 0 };
	int i, count, other_cpu = 0;
	size_t k;

	ASSERT_EQ(0, span_write_file("/dev/otel_demo", "20\n"));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	ASSERT_EQ(3 * N, self->db.nr);
	EXPECT_EQ(N, rec_count(&self->db, "otel_demo.request"));
	EXPECT_EQ(N, rec_count(&self->db, "otel_demo.work"));
	EXPECT_EQ(N, rec_count(&self->db, "otel_demo.complete"));

	for (k = 0; k < self->db.nr; k++) {
		const struct rec_span *s = self->db.spans[k];

		EXPECT_TRUE(rec_complete(s)) TH_LOG("%s incomplete", s->name);
		EXPECT_STREQ("otel_demo", s->scope);
		EXPECT_EQ(OTEL_SPAN_KIND_INTERNAL, s->kind);
		EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->trace_flags);
	}

	for (i = 0; i < N; i++) {
		req = rec_find(&self->db, "otel_demo.request", i);
		ASSERT_NE(NULL, req);
		EXPECT_TRUE(span_is_zero_id(req->parent_id, 8));
		EXPECT_EQ(4, req->nr_attrs);

		a = rec_attr(req, 0, "demo.seq");
		ASSERT_NE(NULL, a);
		ASSERT_EQ(OTEL_ATTR_INT, a->type);
		ASSERT_LE(0, a->value);
		ASSERT_GT(N, a->value);
		seen[a->value]++;
		if (a->value % 10 == 9) {
			EXPECT_EQ(OTEL_STATUS_ERROR, req->status);
			EXPECT_STREQ("demo failure", req->status_msg);
		} else {
			EXPECT_NE(OTEL_STATUS_ERROR, req->status);
			/* 4 attributes (120 bytes) fit the handle: one record */
			EXPECT_EQ(0, req->nr_records);
			EXPECT_EQ(4, req->nr_inline);
		}

		a = rec_attr(req, 0, "demo.name");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(OTEL_ATTR_STRING, a->type);
		EXPECT_STREQ("demo", a->str);
		a = rec_attr(req, 0, "demo.ratio");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(OTEL_ATTR_DOUBLE, a->type);
		ASSERT_NE(0, a->den);
		EXPECT_EQ(0.5, (double)a->value / (double)a->den);
		a = rec_attr(req, 0, "demo.ok");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(OTEL_ATTR_BOOL, a->type);
		EXPECT_EQ(1, a->value);

		work = child_of(&self->db, req, "otel_demo.work", &count);
		ASSERT_EQ(1, count);
		EXPECT_EQ(0, memcmp(work->trace_id, req->trace_id, 16));
		ASSERT_EQ(1, work->nr_events);
		EXPECT_STREQ("checkpoint", work->events[0].name);
		a = rec_attr(work, work->events[0].index, "demo.step");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(OTEL_ATTR_INT, a->type);
		EXPECT_EQ(1, a->value);
		/* the event's record, with its attribute inside, and the SPAN */
		EXPECT_EQ(OTEL_REC_EVENT, a->rec_type);
		EXPECT_EQ(1, work->nr_records);
		EXPECT_LE(req->start_ns, work->start_ns);
		EXPECT_LE(work->end_ns, req->end_ns);

		done = child_of(&self->db, req, "otel_demo.complete", &count);
		ASSERT_EQ(1, count);
		EXPECT_EQ(0, memcmp(done->trace_id, req->trace_id, 16));
		EXPECT_NE(0, done->pid);	/* begun in the writer */
		EXPECT_EQ(0, done->nr_records);
		EXPECT_EQ(OTEL_CTX_TASK, done->begin_ctx);
		EXPECT_LE(done->end_ns, req->end_ns);
		other_cpu += done->begin_cpu != done->end_cpu;
	}
	for (i = 0; i < N; i++) {
		int times = seen[i];

		EXPECT_EQ(1, times) TH_LOG("demo.seq %d seen %d times", i, times);
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		EXPECT_LT(0, other_cpu);
}

TEST_F(demo, bad_input_is_refused)
{
	EXPECT_EQ(-EINVAL, span_write_file("/dev/otel_demo", "many"));
	EXPECT_EQ(-EINVAL, span_write_file("/dev/otel_demo", "-3"));
	EXPECT_EQ(0, span_write_file("/dev/otel_demo", "0"));
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.nr);
}

TEST_HARNESS_MAIN
