// SPDX-License-Identifier: GPL-2.0
/*
 * Claims of docs/ring.md and docs/otelctl.md about the rings that no other
 * test checked, each against the kernel's own counters and the records read
 * back: a mode change empties the rings; dropped_nested counts a writer
 * re-entering its own context; wakeup_bytes holds a poller back until that
 * many bytes wait, and the slack timer wakes a reader no commit woke; the
 * load parameters ring_size_kb and ring_mode; otelctl snapshot (held while
 * its command runs) and flush.  Records come from otel_claimtest.ko ("raw N": N records of 64
 * bytes on one CPU, in otel_ringtest's checkable format).  Every wait is
 * for a state the test can see (a thread asleep in a system call, a
 * counter); deadlines only catch hangs.
 */
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "ring_util.h"
#include "claim_util.h"
#include "otelctl_util.h"

#define RAW	64	/* bytes of an otel_claimtest record */

FIXTURE(rc) {
	int fd;
	struct otel_info info;
	struct checker ck;
};

FIXTURE_SETUP(rc)
{
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=64"));
	ASSERT_EQ(0, claim_load());
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &self->info));
	checker_init(&self->ck, self->info.nr_cpus, RAW, RAW);
}

FIXTURE_TEARDOWN(rc)
{
	if (self->fd >= 0)
		close(self->fd);
	vm_unload_module("otel_claimtest");
	vm_unload_module("oteltrace");
}

static void set_wakeup(struct otel_config *c, void *arg)
{
	c->wakeup_bytes = *(uint32_t *)arg;
}

static void set_mode(struct otel_config *c, void *arg)
{
	c->mode = *(uint32_t *)arg;
}

/* "raw N" in otel_claimtest: the records the ring took, or -errno. */
static long raw(unsigned int n)
{
	int err = claim_cmd("raw %u", n);

	return err ? err : claim_result();
}

/* Bytes published and not yet consumed, over every ring (mmap view). */
static uint64_t waiting_bytes(struct rings *rs)
{
	uint64_t sum = 0, prod, from;
	unsigned int cpu;

	for (cpu = 0; cpu < rs->nr; cpu++) {
		prod = __atomic_load_n(&rs->prod[cpu]->producer_pos, __ATOMIC_ACQUIRE);
		from = rs->cons[cpu]->consumer_pos;
		if (rs->prod[cpu]->overwrite_tail > from)
			from = rs->prod[cpu]->overwrite_tail;
		sum += prod - from;
	}
	return sum;
}

/*
 * docs/otelctl.md: "--mode discard|overwrite ... a change empties the
 * rings"; docs/ring.md: "Changing the mode pauses, empties the rings".
 * A SET_CONFIG that keeps the mode keeps the records: the emptying is the
 * mode change's.
 */
TEST_F(rc, mode_change_empties_the_rings)
{
	uint32_t mode, wb = 1024;
	struct rings rs;

	ASSERT_EQ(0, rings_map(&rs, self->fd));
	ASSERT_EQ(10, raw(10));
	EXPECT_EQ(10 * RAW, waiting_bytes(&rs));
	ASSERT_EQ(0, ring_set_config(self->fd, set_wakeup, &wb));
	EXPECT_EQ(10 * RAW, waiting_bytes(&rs)) TH_LOG("same mode: records kept");

	mode = OTEL_MODE_OVERWRITE;
	ASSERT_EQ(0, ring_set_config(self->fd, set_mode, &mode));
	EXPECT_EQ(0, waiting_bytes(&rs));
	EXPECT_EQ(0, read_drain(self->fd, &self->ck));

	/* records written in the new mode are there, and go at the next change */
	ASSERT_EQ(5, raw(5));
	EXPECT_EQ(5, read_drain(self->fd, &self->ck));
	ASSERT_EQ(7, raw(7));
	EXPECT_EQ(7 * RAW, waiting_bytes(&rs));
	mode = OTEL_MODE_DISCARD;
	ASSERT_EQ(0, ring_set_config(self->fd, set_mode, &mode));
	EXPECT_EQ(0, waiting_bytes(&rs));
	EXPECT_EQ(0, read_drain(self->fd, &self->ck));
	EXPECT_EQ(0, self->ck.errors) TH_LOG("%s", self->ck.first_error);
	rings_unmap(&rs);
}

