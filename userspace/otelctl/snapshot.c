// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl snapshot [-- CMD [ARGS...]] and otelctl resume.  A snapshot
 * belongs to the open file of /dev/oteltrace that took it and ends when
 * that file is closed (uapi/oteltrace.h), so the snapshot command holds
 * it: while CMD runs, or until it is interrupted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "otelctl.h"

/* Exit statuses of a CMD that could not be run, as env(1) and nice(1). */
#define EXIT_CANNOT_EXEC	126
#define EXIT_NOT_FOUND		127

static int snapshot_usage(FILE *out, int status)
{
	fprintf(out, "Usage: %s snapshot [-- CMD [ARGS...]]\n\n"
		"Stop every writer (records tried meanwhile count as dropped_disabled)\n"
		"so that the rings, in overwrite mode the newest records, can be read\n"
		"as they are, and hold that snapshot: it ends when this command ends.\n"
		"With CMD, run CMD (a reader: oteld --stdout, a copy of the rings) and\n"
		"end the snapshot when it exits; the exit status is CMD's (126, 127:\n"
		"CMD could not be run).  Without CMD, hold it until SIGINT, SIGTERM or\n"
		"SIGHUP (Ctrl-C), then exit 0.  Only one snapshot at a time: another\n"
		"process's gives exit status 1.  Needs CAP_PERFMON or CAP_SYS_ADMIN.\n",
		prog);
	return status;
}

/* Take the snapshot through @fd: 0, or -1 (said on stderr). */
static int take(int fd)
{
	if (!ioctl(fd, OTEL_IOC_SNAPSHOT))
		return 0;
	if (errno == EBUSY)
		errorf("snapshot: another open file of /dev/%s holds a snapshot; "
		       "it ends when its process closes it or exits",
		       OTEL_DEVICE_NAME);
	else if (errno == EPERM)
		eperm("snapshot");
	else
		errorf("snapshot: %s", strerror(errno));
	return -1;
}

/* Run CMD while the snapshot holds; its exit status. */
static int run(char **cmd)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		errorf("snapshot: fork: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (pid == 0) {
		/* The device is O_CLOEXEC: CMD cannot keep the snapshot. */
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execvp(cmd[0], cmd);
		errorf("snapshot: %s: %s", cmd[0], strerror(errno));
		_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	/* Ctrl-C goes to CMD; the snapshot ends when CMD does. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			errorf("snapshot: waitpid: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Hold the snapshot until a signal asks to end it: EXIT_OK. */
static int hold(const sigset_t *set)
{
	int sig;

	fprintf(stderr, "%s: snapshot taken; writers stay stopped until this "
		"command ends (Ctrl-C)\n", prog);
	while (sigwait(set, &sig))
		;
	return EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
	char **cmd = NULL;
	sigset_t set;
	int fd, ret;

	if (wants_help(argc, argv))
		return snapshot_usage(stdout, EXIT_OK);
	if (argc > 1) {
		if (strcmp(argv[1], "--") || argc < 3) {
			errorf("snapshot: takes '-- CMD [ARGS...]' or nothing (try '%s snapshot --help')",
			       prog);
			return EXIT_USAGE;
		}
		cmd = argv + 2;
	}
	/* Blocked before the snapshot exists, so none ends it unseen. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (!cmd)
		sigprocmask(SIG_BLOCK, &set, NULL);
	fd = dev_open();
	if (fd < 0)
		return EXIT_RUNTIME;
	if (take(fd)) {
		close(fd);
		return EXIT_RUNTIME;
	}
	ret = cmd ? run(cmd) : hold(&set);
	if (ioctl(fd, OTEL_IOC_RESUME))
		errorf("resume: %s (the snapshot ends as the device closes)",
		       strerror(errno));
	close(fd);
	return ret;
}

int cmd_resume(int argc, char **argv)
{
	int fd, ret = EXIT_OK;

	if (wants_help(argc, argv)) {
		printf("Usage: %s resume\n\n"
		       "End a snapshot this process holds: none, since 'otelctl snapshot'\n"
		       "holds its own and ends it itself.  Kept for scripts: with no\n"
		       "snapshot it does nothing (exit 0); another process's snapshot is\n"
		       "refused (exit 1): it ends when that process closes the device or\n"
		       "exits.\n", prog);
		return EXIT_OK;
	}
	if (argc != 1) {
		errorf("resume takes no arguments (try '%s resume --help')", prog);
		return EXIT_USAGE;
	}
	fd = dev_open();
	if (fd < 0)
		return EXIT_RUNTIME;
	if (ioctl(fd, OTEL_IOC_RESUME)) {
		if (errno == EBUSY)
			errorf("resume: the snapshot belongs to another open file of /dev/%s; "
			       "it ends when its process closes it or exits",
			       OTEL_DEVICE_NAME);
		else if (errno == EPERM)
			eperm("resume");
		else
			errorf("resume: %s", strerror(errno));
		ret = EXIT_RUNTIME;
	}
	close(fd);
	return ret;
}
