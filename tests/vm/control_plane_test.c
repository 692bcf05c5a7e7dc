// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane of /dev/oteltrace (uapi/oteltrace.h, "Who may call
 * what"): a group= member without capabilities may read (every read-only
 * ioctl, read(), mmap, poll) and gets EPERM from every control ioctl, the
 * state unchanged; with CAP_PERFMON alone it may control; what counts is
 * the opener's credentials, not the caller's.  A snapshot belongs to the
 * file that took it (EBUSY for any other) and ends when that file is
 * released, even by SIGKILL.  wakeup_bytes is bounded by the ring, and a
 * reader sleeping at the bound is woken when its ring fills.  The ioctl
 * structs with a size field grow as copy_struct_from_user() says: larger
 * with a zero tail accepted, non-zero tail E2BIG, below *_SIZE_VER0 EINVAL.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ring_util.h"
#include "claim_util.h"
#include "priv_util.h"

FIXTURE(cp) {
	int fd;
	struct otel_info info;
	struct child_msg *m;
};

FIXTURE_SETUP(cp)
{
	char params[64];

	snprintf(params, sizeof(params), "group=%d ring_size_kb=16", PRIV_GROUP);
	ASSERT_EQ(0, vm_load_oteltrace(params));
	ASSERT_EQ(0, chown("/dev/" OTEL_DEVICE_NAME, 0, PRIV_GROUP));
	ASSERT_EQ(0, claim_load());
	self->fd = ring_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_INFO, &self->info));
	self->m = child_msg_map();
	ASSERT_NE(NULL, self->m);
}

FIXTURE_TEARDOWN(cp)
{
	if (self->fd >= 0)
		close(self->fd);
	munmap(self->m, sizeof(*self->m));
	vm_unload_module("otel_claimtest");
	vm_unload_module("oteltrace");
}

/* N raw records on this CPU through otel_claimtest: how many the ring took. */
static long raw(unsigned int n)
{
	int err = claim_cmd("raw %u", n);

	return err ? err : claim_result();
}

static int get_config(int fd, struct otel_config *c)
{
	memset(c, 0, sizeof(*c));
	return ioctl(fd, OTEL_IOC_GET_CONFIG, c) ? -errno : 0;
}

static int bridge_req(struct otel_bridge_req *r, unsigned int index)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->index = index;
	return 0;
}

/* Every control ioctl through @fd: 0 if each failed with @err (0: worked). */
static int control_all(struct child_msg *m, int fd, int err)
{
	struct otel_bridge_req br;
	struct otel_config c;

	CHILD_CHECK(m, !get_config(fd, &c));
	c.wakeup_bytes = 4096;
	c.sampler = OTEL_SAMPLER_ALWAYS_OFF;
#define CTL(call) (err ? ((call) == -1 && errno == err) : (call) == 0)
	CHILD_CHECK(m, CTL(ioctl(fd, OTEL_IOC_SET_CONFIG, &c)));
	CHILD_CHECK(m, CTL(ioctl(fd, OTEL_IOC_CLEAR)));
	CHILD_CHECK(m, CTL(ioctl(fd, OTEL_IOC_SNAPSHOT)));
	CHILD_CHECK(m, CTL(ioctl(fd, OTEL_IOC_RESUME)));
	bridge_req(&br, 0);
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_GET_BRIDGE, &br));
	/* the mode it has: allowed or not, nothing is patched */
	CHILD_CHECK(m, CTL(ioctl(fd, OTEL_IOC_SET_BRIDGE, &br)));
#undef CTL
	return 0;
}