/*
 * docs/ring.md rule 3: "A writer whose bit is already set (a tracer
 * re-entering itself) is dropped and counted in `dropped_nested`";
 * docs/otelctl.md: "`dropped_nested` ... the writer interrupted a writer of
 * the same context on the same CPU (recursion)".  Each of N outer writers
 * tries one inner record in its own context: exactly N are refused, the N
 * outer ones are written whole; writers that do not nest are not counted.
 */
TEST_F(rc, dropped_nested_counts_recursion)
{
	struct otel_cpu_stats s = { 0 };

	ASSERT_EQ(0, claim_cmd("nested 100"));
	EXPECT_EQ(100, claim_result());
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(100, s.dropped_nested);
	EXPECT_EQ(100, s.records);
	EXPECT_EQ(100 * RAW, s.bytes);
	EXPECT_EQ(0, s.dropped_full + s.dropped_too_big + s.dropped_disabled);
	EXPECT_EQ(100, read_drain(self->fd, &self->ck));
	EXPECT_EQ(0, self->ck.errors) TH_LOG("%s", self->ck.first_error);

	ASSERT_EQ(50, raw(50));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(100, s.dropped_nested);
	EXPECT_EQ(150, s.records);
}

struct sleeper {
	int fd;
	pid_t tid;
	long ret;
	short revents;
	uint8_t buf[1 << 16] __attribute__((aligned(8)));
};

/*
 * Sleepers block every signal: a signal would end their sleep and restart
 * the call, which then finds the records (system()'s SIGCHLD did exactly
 * that, and a flush that woke nobody passed).
 */
