/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hold a snapshot with `otelctl snapshot -- CMD` while a test looks at the
 * rings: CMD prints a line (the snapshot is taken by then) and waits for
 * its stdin to close; otelctl ends the snapshot when CMD exits.
 */
#ifndef _OTELTRACE_OTELCTL_UTIL_H
#define _OTELTRACE_OTELCTL_UTIL_H

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmtest.h"

struct held_snapshot {
	pid_t	pid;
	int	in;	/* CMD's stdin: closing it ends CMD */
};

/*
 * Start `otelctl snapshot -- sh -c 'echo taken; read x; exit 0'` and wait for
 * "taken": 0 with the snapshot held, or -1 (otelctl's own exit status in
 * *@status, if it exited).
 */
static inline int snapshot_hold(struct held_snapshot *h, int *status)
{
	int in[2], out[2];
	char line[16] = "";
	ssize_t n;

	*status = -1;
	if (pipe(in) || pipe(out))
		return -1;
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (!h->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(vm_path("build/otelctl"), "otelctl", "snapshot", "--",
		      "sh", "-c", "echo taken; read x; exit 0", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	h->in = in[1];
	n = read(out[0], line, sizeof(line) - 1);
	close(out[0]);
	if (n == 6 && !memcmp(line, "taken\n", 6))
		return 0;
	close(h->in);
	if (waitpid(h->pid, status, 0) == h->pid && WIFEXITED(*status))
		*status = WEXITSTATUS(*status);
	return -1;
}

/* Let CMD end; otelctl's exit status, or -1. */
static inline int snapshot_release(struct held_snapshot *h)
{
	int st;

	close(h->in);
	if (waitpid(h->pid, &st, 0) != h->pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

#endif /* _OTELTRACE_OTELCTL_UTIL_H */
