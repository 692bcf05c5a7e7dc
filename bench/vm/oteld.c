// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: oteld as the throughput benchmark's reader, exporting to a null
 * OTLP/HTTP receiver on the guest's loopback (build/bench/null_receiver,
 * which counts the spans that arrive).  oteld's log goes to
 * build/bench/oteld-vm.log.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kbench.h"

/* Start @argv with stdout on a pipe (*out), stderr appended to @log. */
static pid_t spawn(char *const argv[], int cpu, int *out, const char *log)
{
	int p[2] = { -1, -1 }, null, err;
	pid_t pid;

	if (out && pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		null = open("/dev/null", O_RDWR);
		err = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
		dup2(out ? p[1] : null, 1);
		dup2(err >= 0 ? err : null, 2);
		kb_pin(cpu);
		execv(argv[0], argv);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

/* Wait for @pid up to @ms, then kill it. */
static void reap(pid_t pid, int ms)
{
	const struct timespec tick = { 0, 10000000 };
	int i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int kb_oteld_start(struct kb_oteld *o, const char *oteld, int cpu, char *err,
		   size_t errlen)
{
	char self[PATH_MAX], rx[PATH_MAX + 32], log[PATH_MAX + 32];
	char url[64], line[64];
	char *rx_argv[] = { rx, NULL };
	char *argv[] = { (char *)oteld, NULL };
	const struct timespec settle = { 1, 0 };
	ssize_t n;
	int port;

	memset(o, 0, sizeof(*o));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		snprintf(err, errlen, "readlink: %s", strerror(errno));
		return -errno;
	}
	self[n] = '\0';
	dirname(self);
	snprintf(rx, sizeof(rx), "%s/null_receiver", self);
	snprintf(log, sizeof(log), "%s/oteld-vm.log", self);
	o->rx = spawn(rx_argv, -1, &o->rx_out, NULL);
	if (o->rx < 0) {
		snprintf(err, errlen, "cannot start %s", rx);
		return -EIO;
	}
	n = read(o->rx_out, line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	if (sscanf(line, "port %d", &port) != 1) {
		snprintf(err, errlen, "null receiver did not start");
		kill(o->rx, SIGKILL);
		waitpid(o->rx, NULL, 0);
		return -EIO;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_SERVICE_NAME", "otel-bench", 1);
	o->oteld = spawn(argv, cpu, NULL, log);
	if (o->oteld < 0) {
		snprintf(err, errlen, "cannot start %s", oteld);
		kill(o->rx, SIGTERM);
		reap(o->rx, 2000);
		return -EIO;
	}
	nanosleep(&settle, NULL);	/* let it open and map the rings */
	if (waitpid(o->oteld, NULL, WNOHANG) == o->oteld) {
		snprintf(err, errlen, "%s exited at start, see %s", oteld,
			 log);
		kill(o->rx, SIGTERM);
		reap(o->rx, 2000);
		return -EIO;
	}
	return 0;
}

/* Stop oteld (it drains and flushes on SIGTERM), then the receiver. */
void kb_oteld_stop(struct kb_oteld *o, uint64_t *spans)
{
	char buf[256];
	ssize_t n;

	*spans = 0;
	kill(o->oteld, SIGTERM);
	reap(o->oteld, 20000);
	kill(o->rx, SIGTERM);
	n = read(o->rx_out, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "requests %*u bytes %*u spans %" SCNu64, spans) != 1)
		*spans = 0;
	reap(o->rx, 2000);
	close(o->rx_out);
}
