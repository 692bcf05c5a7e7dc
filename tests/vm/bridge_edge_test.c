// SPDX-License-Identifier: GPL-2.0
/*
 * Bridges at their edges (kmod/bridge_*.c, docs/bridges.md): a thread
 * other than the leader that exec's keeps its execve span (de_thread()
 * changes its start time); a capture the block bridge kept for a request
 * that was never issued (merged away in a plug) is not taken by another
 * user's I/O that reuses the bio's address; the module unloads with every
 * bridge on and system calls, block I/O, forks and execs in flight.  The
 * scratch disk /dev/vda (scripts/vm --disk MB) is written.  No test here
 * switches bridges under load: see docs/testing.md, "what it cannot see".
 */
#include <linux/aio_abi.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bridge_util.h"
#include "span_util.h"

FIXTURE(edge) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(edge)
{
	rec_db_init(&self->db);
	self->fd = span_load(NULL, NULL);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(edge)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

static uint64_t bridge_dropped(int fd, const char *name)
{
	struct otel_bridge_req req;

	return bridge_get(fd, name, &req) ? ~0ull : req.dropped;
}

static int64_t attr_int(const struct rec_span *s, const char *key)
{
	const struct rec_attr *a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, key);

	return a && a->type == OTEL_ATTR_INT ? a->value : INT64_MIN;
}

static int wait_status(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static int ctl_fd;

static void *set_then_exec(void *arg)
{
	(void)arg;
	if (set_context(ctl_fd))
		_exit(90);
	execl("/bin/true", "true", (char *)NULL);
	_exit(91);
}

/*
 * execve from a thread other than the leader, traced: its span ends in
 * the new image (ret 0), nothing dropped.
 */
TEST_F(edge, nonleader_execve_span_ends)
{
	const struct rec_span *s;
	size_t i, execs = 0;
	pid_t pid;

	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_TRACED));
	ctl_fd = self->fd;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pthread_t t;

		if (pthread_create(&t, NULL, set_then_exec, NULL))
			_exit(92);
		pthread_join(t, NULL);
		_exit(93);
	}
	ASSERT_EQ(0, wait_status(pid));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		EXPECT_EQ(0, memcmp(s->trace_id, tid, 16));
		if (strcmp(s->name, "execve"))
			continue;
		execs++;
		EXPECT_EQ(0, attr_int(s, "linux.syscall.ret"));
		EXPECT_EQ(0, memcmp(s->parent_id, sid, 8));
		EXPECT_TRUE(rec_complete(s));
	}
	EXPECT_EQ(1, execs);
	EXPECT_EQ(0, bridge_dropped(self->fd, "syscall"));
	/* The new image's calls are traced too: the context survived. */
	EXPECT_LT(execs + 2, self->db.nr);
}

#define SECTOR_BYTES	512
#define UNTRACED_FROM	(32ll << 20)	/* untraced writes: 32 MiB on */
#define ROUNDS		40

static pid_t pinned_fork(void)
{
	cpu_set_t set;
	pid_t pid = fork();

	if (!pid) {
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			_exit(80);
	}
	return pid;
}

/*
 * Three O_DIRECT writes in one io_submit() (a plug): [16K, 20K), then
 * [0, 4K), then [12K, 16K), which front-merges into the first one's
 * request in the plug: the first bio's capture is never issued.
 */
static int traced_round(int fd, void *buf, off_t base)
{
	static const off_t at[3] = { 16384, 0, 12288 };
	struct iocb cb[3], *cbs[3];
	struct io_event ev[3];
	aio_context_t ctx = 0;
	int i, n = 0;

	if (syscall(SYS_io_setup, 8, &ctx))
		return -1;
	for (i = 0; i < 3; i++) {
		memset(&cb[i], 0, sizeof(cb[i]));
		cb[i].aio_fildes = fd;
		cb[i].aio_lio_opcode = IOCB_CMD_PWRITE;
		cb[i].aio_buf = (uintptr_t)buf;
		cb[i].aio_nbytes = 4096;
		cb[i].aio_offset = base + at[i];
		cbs[i] = &cb[i];
	}
	if (syscall(SYS_io_submit, ctx, 3, cbs) != 3)
		n = -1;
	else if (syscall(SYS_io_getevents, ctx, 3, 3, ev, NULL) != 3)
		n = -1;
	syscall(SYS_io_destroy, ctx);
	return n;
}

/*
 * Traced rounds that leave captures behind, each followed at once by
 * untraced O_DIRECT writes on the same CPU (so their bios likely reuse
 * the freed ones' memory): no untraced write may land in the trace.
 */
