// SPDX-License-Identifier: GPL-2.0
/*
 * Sampling: traceidratio keeps the configured share of traces (within five
 * standard deviations), parent-based samplers keep whole traces, always_off
 * and unsampled spans write nothing, the module parameters work at load and
 * at run time and refuse bad values.
 */
#include <math.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define PARAM(p)	"/sys/module/oteltrace/parameters/" p

FIXTURE(sampling) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(sampling)
{
	rec_db_init(&self->db);
	self->fd = span_load(NULL, SPANTEST_KO);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(sampling)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

static void run_batches(struct __test_metadata *_metadata,
			FIXTURE_DATA(sampling) *self, const char *cmd,
			int total, int batch)
{
	int i;

	for (i = 0; i < total / batch; i++) {
		ASSERT_EQ(0, span_cmd("%s %d", cmd, batch));
		ASSERT_LE(0, rec_drain(self->fd, &self->db));
	}
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
}

TEST_F(sampling, traceidratio_quarter)
{
	const int n = 20000;
	const double p = 0.25, mean = n * p, sigma = sqrt(n * p * (1 - p));
	size_t kept;

	ASSERT_EQ(0, span_sampler("traceidratio", 250000));
	run_batches(_metadata, self, "roots", n, 2000);
	kept = rec_count(&self->db, "t.root");
	TH_LOG("kept %zu of %d (expected %.0f +- %.0f)", kept, n, mean,
	       5 * sigma);
	EXPECT_GT(5 * sigma, fabs(kept - mean));
}

TEST_F(sampling, parentbased_keeps_whole_traces)
{
	const int n = 4000;
	const struct rec_span *s, *root;
	size_t i, roots = 0, children = 0;

	ASSERT_EQ(0, span_sampler("parentbased_traceidratio", 500000));
	run_batches(_metadata, self, "tree", n, 1000);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->trace_flags);
		if (!strcmp(s->name, "t.tree.root")) {
			roots++;
		} else if (!strcmp(s->name, "t.tree.child")) {
			children++;
			root = rec_by_id(&self->db, s->parent_id);
			ASSERT_NE(NULL, root);
			EXPECT_STREQ("t.tree.root", root->name);
		}
	}
	/* A child is kept exactly when its root is. */
	EXPECT_EQ(roots, children);
	EXPECT_LT(n / 4, roots);
	EXPECT_GT(3 * n / 4, roots);
}

TEST_F(sampling, always_off_writes_nothing)
{
	char buf[64];

	ASSERT_EQ(0, span_sampler("always_off", 1000000));
	ASSERT_LT(0, span_read_file(PARAM("sampler"), buf, sizeof(buf)));
	EXPECT_STREQ("always_off\n", buf);

	ASSERT_EQ(0, span_cmd("tree 500"));
	ASSERT_EQ(0, span_cmd("attrs"));
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.nr);

	ASSERT_EQ(0, span_sampler("always_on", 1000000));
	ASSERT_EQ(0, span_cmd("roots 3"));
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(3, rec_count(&self->db, "t.root"));
}

/*
 * noop_spans=Y: while the sampler drops every span, a begin makes a no-op
 * span, as a disabled OpenTelemetry SDK does: never current, its context
 * is the task's remote context unchanged, read in that task only
 * (otel_spantest's "noop" checks that in the kernel), whether the module
 * parameter or otel_config.noop_spans asked for it.  Without it (the
 * default) always_off makes unsampled spans with ids and flags 00, as an
 * SDK's always_off does; and a sampler that may record never makes no-op
 * spans.  A no-op span ended twice is counted; nothing is recorded.
 */
