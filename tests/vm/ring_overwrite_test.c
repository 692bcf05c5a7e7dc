// SPDX-License-Identifier: GPL-2.0
/*
 * Overwrite (flight-recorder) mode: the rings keep the newest records, the
 * oldest are counted as overwritten, and a snapshot is consistent: every
 * writer's records from overwrite_tail to producer_pos are its last ones,
 * without a gap, both through mmap and through read(); while the snapshot
 * holds, new records are dropped and counted, and the content is unchanged.
 */
#include "kselftest_harness.h"
#include "ring_util.h"

#define PER_CPU 20000

FIXTURE(ow) {
	int fd;
	struct rings rs;
};

static void set_overwrite(struct otel_config *c, void *arg)
{
	c->mode = OTEL_MODE_OVERWRITE;
}

FIXTURE_SETUP(ow)
{
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=16"));
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ring_set_config(self->fd, set_overwrite, NULL));
	ASSERT_EQ(0, rings_map(&self->rs, self->fd));
}

FIXTURE_TEARDOWN(ow)
{
	rings_unmap(&self->rs);
	close(self->fd);
	if (vm_module_loaded("otel_ringtest"))
		vm_unload_module("otel_ringtest");
	vm_unload_module("oteltrace");
}

static void wait_done(void)
{
	double end = now_s() + 60;

	while (ringtest_param("done") != 1 && now_s() < end)
		usleep(1000);
}

/* Read every ring's snapshot by mmap, without consuming it. */
static void read_snapshot(struct rings *rs, struct checker *ck)
{
	unsigned int cpu;
	uint64_t from;

	for (cpu = 0; cpu < rs->nr; cpu++) {
		from = rs->prod[cpu]->overwrite_tail;
		if (rs->cons[cpu]->consumer_pos > from)
			from = rs->cons[cpu]->consumer_pos;
		ring_read_from(rs, ck, cpu, from);
	}
}

/* The records kept are each writer's newest ones, contiguous to the end. */
static void expect_newest(struct __test_metadata *_metadata, struct checker *ck)
{
	unsigned int w, cpu;

	for (w = 0; w < ck->nr_cpus * RINGTEST_NR_CTX; w++) {
		if (w % RINGTEST_NR_CTX != RINGTEST_CTX_TASK)
			continue;
		for (cpu = 0; cpu < ck->nr_cpus; cpu++) {
			if (w / RINGTEST_NR_CTX != cpu || ck->last[w][cpu] < 0)
				continue;
			EXPECT_EQ(PER_CPU - 1, ck->last[w][cpu]);
		}
	}
}

TEST_F(ow, keeps_newest_and_snapshot_is_consistent)
{
	struct otel_cpu_stats s = { 0 }, s2 = { 0 };
	struct checker ck, ck2, ck3;
	char params[128];
	unsigned int cpu;
	long nr_online = sysconf(_SC_NPROCESSORS_ONLN);
	long long attempted;

	snprintf(params, sizeof(params), "task_records=%d", PER_CPU);
	ASSERT_EQ(0, ringtest_load(params));
	wait_done();
	attempted = ringtest_param("attempted");
	EXPECT_EQ(PER_CPU * nr_online, attempted);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SNAPSHOT));

	checker_init(&ck, self->rs.nr, 40, 256);
	read_snapshot(&self->rs, &ck);
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	TH_LOG("records %llu kept %llu overwritten %llu",
	       (unsigned long long)s.records, (unsigned long long)ck.read,
	       (unsigned long long)s.overwritten);
	EXPECT_EQ(0, ck.errors) TH_LOG("%s", ck.first_error);
	EXPECT_EQ((uint64_t)attempted, s.records);
	EXPECT_EQ(0, stats_dropped(&s));
	EXPECT_LT(0, s.overwritten);
	EXPECT_EQ(s.records, ck.read + s.overwritten);
	for (cpu = 0; cpu < self->rs.nr; cpu++)
		EXPECT_GE(self->rs.info.ring_size,
			  self->rs.prod[cpu]->producer_pos -
			  self->rs.prod[cpu]->overwrite_tail);
	expect_newest(_metadata, &ck);

	/* writers during the snapshot: dropped, counted, content unchanged */
	ASSERT_EQ(0, ringtest_load("task_records=1000"));
	wait_done();
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s2));
	EXPECT_EQ(1000 * nr_online, s2.dropped_disabled);
	EXPECT_EQ(s.records, s2.records);
	checker_init(&ck2, self->rs.nr, 40, 256);
	read_snapshot(&self->rs, &ck2);
	EXPECT_EQ(ck.read, ck2.read);
	EXPECT_EQ(0, memcmp(ck.last, ck2.last, sizeof(ck.last)));

	/* read() returns the same records, then nothing */
	checker_init(&ck3, self->rs.nr, 40, 256);
	EXPECT_EQ((long)ck.read, read_drain(self->fd, &ck3));
	EXPECT_EQ(0, ck3.errors) TH_LOG("%s", ck3.first_error);
	EXPECT_EQ(0, memcmp(ck.last, ck3.last, sizeof(ck.last)));
	EXPECT_EQ(0, read_drain(self->fd, &ck3));

	/* resume: records flow again */
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_RESUME));
	ASSERT_EQ(0, ringtest_load("task_records=10"));
	wait_done();
	checker_init(&ck3, self->rs.nr, 40, 256);
	EXPECT_EQ(10 * nr_online, read_drain(self->fd, &ck3));
}

/* Overwrite mode with writers in every context and a live read() reader. */
TEST_F(ow, live_reader_all_contexts)
{
	struct otel_cpu_stats s = { 0 };
	struct checker ck;
	long n, total = 0;

	checker_init(&ck, self->rs.nr, 40, 256);
	ASSERT_EQ(0, ringtest_load("task_records=30000 soft_records=10000 hard_records=10000"));
	while (ringtest_param("done") != 1) {
		n = read_drain(self->fd, &ck);
		ASSERT_LE(0, n);
		total += n;
	}
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SNAPSHOT));
	n = read_drain(self->fd, &ck);
	ASSERT_LE(0, n);
	total += n;
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	TH_LOG("records %llu read %ld overwritten %llu", (unsigned long long)s.records,
	       total, (unsigned long long)s.overwritten);
	EXPECT_EQ(0, ck.errors) TH_LOG("%s", ck.first_error);
	EXPECT_EQ((uint64_t)ringtest_param("attempted"), s.records + stats_dropped(&s));
	/* a record is read, or overwritten, or both (overwritten after read) */
	EXPECT_LE(s.records, total + s.overwritten);
	EXPECT_GE(s.records, (uint64_t)total);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_RESUME));
}

TEST_F(ow, clear_empties_and_zeroes)
{
	struct otel_cpu_stats s = { 0 };
	struct checker ck;

	ASSERT_EQ(0, ringtest_load("task_records=5000"));
	wait_done();
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_CLEAR));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, s.records);
	EXPECT_EQ(0, s.overwritten);
	checker_init(&ck, self->rs.nr, 40, 256);
	EXPECT_EQ(0, read_drain(self->fd, &ck));
}

TEST_HARNESS_MAIN
