// SPDX-License-Identifier: GPL-2.0
/*
 * Review reproducers (branch review-k): misuse of the user context device,
 * the per-user limit and the bridges.  Each test states what it shows.
 */
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "span_util.h"
#include "userspace/include/oteltrace_context.h"

#define NOBODY	65534

static const uint8_t tidb[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d,
				  0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
				  0x47, 0x36 };
static const uint8_t sidb[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02,
				 0xb7 };

static int ctx_fd(void)
{
	return open("/dev/" OTEL_CTX_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
}

static int ctx_set(int fd, int flags)
{
	struct otel_context_req req = { .trace_flags = flags };

	memcpy(req.trace_id, tidb, 16);
	memcpy(req.span_id, sidb, 8);
	return ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &req) ? -errno : 0;
}

static int bridge_set(int fd, const char *name, unsigned int mode)
{
	struct otel_bridge_req req = { .size = sizeof(req), .mode = mode };

	snprintf(req.name, sizeof(req.name), "%s", name);
	return ioctl(fd, OTEL_IOC_SET_BRIDGE, &req) ? -errno : 0;
}

static uint64_t remote_now(int fd)
{
	struct otel_span_stats st;

	return span_stats(fd, &st) ? ~0ull : st.context_remote;
}

static uint64_t remote_settles(int fd, uint64_t want)
{
	uint64_t got = 0;
	int i;

	for (i = 0; i < 300; i++) {
		got = remote_now(fd);
		if (got == want)
			break;
		usleep(10000);
	}
	return got;
}

static int wait_status(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int drop_to(uid_t uid)
{
	return setgroups(0, NULL) || setgid(uid) || setuid(uid);
}

/* ---- 1. exec from a non-leader thread ---------------------------------- */

static const char *self_exe;

static void *exec_thread(void *arg)
{
	int fd = ctx_fd();

	(void)arg;
	if (fd < 0 || ctx_set(fd, 1))
		_exit(90);
	execl(self_exe, self_exe, "--getctx", NULL);
	_exit(91);
}

/* argv[1] == "--getctx": 0 if the context survived, 1 if lost, 2 other. */
static int getctx_main(void)
{
	struct otel_context_req req;
	int fd = ctx_fd();

	memset(&req, 0xa5, sizeof(req));
	if (fd < 0 || ioctl(fd, OTEL_IOC_GET_TASK_CONTEXT, &req))
		return 2;
	if (!memcmp(req.trace_id, tidb, 16))
		return 0;
	return span_is_zero_id(req.trace_id, 16) ? 1 : 2;
}

FIXTURE(rk) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(rk)
{
	rec_db_init(&self->db);
	self->fd = span_load("context_per_user=16", NULL);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(rk)
{
	rec_db_free(&self->db);
	if (self->fd >= 0)
		span_unload(self->fd);
}

/*
 * docs: "an exec keeps it".  de_thread() gives a non-leader exec'ing
 * thread the leader's start_time, so otel_slot_find() sees a recycled
 * task_struct and resets the slot: the context is silently lost.
 */
TEST_F(rk, nonleader_exec_keeps_context)
{
	pid_t pid;
	int st;

	pid = fork();
	if (!pid) {
		pthread_t t;

		pthread_create(&t, NULL, exec_thread, NULL);
		pthread_join(t, NULL);
		_exit(92);
	}
	st = wait_status(pid);
	EXPECT_EQ(0, st) TH_LOG("context after a non-leader exec: %s",
				st == 1 ? "LOST" : "?");
	/* And a leader exec, for comparison. */
	pid = fork();
	if (!pid) {
		int fd = ctx_fd();

		if (fd < 0 || ctx_set(fd, 1))
			_exit(90);
		execl(self_exe, self_exe, "--getctx", NULL);
		_exit(91);
	}
	EXPECT_EQ(0, wait_status(pid));
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

/* ---- 2. unprivileged misuse of /dev/oteltrace-ctx ---------------------- */

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int fuzz_child(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map, *edge;
	struct otel_context_req req;
	unsigned long args[8];
	unsigned int cmd, i;
	int fd = ctx_fd(), k;

	if (fd < 0)
		return 10;
	/* No read, write or mmap. */
	if (read(fd, &req, sizeof(req)) >= 0 || write(fd, &req, 1) >= 0)
		return 11;
	if (mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED)
		return 12;
	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + pg, pg, PROT_NONE))
		return 13;
	/* A request straddling into an inaccessible page. */
	edge = map + pg - sizeof(req) / 2;
	args[0] = 0;
	args[1] = 1;
	args[2] = ~0ul;
	args[3] = 0xffffffff81000000ul;
	args[4] = (unsigned long)edge;
	args[5] = (unsigned long)(map + pg);
	args[6] = (unsigned long)map;
	args[7] = 0x00007ffffffff000ul;
	for (i = 0; i < 200000; i++) {
		uint64_t r = rnd();

		switch (r & 3) {
		case 0:
			cmd = (unsigned int)(r >> 8);
			break;
		case 1:
			cmd = _IOC((r >> 8) & 3, OTEL_IOC_MAGIC, (r >> 12) & 0x1f,
				   (r >> 20) & 0x3fff);
			break;
		default:
			cmd = (r >> 8) & 1 ? OTEL_IOC_SET_TASK_CONTEXT :
					     OTEL_IOC_GET_TASK_CONTEXT;
			break;
		}
		for (k = 0; k < (int)sizeof(req); k++)
			map[k] = (uint8_t)rnd();
		ioctl(fd, cmd, args[(r >> 40) & 7]);
	}
	/* GET fills every byte (no stale stack bytes). */
	memset(&req, 0xa5, sizeof(req));
	if (ioctl(fd, OTEL_IOC_GET_TASK_CONTEXT, &req))
		return 14;
	for (k = 0; k < (int)sizeof(req.reserved); k++)
		if (((uint8_t *)req.reserved)[k])
			return 15;
	/* The control device stays closed to this user. */
	if (open("/dev/" OTEL_DEVICE_NAME, O_RDONLY) >= 0)
		return 16;
	/* Clear whatever the fuzz left. */
	memset(&req, 0, sizeof(req));
	ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &req);
	return 0;
}

