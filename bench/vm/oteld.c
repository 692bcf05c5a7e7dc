// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: oteld as the throughput benchmark's reader, exporting to a null
 * OTLP/HTTP receiver on the guest's loopback (build/bench/null_receiver,
 * which counts the spans that arrive), or with --receiver to one outside
 * the guest, as a Collector would be (then oteld's own count stands for
 * the receiver's: spans acknowledged, less those a partial success
 * rejected).  oteld's log goes to
 * build/bench/oteld-vm.log, its counters to build/bench/oteld-vm.stats.
 *
 * A run starts once oteld is ready: it has mapped the rings and started its
 * exporter threads.  Under TCG, with the root file system on 9p, loading
 * oteld and its libraries can take seconds on a busy host; a run started
 * before would measure the start-up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	if (pid < 0) {
		if (out) {
			close(p[0]);
			close(p[1]);
		}
		return -1;
	}
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

/* Has oteld @pid mapped the rings and started a thread beside the reader? */
static bool ready(pid_t pid)
{
	char path[64], line[512];
	bool mapped = false;
	struct dirent *d;
	int threads = 0;
	FILE *f;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!mapped && fgets(line, sizeof(line), f))
		mapped = strstr(line, "/dev/" OTEL_DEVICE_NAME) != NULL;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((d = readdir(dir)))
		threads += d->d_name[0] != '.';
	closedir(dir);
	return mapped && threads > 1;
}

/*
 * Wait for @pid up to @ms, then kill it.  Return: true if it exited by
 * itself (not by a signal).
 */
static bool reap(pid_t pid, int ms)
{
	const struct timespec tick = { 0, 10000000 };
	int i, status;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status);
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return false;
}

/*
 * Can a TCP connection be made to "http://HOST:PORT..." @url within 2 s?
 * A receiver outside the guest needs the guest's network (scripts/vm
 * --fwd); without it every export would fail until oteld is killed.  With
 * it, QEMU's user network accepts the connection itself (and starts the
 * forwarding nc for it): this proves the route, not that the host's
 * receiver listens.
 */
static int reachable(const char *url, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct pollfd p = { .events = POLLOUT };
	char host[256], port[8];
	int ret = -EHOSTUNREACH, soerr = 0;
	socklen_t len = sizeof(soerr);

	if (sscanf(url, "http://%255[^:/]:%7[0-9]", host, port) != 2) {
		snprintf(err, errlen, "--receiver %s: not http://HOST:PORT",
			 url);
		return -EINVAL;
	}
	if (getaddrinfo(host, port, &hints, &ai) || !ai) {
		snprintf(err, errlen, "--receiver %s: cannot resolve %s:%s",
			 url, host, port);
		return -EINVAL;
	}
	p.fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		      SOCK_CLOEXEC, 0);
	if (p.fd >= 0 &&
	    (!connect(p.fd, ai->ai_addr, ai->ai_addrlen) ||
	     (errno == EINPROGRESS && poll(&p, 1, 2000) == 1 &&
	      !getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) &&
	      !soerr)))
		ret = 0;
	if (p.fd >= 0)
		close(p.fd);
	freeaddrinfo(ai);
	if (ret)
		snprintf(err, errlen,
			 "--receiver %s: cannot connect (no network in the guest? scripts/vm --fwd PORT)",
			 url);
	return ret;
}

/* The null receiver in the guest: its pid in o->rx, its URL in @url. */
static int start_receiver(struct kb_oteld *o, const char *dir, char *url,
			  size_t urllen, char *err, size_t errlen)
{
	char rx[PATH_MAX + 32], line[64];
	char *rx_argv[] = { rx, NULL };
	ssize_t n;
	int port;

	snprintf(rx, sizeof(rx), "%s/null_receiver", dir);
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
		close(o->rx_out);
		o->rx = o->rx_out = -1;
		return -EIO;
	}
	snprintf(url, urllen, "http://127.0.0.1:%d", port);
	return 0;
}

static bool reap_term(pid_t pid)
{
	kill(pid, SIGTERM);
	return reap(pid, 40000);
}

/*
 * Stop the null receiver in the guest; its count of spans in *@spans (if
 * not NULL).  Return: whether it gave one.
 */
