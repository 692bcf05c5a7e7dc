// SPDX-License-Identifier: GPL-2.0
/*
 * userspace/include/oteltrace_context.h's traceparent parser, good and bad
 * input side by side, and otelctl exec's handling of them on the host
 * (there is no module here: the device path is one that does not exist).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "userspace/include/oteltrace_context.h"

#define TID	"4bf92f3577b34da6a3ce929d0e0e4736"
#define SID	"00f067aa0ba902b7"

#define TEST_PARSE(tp)							\
	do {								\
		struct otel_context_req r;				\
		EXPECT_EQ(0, otel_ctx_parse_traceparent(tp, &r))	\
			TH_LOG("refused: %s", tp);			\
	} while (0)

#define TEST_NPARSE(tp)							\
	do {								\
		struct otel_context_req r;				\
		EXPECT_EQ(-EINVAL, otel_ctx_parse_traceparent(tp, &r))	\
			TH_LOG("accepted: %s", tp);			\
		EXPECT_EQ(EINVAL, errno);				\
		EXPECT_EQ(0, r.trace_flags);				\
	} while (0)

TEST(parse_fields)
{
	struct otel_context_req r;

	ASSERT_EQ(0, otel_ctx_parse_traceparent("00-" TID "-" SID "-01", &r));
	EXPECT_EQ(0x4b, r.trace_id[0]);
	EXPECT_EQ(0x36, r.trace_id[15]);
	EXPECT_EQ(0x00, r.span_id[0]);
	EXPECT_EQ(0xb7, r.span_id[7]);
	EXPECT_EQ(1, r.trace_flags);
	ASSERT_EQ(0, otel_ctx_parse_traceparent("00-" TID "-" SID "-00", &r));
	EXPECT_EQ(0, r.trace_flags);
	EXPECT_EQ(-EINVAL, otel_ctx_parse_traceparent(NULL, &r));
}

TEST(parse_good_and_bad)
{
	TEST_PARSE("00-" TID "-" SID "-01");
	TEST_PARSE("00-" TID "-" SID "-00");
	TEST_PARSE("00-" TID "-" SID "-ff");	/* unknown flags kept */
	/* A later version may add fields; its first four still parse. */
	TEST_PARSE("cc-" TID "-" SID "-01");
	TEST_PARSE("cc-" TID "-" SID "-01-what-the-future-holds");

	TEST_NPARSE("");
	TEST_NPARSE("00-" TID "-" SID);
	TEST_NPARSE("00-" TID "-" SID "-0");
	TEST_NPARSE("00-" TID "-" SID "-01 ");	/* v00: exactly 55 */
	TEST_NPARSE("00-" TID "-" SID "-01-");
	TEST_NPARSE("cc-" TID "-" SID "-01x");
	TEST_NPARSE("ff-" TID "-" SID "-01");	/* version ff */
	TEST_NPARSE("0g-" TID "-" SID "-01");
	TEST_NPARSE("00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01");
	TEST_NPARSE("00-" TID "-00F067AA0BA902B7-01");
	TEST_NPARSE("00-" TID "-" SID "-0A");
	TEST_NPARSE("00-00000000000000000000000000000000-" SID "-01");
	TEST_NPARSE("00-" TID "-0000000000000000-01");
	TEST_NPARSE("00_" TID "-" SID "-01");
	TEST_NPARSE("00-" TID "_" SID "-01");
	TEST_NPARSE("00-" TID "-" SID "_01");
	TEST_NPARSE("00-" TID "-" SID "-+1");
	TEST_NPARSE("00- " TID "-" SID "-0");
}

/* Where otelctl's stderr goes (NULL: /dev/null). */
static const char *exec_err;

