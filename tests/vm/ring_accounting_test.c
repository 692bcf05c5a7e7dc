// SPDX-License-Identifier: GPL-2.0
/*
 * Exact accounting under overload (the LTTng invariant): every record
 * otel_ringtest.ko tries to write is either read back, whole and valid, or
 * counted as dropped.  Writers run in task, softirq and hardirq context on
 * every CPU (and, without overload, NMIs nested inside a task writer's
 * reservation) while a reader drains the rings at the same time, by mmap in
 * one test and by read() in the other.  A resize and a mode change count
 * the records they throw away unread (`discarded`).
 */
#include "kselftest_harness.h"
#include "ring_util.h"

FIXTURE(acct) {
	int fd;
	struct checker ck;
};

FIXTURE_SETUP(acct)
{
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=16"));
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(acct)
{
	close(self->fd);
	if (vm_module_loaded("otel_ringtest"))
		vm_unload_module("otel_ringtest");
	vm_unload_module("oteltrace");
}

/* Wait for the writers, draining with @drain meanwhile; then drain once more. */
static int run_writers(void (*drain)(void *), void *arg, double limit_s)
{
	double end = now_s() + limit_s;

	while (ringtest_param("done") != 1) {
		if (now_s() > end)
			return -ETIMEDOUT;
		drain(arg);
	}
	drain(arg);
	return 0;
}

/* Wait for the writers without reading (the test reads afterwards). */
static void no_drain(void *arg)
{
	usleep(1000);
}

struct mmap_reader {
	struct rings rs;
	struct checker *ck;
};

static void drain_mmap(void *arg)
{
	struct mmap_reader *m = arg;

	rings_drain(&m->rs, m->ck);
}

struct read_reader {
	int fd;
	struct checker *ck;
	long err;
};

static void drain_read(void *arg)
{
	struct read_reader *r = arg;
	long n = read_drain(r->fd, r->ck);

	if (n < 0)
		r->err = n;
}

static void expect_invariant(struct __test_metadata *_metadata, int fd,
			     struct checker *ck)
{
	struct otel_cpu_stats s = { 0 };
	long long attempted = ringtest_param("attempted");

	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	TH_LOG("attempted %lld read %llu dropped_full %llu nested %llu pads %llu "
	       "(task %llu softirq %llu hardirq %llu nmi %llu)", attempted,
	       (unsigned long long)ck->read, (unsigned long long)s.dropped_full,
	       (unsigned long long)s.dropped_nested, (unsigned long long)ck->pads,
	       (unsigned long long)ck->per_ctx[0], (unsigned long long)ck->per_ctx[1],
	       (unsigned long long)ck->per_ctx[2], (unsigned long long)ck->per_ctx[3]);
	EXPECT_EQ(0, ck->errors) TH_LOG("first error: %s", ck->first_error);
	EXPECT_EQ(ck->read, s.records);
	EXPECT_EQ((uint64_t)attempted, ck->read + stats_dropped(&s));
	EXPECT_EQ(0, s.dropped_disabled);
	EXPECT_EQ(0, s.dropped_too_big);
	/*
	 * Every context got records through (the kthread sleeps now and then
	 * so that it writes all along), and the overload dropped some.
	 */
	EXPECT_LT(0, ck->per_ctx[RINGTEST_CTX_TASK]);
	EXPECT_LT(0, ck->per_ctx[RINGTEST_CTX_SOFTIRQ]);
	EXPECT_LT(0, ck->per_ctx[RINGTEST_CTX_HARDIRQ]);
	EXPECT_LT(0, s.dropped_full);
}

TEST_F_TIMEOUT(acct, mmap_million_records, 120)
{
	struct mmap_reader m = { .ck = &self->ck };
	long nr_cpus;

	ASSERT_EQ(0, rings_map(&m.rs, self->fd));
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	checker_init(&self->ck, m.rs.nr, 40, 256);
	{
		/* at least 1,000,000 records over all CPUs, 60% from the task */
		unsigned long per = (1000000 + nr_cpus - 1) / nr_cpus;
		char params[256];

		snprintf(params, sizeof(params),
			 "task_records=%lu soft_records=%lu hard_records=%lu "
			 "burst=16 period_us=200 task_sleep_us=1000",
			 per * 6 / 10, per * 2 / 10, per * 2 / 10);
		ASSERT_EQ(0, ringtest_load(params));
	}
	ASSERT_EQ(0, run_writers(drain_mmap, &m, 100));
	ASSERT_LE(1000000, ringtest_param("attempted"));
	expect_invariant(_metadata, self->fd, &self->ck);
	EXPECT_LT(0, self->ck.pads);
	rings_unmap(&m.rs);
}

TEST_F_TIMEOUT(acct, read_path, 60)
{
	struct read_reader r = { .fd = self->fd, .ck = &self->ck };
	struct otel_info info;

	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &info));
	checker_init(&self->ck, info.nr_cpus, 40, 256);
	ASSERT_EQ(0, ringtest_load("task_records=60000 soft_records=20000 hard_records=20000 "
				   "task_sleep_us=500"));
	ASSERT_EQ(0, run_writers(drain_read, &r, 50));
	EXPECT_EQ(0, r.err);
	expect_invariant(_metadata, self->fd, &self->ck);
}

