// SPDX-License-Identifier: GPL-2.0
/*
 * Bridges (kmod/bridge*.c, docs/bridges.md): the list and switch ioctls
 * and the module parameter; the syscall bridge records only tasks that
 * carry a trace context, names spans after the call, records errno
 * failures, skips exit_group, drops the spans still open when switched
 * off; the block bridge parents each request on the submitting task's
 * current span (dd with O_DIRECT on the scratch disk /dev/vda, when
 * scripts/vm has --disk); the irq bridge's spans are hardirq roots.
 */
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bridge_util.h"
#include "span_util.h"

/* How a command runs as a child of $TRACEPARENT (argv: CTX_EXEC, then it). */
#define CTX_EXEC	"build/otelctl", "exec", "--"

#define TRACE_HEX	"4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN_HEX	"00f067aa0ba902b7"
#define TRACEPARENT	"00-" TRACE_HEX "-" SPAN_HEX "-01"

FIXTURE(bridge) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(bridge)
{
	rec_db_init(&self->db);
	self->fd = span_load(NULL, NULL);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bridge)
{
	rec_db_free(&self->db);
	span_unload(self->fd);
}

static int64_t attr_int(const struct rec_span *s, const char *key)
{
	const struct rec_attr *a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, key);

	return a && a->type == OTEL_ATTR_INT ? a->value : INT64_MIN;
}

static const char *attr_str(const struct rec_span *s, const char *key)
{
	const struct rec_attr *a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, key);

	return a && a->type == OTEL_ATTR_STRING ? a->str : "";
}

/* Run @argv with TRACEPARENT set (or not): its exit status, or -1. */
static int run(char *const argv[], bool traced)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		if (traced)
			setenv("TRACEPARENT", TRACEPARENT, 1);
		if (chdir(vm_top()))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(bridge, list_and_switch)
{
	struct otel_bridge_req req;
	const char *names[] = { "syscall", "block", "irq" };
	char buf[64] = "";
	unsigned int i;
	int pfd;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, bridge_get(self->fd, names[i], &req));
		EXPECT_EQ(i, req.index);
		EXPECT_EQ(OTEL_BRIDGE_OFF, req.mode);
		EXPECT_EQ(0, req.spans);
	}
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.index = 3;
	EXPECT_EQ(-1, ioctl(self->fd, OTEL_IOC_GET_BRIDGE, &req));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, bridge_get(self->fd, "irq", &req));
	EXPECT_EQ((1u << OTEL_BRIDGE_OFF) | (1u << OTEL_BRIDGE_ALL), req.modes);

	/* Refused: an unknown name, a mode a bridge lacks, bad fields. */
	EXPECT_EQ(-ENOENT, bridge_set(self->fd, "nosuch", OTEL_BRIDGE_TRACED));
	EXPECT_EQ(-EINVAL, bridge_set(self->fd, "irq", OTEL_BRIDGE_TRACED));
	EXPECT_EQ(-EINVAL, bridge_set(self->fd, "syscall", 3));
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	strcpy(req.name, "syscall");
	req.reserved[2] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, OTEL_IOC_SET_BRIDGE, &req));
	EXPECT_EQ(EINVAL, errno);
	req.reserved[2] = 0;
	req.size = 8;
	EXPECT_EQ(-1, ioctl(self->fd, OTEL_IOC_SET_BRIDGE, &req));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_TRACED));
	ASSERT_EQ(0, bridge_set(self->fd, "irq", OTEL_BRIDGE_ALL));
	ASSERT_EQ(0, bridge_get(self->fd, "syscall", &req));
	EXPECT_EQ(OTEL_BRIDGE_TRACED, req.mode);

	/* The parameter reads the modes back and sets them at run time. */
	pfd = open("/sys/module/oteltrace/parameters/bridges", O_RDONLY);
	ASSERT_LE(0, pfd);
	EXPECT_LT(0, read(pfd, buf, sizeof(buf) - 1));
	close(pfd);
	EXPECT_STREQ("syscall,irq:all\n", buf);
	ASSERT_EQ(0, span_write_file("/sys/module/oteltrace/parameters/bridges",
				     "block:all"));
	ASSERT_EQ(0, bridge_get(self->fd, "syscall", &req));
	EXPECT_EQ(OTEL_BRIDGE_OFF, req.mode);
	ASSERT_EQ(0, bridge_get(self->fd, "block", &req));
	EXPECT_EQ(OTEL_BRIDGE_ALL, req.mode);
	EXPECT_EQ(-EINVAL,
		  span_write_file("/sys/module/oteltrace/parameters/bridges",
				  "irq:traced"));
	EXPECT_EQ(-EINVAL,
		  span_write_file("/sys/module/oteltrace/parameters/bridges",
				  "nosuch"));
	ASSERT_EQ(0, bridge_set(self->fd, "block", OTEL_BRIDGE_OFF));
}

