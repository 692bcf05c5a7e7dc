// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug while tracing: CPU 1 goes offline and comes back while
 * writers run and a reader drains by mmap.  The producer page's online flag
 * follows; the offline CPU's ring is still read; the accounting stays exact
 * and no record is torn.  Needs two CPUs or more (scripts/vm --cpus 2).
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "ring_util.h"

#define CPU1_ONLINE "/sys/devices/system/cpu/cpu1/online"

static int set_online(int on)
{
	int fd = open(CPU1_ONLINE, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, on ? "1" : "0", 1);
	close(fd);
	return n == 1 ? 0 : -errno;
}

struct reader {
	struct rings rs;
	struct checker ck;
	int stop;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		rings_drain(&r->rs, &r->ck);
	rings_drain(&r->rs, &r->ck);
	return NULL;
}

TEST(offline_online_while_tracing)
{
	static struct reader r;
	struct otel_cpu_stats s = { 0 }, s1 = { 0 };
	uint64_t read_cpu1_before;
	pthread_t t;
	double end;
	int fd;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || access(CPU1_ONLINE, W_OK))
		SKIP(return, "needs a second CPU that can go offline");
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=32"));
	fd = ring_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, rings_map(&r.rs, fd));
	checker_init(&r.ck, r.rs.nr, 40, 256);
	EXPECT_EQ(1, r.rs.prod[1]->online);
	EXPECT_EQ(1, r.rs.prod[1]->cpu);
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_thread, &r));

	/* hold=1: the task writers stop after their first 256 records until
	 * released, so they are still writing across the hotplug below.
	 */
	ASSERT_EQ(0, ringtest_load("task_records=60000 hard_records=20000 soft_records=20000 "
				   "task_sleep_us=3000 period_us=2000 hold=1"));
	end = now_s() + 60;
	while (ringtest_param("attempted") < 256 && now_s() < end)
		usleep(10000);
	ASSERT_LE(256, ringtest_param("attempted"));
	EXPECT_EQ(0, ringtest_param("done"));	/* held: still writing */
	ASSERT_EQ(0, set_online(0));
	EXPECT_EQ(0, r.rs.prod[1]->online);
	read_cpu1_before = r.rs.prod[1]->producer_pos;
	ASSERT_EQ(0, set_online(1));
	EXPECT_EQ(1, r.rs.prod[1]->online);
	EXPECT_EQ(0, ringtest_param("done"));
	ASSERT_EQ(0, ringtest_set_param("hold", "0"));

	end = now_s() + 60;
	while (ringtest_param("done") != 1 && now_s() < end)
		usleep(10000);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(1, ringtest_param("done"));

	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	ASSERT_EQ(0, ring_stats(fd, 1, &s1));
	TH_LOG("attempted %lld read %llu dropped %llu; cpu1 records %llu",
	       ringtest_param("attempted"), (unsigned long long)r.ck.read,
	       (unsigned long long)stats_dropped(&s), (unsigned long long)s1.records);
	EXPECT_EQ(0, r.ck.errors) TH_LOG("%s", r.ck.first_error);
	EXPECT_EQ(s.records, r.ck.read);
	EXPECT_EQ((uint64_t)ringtest_param("attempted"), r.ck.read + stats_dropped(&s));
	EXPECT_LT(0, read_cpu1_before);
	/* CPU 1's ring was drained to its end */
	EXPECT_EQ(r.rs.prod[1]->producer_pos, r.rs.cons[1]->consumer_pos);
	rings_unmap(&r.rs);
	close(fd);
	EXPECT_EQ(0, vm_unload_module("otel_ringtest"));
	EXPECT_EQ(0, vm_unload_module("oteltrace"));
}

TEST_HARNESS_MAIN
