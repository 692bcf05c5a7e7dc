// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl bridges on the host, its ioctl answered by an LD_PRELOAD shim
 * (fake_bridges.c): names JSON-escaped, and an error half way through the
 * list prints nothing on stdout (no unterminated JSON, no cut table), the
 * error on stderr, exit 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

/* otelctl bridges [--json]; stdout into @out; the exit status. */
static int bridges(int json, const char *fail_at, char *out, size_t len)
{
	char path[] = "/tmp/otelctl-bridges.XXXXXX";
	int fd = mkstemp(path), status;
	ssize_t n;
	pid_t pid;

	if (fd < 0)
		return -1;
	unlink(path);
	pid = fork();
	if (!pid) {
		setenv("OTELCTL_DEVICE", "/dev/null", 1);
		setenv("LD_PRELOAD", FAKE_SO, 1);
		if (fail_at)
			setenv("FAKE_BRIDGE_FAIL_AT", fail_at, 1);
		dup2(fd, 1);
		if (!freopen("/dev/null", "w", stderr))
			_exit(99);
		execl(OTELCTL, OTELCTL, "bridges", json ? "--json" : NULL,
		      NULL);
		_exit(98);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	n = pread(fd, out, len - 1, 0);
	out[n < 0 ? 0 : n] = '\0';
	close(fd);
	return WEXITSTATUS(status);
}

TEST(json_names_escaped)
{
	char out[1024];

	ASSERT_EQ(0, bridges(1, NULL, out, sizeof(out)));
	EXPECT_STREQ("[{\"name\":\"sys\\\"call\",\"mode\":\"off\",\"spans\":10,\"dropped\":0},"
		     "{\"name\":\"bl\\\\ock\",\"mode\":\"traced\",\"spans\":11,\"dropped\":1},"
		     "{\"name\":\"i\\u0009rq\",\"mode\":\"all\",\"spans\":12,\"dropped\":2}]\n",
		     out);
}

TEST(error_half_way_prints_nothing)
{
	char out[1024];

	EXPECT_EQ(1, bridges(1, "1", out, sizeof(out)));
	EXPECT_STREQ("", out);
	EXPECT_EQ(1, bridges(0, "2", out, sizeof(out)));
	EXPECT_STREQ("", out);
	/* the table without an error */
	EXPECT_EQ(0, bridges(0, NULL, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "NAME"));
	EXPECT_NE(NULL, strstr(out, "bl\\ock"));
}

TEST_HARNESS_MAIN