TEST(load_time_parameter)
{
	struct otel_bridge_req req;
	int fd;

	fd = span_load("bridges=syscall,block:all", NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bridge_get(fd, "syscall", &req));
	EXPECT_EQ(OTEL_BRIDGE_TRACED, req.mode);
	ASSERT_EQ(0, bridge_get(fd, "block", &req));
	EXPECT_EQ(OTEL_BRIDGE_ALL, req.mode);
	ASSERT_EQ(0, bridge_get(fd, "irq", &req));
	EXPECT_EQ(OTEL_BRIDGE_OFF, req.mode);
	span_unload(fd);
	/* A bad list fails the load. */
	EXPECT_EQ(-EINVAL, vm_load_oteltrace("bridges=irq"));
	EXPECT_FALSE(vm_module_loaded("oteltrace"));
}

/* In a child: set the context, make a few calls, exit. */
static void traced_child(int fd)
{
	if (set_context(fd))
		_exit(1);
	getppid();
	getppid();
	getppid();
	if (open("/nonexistent/bridge", O_RDONLY) >= 0)
		_exit(2);
	_exit(0);
}

TEST_F(bridge, syscall_traced_only)
{
	struct otel_bridge_req req;
	const struct rec_span *s;
	size_t i, getppids = 0, openats = 0;
	int status;
	pid_t pid;

	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_TRACED));
	getppid();		/* untraced: no span */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		traced_child(self->fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);

	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		EXPECT_EQ(pid, s->pid) TH_LOG("%s from pid %u", s->name, s->pid);
		EXPECT_EQ(0, memcmp(s->trace_id, tid, 16));
		EXPECT_STREQ("oteltrace/syscall", s->scope);
		EXPECT_EQ(OTEL_SPAN_KIND_INTERNAL, s->kind);
		EXPECT_TRUE(rec_complete(s));
		EXPECT_STRNE("exit_group", s->name);
		if (!strcmp(s->name, "getppid")) {
			getppids++;
			EXPECT_EQ(0, memcmp(s->parent_id, sid, 8));
			EXPECT_EQ(OTEL_SPANF_REMOTE_PARENT,
				  s->span_flags & OTEL_SPANF_REMOTE_PARENT);
			EXPECT_EQ(SYS_getppid, attr_int(s, "linux.syscall.nr"));
			EXPECT_EQ(getpid(), attr_int(s, "linux.syscall.ret"));
			EXPECT_EQ(OTEL_STATUS_UNSET, s->status);
		} else if (!strcmp(s->name, "openat")) {
			openats++;
			EXPECT_EQ(SYS_openat, attr_int(s, "linux.syscall.nr"));
			EXPECT_EQ(-ENOENT, attr_int(s, "linux.syscall.ret"));
			EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
			EXPECT_STREQ("ENOENT", s->status_msg);
		}
	}
	EXPECT_EQ(3, getppids);
	EXPECT_EQ(1, openats);
	ASSERT_EQ(0, bridge_get(self->fd, "syscall", &req));
	EXPECT_EQ(self->db.nr, req.spans);
	EXPECT_EQ(0, req.dropped);

	/* Off: the same child makes no span. */
	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_OFF));
	rec_db_free(&self->db);
	rec_db_init(&self->db);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		traced_child(self->fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, rec_drain(self->fd, &self->db));
}

/* Is @pid blocked in read() (its /proc/PID/syscall)?  Waits up to 10 s. */
static bool in_read(pid_t pid)
{
	char path[64], buf[64];
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	for (i = 0; i < 1000; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return false;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 2 && !strncmp(buf, "0 ", 2))
			return true;
		usleep(10000);
	}
	return false;
}

/* A call still open when the bridge goes off is dropped, counted. */
TEST_F(bridge, syscall_off_drops_open_span)
{
	struct otel_bridge_req req;
	int p[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_TRACED));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[1]);
		if (set_context(self->fd))
			_exit(1);
		_exit(read(p[0], &c, 1) == 1 ? 0 : 3);	/* blocks */
	}
	close(p[0]);
	ASSERT_TRUE(in_read(pid));
	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_OFF));
	ASSERT_EQ(0, bridge_get(self->fd, "syscall", &req));
	EXPECT_EQ(1, req.dropped);
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(p[1]);
	rec_drain(self->fd, &self->db);
	EXPECT_EQ(0, rec_count(&self->db, "read"));
}