/* Everything a reader does, through a file this child opened. */
static int reader_all(struct child_msg *m, void *arg)
{
	long page = sysconf(_SC_PAGESIZE);
	struct otel_span_stats ss = { .size = sizeof(ss) };
	struct otel_stats_req st = { .cpu = OTEL_STATS_ALL_CPUS };
	struct otel_context_req ctx;
	struct otel_bridge_req br;
	struct otel_config c;
	struct otel_clock clk;
	struct otel_info info;
	struct pollfd pfd;
	static char buf[1 << 16];
	void *cons, *prod;
	int fd;

	(void)arg;
	fd = open("/dev/" OTEL_DEVICE_NAME, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHILD_CHECK(m, fd >= 0);
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_INFO, &info));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_STATS, &st) && st.stats.records == 10);
	CHILD_CHECK(m, !get_config(fd, &c));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_CLOCK, &clk));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_SPAN_STATS, &ss));
	CHILD_CHECK(m, !bridge_req(&br, 0) && !ioctl(fd, OTEL_IOC_GET_BRIDGE, &br));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_FLUSH));
	/* its own thread's context: anyone may */
	memset(&ctx, 0, sizeof(ctx));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_GET_TASK_CONTEXT, &ctx));
	memset(ctx.trace_id, 0x11, sizeof(ctx.trace_id));
	memset(ctx.span_id, 0x22, sizeof(ctx.span_id));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &ctx));
	memset(&ctx, 0, sizeof(ctx));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &ctx));
	/* poll, mmap (the consumer page writable), read */
	pfd.fd = fd;
	pfd.events = POLLIN;
	CHILD_CHECK(m, poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHILD_CHECK(m, cons != MAP_FAILED);
	prod = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);
	CHILD_CHECK(m, prod != MAP_FAILED);
	CHILD_CHECK(m, ((struct otel_ring_producer *)prod)->ring_size ==
		       info.ring_size);
	munmap(cons, page);
	munmap(prod, page);
	CHILD_CHECK(m, read(fd, buf, sizeof(buf)) == 10 * 64);
	/* and no control */
	CHILD_CHECK(m, !control_all(m, fd, EPERM));
	close(fd);
	return 0;
}

/*
 * A group member with no capability reads everything and controls
 * nothing: each control ioctl gets EPERM and changes nothing.
 */
TEST_F(cp, unprivileged_member_reads_only)
{
	struct otel_bridge_req br0, br1;
	struct otel_config before, after;
	struct otel_cpu_stats s = { 0 };
	int ret;

	ASSERT_EQ(10, raw(10));
	ASSERT_EQ(0, get_config(self->fd, &before));
	bridge_req(&br0, 0);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_BRIDGE, &br0));
	ret = priv_run(0, reader_all, self->m, NULL);
	EXPECT_EQ(0, ret) TH_LOG("%s", self->m->why);
	ASSERT_EQ(0, get_config(self->fd, &after));
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(after)));
	bridge_req(&br1, 0);
	ASSERT_EQ(0, ioctl(self->fd, OTEL_IOC_GET_BRIDGE, &br1));
	EXPECT_EQ(br0.mode, br1.mode);
	/* not cleared (the child read them), not paused */
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(10, s.records);
	EXPECT_EQ(5, raw(5));
}

static int perfmon_controls(struct child_msg *m, void *arg)
{
	int fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_CLOEXEC);

	(void)arg;
	CHILD_CHECK(m, fd >= 0);
	CHILD_CHECK(m, !control_all(m, fd, 0));
	close(fd);
	return 0;
}