static void block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *poll_thread(void *arg)
{
	struct sleeper *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	int ret;

	block_signals();
	__atomic_store_n(&p->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	ret = poll(&pfd, 1, -1);	/* join_within() is the deadline */
	p->revents = pfd.revents;
	__atomic_store_n(&p->ret, ret, __ATOMIC_RELEASE);
	return NULL;
}

static void *read_thread(void *arg)
{
	struct sleeper *p = arg;
	ssize_t n;

	block_signals();
	__atomic_store_n(&p->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	n = read(p->fd, p->buf, sizeof(p->buf));	/* blocking */
	__atomic_store_n(&p->ret, n < 0 ? -errno : n, __ATOMIC_RELEASE);
	return NULL;
}

/* Start @fn and return once its thread sleeps in system call @nr. */
static int start_sleeper(pthread_t *t, void *(*fn)(void *), struct sleeper *p,
			 long nr)
{
	double end = now_s() + 20;
	pid_t tid;

	p->ret = -1000;
	p->tid = 0;
	if (pthread_create(t, NULL, fn, p))
		return -1;
	while (!(tid = __atomic_load_n(&p->tid, __ATOMIC_ACQUIRE))) {
		if (now_s() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return wait_in_syscall(getpid(), tid, nr, 20);
}

/* Is the sleeper still asleep in @nr, with no result yet? */
static int still_asleep(struct sleeper *p, long nr)
{
	return !wait_in_syscall(getpid(), p->tid, nr, 20) &&
	       __atomic_load_n(&p->ret, __ATOMIC_ACQUIRE) == -1000;
}

/*
 * Join @t within @limit_s: 0, or -ETIMEDOUT after waking the sleeper the
 * one way left (a commit with wakeup_bytes 0) so that the test can end.
 */
static int join_within(int fd, pthread_t t, double limit_s)
{
	struct timespec ts;
	uint32_t wb = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)limit_s;
	if (!pthread_timedjoin_np(t, NULL, &ts))
		return 0;
	ring_set_config(fd, set_wakeup, &wb);
	raw(1);
	pthread_join(t, NULL);
	return -ETIMEDOUT;
}

/*
 * docs/ring.md, Wakeups: "the outermost commit, seeing it and at least
 * `wakeup_bytes` waiting in its ring ..., queues the ring's irq_work, which
 * wakes the wait queue ... (one wakeup per sleep, counted in `wakeups`)".
 * 640 bytes below wakeup_bytes 4096 wake nobody and count nothing; 6400
 * more wake the poller through a commit (counted).
 */
TEST_F_TIMEOUT(rc, wakeup_bytes_wakes_a_poller, 90)
{
	static struct sleeper p;
	struct otel_cpu_stats s = { 0 };
	uint32_t wb = 4096;
	pthread_t t;

	ASSERT_EQ(0, ring_set_config(self->fd, set_wakeup, &wb));
	p.fd = self->fd;
	ASSERT_EQ(0, start_sleeper(&t, poll_thread, &p, SYS_poll));
	ASSERT_EQ(10, raw(10));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, s.wakeups);
	EXPECT_TRUE(still_asleep(&p, SYS_poll));

	ASSERT_EQ(100, raw(100));
	EXPECT_EQ(0, join_within(self->fd, t, 20));
	EXPECT_EQ(1, p.ret);
	EXPECT_TRUE(p.revents & POLLIN);
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_LE(1, s.wakeups);
	EXPECT_EQ(110, read_drain(self->fd, &self->ck));
	EXPECT_EQ(0, self->ck.errors) TH_LOG("%s", self->ck.first_error);
}

/*
 * docs/ring.md, Wakeups: "the lost-wakeup window this leaves is closed by
 * a timer that runs only while a reader sleeps and wakes it, at most
 * `HZ/10` late, when `wakeup_bytes` are waiting".  A blocking read()
 * sleeps on empty rings; 6400 bytes below wakeup_bytes 32768 leave it
 * asleep.  Lowering wakeup_bytes to 4096 commits nothing, so no commit can
 * wake it (the irq_work's `wakeups` stays 0): only the timer can.  read()
 * has no timeout of its own (poll() would return its records at its
 * timeout), so a reader the timer never wakes fails the 20 s join.
 */
TEST_F_TIMEOUT(rc, lost_wakeup_timer_wakes_the_reader, 90)
{
	static struct sleeper p;
	struct otel_cpu_stats s = { 0 };
	uint32_t wb = 32768;
	pthread_t t;

	ASSERT_EQ(0, ring_set_config(self->fd, set_wakeup, &wb));
	p.fd = self->fd;
	ASSERT_EQ(0, start_sleeper(&t, read_thread, &p, SYS_read));
	ASSERT_EQ(100, raw(100));
	EXPECT_TRUE(still_asleep(&p, SYS_read));

	wb = 4096;
	ASSERT_EQ(0, ring_set_config(self->fd, set_wakeup, &wb));
	EXPECT_EQ(0, join_within(self->fd, t, 20));
	EXPECT_EQ(100 * RAW, p.ret);
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, s.wakeups);
}

/*
 * docs/otelctl.md: "`flush` wakes the readers even when fewer than
 * `wakeup_bytes` wait"; docs/ring.md: "every commit is already published,
 * so flush is only about waking".  A blocking read() sleeps on empty rings;
 * 10 records below wakeup_bytes leave it asleep; `otelctl flush` wakes it
 * and it returns exactly those records.
 */
TEST_F_TIMEOUT(rc, otelctl_flush_wakes_a_blocked_reader, 90)
{
	static struct sleeper p;
	struct otel_cpu_stats s = { 0 };
	uint32_t wb = 32768;
	struct otel_rec_hdr *h;
	pthread_t t;
	long off, n = 0;

	ASSERT_EQ(0, ring_set_config(self->fd, set_wakeup, &wb));
	p.fd = self->fd;
	ASSERT_EQ(0, start_sleeper(&t, read_thread, &p, SYS_read));
	ASSERT_EQ(10, raw(10));
	EXPECT_TRUE(still_asleep(&p, SYS_read));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, s.wakeups);

	EXPECT_EQ(0, claim_otelctl("flush"));
	EXPECT_EQ(0, join_within(self->fd, t, 20));
	ASSERT_EQ(10 * RAW, p.ret);
	for (off = 0; off < p.ret; off += h->size, n++) {
		h = (struct otel_rec_hdr *)(p.buf + off);
		check_record(&self->ck, h, -1);
	}
	EXPECT_EQ(10, n);
	EXPECT_EQ(10, self->ck.read);
	EXPECT_EQ(0, self->ck.errors) TH_LOG("%s", self->ck.first_error);
}

/*
 * docs/otelctl.md: "`snapshot` stops every writer (their records count as
 * `dropped_disabled`) so that the rings ... can be copied out as they are",
 * "it ends when the command ends"; "with CMD, ... ends the snapshot when CMD
 * exits".  Only the snapshot's end resumes, and no other process may clear
 * the rings under it (EBUSY): the records stay as they were.
 */
