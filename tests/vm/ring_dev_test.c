// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/oteltrace as user space sees it: geometry, clock and span-stats
 * ioctls, garbage ioctls rejected, mmap rules, a corrupt consumer_pos only
 * causing drops, oversize records refused and counted, poll woken by flush,
 * unload refused while open or mapped, non-root open denied (and allowed for
 * the group).
 */
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "ring_util.h"

FIXTURE(dev) {
	int fd;
	struct otel_info info;
};

FIXTURE_SETUP(dev)
{
	ASSERT_EQ(0, vm_load_oteltrace("ring_size_kb=64"));
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &self->info));
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
	if (vm_module_loaded("otel_ringtest"))
		vm_unload_module("otel_ringtest");
	vm_unload_module("oteltrace");
}

static void wait_done(void)
{
	double end = now_s() + 30;

	while (ringtest_param("done") != 1 && now_s() < end)
		usleep(1000);
}

TEST_F(dev, info)
{
	long page = sysconf(_SC_PAGESIZE);

	EXPECT_EQ(sizeof(struct otel_info), self->info.size);
	EXPECT_EQ(OTEL_ABI_VERSION, self->info.abi_version);
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_CONF), self->info.nr_cpus);
	EXPECT_EQ(page, self->info.page_size);
	EXPECT_EQ(64 << 10, self->info.ring_size);
	EXPECT_EQ(self->info.ring_size + 2 * page, self->info.mmap_stride);
	EXPECT_EQ(OTEL_REC_MAX_SIZE, self->info.max_record);
	EXPECT_EQ(0, self->info.reserved[0]);
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/*
 * OTEL_IOC_CLOCK: both clocks read together.  User space brackets its own
 * CLOCK_REALTIME read between two CLOCK_MONOTONIC reads, so its offset
 * real - mono lies in [r - m2, r - m1] however long it was preempted; the
 * kernel's offset must fall in that interval, widened by the kernel's own
 * window.  No bound on how long anything took.
 */
TEST_F(dev, clock_pair)
{
	struct timespec m1, r, m2;
	struct otel_clock c;
	int64_t koff, lo, hi;

	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_CLOCK, &c));
	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	EXPECT_LE((int64_t)c.mono_ns, ts_ns(&m1));	/* read before */
	koff = (int64_t)c.real_ns - (int64_t)c.mono_ns;
	lo = ts_ns(&r) - ts_ns(&m2) - (int64_t)c.window_ns;
	hi = ts_ns(&r) - ts_ns(&m1) + (int64_t)c.window_ns;
	EXPECT_LE(lo, koff) TH_LOG("kernel offset %lld below [%lld, %lld]",
				   (long long)koff, (long long)lo, (long long)hi);
	EXPECT_GE(hi, koff) TH_LOG("kernel offset %lld above [%lld, %lld]",
				   (long long)koff, (long long)lo, (long long)hi);
	EXPECT_NE(0ULL, c.real_ns);
	EXPECT_EQ(0ULL, c.reserved[0]);
}

TEST_F(dev, garbage_ioctls)
{
	struct otel_stats_req req;
	struct otel_config cfg, good;
	int fd = self->fd;

	EXPECT_EQ(-1, ioctl(fd, _IO(OTEL_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IO('x', 1)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IOR(OTEL_IOC_MAGIC, 0x00, uint32_t)));
	EXPECT_EQ(ENOTTY, errno);

	/* NULL and wild pointers */
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_STATS, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_GET_CONFIG, (void *)1));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_SET_CONFIG, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_CLOCK, (void *)-4096L));
	EXPECT_EQ(EFAULT, errno);

	/* bad values */
	memset(&req, 0, sizeof(req));
	req.cpu = 9999;
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_STATS, &req));
	EXPECT_EQ(EINVAL, errno);
	req.cpu = 0;
	req.reserved = 1;
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_STATS, &req));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &good));
	EXPECT_EQ(sizeof(good), good.size);
