// SPDX-License-Identifier: GPL-2.0
/*
 * rusage: run a command and report what it cost, for the exporter
 * benchmark (GNU time is not always installed).
 *
 *   rusage OUTFILE CMD [ARGS...]
 * Runs CMD, then writes "user_s U sys_s S maxrss_kb M wall_s W status X"
 * to OUTFILE; exits with CMD's status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, code;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage OUTFILE CMD [ARGS...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 1;
	}
	if (!pid) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage: wait4");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) :
	       128 + WTERMSIG(status);
	out = fopen(argv[1], "w");
	if (!out) {
		perror("rusage: output");
		return 1;
	}
	fprintf(out, "user_s %.3f sys_s %.3f maxrss_kb %ld wall_s %.3f status %d\n",
		seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss,
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		code);
	fclose(out);
	return code;
}