static bool stop_receiver(struct kb_oteld *o, uint64_t *spans)
{
	char buf[256];
	ssize_t n;

	if (o->rx < 0)
		return false;
	kill(o->rx, SIGTERM);
	n = spans ? read(o->rx_out, buf, sizeof(buf) - 1) : 0;
	buf[n > 0 ? n : 0] = '\0';
	reap(o->rx, 2000);
	close(o->rx_out);
	return spans &&
	       sscanf(buf, "requests %*u bytes %*u spans %" SCNu64, spans) == 1;
}

int kb_oteld_start(struct kb_oteld *o, const char *oteld,
		   const char *receiver, int cpu, char *err, size_t errlen)
{
	char self[PATH_MAX], log[PATH_MAX + 32], url[64];
	char *argv[] = { (char *)oteld, "--stats-file", o->stats, NULL };
	const struct timespec tick = { 0, 10000000 };
	ssize_t n;
	int i;

	memset(o, 0, sizeof(*o));
	o->rx = -1;
	o->rx_out = -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		snprintf(err, errlen, "readlink: %s", strerror(errno));
		return -errno;
	}
	self[n] = '\0';
	dirname(self);
	snprintf(log, sizeof(log), "%s/oteld-vm.log", self);
	snprintf(o->stats, sizeof(o->stats), "%s/oteld-vm.stats", self);
	unlink(o->stats);
	if (receiver && reachable(receiver, err, errlen))
		return -EHOSTUNREACH;
	if (!receiver && start_receiver(o, self, url, sizeof(url), err, errlen))
		return -EIO;
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver ? receiver : url, 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_SERVICE_NAME", "otel-bench", 1);
	o->oteld = spawn(argv, cpu, NULL, log);
	if (o->oteld < 0) {
		snprintf(err, errlen, "cannot start %s", oteld);
		stop_receiver(o, NULL);
		return -EIO;
	}
	for (i = 0; i < 6000 && !ready(o->oteld); i++) {
		if (waitpid(o->oteld, NULL, WNOHANG) == o->oteld) {
			snprintf(err, errlen, "%s exited at start, see %s",
				 oteld, log);
			stop_receiver(o, NULL);
			return -EIO;
		}
		nanosleep(&tick, NULL);
	}
	if (i == 6000) {
		snprintf(err, errlen, "%s not ready after 60 s, see %s", oteld,
			 log);
		kill(o->oteld, SIGKILL);
		waitpid(o->oteld, NULL, 0);
		stop_receiver(o, NULL);
		return -EIO;
	}
	return 0;
}

/* The value of "@key": in oteld's one-line JSON @json, 0 if absent. */
static uint64_t counter(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	return p ? strtoull(p + strlen(k), NULL, 10) : 0;
}

static void read_counts(const char *path, struct kb_oteld_counts *c)
{
	char json[4096];
	size_t n;
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(json, 1, sizeof(json) - 1, f);
	fclose(f);
	json[n] = '\0';
	c->records = counter(json, "records");
	c->queued = counter(json, "spans_queued");
	c->exported = counter(json, "spans_exported");
	c->dropped_queue_full = counter(json, "dropped_queue_full");
	c->dropped_export_failed = counter(json, "dropped_export_failed");
	c->dropped_too_big = counter(json, "dropped_too_big");
	c->requests = counter(json, "export_requests");
	c->partial_rejected = counter(json, "partial_rejected");
	c->valid = n > 0;
}

/*
 * Stop oteld (it drains and flushes on SIGTERM), then the receiver.  oteld
 * may retry an export for up to its export timeout (30 s) after SIGTERM.
 */
bool kb_oteld_stop(struct kb_oteld *o, uint64_t *spans,
		   struct kb_oteld_counts *counts)
{
	bool exited = reap_term(o->oteld);

	read_counts(o->stats, counts);
	/* killed or crashed: the counters in its file are not its last */
	counts->valid &= exited;
	*spans = 0;
	if (o->rx < 0) {
		/* a receiver outside the guest: what it accepted from oteld */
		if (!counts->valid)
			return false;
		*spans = counts->exported > counts->partial_rejected ?
			 counts->exported - counts->partial_rejected : 0;
		return true;
	}
	return stop_receiver(o, spans);
}