TEST_F(sampling, noop_spans_when_asked)
{
	struct otel_context_req req = { 0 };
	struct otel_span_stats st0, st1;
	struct otel_config cfg;
	char buf[8];

	span_read_file(PARAM("noop_spans"), buf, sizeof(buf));
	EXPECT_STREQ("N\n", buf);	/* off by default */
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(0, cfg.noop_spans);

	memset(req.trace_id, 0xab, sizeof(req.trace_id));
	memset(req.span_id, 0xcd, sizeof(req.span_id));
	req.trace_flags = OTEL_TRACE_FLAG_SAMPLED;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_TASK_CONTEXT, &req));
	ASSERT_EQ(0, span_stats(self->fd, &st0));

	ASSERT_EQ(0, span_sampler("always_off", 1000000));
	EXPECT_EQ(0, span_cmd("noop 0"));
	ASSERT_EQ(0, span_write_file(PARAM("noop_spans"), "1"));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(1, cfg.noop_spans);
	EXPECT_EQ(0, span_cmd("noop 1"));
	/* the same switch in otel_config (otelctl config --noop-spans) */
	ASSERT_EQ(0, span_noop_spans(self->fd, false));
	span_read_file(PARAM("noop_spans"), buf, sizeof(buf));
	EXPECT_STREQ("N\n", buf);
	EXPECT_EQ(0, span_cmd("noop 0"));
	ASSERT_EQ(0, span_noop_spans(self->fd, true));
	span_read_file(PARAM("noop_spans"), buf, sizeof(buf));
	EXPECT_STREQ("Y\n", buf);
	/* traceidratio at 0 drops everything too */
	ASSERT_EQ(0, span_sampler("traceidratio", 0));
	EXPECT_EQ(0, span_cmd("noop 1"));
	/* a parent-based sampler may record: never no-op spans */
	ASSERT_EQ(0, span_sampler("parentbased_always_off", 1000000));
	req.trace_flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_TASK_CONTEXT, &req));
	EXPECT_EQ(0, span_cmd("noop 0"));
	ASSERT_EQ(0, span_noop_spans(self->fd, false));
	span_read_file(PARAM("noop_spans"), buf, sizeof(buf));
	EXPECT_STREQ("N\n", buf);
	/* both in one SET (otelctl config --sampler always_off --noop-spans on) */
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	cfg.sampler = OTEL_SAMPLER_ALWAYS_OFF;
	cfg.noop_spans = 1;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	EXPECT_EQ(0, span_cmd("noop 1"));
	cfg.noop_spans = 0;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	EXPECT_EQ(0, span_cmd("noop 0"));

	ASSERT_EQ(0, span_stats(self->fd, &st1));
	EXPECT_EQ(st0.end_twice + 7, st1.end_twice);
	EXPECT_EQ(st0.begin_active + 7, st1.begin_active);
	EXPECT_EQ(st0.bad_handle, st1.bad_handle);
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.nr);

	/* and a sampler that records: spans again */
	memset(&req, 0, sizeof(req));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_TASK_CONTEXT, &req));
	ASSERT_EQ(0, span_sampler("always_on", 1000000));
	ASSERT_EQ(0, span_cmd("roots 3"));
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(3, rec_count(&self->db, "t.root"));
}

TEST_F(sampling, parameters_refuse_bad_values)
{
	EXPECT_EQ(-EINVAL, span_write_file(PARAM("sampler"), "sometimes"));
	EXPECT_EQ(-EINVAL, span_write_file(PARAM("sampler"), "6"));
	EXPECT_EQ(-EINVAL, span_write_file(PARAM("ratio"), "1000001"));
	EXPECT_EQ(-EINVAL, span_write_file(PARAM("ratio"), "-1"));
	EXPECT_EQ(-EINVAL, span_write_file(PARAM("noop_spans"), "maybe"));
	EXPECT_EQ(0, span_write_file(PARAM("sampler"), "2"));
	EXPECT_EQ(0, span_write_file(PARAM("ratio"), "0"));
	ASSERT_EQ(0, span_cmd("roots 200"));
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.nr);	/* traceidratio 0 keeps nothing */
}

TEST(sampler_parameter_at_load)
{
	struct rec_db db;
	int fd;

	rec_db_init(&db);
	fd = span_load("sampler=always_off", SPANTEST_KO);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, span_cmd("roots 100"));
	ASSERT_LE(0, rec_drain(fd, &db));
	EXPECT_EQ(0, db.nr);
	rec_db_free(&db);
	span_unload(fd);
}

TEST_HARNESS_MAIN