/*
 * NMIs nested inside a task writer's reservation, without overload: the
 * nested records are published by the task's commit, none is lost.
 */
TEST_F(acct, nmi_nested_in_task)
{
	struct mmap_reader m = { .ck = &self->ck };
	struct otel_cpu_stats s = { 0 };
	long long attempted;

	close(self->fd);
	ASSERT_EQ(0, vm_unload_module("oteltrace"));
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=1024"));
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, rings_map(&m.rs, self->fd));
	checker_init(&self->ck, m.rs.nr, 40, 256);
	ASSERT_EQ(0, ringtest_load("task_records=6400 nmi_records=400"));
	ASSERT_EQ(0, run_writers(drain_mmap, &m, 50));
	attempted = ringtest_param("attempted");
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	TH_LOG("attempted %lld read %llu (nmi %llu) dropped %llu", attempted,
	       (unsigned long long)self->ck.read,
	       (unsigned long long)self->ck.per_ctx[RINGTEST_CTX_NMI],
	       (unsigned long long)stats_dropped(&s));
	EXPECT_EQ(0, self->ck.errors) TH_LOG("%s", self->ck.first_error);
	EXPECT_EQ(0, stats_dropped(&s));
	EXPECT_EQ((uint64_t)attempted, self->ck.read);
	EXPECT_LT(0, self->ck.per_ctx[RINGTEST_CTX_NMI]);
	rings_unmap(&m.rs);
}

/* Consume up to @n records of ring @cpu by mmap, as a reader would. */
static uint64_t consume_some(struct rings *rs, struct checker *ck,
			     unsigned int cpu, uint64_t n)
{
	uint64_t mask = rs->info.ring_size - 1, pos, prod, done = 0;
	const struct otel_rec_hdr *h;

	pos = rs->cons[cpu]->consumer_pos;
	prod = __atomic_load_n(&rs->prod[cpu]->producer_pos, __ATOMIC_ACQUIRE);
	while (pos < prod && done < n) {
		h = (const void *)(rs->data[cpu] + (pos & mask));
		if (h->type != OTEL_REC_PAD) {
			check_record(ck, h, cpu);
			done++;
		}
		pos += h->size;
	}
	__atomic_store_n(&rs->cons[cpu]->consumer_pos, pos, __ATOMIC_RELEASE);
	return done;
}

static void set_ring_size(struct otel_config *c, void *arg)
{
	c->ring_size = *(uint64_t *)arg;
}

static void set_mode(struct otel_config *c, void *arg)
{
	c->mode = *(uint32_t *)arg;
}