TEST_F(rc, otelctl_snapshot_while_cmd_runs)
{
	struct otel_cpu_stats s = { 0 };
	struct held_snapshot h;
	int st;

	ASSERT_EQ(10, raw(10));
	ASSERT_EQ(0, snapshot_hold(&h, &st)) TH_LOG("otelctl exit %d", st);
	EXPECT_EQ(0, raw(20));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(10, s.records);
	EXPECT_EQ(20, s.dropped_disabled);
	EXPECT_EQ(10, read_drain(self->fd, &self->ck));

	/* another process may not clear under the snapshot (EBUSY) */
	EXPECT_EQ(1, claim_otelctl("clear"));
	EXPECT_EQ(0, raw(5));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(10, s.records);
	EXPECT_EQ(25, s.dropped_disabled);

	EXPECT_EQ(0, snapshot_release(&h));
	EXPECT_EQ(30, raw(30));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(40, s.records);
	EXPECT_EQ(25, s.dropped_disabled);
	EXPECT_EQ(30, read_drain(self->fd, &self->ck));
	EXPECT_EQ(0, self->ck.errors) TH_LOG("%s", self->ck.first_error);
}

/* Load oteltrace with @params and otel_claimtest; return the device fd. */
static int load_with(const char *params)
{
	int err;

	vm_unload_module("otel_claimtest");
	err = vm_load_oteltrace(params);
	if (err)
		return err;
	err = claim_load();
	if (err)
		return err;
	return ring_open();
}

static void unload_all(int fd)
{
	if (fd >= 0)
		close(fd);
	vm_unload_module("otel_claimtest");
	vm_unload_module("oteltrace");
}

/*
 * docs/ring.md: "Module parameters: `ring_size_kb` (default **256**, power
 * of two, 16 to 65536), `ring_mode` (0 discard, default; 1 overwrite)";
 * docs/otelctl.md: "`ring_mode` (0, 1), at load only", "`ring_size_kb`,
 * in **KiB**, at load only".  1000 records of 64 bytes on one CPU: a 16
 * KiB discard ring takes exactly 256 and drops 744; in overwrite mode it
 * takes all 1000 and overwrites at least 744.
 */
TEST(ring_load_parameters)
{
	static const char *const bad[] = {
		"ring_size_kb=8", "ring_size_kb=24", "ring_size_kb=131072",
		"ring_size_kb=0", "ring_mode=2",
	};
	struct otel_cpu_stats s = { 0 };
	struct otel_config cfg;
	struct otel_info info;
	unsigned int i;
	int fd;

	/* defaults */
	fd = load_with(NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_INFO, &info));
	EXPECT_EQ(256 << 10, info.ring_size);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(OTEL_MODE_DISCARD, cfg.mode);
	EXPECT_STREQ("256", claim_param("ring_size_kb"));
	EXPECT_STREQ("0", claim_param("ring_mode"));
	/* at load only: the parameters cannot be written */
	EXPECT_GT(0, open("/sys/module/oteltrace/parameters/ring_size_kb", O_WRONLY));
	EXPECT_GT(0, open("/sys/module/oteltrace/parameters/ring_mode", O_WRONLY));
	unload_all(fd);

	/* the smallest ring, discard: full after 16384 bytes */
	fd = load_with("ring_size_kb=16");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_INFO, &info));
	EXPECT_EQ(16 << 10, info.ring_size);
	EXPECT_STREQ("16", claim_param("ring_size_kb"));
	EXPECT_EQ(256, raw(1000));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(256, s.records);
	EXPECT_EQ(744, s.dropped_full);
	EXPECT_EQ(0, s.overwritten);
	unload_all(fd);

	/* overwrite mode from load */
	fd = load_with("ring_size_kb=16 ring_mode=1");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(OTEL_MODE_OVERWRITE, cfg.mode);
	EXPECT_EQ(16 << 10, cfg.ring_size);
	EXPECT_STREQ("1", claim_param("ring_mode"));
	EXPECT_EQ(1000, raw(1000));
	ASSERT_EQ(0, ring_stats(fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(1000, s.records);
	EXPECT_EQ(0, s.dropped_full);
	EXPECT_LE(744, s.overwritten);
	unload_all(fd);

	/* the largest ring */
	fd = load_with("ring_size_kb=65536");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_INFO, &info));
	EXPECT_EQ(64ULL << 20, info.ring_size);
	unload_all(fd);

	/* out of range, not a power of two, no such mode: refused */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, vm_load_oteltrace(bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_FALSE(vm_module_loaded("oteltrace")) TH_LOG("%s", bad[i]);
	}
}

TEST_HARNESS_MAIN
