// SPDX-License-Identifier: GPL-2.0
/*
 * Trace context from user space (issue 10): otelctl exec puts a command's
 * kernel spans into a W3C trace; the context survives fork and thread
 * creation and goes with the task; flags 00 record nothing; a malformed
 * --traceparent is refused before anything runs, a malformed $TRACEPARENT
 * is ignored (W3C) and CMD runs without a context; an unprivileged user sets
 * and clears the context of its own thread through /dev/oteltrace-ctx and
 * can do nothing else there; a per-user limit keeps one uid from filling
 * the context table, and every refusal is counted.
 */
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "span_util.h"
#include "userspace/include/oteltrace_context.h"

#define TID	"4bf92f3577b34da6a3ce929d0e0e4736"
#define SID	"00f067aa0ba902b7"
#define TP01	"00-" TID "-" SID "-01"
#define TP00	"00-" TID "-" SID "-00"
#define NOBODY	65534
#define OTHER	65533

/* "roots N" from a shell, i.e. from the process otelctl exec became. */
#define SH_ROOTS(n)	"echo 'roots " #n "' > /dev/otel_spantest"

static const uint8_t tid_bin[16] = {
	0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
	0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
};
static const uint8_t sid_bin[8] = {
	0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7,
};

/* otelctl's stderr to /dev/null (it is expected to complain). */
static int exec_quiet;

/*
 * otelctl exec ARGS... with $TRACEPARENT = @env (NULL: unset), as uid
 * @uid (0: root): its exit status, or -1.
 */