/*
 * A resize and a mode change throw away the records no reader had yet:
 * they are counted in `discarded`, from each ring's consumer position on
 * (the records read before it are not), so that attempted == read +
 * dropped + discarded holds across them.
 */
TEST_F(acct, resize_and_mode_count_discarded)
{
	struct otel_cpu_stats s0 = { 0 }, s = { 0 };
	uint64_t size = 32768, consumed, attempted;
	struct checker ck2;	/* the second load numbers its records anew */
	uint32_t mode;
	struct rings rs;

	/* 40 records of at most 256 bytes per CPU fit a 16 KiB ring */
	ASSERT_EQ(0, ringtest_load("task_records=40"));
	ASSERT_EQ(0, run_writers(no_drain, NULL, 50));
	attempted = ringtest_param("attempted");
	ASSERT_EQ(0, rings_map(&rs, self->fd));
	checker_init(&self->ck, rs.nr, 40, 256);
	consumed = consume_some(&rs, &self->ck, 0, 10);
	EXPECT_EQ(10, consumed);
	rings_unmap(&rs);
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s0));
	EXPECT_EQ(attempted, s0.records);
	EXPECT_EQ(0, s0.discarded);
	ASSERT_EQ(0, ring_set_config(self->fd, set_ring_size, &size));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(s0.records - consumed, s.discarded);
	EXPECT_EQ(0, read_drain(self->fd, &self->ck));

	/* the same through a mode change, and none when the rings are empty */
	ASSERT_EQ(0, ringtest_load("task_records=40"));
	ASSERT_EQ(0, run_writers(no_drain, NULL, 50));
	attempted += ringtest_param("attempted");
	ASSERT_EQ(0, rings_map(&rs, self->fd));
	checker_init(&ck2, rs.nr, 40, 256);
	consumed += consume_some(&rs, &ck2, 0, 5);
	rings_unmap(&rs);
	mode = OTEL_MODE_OVERWRITE;
	ASSERT_EQ(0, ring_set_config(self->fd, set_mode, &mode));
	mode = OTEL_MODE_DISCARD;
	ASSERT_EQ(0, ring_set_config(self->fd, set_mode, &mode));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	TH_LOG("attempted %llu consumed %llu discarded %llu dropped %llu",
	       (unsigned long long)attempted, (unsigned long long)consumed,
	       (unsigned long long)s.discarded, (unsigned long long)stats_dropped(&s));
	EXPECT_EQ(15, consumed);
	EXPECT_EQ(0, self->ck.errors) TH_LOG("%s", self->ck.first_error);
	EXPECT_EQ(0, ck2.errors) TH_LOG("%s", ck2.first_error);
	EXPECT_EQ(0, stats_dropped(&s));
	EXPECT_EQ(attempted, s.records);
	EXPECT_EQ(attempted, self->ck.read + ck2.read + s.discarded);
	EXPECT_EQ(0, read_drain(self->fd, &ck2));
}

/* read() never splits a record: a buffer smaller than the next one is EINVAL. */
TEST_F(acct, read_small_buffer)
{
	char buf[512] __attribute__((aligned(8)));
	struct otel_rec_hdr *h = (void *)buf;
	struct otel_info info;
	ssize_t n;

	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &info));
	ASSERT_EQ(0, ringtest_load("task_records=3 min_size=256 max_size=256"));
	ASSERT_EQ(0, run_writers(no_drain, NULL, 20));
	n = read(self->fd, buf, 255);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EINVAL, errno);
	n = read(self->fd, buf, 256 + 255);
	ASSERT_EQ(256, n);
	EXPECT_EQ(OTEL_REC_RAW, h->type);
	EXPECT_EQ(256, h->size);
}

/* O_NONBLOCK read of empty rings: EAGAIN. */
TEST_F(acct, read_nonblock_empty)
{
	char buf[1024];
	int fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_NONBLOCK);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_HARNESS_MAIN
