// SPDX-License-Identifier: GPL-2.0
/*
 * The span API under OTEL_IOC_SET_CONFIG and ring overflow: enabled=0
 * makes every span a no-op (no record, no trace event) until re-enabled;
 * the sampler set by ioctl is the one the module parameters show and use;
 * when the ring drops records, SPAN.nr_records exposes the loss and
 * records received + dropped == records the spans tried to write, exactly.
 */
#include "kselftest_harness.h"
#include "span_util.h"

#define TRACING	"/sys/kernel/tracing/"

static int set_config(int fd, int enabled, int sampler, unsigned int ratio)
{
	struct otel_config cfg;

	if (ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg))
		return -errno;
	if (enabled >= 0)
		cfg.enabled = enabled;
	if (sampler >= 0) {
		cfg.sampler = sampler;
		cfg.ratio = ratio;
	}
	return ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg) ? -errno : 0;
}

FIXTURE(config) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(config)
{
	rec_db_init(&self->db);
	self->fd = span_load(NULL, SPANTEST_KO);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(config)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

TEST_F(config, disabled_spans_are_noops)
{
	struct otel_config cfg;
	int tracing = !access(TRACING "events/oteltrace/enable", W_OK);
	char buf[4096];
	ssize_t n;
	int fd;

	ASSERT_EQ(0, set_config(self->fd, 0, -1, 0));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(0, cfg.enabled);

	if (tracing) {
		close(open(TRACING "trace", O_WRONLY | O_TRUNC));
		ASSERT_EQ(0, span_write_file(TRACING "events/oteltrace/enable",
					     "1"));
	}
	ASSERT_EQ(0, span_cmd("tree 50"));
	ASSERT_EQ(0, span_cmd("attrs"));
	ASSERT_EQ(0, span_cmd("events"));
	ASSERT_EQ(0, span_cmd("hardirq 3"));
	if (tracing) {
		span_write_file(TRACING "events/oteltrace/enable", "0");
		fd = open(TRACING "trace", O_RDONLY);
		ASSERT_LE(0, fd);
		while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			EXPECT_EQ(NULL, strstr(buf, "kspan_"));
		}
		close(fd);
	}
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.nr);

	ASSERT_EQ(0, set_config(self->fd, 1, -1, 0));
	ASSERT_EQ(0, span_cmd("roots 4"));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(4, rec_count(&self->db, "t.root"));
}

TEST_F(config, sampler_by_ioctl)
{
	struct otel_config cfg;
	char buf[64] = "";
	int fd;

	ASSERT_EQ(0, set_config(self->fd, -1, OTEL_SAMPLER_TRACEIDRATIO, 0));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(OTEL_SAMPLER_TRACEIDRATIO, cfg.sampler);
	EXPECT_EQ(0, cfg.ratio);
	fd = open("/sys/module/oteltrace/parameters/sampler", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	EXPECT_STREQ("traceidratio\n", buf);
	ASSERT_EQ(0, span_cmd("roots 100"));
	ASSERT_LE(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.nr);

	ASSERT_EQ(0, set_config(self->fd, -1, OTEL_SAMPLER_TRACEIDRATIO,
				OTEL_RATIO_ONE));
	ASSERT_EQ(0, span_cmd("roots 100"));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(100, rec_count(&self->db, "t.root"));

	/* Out of range: refused, nothing changed. */
	EXPECT_NE(0, set_config(self->fd, -1, 6, 0));
	EXPECT_NE(0, set_config(self->fd, -1, 0, OTEL_RATIO_ONE + 1));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(OTEL_SAMPLER_TRACEIDRATIO, cfg.sampler);
	EXPECT_EQ(OTEL_RATIO_ONE, cfg.ratio);
}

/*
 * Each "attrs" span: 11 attributes of 24 to 40 bytes, more than the 128
 * inline bytes of the handle: two ATTR records (4 + 4 attributes) and the
 * SPAN record (3 more).
 */
#define ATTRS_RECORDS	3
#define ATTRS_SPANS	200

TEST(loss_is_visible_and_accounted)
{
	struct otel_stats_req st = { .cpu = OTEL_STATS_ALL_CPUS };
	size_t i, received = 0, partial = 0, missing = 0;
	const struct rec_span *s;
	struct rec_db db;
	uint64_t dropped;
	int fd;

	rec_db_init(&db);
	fd = span_load("ring_size_kb=16", SPANTEST_KO);
	ASSERT_LE(0, fd);
	for (i = 0; i < ATTRS_SPANS; i++)
		ASSERT_EQ(0, span_cmd("attrs"));
	ASSERT_LT(0, rec_drain(fd, &db));
	EXPECT_EQ(0, db.bad) TH_LOG("%s", db.why);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_STATS, &st));

	for (i = 0; i < db.nr; i++) {
		s = db.spans[i];
		received += s->received + s->has_span;
		EXPECT_EQ(0, s->has_begin);
		if (!s->has_span) {
			/* its SPAN record was dropped: some ATTR came */
			EXPECT_LT(0, s->nr_attr_records);
			continue;
		}
		EXPECT_STREQ("t.attrs", s->name);
		EXPECT_EQ(ATTRS_RECORDS - 1, s->nr_records);
		EXPECT_GE(s->nr_records, s->received);
		if (s->received < s->nr_records) {
			partial++;
			missing += s->nr_records - s->received;
		} else {
			EXPECT_EQ(11, s->nr_attrs);
		}
	}
	dropped = st.stats.dropped_full + st.stats.dropped_nested +
		  st.stats.dropped_too_big + st.stats.dropped_disabled;
	TH_LOG("received %zu records of %d spans, ring dropped %llu; %zu spans seen partial",
	       received, ATTRS_SPANS, (unsigned long long)dropped, partial);
	EXPECT_LT(0, st.stats.dropped_full);
	EXPECT_EQ(db.records + db.comm_records, st.stats.records);
	EXPECT_EQ(received, db.records);
	EXPECT_EQ(ATTRS_SPANS * ATTRS_RECORDS, received + dropped);
	EXPECT_GE(dropped, missing);
	rec_db_free(&db);
	span_unload(fd);
}

TEST_HARNESS_MAIN