static int otelctl_exec(const char *env, uid_t uid, const char *const *args)
{
	const char *argv[16] = { "otelctl", "exec" };
	int i, status;
	pid_t pid;

	for (i = 0; args[i] && i < 13; i++)
		argv[i + 2] = args[i];
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		unsetenv("OTELCTL_DEVICE");
		if (env)
			setenv("TRACEPARENT", env, 1);
		else
			unsetenv("TRACEPARENT");
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(99);
		if (exec_quiet && !freopen("/dev/null", "w", stderr))
			_exit(97);
		execv(vm_path("build/otelctl"), (char *const *)argv);
		_exit(98);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The context table's counters from OTEL_IOC_SPAN_STATS. */
static struct otel_span_stats stats(int fd)
{
	struct otel_span_stats st;

	if (span_stats(fd, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

/*
 * Wait (up to 2 s) until context_remote is @want: a thread's slot goes in
 * do_exit() a little after pthread_join() returns.
 */
static uint64_t remote_settles(int fd, uint64_t want)
{
	uint64_t got = 0;
	int i;

	for (i = 0; i < 200; i++) {
		got = stats(fd).context_remote;
		if (got == want)
			break;
		usleep(10000);
	}
	return got;
}

/*
 * A child process running @fn as uid @uid; @fn returns 0 or writes why it
 * failed into @why (shared) and returns non-zero.
 */
struct child_msg {
	char	why[256];
};

static struct child_msg *msg_map(void)
{
	void *p = mmap(NULL, sizeof(struct child_msg), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int run_as(uid_t uid, int (*fn)(struct child_msg *, void *),
		  struct child_msg *m, void *arg)
{
	int status;
	pid_t pid;

	memset(m, 0, sizeof(*m));
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (uid && (setgroups(0, NULL) || setgid(uid) || setuid(uid))) {
			snprintf(m->why, sizeof(m->why), "setuid: %s",
				 strerror(errno));
			_exit(1);
		}
		_exit(fn(m, arg) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define CHILD_CHECK(m, cond)						\
	do {								\
		if (!(cond)) {						\
			snprintf((m)->why, sizeof((m)->why),		\
				 "line %d: %s (errno %s)", __LINE__,	\
				 #cond, strerror(errno));		\
			return 1;					\
		}							\
	} while (0)

FIXTURE(userctx) {
	int fd;
	struct rec_db db;
	struct child_msg *m;
};

FIXTURE_SETUP(userctx)
{
	rec_db_init(&self->db);
	self->fd = span_load(NULL, SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	self->m = msg_map();
	ASSERT_NE(NULL, self->m);
}

FIXTURE_TEARDOWN(userctx)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
	munmap(self->m, sizeof(*self->m));
}

/* Every t.root of the run: in trace TID under span SID, or none. */
static size_t roots_in_trace(struct __test_metadata *_metadata,
			     struct rec_db *db)
{
	const struct rec_span *s;
	size_t i, n = 0;

	for (i = 0; i < db->nr; i++) {
		s = db->spans[i];
		if (strcmp(s->name, "t.root"))
			continue;
		EXPECT_EQ(0, memcmp(s->trace_id, tid_bin, 16))
			TH_LOG("trace %s", span_hex(s->trace_id, 16));
		EXPECT_EQ(0, memcmp(s->parent_id, sid_bin, 8))
			TH_LOG("parent %s", span_hex(s->parent_id, 8));
		EXPECT_EQ(OTEL_SPANF_REMOTE_PARENT, s->span_flags);
		EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->trace_flags);
		EXPECT_TRUE(rec_complete(s));
		n++;
	}
	return n;
}

TEST_F(userctx, exec_spans_carry_trace_and_parent)
{
	const char *flag[] = { "--traceparent", TP01, "--", "sh", "-c",
			       SH_ROOTS(2), NULL };
	/* $TRACEPARENT; a subshell (a fork) and a pipeline (two) inherit. */
	const char *env[] = { "--", "sh", "-c",
			      "(" SH_ROOTS(1) "); " SH_ROOTS(1) " | cat", NULL };

	ASSERT_EQ(0, otelctl_exec(NULL, 0, flag));
	ASSERT_EQ(0, otelctl_exec(TP01, 0, env));
	ASSERT_EQ(4, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	EXPECT_EQ(4, roots_in_trace(_metadata, &self->db));
	/* Every process ran and exited: no context is left behind. */
	EXPECT_EQ(0, remote_settles(self->fd, 0));
	EXPECT_LE(3, stats(self->fd).context_inherited);
}

/* A thread other than the leader sets the context, then exec's. */
static void *set_then_exec(void *arg)
{
	if (otel_ctx_set_traceparent(TP01))
		_exit(90);
	execl("/bin/sh", "sh", "-c", SH_ROOTS(1), (char *)NULL);
	_exit(91);
}

/*
 * "An exec keeps it", from any thread: de_thread() gives a non-leader
 * that exec's the leader's start time; the context (and its charge) must
 * survive that, as they do a leader's exec.
 */
TEST_F(userctx, nonleader_exec_keeps_context)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pthread_t t;

		if (pthread_create(&t, NULL, set_then_exec, NULL))
			_exit(92);
		pthread_join(t, NULL);
		_exit(93);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("status %#x", status);
	/* The leader's exec, for comparison. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (otel_ctx_set_traceparent(TP01))
			_exit(90);
		execl("/bin/sh", "sh", "-c", SH_ROOTS(1), (char *)NULL);
		_exit(91);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_EQ(2, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	EXPECT_EQ(2, roots_in_trace(_metadata, &self->db));
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

TEST_F(userctx, exec_as_unprivileged_user)
{
	const char *cmd[] = { "--traceparent", TP01, "--", "true", NULL };

	/* Any user: through /dev/oteltrace-ctx. */
	EXPECT_EQ(0, otelctl_exec(NULL, NOBODY, cmd));
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

TEST_F(userctx, flags_00_record_nothing)
{
	const char *unsampled[] = { "--traceparent", TP00, "--", "sh", "-c",
				    "(" SH_ROOTS(3) "); " SH_ROOTS(3), NULL };
	const char *sampled[] = { "--traceparent", TP01, "--", "sh", "-c",
				  SH_ROOTS(1), NULL };

	ASSERT_EQ(0, otelctl_exec(NULL, 0, unsampled));
	EXPECT_EQ(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, rec_count(&self->db, "t.root"));
	/* The same command under flags 01 does record (the sampler is on). */
	ASSERT_EQ(0, otelctl_exec(NULL, 0, sampled));
	ASSERT_EQ(1, rec_drain(self->fd, &self->db));
	EXPECT_EQ(1, roots_in_trace(_metadata, &self->db));
}

TEST_F(userctx, malformed_traceparent_refused)
{
	static const char *const bad[] = {
		"00-" TID "-" SID "-1",
		"00-" TID "-" SID "-01-",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01",
		"ff-" TID "-" SID "-01",
		"00-00000000000000000000000000000000-" SID "-01",
		"00-" TID "-0000000000000000-01",
		"garbage",
	};
	const char *cmd[] = { "--traceparent", NULL, "--", "sh", "-c",
			      SH_ROOTS(1), NULL };
	const char *env[] = { "--", "sh", "-c", SH_ROOTS(1), NULL };
	struct otel_context_req req;
	size_t i;
	int fd;

	exec_quiet = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cmd[1] = bad[i];
		EXPECT_EQ(2, otelctl_exec(NULL, 0, cmd)) TH_LOG("%s", bad[i]);
	}
	/* --traceparent: not run, no span at all. */
	EXPECT_EQ(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, stats(self->fd).context_remote);
	/*
	 * $TRACEPARENT: ignored (W3C), CMD runs without a context: its root
	 * spans are in no trace of TP's, none has a remote parent.
	 */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status = otelctl_exec(bad[i], 0, env);

		EXPECT_EQ(0, status) TH_LOG("$TRACEPARENT #%zu", i);
	}
	rec_drain(self->fd, &self->db);
	for (i = 0; i < self->db.nr; i++) {
		EXPECT_NE(OTEL_SPANF_REMOTE_PARENT,
			  self->db.spans[i]->span_flags & OTEL_SPANF_REMOTE_PARENT);
		EXPECT_NE(0, memcmp(self->db.spans[i]->trace_id, tid_bin, 16));
	}
	EXPECT_EQ(0, stats(self->fd).context_remote);

	/* The kernel refuses a zero span id with a trace id, too. */
	fd = open("/dev/" OTEL_CTX_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	memset(&req, 0, sizeof(req));
	memset(req.trace_id, 0x11, sizeof(req.trace_id));
	EXPECT_EQ(-1, ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &req));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

static void *thread_get(void *arg)
{
	struct otel_context_req *req = arg;

	return (void *)(long)otel_ctx_get(req);
}

static void *thread_span(void *arg)
{
	return (void *)(long)span_cmd("roots 1");
}

/* Set, then check a forked child, a grandchild and a thread inherit it. */
static int inherit_child(struct child_msg *m, void *arg)
{
	struct otel_context_req want, got;
	pthread_t t;
	void *ret;
	int status;
	pid_t pid;

	CHILD_CHECK(m, !otel_ctx_set_traceparent(TP01));
	CHILD_CHECK(m, !otel_ctx_parse_traceparent(TP01, &want));
	CHILD_CHECK(m, !pthread_create(&t, NULL, thread_get, &got));
	CHILD_CHECK(m, !pthread_join(t, &ret) && !ret);
	CHILD_CHECK(m, !memcmp(&want, &got, sizeof(got)));
	CHILD_CHECK(m, !pthread_create(&t, NULL, thread_span, NULL));
	CHILD_CHECK(m, !pthread_join(t, &ret) && !ret);

	pid = fork();
	CHILD_CHECK(m, pid >= 0);
	if (!pid) {
		/* The grandchild: its own fork and span. */
		pid = fork();
		if (!pid)
			_exit(otel_ctx_get(&got) ||
			      memcmp(&want, &got, sizeof(got)) ||
			      span_cmd("roots 1") ? 1 : 0);
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			_exit(2);
		_exit(otel_ctx_get(&got) ||
		      memcmp(&want, &got, sizeof(got)) ? 3 : 0);
	}
	CHILD_CHECK(m, waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHILD_CHECK(m, WEXITSTATUS(status) == 0);

	/* Cleared: a new child starts without it. */
	CHILD_CHECK(m, !otel_ctx_clear());
	CHILD_CHECK(m, !otel_ctx_get(&got));
	CHILD_CHECK(m, rec_is_zero(&got, sizeof(got)));
	pid = fork();
	if (!pid)
		_exit(otel_ctx_get(&got) || !rec_is_zero(&got, sizeof(got)));
	CHILD_CHECK(m, waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHILD_CHECK(m, WEXITSTATUS(status) == 0);
	return 0;
}

TEST_F(userctx, fork_and_threads_inherit_then_freed)
{
	struct otel_span_stats before = stats(self->fd), after;

	EXPECT_EQ(0, before.context_remote);
	ASSERT_EQ(0, run_as(0, inherit_child, self->m, NULL))
		TH_LOG("%s", self->m->why);
	/* Two spans: the thread's and the grandchild's child's. */
	ASSERT_EQ(2, rec_drain(self->fd, &self->db));
	EXPECT_EQ(2, roots_in_trace(_metadata, &self->db));

	after = stats(self->fd);
	EXPECT_EQ(before.context_inherited + 4, after.context_inherited);
	EXPECT_EQ(before.context_inherit_lost, after.context_inherit_lost);
	/* Everyone exited: every charge and slot went with its task. */
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

/* As nobody: the context ioctls of its own thread, nothing else. */
static int unprivileged(struct child_msg *m, void *arg)
{
	static const unsigned long refused[] = {
		OTEL_IOC_INFO, OTEL_IOC_STATS, OTEL_IOC_FLUSH,
		OTEL_IOC_GET_CONFIG, OTEL_IOC_SET_CONFIG, OTEL_IOC_CLEAR,
		OTEL_IOC_CLOCK, OTEL_IOC_SNAPSHOT, OTEL_IOC_RESUME,
		OTEL_IOC_SPAN_STATS, _IO(OTEL_IOC_MAGIC, 0x7f),
	};
	struct otel_context_req want, got;
	char buf[4096];
	size_t i;
	void *p;
	int fd;

	CHILD_CHECK(m, open("/dev/" OTEL_DEVICE_NAME, O_RDONLY) < 0 &&
		       (errno == EACCES || errno == EPERM));
	fd = open("/dev/" OTEL_CTX_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	CHILD_CHECK(m, fd >= 0);

	CHILD_CHECK(m, !otel_ctx_parse_traceparent(TP01, &want));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &want));
	memset(&got, 0x5a, sizeof(got));
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_GET_TASK_CONTEXT, &got));
	CHILD_CHECK(m, !memcmp(&want, &got, sizeof(got)));

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		memset(buf, 0, sizeof(buf));
		CHILD_CHECK(m, ioctl(fd, refused[i], buf) < 0 &&
			       errno == ENOTTY);
	}
	CHILD_CHECK(m, read(fd, buf, sizeof(buf)) < 0);
	CHILD_CHECK(m, write(fd, buf, 8) < 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHILD_CHECK(m, p == MAP_FAILED);
	/* Bad pointers and reserved bytes: errors, nothing else. */
	CHILD_CHECK(m, ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, NULL) < 0 &&
		       errno == EFAULT);
	CHILD_CHECK(m, ioctl(fd, OTEL_IOC_GET_TASK_CONTEXT, (void *)8) < 0 &&
		       errno == EFAULT);
	want.reserved[14] = 1;
	CHILD_CHECK(m, ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &want) < 0 &&
		       errno == EINVAL);

	/* The helper's clear, one call. */
	CHILD_CHECK(m, !otel_ctx_clear());
	CHILD_CHECK(m, !ioctl(fd, OTEL_IOC_GET_TASK_CONTEXT, &got));
	CHILD_CHECK(m, rec_is_zero(&got, sizeof(got)));
	close(fd);
	return 0;
}

TEST_F(userctx, unprivileged_own_context_only)
{
	ASSERT_EQ(0, run_as(NOBODY, unprivileged, self->m, NULL))
		TH_LOG("%s", self->m->why);
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

struct holder {
	int		fd;		/* a ctx device file shared with root */
	int		go[2], done[2];	/* pipes: set, then exit */
};

/* Set a context through the shared file, tell, wait to be let go. */
static int hold_context(struct child_msg *m, void *arg)
{
	struct holder *h = arg;
	struct otel_context_req req;
	char c = 0;

	CHILD_CHECK(m, !otel_ctx_parse_traceparent(TP01, &req));
	CHILD_CHECK(m, !ioctl(h->fd, OTEL_IOC_SET_TASK_CONTEXT, &req));
	CHILD_CHECK(m, write(h->go[1], &c, 1) == 1);
	CHILD_CHECK(m, read(h->done[0], &c, 1) == 1);
	return 0;
}

struct sibling {
	int			fd;
	pthread_barrier_t	set;
};

/* Created before its sibling sets a context: GET after it did. */
static void *get_in_thread(void *arg)
{
	struct sibling *sib = arg;
	struct otel_context_req req;

	pthread_barrier_wait(&sib->set);
	memset(&req, 0x5a, sizeof(req));
	if (ioctl(sib->fd, OTEL_IOC_GET_TASK_CONTEXT, &req))
		return (void *)1L;
	return rec_is_zero(&req, sizeof(req)) ? NULL : (void *)2L;
}

/*
 * GET answers for the caller only: not for the process that set a context
 * through the very same open file, nor for another thread of a process
 * whose thread has one.
 */
TEST_F(userctx, get_never_returns_another_tasks_context)
{
	struct otel_context_req req;
	struct sibling sib;
	struct holder h;
	pid_t pid;
	void *ret;
	pthread_t t;
	char c = 0;
	int status;

	h.fd = open("/dev/" OTEL_CTX_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, h.fd);
	ASSERT_EQ(0, pipe(h.go));
	ASSERT_EQ(0, pipe(h.done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(run_as(NOBODY, hold_context, self->m, &h) ? 1 : 0);
	ASSERT_EQ(1, read(h.go[0], &c, 1));
	EXPECT_EQ(1, stats(self->fd).context_remote);

	memset(&req, 0x5a, sizeof(req));
	ASSERT_EQ(0, ioctl(h.fd, OTEL_IOC_GET_TASK_CONTEXT, &req));
	EXPECT_TRUE(rec_is_zero(&req, sizeof(req)));

	/* One thread of ours sets one; a sibling thread does not see it. */
	sib.fd = h.fd;
	ASSERT_EQ(0, pthread_barrier_init(&sib.set, NULL, 2));
	ASSERT_EQ(0, pthread_create(&t, NULL, get_in_thread, &sib));
	ASSERT_EQ(0, otel_ctx_set_traceparent(TP01));
	pthread_barrier_wait(&sib.set);
	ASSERT_EQ(0, pthread_join(t, &ret));
	EXPECT_EQ(NULL, ret);
	ASSERT_EQ(0, otel_ctx_clear());

	ASSERT_EQ(1, write(h.done[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("%s", self->m->why);
	EXPECT_EQ(0, remote_settles(self->fd, 0));
	close(h.fd);
}

#define LIMIT	4

struct crowd {
	pthread_barrier_t	set, done;
	int			ok, edquot, other;
};

static void *set_one(void *arg)
{
	struct crowd *c = arg;
	int ret = otel_ctx_set_traceparent(TP01);

	if (!ret)
		__atomic_add_fetch(&c->ok, 1, __ATOMIC_RELAXED);
	else if (ret == -EDQUOT)
		__atomic_add_fetch(&c->edquot, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&c->other, 1, __ATOMIC_RELAXED);
	pthread_barrier_wait(&c->set);
	pthread_barrier_wait(&c->done);
	return NULL;
}

/*
 * As nobody: LIMIT contexts (this thread's, and LIMIT - 1 threads' that
 * inherit it), then two more threads neither inherit nor may set one
 * (EDQUOT), nor does a forked child inherit; hold them all until told.
 */
static int over_limit(struct child_msg *m, void *arg)
{
	struct holder *h = arg;
	struct otel_context_req got;
	pthread_t t[LIMIT + 1];
	struct crowd c;
	int i, status;
	char x = 0;
	pid_t pid;

	memset(&c, 0, sizeof(c));
	CHILD_CHECK(m, !otel_ctx_set_traceparent(TP01));
	/* Setting it again replaces it: no second charge. */
	CHILD_CHECK(m, !otel_ctx_set_traceparent(TP00));
	CHILD_CHECK(m, !pthread_barrier_init(&c.set, NULL, LIMIT + 2));
	CHILD_CHECK(m, !pthread_barrier_init(&c.done, NULL, LIMIT + 2));
	for (i = 0; i < LIMIT + 1; i++)
		CHILD_CHECK(m, !pthread_create(&t[i], NULL, set_one, &c));
	pthread_barrier_wait(&c.set);
	CHILD_CHECK(m, c.other == 0);
	/* An inherited context is held already: SET only replaces it. */
	CHILD_CHECK(m, c.ok == LIMIT - 1 && c.edquot == 2);

	pid = fork();
	if (!pid)
		_exit(otel_ctx_get(&got) || !rec_is_zero(&got, sizeof(got)));
	CHILD_CHECK(m, waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHILD_CHECK(m, WEXITSTATUS(status) == 0);

	CHILD_CHECK(m, write(h->go[1], &x, 1) == 1);
	CHILD_CHECK(m, read(h->done[0], &x, 1) == 1);
	pthread_barrier_wait(&c.done);
	for (i = 0; i < LIMIT + 1; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int other_user_sets(struct child_msg *m, void *arg)
{
	CHILD_CHECK(m, !otel_ctx_set_traceparent(TP01));
	CHILD_CHECK(m, !otel_ctx_clear());
	return 0;
}

TEST_F(userctx, per_user_limit)
{
	struct otel_span_stats before, after;
	struct child_msg *m2 = msg_map();
	struct holder h;
	char buf[16], c = 0;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, m2);
	snprintf(buf, sizeof(buf), "%d", LIMIT);
	ASSERT_EQ(0, span_write_file("/sys/module/oteltrace/parameters/context_per_user",
				     buf));
	ASSERT_EQ(0, pipe(h.go));
	ASSERT_EQ(0, pipe(h.done));
	before = stats(self->fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(run_as(NOBODY, over_limit, self->m, &h) ? 1 : 0);
	if (read(h.go[0], &c, 1) == 1) {
		/* nobody holds LIMIT; another user and root are not affected. */
		EXPECT_EQ(LIMIT, stats(self->fd).context_remote);
		EXPECT_EQ(0, run_as(OTHER, other_user_sets, m2, NULL))
			TH_LOG("%s", m2->why);
		EXPECT_EQ(0, otel_ctx_set_traceparent(TP01));
		EXPECT_EQ(0, otel_ctx_clear());
		EXPECT_EQ(1, write(h.done[1], &c, 1));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("%s", self->m->why);

	after = stats(self->fd);
	/* 2 threads not inherited, then refused their SET; 1 fork. */
	EXPECT_EQ(before.context_user_limit + 5, after.context_user_limit);
	EXPECT_EQ(before.context_inherit_lost + 3, after.context_inherit_lost);
	EXPECT_EQ(before.context_inherited + LIMIT - 1,
		  after.context_inherited);
	EXPECT_EQ(0, remote_settles(self->fd, 0));
	EXPECT_EQ(0, span_write_file("/sys/module/oteltrace/parameters/context_per_user",
				     "0"));
	munmap(m2, sizeof(*m2));
}

/* One uid of many: set a context, then threads inherit it, hold. */
static void *hold_inherited(void *arg)
{
	int *go = arg;
	char x;

	if (read(*go, &x, 1) < 0)
		return NULL;
	return NULL;
}

#define MANY_UIDS	12
#define MANY_THREADS	40

/*
 * A uid is not a person (subordinate uids): uids 200000.. each set a
 * context and start threads that inherit it, up to their limit, until the
 * cap on all remote contexts (half the table) refuses a SET with ENOSPC.
 * They never hold more than the cap, and root, in none of them, still
 * gets a slot for its chain of kernel spans: they nest.
 */
TEST_F_TIMEOUT(userctx, many_uids_leave_room_for_span_chains, 120)
{
	int go[2], res[2], i, n, refused = 0;
	const struct rec_span *s, *up;
	pid_t kids[MANY_UIDS];
	size_t nested = 0;
	uint64_t held;
	char r;

	span_unload(self->fd);
	/* 256 slots: at most 128 remote, 32 per uid. */
	self->fd = span_load("context_slots=256", SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(res));
	for (n = 0; n < MANY_UIDS && !refused; n++) {
		kids[n] = fork();
		ASSERT_LE(0, kids[n]);
		if (!kids[n]) {
			pthread_attr_t attr;
			pthread_t t;
			int ret, j;

			close(go[1]);
			if (setgroups(0, NULL) || setgid(200000 + n) ||
			    setuid(200000 + n))
				_exit(99);
			ret = otel_ctx_set_traceparent(TP01);
			r = ret == -ENOSPC ? 'N' : ret ? 'E' : 'y';
			pthread_attr_init(&attr);
			pthread_attr_setstacksize(&attr, 64 << 10);
			for (j = 0; !ret && j < MANY_THREADS; j++)
				pthread_create(&t, &attr, hold_inherited, &go[0]);
			if (write(res[1], &r, 1) != 1)
				_exit(98);
			if (read(go[0], &r, 1) < 0)
				_exit(97);
			_exit(0);
		}
		ASSERT_EQ(1, read(res[0], &r, 1));
		ASSERT_NE('E', r);
		refused = r == 'N';
	}
	held = stats(self->fd).context_remote;
	TH_LOG("%d uids, %llu remote contexts", n, (unsigned long long)held);
	EXPECT_TRUE(refused);
	EXPECT_GE(128, held);
	EXPECT_LE(120, held);
	/* A new uid (root) gets ENOSPC for a remote context... */
	EXPECT_EQ(-ENOSPC, otel_ctx_set_traceparent(TP01));
	/* ...but its kernel spans still have a chain: they nest. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, span_cmd("nest 4"));

	close(go[1]);		/* every holder thread and child goes */
	for (i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	close(go[0]);
	close(res[0]);
	close(res[1]);
	EXPECT_EQ(0, remote_settles(self->fd, 0));

	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	ASSERT_EQ(12, rec_count(&self->db, "t.nest"));
	for (i = 0; i < (int)self->db.nr; i++) {
		s = self->db.spans[i];
		if (strcmp(s->name, "t.nest") ||
		    rec_attr(s, 0, "t.depth")->value == 4)
			continue;
		up = rec_by_id(&self->db, s->parent_id);
		if (up && rec_attr(up, 0, "t.depth")->value ==
			  rec_attr(s, 0, "t.depth")->value + 1)
			nested++;
	}
	EXPECT_EQ(9, nested);
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Random ioctls, commands, sizes and pointers on the ctx device. */
static int fuzz_child(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map, *edge;
	struct otel_context_req req;
	unsigned long args[8];
	unsigned int cmd, i;
	int fd = open("/dev/" OTEL_CTX_DEVICE_NAME, O_RDONLY | O_CLOEXEC), k;

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

/*
 * An unprivileged user throws 200000 random ioctls (commands, sizes,
 * pointers: kernel, unmapped, straddling a page) at /dev/oteltrace-ctx:
 * nothing breaks, no read/write/mmap, GET leaks no byte, the control
 * device stays closed, and nothing is left charged.
 */
TEST_F(userctx, ctx_device_fuzz_unprivileged)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) ?
		      99 : fuzz_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("status %#x", status);
	EXPECT_EQ(0, remote_settles(self->fd, 0));
}

TEST_HARNESS_MAIN