#define BAD_CONFIG(field, value) do {					\
		cfg = good;						\
		cfg.field = value;					\
		EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg));	\
		EXPECT_EQ(EINVAL, errno) TH_LOG(#field " = " #value);	\
	} while (0)
	BAD_CONFIG(size, 0);
	BAD_CONFIG(size, OTEL_CONFIG_SIZE_VER0 - 8);
	BAD_CONFIG(enabled, 2);
	BAD_CONFIG(mode, 2);
	BAD_CONFIG(sampler, 99);
	BAD_CONFIG(ratio, OTEL_RATIO_ONE + 1);
	BAD_CONFIG(ring_size, 0);
	BAD_CONFIG(ring_size, 3 << 12);
	BAD_CONFIG(ring_size, 4096);
	BAD_CONFIG(ring_size, 1ULL << 40);
	BAD_CONFIG(begin_records, 2);
	BAD_CONFIG(noop_spans, 2);
	BAD_CONFIG(reserved[0], 1);
	BAD_CONFIG(reserved[5], 0xffffffff);
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(0, memcmp(&cfg, &good, sizeof(cfg)));
	/* a good one goes through */
	cfg.wakeup_bytes = 4096;
	cfg.begin_records = 1;
	EXPECT_EQ(0, ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg));
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(4096, cfg.wakeup_bytes);
	EXPECT_EQ(1, cfg.begin_records);
	cfg.begin_records = 0;
	EXPECT_EQ(0, ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg));
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(0, cfg.begin_records);
	EXPECT_EQ(0, cfg.noop_spans);
	cfg.noop_spans = 1;
	EXPECT_EQ(0, ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg));
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(1, cfg.noop_spans);
	cfg.noop_spans = 0;
	EXPECT_EQ(0, ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg));
	ASSERT_EQ(0, ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(0, cfg.noop_spans);
}

/* OTEL_IOC_SPAN_STATS: its size, zero counters and reserved fields. */
TEST_F(dev, span_stats_ioctl)
{
	struct otel_span_stats st;
	unsigned int i;

	memset(&st, 0xa5, sizeof(st));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SPAN_STATS, &st));
	EXPECT_EQ(sizeof(st), st.size);
	EXPECT_EQ(0, st.reserved0);
	EXPECT_EQ(0, st.begin_active);
	EXPECT_EQ(0, st.end_twice);
	EXPECT_EQ(0, st.end_foreign);
	EXPECT_EQ(0, st.stale_current);
	EXPECT_EQ(0, st.misnested);
	EXPECT_EQ(0, st.bad_handle);
	EXPECT_EQ(0, st.context_full);
	EXPECT_EQ(0, st.depth_full);
	for (i = 0; i < sizeof(st.reserved) / sizeof(st.reserved[0]); i++)
		EXPECT_EQ(0, st.reserved[i]) TH_LOG("reserved[%u]", i);
	EXPECT_EQ(-1, ioctl(self->fd, OTEL_IOC_SPAN_STATS, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(dev, mmap_rules)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t stride = self->info.mmap_stride;
	struct otel_config cfg;
	void *p, *q;

	/* producer and data pages are never writable */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, page);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	/* past the last ring, private mappings */
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, self->fd,
		 stride * self->info.nr_cpus);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, stride + page, PROT_READ, MAP_SHARED, self->fd,
		 stride * (self->info.nr_cpus - 1));
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);

	/* a read-only mapping cannot be made writable */
	p = mmap(NULL, stride, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, stride, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(64 << 10, ((const struct otel_ring_producer *)((char *)p + page))->ring_size);

	/* the consumer page alone may be writable */
	q = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, stride);
	ASSERT_NE(MAP_FAILED, q);

	/* no resize while mapped */
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	cfg.ring_size = 32 << 10;
	EXPECT_EQ(-1, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	EXPECT_EQ(EBUSY, errno);
	munmap(p, stride);
	EXPECT_EQ(-1, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	EXPECT_EQ(EBUSY, errno);
	munmap(q, page);
	EXPECT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &self->info));
	EXPECT_EQ(32 << 10, self->info.ring_size);
	EXPECT_EQ((32 << 10) + 2 * page, self->info.mmap_stride);
}