/* CAP_PERFMON alone (no CAP_SYS_ADMIN) is enough for every control ioctl. */
TEST_F(cp, perfmon_controls)
{
	struct otel_config c;
	struct otel_cpu_stats s = { 0 };

	ASSERT_EQ(10, raw(10));
	EXPECT_EQ(0, priv_run(PRIV_CAP(CAP_PERFMON), perfmon_controls,
			      self->m, NULL)) TH_LOG("%s", self->m->why);
	ASSERT_EQ(0, get_config(self->fd, &c));
	EXPECT_EQ(4096, c.wakeup_bytes);
	EXPECT_EQ(OTEL_SAMPLER_ALWAYS_OFF, c.sampler);
	ASSERT_EQ(0, ring_stats(self->fd, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(0, s.records);	/* cleared */
	EXPECT_EQ(5, raw(5));		/* resumed */
}

/* Control through a file root opened and handed down: allowed. */
static int inherited_fd_controls(struct child_msg *m, void *arg)
{
	return control_all(m, *(int *)arg, 0);
}

/* Open as the unprivileged member and send the file to the parent. */
static int send_own_fd(struct child_msg *m, void *arg)
{
	int sock = *(int *)arg;
	int fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_CLOEXEC);

	CHILD_CHECK(m, fd >= 0);
	CHILD_CHECK(m, !priv_send_fd(sock, fd));
	close(fd);
	return 0;
}

/*
 * The opener's credentials decide, not the caller's: a capability-less
 * child controls through the file root opened; root gets EPERM through
 * the file the capability-less child opened and passed to it.
 */
TEST_F(cp, opener_credentials_decide)
{
	int sv[2], fd;

	EXPECT_EQ(0, priv_run(0, inherited_fd_controls, self->m, &self->fd))
		TH_LOG("%s", self->m->why);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_EQ(0, priv_run(0, send_own_fd, self->m, &sv[1]))
		TH_LOG("%s", self->m->why);
	fd = priv_recv_fd(sv[0]);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, control_all(self->m, fd, EPERM)) TH_LOG("%s", self->m->why);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A snapshot is its file's: another file can neither take one nor end it,
 * nor clear or reconfigure the rings under it (EBUSY); the owner may repeat
 * it, and closing the owner resumes.
 */
TEST_F(cp, snapshot_belongs_to_its_file)
{
	struct otel_config cfg = { .size = sizeof(cfg) };
	struct otel_cpu_stats s = { 0 };
	int a = ring_open(), b = ring_open();

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(10, raw(10));
	ASSERT_EQ(0, ioctl(a, OTEL_IOC_SNAPSHOT));
	EXPECT_EQ(0, raw(5));
	EXPECT_EQ(-1, ioctl(b, OTEL_IOC_SNAPSHOT));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, ioctl(b, OTEL_IOC_RESUME));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, ioctl(a, OTEL_IOC_SNAPSHOT));	/* its own: again */
	EXPECT_EQ(0, raw(5));
	/*
	 * Another file may not clear or reconfigure the rings meanwhile (the
	 * records stay as they are for the owner); the owner may clear, and
	 * a clear does not resume.
	 */
	ASSERT_EQ(0, ioctl(a, OTEL_IOC_GET_CONFIG, &cfg));
	EXPECT_EQ(-1, ioctl(b, OTEL_IOC_SET_CONFIG, &cfg));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, ioctl(b, OTEL_IOC_CLEAR));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, ioctl(a, OTEL_IOC_CLEAR));
	EXPECT_EQ(0, raw(3));
	close(a);					/* released: resumed */
	EXPECT_EQ(7, raw(7));
	EXPECT_EQ(0, ioctl(b, OTEL_IOC_RESUME));	/* none held: nothing */
	EXPECT_EQ(0, ioctl(b, OTEL_IOC_SNAPSHOT));	/* free for anyone */
	EXPECT_EQ(0, raw(2));
	EXPECT_EQ(0, ioctl(b, OTEL_IOC_RESUME));
	EXPECT_EQ(4, raw(4));
	ASSERT_EQ(0, ring_stats(b, OTEL_STATS_ALL_CPUS, &s));
	EXPECT_EQ(11, s.records);
	EXPECT_EQ(5, s.dropped_disabled);
	close(b);
}