/* Is @s a descendant of a span named @name (through recorded spans)? */
static const struct rec_span *ancestor(const struct rec_db *db,
				       const struct rec_span *s,
				       const char *name)
{
	int depth;

	for (depth = 0; s && depth < 16; depth++) {
		s = rec_by_id(db, s->parent_id);
		if (s && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

/*
 * The acceptance test: dd with O_DIRECT on the scratch disk under
 * a traceparent; every span in the trace, write spans children of the
 * given span, each of the 8 block.write spans under a write span.
 */
TEST_F(bridge, dd_block_tree)
{
#define DD	"dd", "if=/dev/zero", "of=/dev/vda", "bs=4096", "count=8", \
		"oflag=direct", "status=none", NULL
	char *dd[] = { CTX_EXEC, DD }, *plain_dd[] = { DD };
	const struct rec_span *s, *w;
	size_t i, writes = 0, blocks = 0, execs = 0;

	if (access("/dev/vda", W_OK))
		SKIP(return, "no scratch disk /dev/vda (scripts/vm --disk MB)");
	ASSERT_EQ(0, bridge_set(self->fd, "syscall", OTEL_BRIDGE_TRACED));
	ASSERT_EQ(0, bridge_set(self->fd, "block", OTEL_BRIDGE_TRACED));

	/* Untraced I/O first: no span at all. */
	ASSERT_EQ(0, run(plain_dd, false));
	EXPECT_EQ(0, rec_drain(self->fd, &self->db));

	ASSERT_EQ(0, run(dd, true));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		EXPECT_EQ(0, memcmp(s->trace_id, tid, 16))
			TH_LOG("%s in trace %s", s->name, span_hex(s->trace_id, 16));
		EXPECT_TRUE(rec_complete(s));
		/* execvp() tries each PATH entry: one succeeds. */
		if (!strcmp(s->name, "execve") &&
		    !attr_int(s, "linux.syscall.ret")) {
			execs++;
			EXPECT_EQ(OTEL_STATUS_UNSET, s->status);
		}
		if (!strcmp(s->name, "write") &&
		    !strcmp(s->scope, "oteltrace/syscall")) {
			writes++;
			EXPECT_EQ(0, memcmp(s->parent_id, sid, 8));
		}
		if (strncmp(s->name, "block.", 6))
			continue;
		blocks++;
		EXPECT_STREQ("block.write", s->name);
		EXPECT_STREQ("oteltrace/block", s->scope);
		EXPECT_EQ(OTEL_SPAN_KIND_INTERNAL, s->kind);
		EXPECT_EQ(4096, attr_int(s, "linux.block.bytes"));
		EXPECT_LE(0, attr_int(s, "linux.block.sector"));
		EXPECT_STREQ("write", attr_str(s, "disk.io.direction"));
		EXPECT_STREQ("vda", attr_str(s, "system.device"));
		EXPECT_EQ(OTEL_STATUS_UNSET, s->status);
		EXPECT_EQ(0, s->span_flags & OTEL_SPANF_REMOTE_PARENT);
		w = ancestor(&self->db, s, "write");
		ASSERT_NE(NULL, w) TH_LOG("block.write %s has no write ancestor",
					  span_hex(s->span_id, 8));
		EXPECT_LE(w->start_ns, s->start_ns);
		EXPECT_GE(w->end_ns, s->end_ns);
	}
	EXPECT_EQ(8, blocks);
	EXPECT_LE(8, writes);
	EXPECT_EQ(1, execs);
}

TEST_F(bridge, irq_spans_are_hardirq_roots)
{
	const struct rec_span *s;
	char buf[4096];
	size_t i, n = 0;
	int fd, k;

	ASSERT_EQ(0, bridge_set(self->fd, "irq", OTEL_BRIDGE_ALL));
	/* The tree is on virtio 9p: reading it takes interrupts. */
	for (k = 0; k < 20; k++) {
		fd = open(vm_path("build/tests/vm/bridge_test"), O_RDONLY);
		ASSERT_LE(0, fd);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	ASSERT_EQ(0, bridge_set(self->fd, "irq", OTEL_BRIDGE_OFF));
	ASSERT_LT(0, rec_drain(self->fd, &self->db));
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		if (strcmp(s->scope, "oteltrace/irq"))
			continue;
		n++;
		EXPECT_EQ(OTEL_CTX_HARDIRQ, s->begin_ctx);
		EXPECT_EQ(OTEL_CTX_HARDIRQ, s->end_ctx);
		EXPECT_TRUE(span_is_zero_id(s->parent_id, 8));
		EXPECT_LT(0, attr_int(s, "linux.irq.number"));
		EXPECT_NE(0, s->name[0]);
	}
	EXPECT_LT(0, n);
}

TEST_HARNESS_MAIN