/* Whatever user space writes into consumer_pos only drops records. */
TEST_F(dev, corrupt_consumer_pos)
{
	static const uint64_t garbage[] = {
		0x8000000000000000ULL, 12345, ~0ULL, ~7ULL, 1 << 20, 16,
	};
	struct otel_cpu_stats s = { 0 };
	struct checker ck;
	struct rings rs;
	unsigned int i, cpu;
	long long attempted;

	ASSERT_EQ(0, rings_map(&rs, self->fd));
	checker_init(&ck, rs.nr, 40, 256);
	/* 8-aligned and not: an unaligned header would cross the ring's end */
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		/* 16: behind producer_pos, in the middle of a record */
		for (cpu = 0; cpu < rs.nr; cpu++)
			rs.cons[cpu]->consumer_pos = garbage[i] == 16 ?
				rs.prod[cpu]->producer_pos - 16 : garbage[i];
		ASSERT_EQ(0, ringtest_load("task_records=2000 soft_records=500 hard_records=500"));
		wait_done();
		/* read() resynchronises, and reads nothing bogus */
		EXPECT_LE(0, read_drain(self->fd, &ck));
		ASSERT_EQ(0, vm_unload_module("otel_ringtest"));
	}
	/*
	 * A sane consumer_pos again: records flow and are accounted exactly.
	 * (What a garbage consumer_pos made the reader skip is the reader's
	 * own loss; CLEAR starts the count afresh.)
	 */
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_CLEAR));
	for (cpu = 0; cpu < rs.nr; cpu++)
		rs.cons[cpu]->consumer_pos =
			__atomic_load_n(&rs.prod[cpu]->producer_pos, __ATOMIC_ACQUIRE);
	ASSERT_EQ(0, ringtest_load("task_records=100"));
	wait_done();
	attempted = ringtest_param("attempted");
	ck.read = 0;
	rings_drain(&rs, &ck);
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, ck.errors) TH_LOG("%s", ck.first_error);
	EXPECT_EQ(s.records, ck.read);
	EXPECT_LE(100 * rs.nr, (uint64_t)attempted);
	EXPECT_EQ(attempted, (long long)(ck.read + stats_dropped(&s)));
	EXPECT_EQ(attempted, (long long)ck.read);
	rings_unmap(&rs);
}

TEST_F(dev, oversize_refused)
{
	struct otel_cpu_stats s = { 0 };

	ASSERT_EQ(0, ringtest_load("oversize=5"));
	EXPECT_EQ(5, ringtest_param("refused"));
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(5, s.dropped_too_big);
	EXPECT_EQ(0, s.records);
}

struct poller {
	int fd;
	pid_t tid;
	int ret;
	short revents;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	__atomic_store_n(&p->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);

	p->ret = poll(&pfd, 1, 20000);
	p->revents = pfd.revents;
	return NULL;
}

/*
 * Below wakeup_bytes a poller sleeps on although records wait; a flush
 * wakes it.  The test waits until the poller sleeps in poll() before it
 * writes, and again after the records are in (it must still sleep there),
 * so the order is the test's, not the scheduler's; poll()'s own 20 s
 * timeout only catches a flush that wakes nobody.
 */
TEST_F(dev, poll_wakes_on_flush)
{
	struct poller p = { .fd = self->fd, .ret = -2 };
	struct otel_config cfg;
	struct checker ck;
	pthread_t t;
	pid_t tid;
	double end;

	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_CONFIG, &cfg));
	cfg.wakeup_bytes = 32 << 10;
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_SET_CONFIG, &cfg));
	checker_init(&ck, self->info.nr_cpus, 40, 256);
	ASSERT_EQ(0, read_drain(self->fd, &ck));

	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	end = now_s() + 20;	/* a thread that never starts: a hang */
	while (!(tid = __atomic_load_n(&p.tid, __ATOMIC_ACQUIRE)) && now_s() < end)
		usleep(1000);
	ASSERT_NE(0, tid);
	ASSERT_EQ(0, wait_in_syscall(getpid(), tid, SYS_poll, 20));
	ASSERT_EQ(0, ringtest_load("task_records=10"));
	wait_done();
	/* the records are below wakeup_bytes: the poller sleeps on */
	EXPECT_EQ(0, wait_in_syscall(getpid(), tid, SYS_poll, 20));
	EXPECT_EQ(-2, __atomic_load_n(&p.ret, __ATOMIC_SEQ_CST));
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_FLUSH));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, p.ret);
	EXPECT_TRUE(p.revents & POLLIN);
	EXPECT_EQ(10 * sysconf(_SC_NPROCESSORS_ONLN), read_drain(self->fd, &ck));
	EXPECT_EQ(0, ck.errors);
}