/* The owner killed by SIGKILL while it holds a snapshot: writers resume. */
TEST_F(cp, snapshot_ends_when_owner_killed)
{
	int p[2], status;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = ring_open();

		if (fd < 0 || ioctl(fd, OTEL_IOC_SNAPSHOT))
			c = 1;
		if (write(p[1], &c, 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ(0, c);
	EXPECT_EQ(0, raw(3));
	EXPECT_EQ(-1, ioctl(self->fd, OTEL_IOC_SNAPSHOT));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(3, raw(3));
	EXPECT_EQ(0, ioctl(self->fd, OTEL_IOC_SNAPSHOT));
	EXPECT_EQ(0, ioctl(self->fd, OTEL_IOC_RESUME));
	close(p[0]);
	close(p[1]);
}

static int set_wakeup_ring(int fd, uint32_t wakeup, uint64_t ring)
{
	struct otel_config c;

	if (get_config(fd, &c))
		return -errno;
	c.wakeup_bytes = wakeup;
	if (ring)
		c.ring_size = ring;
	return ioctl(fd, OTEL_IOC_SET_CONFIG, &c) ? -errno : 0;
}

struct sleeper {
	int fd;
	volatile pid_t tid;
	volatile ssize_t got;
	volatile int err;
};

static void *blocking_read(void *arg)
{
	static char buf[1 << 16];
	struct sleeper *s = arg;
	ssize_t n;

	s->tid = syscall(SYS_gettid);
	n = read(s->fd, buf, sizeof(buf));
	s->err = n < 0 ? errno : 0;
	s->got = n;
	return NULL;
}

/*
 * wakeup_bytes above OTEL_WAKEUP_BYTES_MAX(ring_size) (the ring's size
 * itself, or one more) is refused, against the ring size being set in the
 * same call; at the bound, a sleeping reader is woken when its ring fills.
 */
TEST_F_TIMEOUT(cp, wakeup_bytes_bounded_by_ring, 120)
{
	const uint64_t ring = 16 << 10, big = 64 << 10;
	struct sleeper s = { .fd = -1 };
	struct otel_config c;
	pthread_t t;
	double end;
	long n;

	EXPECT_EQ(-EINVAL, set_wakeup_ring(self->fd, ring + 1, 0));
	EXPECT_EQ(-EINVAL, set_wakeup_ring(self->fd, ring, 0));
	EXPECT_EQ(-EINVAL, set_wakeup_ring(self->fd, OTEL_WAKEUP_BYTES_MAX(ring) + 8, 0));
	EXPECT_EQ(-EINVAL, set_wakeup_ring(self->fd, UINT32_MAX, 0));
	ASSERT_EQ(0, get_config(self->fd, &c));
	EXPECT_EQ(0, c.wakeup_bytes);
	/* the bound of the ring size given in the same call */
	EXPECT_EQ(0, set_wakeup_ring(self->fd, OTEL_WAKEUP_BYTES_MAX(big), big));
	EXPECT_EQ(-EINVAL, set_wakeup_ring(self->fd, OTEL_WAKEUP_BYTES_MAX(big), ring));
	ASSERT_EQ(0, set_wakeup_ring(self->fd, OTEL_WAKEUP_BYTES_MAX(ring), ring));
	ASSERT_EQ(0, get_config(self->fd, &c));
	EXPECT_EQ(OTEL_WAKEUP_BYTES_MAX(ring), c.wakeup_bytes);

	/* a reader asleep at the bound, the ring filled until it refuses */
	s.fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, s.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, blocking_read, &s));
	while (!s.tid)
		usleep(1000);
	ASSERT_EQ(0, wait_in_syscall(getpid(), s.tid, SYS_read, 60));
	end = now_s() + 60;
	do {
		n = raw(16);
		ASSERT_LE(0, n);
	} while (n == 16 && now_s() < end);
	ASSERT_GT(16, n) TH_LOG("the ring never filled");
	end = now_s() + 60;	/* only a hang fails: at most ~100 ms late */
	while (!s.got && !s.err && now_s() < end)
		usleep(10000);
	EXPECT_LT(0, s.got) TH_LOG("reader not woken (errno %d)", s.err);
	ioctl(self->fd, OTEL_IOC_FLUSH);	/* a reader left asleep: free it */
	pthread_join(t, NULL);
	close(s.fd);
}

/* A config struct from a later header: 32 more bytes. */
struct big_config {
	struct otel_config c;
	uint64_t more[4];
};

struct big_info {
	struct otel_info i;
	uint64_t more[4];
};

struct big_span_stats {
	struct otel_span_stats s;
	uint64_t more[4];
};

struct big_bridge_req {
	struct otel_bridge_req r;
	uint64_t more[4];
};

#define IOC_GET_CONFIG_BIG	_IOR(OTEL_IOC_MAGIC, 0x03, struct big_config)
#define IOC_SET_CONFIG_BIG	_IOW(OTEL_IOC_MAGIC, 0x04, struct big_config)
#define IOC_INFO_BIG		_IOR(OTEL_IOC_MAGIC, 0x00, struct big_info)
#define IOC_SPAN_STATS_BIG	_IOR(OTEL_IOC_MAGIC, 0x0b, struct big_span_stats)
#define IOC_GET_BRIDGE_BIG	_IOWR(OTEL_IOC_MAGIC, 0x10, struct big_bridge_req)
#define IOC_SET_BRIDGE_BIG	_IOW(OTEL_IOC_MAGIC, 0x11, struct big_bridge_req)

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return 0;
	return 1;
}

/*
 * copy_struct_from_user() semantics for the structs with a size field,
 * through ioctl numbers of a later header (larger sizes): a larger struct
 * with a zero tail works, a non-zero tail is E2BIG (nothing changes), the
 * first published size works, less is EINVAL, more than a page E2BIG.
 * Out, the kernel's size is returned and the caller's tail zeroed.
 */