TEST_F(rk, ctx_device_fuzz_unprivileged)
{
	pid_t pid = fork();

	if (!pid)
		_exit(drop_to(NOBODY) ? 99 : fuzz_child());
	EXPECT_EQ(0, wait_status(pid));
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

/* ---- 3. per-user limit: threads, forks, setuid ------------------------- */

static atomic_int go_exit;

static void *hold_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&go_exit))
		usleep(1000);
	return NULL;
}

/*
 * nobody sets a context and starts 64 threads (limit 16): the threads past
 * the limit do not inherit; another uid can still set one; everything
 * returns to zero.  Then root with a context forks a child that drops to
 * nobody and forks again: charges go and come back to the right uid.
 */
TEST_F_TIMEOUT(rk, per_user_limit_and_setuid, 60)
{
	struct otel_span_stats st;
	pid_t pid, other;
	int p[2], g[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, pipe(g));
	pid = fork();
	if (!pid) {
		pthread_t t[64];
		int fd, i;
		char c;

		if (drop_to(NOBODY))
			_exit(99);
		fd = ctx_fd();
		if (fd < 0 || ctx_set(fd, 1))
			_exit(98);
		for (i = 0; i < 64; i++)
			pthread_create(&t[i], NULL, hold_thread, NULL);
		if (write(p[1], "x", 1) != 1)
			_exit(97);
		if (read(g[0], &c, 1) != 1)	/* parent says go */
			_exit(96);
		atomic_store(&go_exit, 1);
		for (i = 0; i < 64; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	}
	{
		char c;

		ASSERT_EQ(1, read(p[0], &c, 1));
	}
	ASSERT_EQ(0, span_stats(self->fd, &st));
	EXPECT_EQ(16, st.context_remote);
	EXPECT_LE(49, st.context_inherit_lost);
	/* Another uid is not affected. */
	other = fork();
	if (!other) {
		int fd;

		if (drop_to(NOBODY - 1))
			_exit(99);
		fd = ctx_fd();
		_exit(fd < 0 ? 98 : ctx_set(fd, 1) ? 97 : 0);
	}
	EXPECT_EQ(0, wait_status(other));
	ASSERT_EQ(1, write(g[1], "g", 1));
	EXPECT_EQ(0, wait_status(pid));
	EXPECT_EQ(0, remote_settles(self->fd, 0));

	/* root charge, then setuid in a child, then fork. */
	pid = fork();
	if (!pid) {
		int fd = ctx_fd();
		pid_t c;

		if (fd < 0 || ctx_set(fd, 1))
			_exit(98);
		c = fork();		/* charged to root */
		if (!c) {
			pid_t g;

			if (drop_to(NOBODY))
				_exit(99);
			g = fork();	/* charged to nobody */
			if (!g)
				_exit(0);
			_exit(wait_status(g));
		}
		_exit(wait_status(c));
	}
	EXPECT_EQ(0, wait_status(pid));
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

/*
 * The limit is per kuid: a user with subordinate uids (newuidmap, the
 * usual /etc/subuid range of 65536) has many.  Here root plays that user:
 * uids 200000.. each fill their limit until the shared table refuses.
 */
TEST_F_TIMEOUT(rk, many_uids_fill_the_table, 120)
{
	int p[2], n, i, enospc = 0;
	pid_t kids[64];
	char c;

	span_unload(self->fd);
	self->fd = span_load("context_slots=256", NULL);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pipe(p));
	for (n = 0; n < 64; n++) {
		int q[2];

		ASSERT_EQ(0, pipe(q));
		kids[n] = fork();
		if (!kids[n]) {
			pthread_t t[70];
			int fd, j, r, okc = 0;

			if (drop_to(200000 + n))
				_exit(99);
			fd = ctx_fd();
			r = ctx_set(fd, 1);
			if (!r)
				for (j = 0; j < 70; j++)
					pthread_create(&t[j], NULL, hold_thread,
						       NULL);
			okc = r == -ENOSPC ? 2 : r ? 3 : 1;
			c = (char)okc;
			if (write(q[1], &c, 1) != 1)
				_exit(97);
			if (read(p[0], &c, 1) != 1)
				_exit(96);
			_exit(0);
		}
		ASSERT_EQ(1, read(q[0], &c, 1));
		close(q[0]);
		close(q[1]);
		if (c == 2) {
			enospc = 1;
			n++;
			break;
		}
	}
	TH_LOG("%d uids, context_remote %llu, table full: %s", n,
	       (unsigned long long)remote_now(self->fd),
	       enospc ? "yes (ENOSPC for a fresh uid)" : "no");
	/* Root itself (a different uid) is refused too once it is full. */
	{
		int fd = ctx_fd();
		int r = ctx_set(fd, 1);

		TH_LOG("root SET: %d", r);
		if (!r) {
			struct otel_context_req z = { };

			ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &z);
		}
		close(fd);
	}
	for (i = 0; i < n; i++) {
		c = 'g';
		ASSERT_EQ(1, write(p[1], &c, 1));
	}
	for (i = 0; i < n; i++)
		wait_status(kids[i]);
	EXPECT_FALSE(enospc);
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

/* ---- 4. bridges: toggle under load, then unload in flight -------------- */

static atomic_int stop;

struct toggler {
	int fd;
	unsigned int seed;
	long n;
};

static void *toggle_thread(void *arg)
{
	struct toggler *t = arg;
	static const char *const names[] = { "syscall", "block", "irq" };

	while (!atomic_load(&stop)) {
		unsigned int r = rand_r(&t->seed);
		const char *nm = names[r % 3];
		unsigned int mode = (r >> 4) % 3;

		if (!strcmp(nm, "irq") && mode == OTEL_BRIDGE_TRACED)
			mode = OTEL_BRIDGE_ALL;
		bridge_set(t->fd, nm, mode);
		t->n++;
	}
	return NULL;
}

static pid_t spawn_loop(int kind)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Hold no descriptor of the module: it must be able to go. */
	syscall(SYS_close_range, 3, ~0U, 0);
	for (;;) {
		if (kind == 0) {	/* dd-like O_DIRECT I/O, traced */
			int fd = open("/dev/vda", O_RDWR | O_DIRECT);
			void *buf;
			int i;

			if (fd < 0)
				_exit(0);
			if (posix_memalign(&buf, 4096, 65536))
				_exit(1);
			memset(buf, 0x5a, 65536);
			for (i = 0; i < 64; i++) {
				if (pwrite(fd, buf, 4096 << (i & 3),
					   (off_t)(i * 8192)) < 0)
					break;
				if (pread(fd, buf, 4096, (off_t)(i * 4096)) < 0)
					break;
			}
			fsync(fd);
			close(fd);
			free(buf);
		} else if (kind == 1) {	/* fork-lite */
			pid_t c = fork();

			if (!c) {
				if (rand() & 1)
					execl("/bin/true", "true", NULL);
				_exit(0);
			}
			if (c > 0)
				waitpid(c, NULL, 0);
		} else {		/* set/clear and threads */
			int fd = ctx_fd();
			struct otel_context_req z = { };
			pthread_t t;

			if (fd >= 0) {
				ctx_set(fd, 1);
				atomic_store(&go_exit, 1);
				pthread_create(&t, NULL, hold_thread, NULL);
				pthread_join(t, NULL);
				ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &z);
				close(fd);
			}
		}
	}
}