/* With wakeup_bytes 0 a commit wakes a blocked read() through irq_work. */
TEST_F(dev, blocking_read_woken_by_commit)
{
	char buf[4096];
	struct otel_cpu_stats s = { 0 };
	int status;
	pid_t child;
	ssize_t n;

	ASSERT_EQ(0, ringtest_load("task_records=1 task_sleep_us=1"));
	wait_done();
	n = read(self->fd, buf, sizeof(buf));	/* blocking, data is there */
	EXPECT_LT(0, n);
	ASSERT_EQ(0, vm_unload_module("otel_ringtest"));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		/* write only once the parent sleeps in read() */
		if (wait_in_syscall(getppid(), getppid(), SYS_read, 20))
			_exit(2);
		_exit(ringtest_load("task_records=1") ? 1 : 0);
	}
	n = read(self->fd, buf, sizeof(buf));	/* sleeps until the child's record */
	EXPECT_LT(0, n);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("child status %#x", status);
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_LT(0, s.wakeups);
}

TEST_F(dev, unload_refused_while_open_or_mapped)
{
	long page = sysconf(_SC_PAGESIZE);
	int ret;
	void *p;

	ret = vm_unload_module("oteltrace");
	EXPECT_TRUE(ret == -EBUSY || ret == -EAGAIN) TH_LOG("ret %d", ret);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, self->fd, page);
	ASSERT_NE(MAP_FAILED, p);
	close(self->fd);
	self->fd = -1;
	ret = vm_unload_module("oteltrace");
	EXPECT_TRUE(ret == -EBUSY || ret == -EAGAIN) TH_LOG("ret %d", ret);
	EXPECT_EQ(64 << 10, ((const struct otel_ring_producer *)p)->ring_size);
	munmap(p, page);
	EXPECT_EQ(0, vm_unload_module("oteltrace"));
}

/* Open as uid/gid 65534 with supplementary group @grp (-1: none). */
static int open_as_nobody(gid_t grp)
{
	int status, fd;
	pid_t pid = fork();

	if (pid == 0) {
		gid_t groups[1] = { grp };

		if (setgroups(grp == (gid_t)-1 ? 0 : 1, groups) || setgid(65534) ||
		    setuid(65534))
			_exit(100);
		fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY);
		_exit(fd >= 0 ? 0 : errno);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(dev, non_root_denied)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/" OTEL_DEVICE_NAME, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(EACCES, open_as_nobody(-1));
	/* the file mode alone is not enough: open() checks too */
	ASSERT_EQ(0, chmod("/dev/" OTEL_DEVICE_NAME, 0666));
	EXPECT_EQ(EPERM, open_as_nobody(-1));
}

TEST(group_param)
{
	struct stat st;

	ASSERT_EQ(0, vm_load_oteltrace("group=4242"));
	ASSERT_EQ(0, stat("/dev/" OTEL_DEVICE_NAME, &st));
	EXPECT_EQ(0660, st.st_mode & 07777);
	ASSERT_EQ(0, chown("/dev/" OTEL_DEVICE_NAME, 0, 4242));
	EXPECT_EQ(0, open_as_nobody(4242));
	EXPECT_EQ(EACCES, open_as_nobody(4243));
	EXPECT_EQ(0, vm_unload_module("oteltrace"));
}

TEST_HARNESS_MAIN