TEST_F(cp, structs_grow_at_their_end)
{
	struct big_bridge_req br;
	struct big_span_stats ss;
	struct big_config big;
	struct big_info info;
	struct otel_config c;
	int fd = self->fd;

	memset(&big, 0xa5, sizeof(big));
	ASSERT_EQ(0, ioctl(fd, IOC_GET_CONFIG_BIG, &big));
	EXPECT_EQ(OTEL_CONFIG_SIZE_VER0, big.c.size);
	EXPECT_TRUE(all_zero(big.more, sizeof(big.more)));
	EXPECT_EQ(0, big.c.wakeup_bytes);

	big.c.size = sizeof(big);
	big.c.wakeup_bytes = 4096;
	EXPECT_EQ(0, ioctl(fd, IOC_SET_CONFIG_BIG, &big));
	ASSERT_EQ(0, get_config(fd, &c));
	EXPECT_EQ(4096, c.wakeup_bytes);

	big.c.wakeup_bytes = 8192;
	big.more[2] = 1;
	EXPECT_EQ(-1, ioctl(fd, IOC_SET_CONFIG_BIG, &big));
	EXPECT_EQ(E2BIG, errno);
	big.more[2] = 0;
	big.c.size = 8192;	/* more than a page */
	EXPECT_EQ(-1, ioctl(fd, IOC_SET_CONFIG_BIG, &big));
	EXPECT_EQ(E2BIG, errno);
	ASSERT_EQ(0, get_config(fd, &c));
	EXPECT_EQ(4096, c.wakeup_bytes);

	/* the first published size, through either number; less is EINVAL */
	big.c.size = OTEL_CONFIG_SIZE_VER0;
	big.more[0] = 0xffffffff;	/* past the size given: not read */
	EXPECT_EQ(0, ioctl(fd, IOC_SET_CONFIG_BIG, &big));
	c.size = OTEL_CONFIG_SIZE_VER0;
	EXPECT_EQ(0, ioctl(fd, OTEL_IOC_SET_CONFIG, &c));
	c.size = OTEL_CONFIG_SIZE_VER0 - 8;
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_SET_CONFIG, &c));
	EXPECT_EQ(EINVAL, errno);
	c.size = 0;
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_SET_CONFIG, &c));
	EXPECT_EQ(EINVAL, errno);
	/* an ioctl number whose size is below the first struct: not an ioctl */
	EXPECT_EQ(-1, ioctl(fd, _IOW(OTEL_IOC_MAGIC, 0x04, uint64_t), &c));
	EXPECT_EQ(ENOTTY, errno);

	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, ioctl(fd, IOC_INFO_BIG, &info));
	EXPECT_EQ(OTEL_INFO_SIZE_VER0, info.i.size);
	EXPECT_EQ(self->info.ring_size, info.i.ring_size);
	EXPECT_TRUE(all_zero(info.i.reserved, sizeof(info.i.reserved)));
	EXPECT_TRUE(all_zero(info.more, sizeof(info.more)));

	memset(&ss, 0xa5, sizeof(ss));
	ASSERT_EQ(0, ioctl(fd, IOC_SPAN_STATS_BIG, &ss));
	EXPECT_EQ(OTEL_SPAN_STATS_SIZE_VER0, ss.s.size);
	EXPECT_TRUE(all_zero(ss.more, sizeof(ss.more)));

	memset(&br, 0xa5, sizeof(br));
	memset(&br.r, 0, sizeof(br.r));
	br.r.size = sizeof(br);
	EXPECT_EQ(-1, ioctl(fd, IOC_GET_BRIDGE_BIG, &br));
	EXPECT_EQ(E2BIG, errno);
	memset(br.more, 0, sizeof(br.more));
	ASSERT_EQ(0, ioctl(fd, IOC_GET_BRIDGE_BIG, &br));
	EXPECT_EQ(OTEL_BRIDGE_REQ_SIZE_VER0, br.r.size);
	EXPECT_TRUE(all_zero(br.more, sizeof(br.more)));
	br.r.size = sizeof(br);
	EXPECT_EQ(0, ioctl(fd, IOC_SET_BRIDGE_BIG, &br));	/* its mode: no change */
	br.more[3] = 1;
	EXPECT_EQ(-1, ioctl(fd, IOC_SET_BRIDGE_BIG, &br));
	EXPECT_EQ(E2BIG, errno);
	br.r.size = OTEL_BRIDGE_REQ_SIZE_VER0 - 8;
	EXPECT_EQ(-1, ioctl(fd, IOC_GET_BRIDGE_BIG, &br));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
