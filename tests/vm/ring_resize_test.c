// SPDX-License-Identifier: GPL-2.0
/*
 * Resizes under load (docs/ring.md, "Resize"): otel_ringtest.ko writes on
 * every CPU from task, softirq, hardirq and NMI context (nested in the
 * task's reservations) while a reader thread drains with read() and the
 * test reallocates the rings again and again (16 KiB to 128 KiB).  Every
 * record read must be whole and valid (type, size for its sequence, CPU,
 * context, payload, sequence order per writer and ring), and the
 * accounting exact: records tried == read + dropped + discarded, where
 * discarded counts what a resize threw away unread.
 *
 * What it cannot show: a resize publishes the new ring memory with
 * rcu_assign_pointer() and a grace period before writers run again; on
 * x86 (and under TCG) plain stores would be ordered as well, so a missing
 * barrier does not fail here.  sparse (scripts/lint) does: the pointer is
 * __rcu, and any access without rcu_dereference*() is an error.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "ring_util.h"

#define RESIZES		24

FIXTURE(rz) {
	int fd;
	struct checker ck;
};

FIXTURE_SETUP(rz)
{
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=16"));
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(rz)
{
	close(self->fd);
	if (vm_module_loaded("otel_ringtest"))
		vm_unload_module("otel_ringtest");
	vm_unload_module("oteltrace");
}

struct reader {
	int fd;
	struct checker *ck;
	atomic_bool stop;
	atomic_ulong read;	/* ck->read, for the main thread */
	long err;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	long n;

	while (!atomic_load(&r->stop)) {
		n = read_drain(r->fd, r->ck);
		if (n < 0) {
			r->err = n;
			break;
		}
		atomic_store(&r->read, r->ck->read);
		if (!n)
			usleep(200);
	}
	return NULL;
}

static void set_size(struct otel_config *c, void *arg)
{
	c->ring_size = *(uint64_t *)arg;
}

/* Wait until the reader has read more than @since records: 0 or -ETIMEDOUT. */
static int records_flow(struct reader *r, unsigned long since)
{
	double end = now_s() + 60;

	while (atomic_load(&r->read) <= since) {
		if (now_s() > end || ringtest_param("done") == 1)
			return -ETIMEDOUT;
		usleep(500);
	}
	return 0;
}

TEST_F_TIMEOUT(rz, resize_under_load, 240)
{
	static const uint64_t sizes[] = { 32 << 10, 128 << 10, 16 << 10, 64 << 10 };
	struct reader r = { .fd = self->fd, .ck = &self->ck };
	struct otel_cpu_stats s = { 0 };
	unsigned int resized = 0, i;
	long long attempted;
	struct otel_info info;
	double end;
	pthread_t t;
	uint64_t sz;

	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &info));
	checker_init(&self->ck, info.nr_cpus, 40, 256);
	/* paced (timer period, kthread sleeps) to keep writing across resizes */
	ASSERT_EQ(0, ringtest_load("task_records=100000 soft_records=30000 "
				   "hard_records=30000 nmi_records=400 burst=8 "
				   "period_us=1000 task_sleep_us=2000"));
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_fn, &r));
	/* each resize after the reader got records through the last rings */
	for (i = 0; i < RESIZES; i++) {
		if (records_flow(&r, atomic_load(&r.read)))
			break;
		sz = sizes[i % 4];
		ASSERT_EQ(0, ring_set_config(self->fd, set_size, &sz));
		resized++;
	}
	end = now_s() + 120;
	while (ringtest_param("done") != 1 && now_s() < end)
		usleep(10000);
	ASSERT_EQ(1, ringtest_param("done"));
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	ASSERT_EQ(0, r.err);
	ASSERT_LE(0, read_drain(self->fd, &self->ck));	/* what is left */

	attempted = ringtest_param("attempted");
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	TH_LOG("%u resizes; attempted %lld read %llu dropped %llu discarded %llu "
	       "(task %llu softirq %llu hardirq %llu nmi %llu)", resized,
	       attempted, (unsigned long long)self->ck.read,
	       (unsigned long long)stats_dropped(&s),
	       (unsigned long long)s.discarded,
	       (unsigned long long)self->ck.per_ctx[0],
	       (unsigned long long)self->ck.per_ctx[1],
	       (unsigned long long)self->ck.per_ctx[2],
	       (unsigned long long)self->ck.per_ctx[3]);
	/* at least one resize while the writers ran (usually all of them) */
	EXPECT_LE(1, resized);
	EXPECT_EQ(0, self->ck.errors) TH_LOG("first error: %s", self->ck.first_error);
	EXPECT_EQ(self->ck.read + s.discarded, s.records);
	EXPECT_EQ((uint64_t)attempted, self->ck.read + stats_dropped(&s) + s.discarded);
	EXPECT_EQ(0, s.dropped_too_big);
	EXPECT_LT(0, self->ck.per_ctx[RINGTEST_CTX_TASK]);
	EXPECT_LT(0, self->ck.per_ctx[RINGTEST_CTX_SOFTIRQ]);
	EXPECT_LT(0, self->ck.per_ctx[RINGTEST_CTX_HARDIRQ]);
	/* the last size stays */
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &info));
	if (resized)
		EXPECT_EQ(sizes[(resized - 1) % 4], info.ring_size);
}

TEST_HARNESS_MAIN