TEST_F_TIMEOUT(rk, toggle_bridges_under_load_then_rmmod_in_flight, 120)
{
	struct toggler tg[2] = { { self->fd, 1, 0 }, { self->fd, 2, 0 } };
	pthread_t th[2];
	pid_t kids[6], sleepers[4];
	int i, cfd;

	/* Traced load: a context for everything spawned from here. */
	cfd = ctx_fd();
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, ctx_set(cfd, 1));
	for (i = 0; i < 6; i++)
		kids[i] = spawn_loop(i % 3);
	/* Unset in the parent (the children keep theirs). */
	{
		struct otel_context_req z = { };

		ioctl(cfd, OTEL_IOC_SET_TASK_CONTEXT, &z);
	}
	/*
	 * Under QEMU TCG, toggling tracepoints this fast trips an "Oops: int3"
	 * or an int3 soft lockup at the patched static branch even with no
	 * oteltrace loaded (tests/vm/review-k/tracefs_toggle_control.sh):
	 * REVIEW_K_TOGGLE_SECS=0 skips this phase there.
	 */
	atomic_store(&stop, 0);
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, toggle_thread, &tg[i]);
	sleep(getenv("REVIEW_K_TOGGLE_SECS") ?
	      atoi(getenv("REVIEW_K_TOGGLE_SECS")) : 20);
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	TH_LOG("toggles: %ld + %ld", tg[0].n, tg[1].n);

	/* Everything on, syscalls in flight (sleepers), then unload. */
	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_ALL));
	ASSERT_EQ(0, bridge_set(self->fd, "block", OTEL_BRIDGE_ALL));
	ASSERT_EQ(0, bridge_set(self->fd, "irq", OTEL_BRIDGE_ALL));
	for (i = 0; i < 4; i++) {
		sleepers[i] = fork();
		if (!sleepers[i]) {
			struct timespec ts = { 3, 0 };
			int fd;

			syscall(SYS_close_range, 3, ~0U, 0);
			fd = ctx_fd();
			ctx_set(fd, 1);
			close(fd);
			nanosleep(&ts, NULL);
			_exit(0);
		}
	}
	usleep(300000);
	close(cfd);
	close(self->fd);
	self->fd = -1;
	{
		int r, tries;

		for (tries = 0; tries < 200; tries++) {
			r = vm_unload_module("oteltrace");
			if (r != -EAGAIN && r != -EBUSY)
				break;
			usleep(10000);
		}
		EXPECT_EQ(0, r) TH_LOG("rmmod: %s", strerror(-r));
	}
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, wait_status(sleepers[i]));
	for (i = 0; i < 6; i++) {
		kill(kids[i], SIGKILL);
		wait_status(kids[i]);
	}
	/* Reload and do it again once, in all mode, unloading at once. */
	self->fd = span_load("bridges=syscall:all,block:all,irq:all", NULL);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 4; i++)
		kids[i] = spawn_loop(i % 2);
	usleep(500000);
	close(self->fd);
	self->fd = -1;
	{
		int r, tries;

		for (tries = 0; tries < 200; tries++) {
			r = vm_unload_module("oteltrace");
			if (r != -EAGAIN && r != -EBUSY)
				break;
			usleep(10000);
		}
		EXPECT_EQ(0, r);
	}
	usleep(500000);
	for (i = 0; i < 4; i++) {
		kill(kids[i], SIGKILL);
		wait_status(kids[i]);
	}
	self->fd = span_load(NULL, NULL);
	ASSERT_LE(0, self->fd);
}

int main(int argc, char **argv)
{
	static char exe[PATH_MAX];

	if (argc > 1 && !strcmp(argv[1], "--getctx"))
		return getctx_main();
	if (!realpath("/proc/self/exe", exe))
		return 1;
	self_exe = exe;
	return test_harness_run(argc, argv);
}