/* otelctl exec ARGS with $TRACEPARENT = @env (NULL: unset): exit status. */
static int run_exec(const char *env, const char *const *args)
{
	const char *argv[16] = { OTELCTL, "exec" };
	int i, status;
	pid_t pid;

	for (i = 0; args[i] && i < 13; i++)
		argv[i + 2] = args[i];
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		setenv("OTELCTL_DEVICE", "/nonexistent/oteltrace-ctx", 1);
		if (env)
			setenv("TRACEPARENT", env, 1);
		else
			unsetenv("TRACEPARENT");
		if (!freopen(exec_err ? exec_err : "/dev/null", "w", stderr))
			_exit(99);
		execv(OTELCTL, (char *const *)argv);
		_exit(98);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(exec) {
	char marker[64];
	char err[64];
};

FIXTURE_SETUP(exec)
{
	snprintf(self->marker, sizeof(self->marker), "/tmp/otelctl-exec.%d",
		 getpid());
	snprintf(self->err, sizeof(self->err), "/tmp/otelctl-exec-err.%d",
		 getpid());
	unlink(self->marker);
	exec_err = self->err;
}

FIXTURE_TEARDOWN(exec)
{
	unlink(self->marker);
	unlink(self->err);
	exec_err = NULL;
}

/* A file's contents (up to 4 KiB, static). */
static const char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int ran(FIXTURE_DATA(exec) *self)
{
	struct stat st;
	int r = !stat(self->marker, &st);

	unlink(self->marker);
	return r;
}

TEST_F(exec, malformed_refused_and_cmd_not_run)
{
	const char *bad[] = { "--traceparent", "00-" TID "-" SID "-0A", "--",
			      "touch", self->marker, NULL };
	const char *env[] = { "--", "touch", self->marker, NULL };

	EXPECT_EQ(2, run_exec(NULL, bad));
	EXPECT_FALSE(ran(self));
	/* --traceparent wins over $TRACEPARENT, even a good one. */
	EXPECT_EQ(2, run_exec("00-" TID "-" SID "-01", bad));
	EXPECT_FALSE(ran(self));
	(void)env;
}

/*
 * W3C: an invalid traceparent is ignored.  An inherited $TRACEPARENT that
 * is malformed is warned about, and CMD runs without a context (with
 * --optional or without: no context is set, so nothing can fail).
 */
TEST_F(exec, malformed_env_ignored_cmd_runs)
{
	static const char *const bad[] = {
		"ff-" TID "-" SID "-01", "garbage", "00-" TID "-" SID "-1",
	};
	const char *env[] = { "--", "touch", self->marker, NULL };
	const char *optional[] = { "--optional", "--", "touch", self->marker,
				   NULL };
	const char *fail[] = { "--", "sh", "-c", "exit 5", NULL };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(0, run_exec(bad[i], env)) TH_LOG("%s", bad[i]);
		EXPECT_TRUE(ran(self));
		EXPECT_NE(NULL, strstr(slurp(self->err),
				       "ignoring a malformed $TRACEPARENT"))
			TH_LOG("stderr: %s", slurp(self->err));
		EXPECT_EQ(0, run_exec(bad[i], optional));
		EXPECT_TRUE(ran(self));
	}
	/* the exit status is CMD's */
	EXPECT_EQ(5, run_exec("garbage", fail));
}

/* A malformed TP goes to the terminal escaped: no control sequence. */
TEST_F(exec, malformed_echoed_escaped)
{
	const char *bad[] = { "--traceparent", "\033]0;pwned\007\\", "--",
			      "true", NULL };
	const char *e;

	EXPECT_EQ(2, run_exec(NULL, bad));
	e = slurp(self->err);
	EXPECT_EQ(NULL, strchr(e, '\033')) TH_LOG("stderr: %s", e);
	EXPECT_EQ(NULL, strchr(e, '\007'));
	EXPECT_NE(NULL, strstr(e, "'\\x1b]0;pwned\\x07\\x5c'"))
		TH_LOG("stderr: %s", e);
	/* an inherited one too */
	EXPECT_EQ(0, run_exec("\033[31mred", bad + 2));
	EXPECT_EQ(NULL, strchr(slurp(self->err), '\033'));
}

/* --traceparent TP: CMD's $TRACEPARENT is TP (its SDK joins the trace). */
TEST_F(exec, traceparent_reaches_cmd_environment)
{
	char sh[160];
	const char *cmd[] = { "--optional", "--traceparent",
			      "00-" TID "-" SID "-01", "--", "sh", "-c", sh,
			      NULL };
	const char *inherit[] = { "--optional", "--", "sh", "-c", sh, NULL };

	snprintf(sh, sizeof(sh), "printf %%s \"$TRACEPARENT\" > %s",
		 self->marker);
	EXPECT_EQ(0, run_exec("00-11111111111111111111111111111111-"
			      "1111111111111111-01", cmd));
	EXPECT_STREQ("00-" TID "-" SID "-01", slurp(self->marker));
	EXPECT_EQ(0, run_exec(NULL, cmd));
	EXPECT_STREQ("00-" TID "-" SID "-01", slurp(self->marker));
	/* from the environment: passed on as it is */
	EXPECT_EQ(0, run_exec("00-" TID "-" SID "-00", inherit));
	EXPECT_STREQ("00-" TID "-" SID "-00", slurp(self->marker));
}

TEST_F(exec, no_module_cmd_not_run)
{
	const char *good[] = { "--traceparent", "00-" TID "-" SID "-01", "--",
			       "touch", self->marker, NULL };
	const char *optional[] = { "--optional", "--traceparent",
				   "00-" TID "-" SID "-01", "--", "touch",
				   self->marker, NULL };

	EXPECT_EQ(1, run_exec(NULL, good));
	EXPECT_FALSE(ran(self));
	/* the message names the device actually tried */
	EXPECT_NE(NULL, strstr(slurp(self->err),
			       "no /nonexistent/oteltrace-ctx"))
		TH_LOG("stderr: %s", slurp(self->err));
	EXPECT_EQ(0, run_exec(NULL, optional));
	EXPECT_TRUE(ran(self));
}

TEST_F(exec, without_context_runs_cmd)
{
	const char *cmd[] = { "--", "touch", self->marker, NULL };
	const char *fail[] = { "--", "sh", "-c", "exit 7", NULL };
	const char *none[] = { "--", "/nonexistent/cmd", NULL };
	const char *nothing[] = { NULL };

	EXPECT_EQ(0, run_exec(NULL, cmd));
	EXPECT_TRUE(ran(self));
	EXPECT_EQ(0, run_exec("", cmd));	/* empty: no context */
	EXPECT_TRUE(ran(self));
	EXPECT_EQ(7, run_exec(NULL, fail));
	EXPECT_EQ(127, run_exec(NULL, none));
	EXPECT_EQ(2, run_exec(NULL, nothing));
}

TEST_HARNESS_MAIN
