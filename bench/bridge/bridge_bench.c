// SPDX-License-Identifier: GPL-2.0
/*
 * bridge_bench: what each bridge costs an untraced task, in the guest.
 *
 *	bridge_bench --oteltrace kmod/oteltrace.ko [--rounds N] [--ops N]
 *
 * The tracepoint fires and nothing is recorded: the bridge in traced mode,
 * the task without a trace context.  Against the same operation with the
 * bridge off (the tracepoint with no probe attached), in alternating
 * batches of one run on one CPU; the ratio is of the medians.
 *   syscall: getppid() in a loop;
 *   syscall, slots in use: the same while another task holds a remote
 *	context, so the filter's table lookup runs in full (a miss);
 *   block: 4 KiB O_DIRECT writes to the scratch disk /dev/vda (skipped
 *	without one), submit to completion;
 *   irq: all mode only (an interrupt has no task): no untraced figure.
 * Prints "name: value unit" lines (scripts/bench collects them).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi/oteltrace.h"

static unsigned int rounds = 31, ops = 20000;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int set_bridge(int fd, const char *name, unsigned int mode)
{
	struct otel_bridge_req req = { .size = sizeof(req), .mode = mode };

	snprintf(req.name, sizeof(req.name), "%s", name);
	return ioctl(fd, OTEL_IOC_SET_BRIDGE, &req) ? -errno : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void op_getppid(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < ops; i++)
		syscall(SYS_getppid);
}

static char *dio_buf;
static unsigned int dio_ops = 64;

static void op_dio(void *arg)
{
	int fd = *(int *)arg;
	unsigned int i;

	for (i = 0; i < dio_ops; i++) {
		if (pwrite(fd, dio_buf, 4096, (off_t)(i % 256) * 4096) != 4096) {
			perror("bridge_bench: pwrite /dev/vda");
			exit(1);
		}
	}
}

/* Alternate off / traced batches; print both medians and their ratio. */
static int measure(int fd, const char *bridge, const char *name,
		   void (*op)(void *), void *arg, unsigned int per_batch)
{
	double *off = calloc(rounds, sizeof(double));
	double *on = calloc(rounds, sizeof(double));
	unsigned int r;
	uint64_t t;
	double m_off, m_on;

	if (!off || !on)
		return -ENOMEM;
	op(arg);	/* warm up */
	for (r = 0; r < rounds; r++) {
		if (set_bridge(fd, bridge, OTEL_BRIDGE_OFF))
			return -errno;
		t = now_ns();
		op(arg);
		off[r] = (double)(now_ns() - t) / per_batch;
		if (set_bridge(fd, bridge, OTEL_BRIDGE_TRACED))
			return -errno;
		t = now_ns();
		op(arg);
		on[r] = (double)(now_ns() - t) / per_batch;
	}
	set_bridge(fd, bridge, OTEL_BRIDGE_OFF);
	m_off = median(off, rounds);
	m_on = median(on, rounds);
	printf("bridge %s, untraced task, no probe: %.1f ns/op\n", name, m_off);
	printf("bridge %s, untraced task, bridge on: %.1f ns/op\n", name, m_on);
	printf("bridge %s, untraced task, ratio: %.3f x\n", name, m_on / m_off);
	free(off);
	free(on);
	return 0;
}

/* A task that holds a remote context (a slot) until killed. */
static pid_t traced_sleeper(int fd)
{
	struct otel_context_req req = { .trace_flags = 1 };
	int p[2];
	pid_t pid;
	char c;

	memset(req.trace_id, 0x11, sizeof(req.trace_id));
	memset(req.span_id, 0x22, sizeof(req.span_id));
	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		if (ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &req))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

int main(int argc, char **argv)
{
	const char *ko = "kmod/oteltrace.ko";
	cpu_set_t set;
	int fd, kfd, i, dfd;
	pid_t sleeper;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--oteltrace") && i + 1 < argc)
			ko = argv[++i];
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			ops = strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: bridge_bench [--oteltrace KO] [--rounds N] [--ops N]\n");
			return 2;
		}
	}
	if (!rounds || !ops)
		return 2;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);

	syscall(SYS_delete_module, "oteltrace", O_NONBLOCK);
	kfd = open(ko, O_RDONLY | O_CLOEXEC);
	if (kfd < 0 || syscall(SYS_finit_module, kfd, "", 0)) {
		perror("bridge_bench: load oteltrace.ko");
		return 1;
	}
	close(kfd);
	fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("bridge_bench: /dev/oteltrace");
		return 1;
	}

	printf("# bridges: %u rounds, alternating off/on, medians; getppid x %u per batch\n",
	       rounds, ops);
	if (measure(fd, "syscall", "syscall (getppid)", op_getppid, NULL, ops))
		return 1;
	sleeper = traced_sleeper(fd);
	if (sleeper > 0) {
		if (measure(fd, "syscall", "syscall (getppid), slots in use",
			    op_getppid, NULL, ops))
			return 1;
		kill(sleeper, SIGKILL);
		waitpid(sleeper, NULL, 0);
	}

	dfd = open("/dev/vda", O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0 || posix_memalign((void **)&dio_buf, 4096, 4096)) {
		printf("bridge block (4 KiB O_DIRECT write): skipped (no scratch disk /dev/vda)\n");
	} else {
		memset(dio_buf, 0x5a, 4096);
		if (measure(fd, "block", "block (4 KiB O_DIRECT write)", op_dio,
			    &dfd, dio_ops))
			return 1;
		close(dfd);
	}
	printf("bridge irq, untraced task: n/a (all mode only: an interrupt belongs to no task)\n");
	close(fd);
	syscall(SYS_delete_module, "oteltrace", O_NONBLOCK);
	return 0;
}