TEST_F_TIMEOUT(edge, block_stale_capture_not_reused, 120)
{
	const struct rec_span *s;
	size_t i, traced = 0;
	int r;
	pid_t pid;

	if (access("/dev/vda", W_OK))
		SKIP(return, "no scratch disk /dev/vda (scripts/vm --disk MB)");
	span_write_file("/sys/block/vda/queue/scheduler", "mq-deadline");
	ASSERT_EQ(0, bridge_set(self->fd, "block", OTEL_BRIDGE_TRACED));
	for (r = 0; r < ROUNDS; r++) {
		pid = pinned_fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int fd = open("/dev/vda", O_RDWR | O_DIRECT);
			void *buf;

			if (fd < 0 || posix_memalign(&buf, 4096, 4096))
				_exit(81);
			memset(buf, 0x5a, 4096);
			if (set_context(self->fd))
				_exit(82);
			_exit(traced_round(fd, buf, (off_t)r * 65536) ? 83 : 0);
		}
		ASSERT_EQ(0, wait_status(pid));
		pid = pinned_fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int fd = open("/dev/vda", O_RDWR | O_DIRECT), j;
			void *buf;

			if (fd < 0 || posix_memalign(&buf, 4096, 4096))
				_exit(81);
			memset(buf, 0xa5, 4096);
			for (j = 0; j < 16; j++) {
				if (pwrite(fd, buf, 4096, UNTRACED_FROM +
					   ((off_t)r * 16 + j) * 8192) != 4096)
					_exit(84);
			}
			_exit(0);
		}
		ASSERT_EQ(0, wait_status(pid));
	}
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		if (strncmp(s->name, "block.", 6))
			continue;
		EXPECT_GT(UNTRACED_FROM / SECTOR_BYTES,
			  attr_int(s, "linux.block.sector"))
			TH_LOG("an untraced write in the trace: sector %lld",
			       (long long)attr_int(s, "linux.block.sector"));
		traced++;
	}
	/* Some traced writes made spans (their captures were issued). */
	EXPECT_LE(ROUNDS, traced);
}

/* Loads that keep the bridges busy; they hold no descriptor of ours. */
static pid_t spawn_loop(int kind)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	syscall(SYS_close_range, 3, ~0U, 0);
	for (;;) {
		if (kind == 0) {	/* O_DIRECT I/O */
			int fd = open("/dev/vda", O_RDWR | O_DIRECT), i;
			void *buf;

			if (fd < 0 || posix_memalign(&buf, 4096, 65536))
				_exit(0);
			memset(buf, 0x5a, 65536);
			for (i = 0; i < 64; i++) {
				if (pwrite(fd, buf, 4096 << (i & 3),
					   (off_t)i * 8192) < 0 ||
				    pread(fd, buf, 4096, (off_t)i * 4096) < 0)
					break;
			}
			close(fd);
			free(buf);
		} else {		/* fork, sometimes exec */
			pid_t c = fork();

			if (!c) {
				if (rand() & 1)
					execl("/bin/true", "true", (char *)NULL);
				_exit(0);
			}
			if (c > 0)
				waitpid(c, NULL, 0);
		}
	}
}

static int unload_retry(void)
{
	int r = -EBUSY, tries;

	for (tries = 0; tries < 200; tries++) {
		r = vm_unload_module("oteltrace");
		if (r != -EAGAIN && r != -EBUSY)
			break;
		usleep(10000);
	}
	return r;
}

/*
 * Every bridge on, traced tasks asleep in a system call (their spans
 * open) and load running: the module unloads at once, the sleepers
 * return normally; again from a load-time parameter in all mode.
 */
/*
 * Stop or resume the I/O loops.  Switching a bridge or unloading the module
 * patches the tracepoints' call sites; under QEMU's TCG, a site another
 * vCPU is executing while it is patched can leave the guest looping in
 * int3 (shown with plain tracefs toggling and oteltrace not loaded, see
 * docs/testing.md), so the loops are stopped across every switch.  The
 * sleepers below stay inside their system calls: those spans are the ones
 * in flight.
 */
static void loops_signal(const pid_t *kids, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		kill(kids[i], sig);
}

TEST_F_TIMEOUT(edge, rmmod_in_flight, 120)
{
	pid_t kids[4], sleepers[4];
	int i;

	for (i = 0; i < 4; i++)
		kids[i] = spawn_loop(i % 2);
	loops_signal(kids, 4, SIGSTOP);
	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_ALL));
	ASSERT_EQ(0, bridge_set(self->fd, "block", OTEL_BRIDGE_ALL));
	ASSERT_EQ(0, bridge_set(self->fd, "irq", OTEL_BRIDGE_ALL));
	loops_signal(kids, 4, SIGCONT);
	for (i = 0; i < 4; i++) {
		sleepers[i] = fork();
		ASSERT_LE(0, sleepers[i]);
		if (!sleepers[i]) {
			struct timespec ts = { 3, 0 };
			int r = set_context(self->fd);

			syscall(SYS_close_range, 3, ~0U, 0);
			nanosleep(&ts, NULL);
			_exit(r ? 1 : 0);
		}
	}
	usleep(300000);
	loops_signal(kids, 4, SIGSTOP);
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, unload_retry());
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, wait_status(sleepers[i]));
	for (i = 0; i < 4; i++) {
		kill(kids[i], SIGKILL);
		wait_status(kids[i]);
	}

	self->fd = span_load("bridges=syscall:all,block:all,irq:all", NULL);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 4; i++)
		kids[i] = spawn_loop(i % 2);
	usleep(500000);
	loops_signal(kids, 4, SIGSTOP);
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, unload_retry());
	for (i = 0; i < 4; i++) {
		kill(kids[i], SIGKILL);
		wait_status(kids[i]);
	}
	self->fd = span_load(NULL, NULL);
	ASSERT_LE(0, self->fd);
}

TEST_HARNESS_MAIN
