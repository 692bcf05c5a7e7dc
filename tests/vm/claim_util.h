/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the documented-claims tests (tests/vm/ring_claims_test.c, span_claims_test.c): load
 * and drive tests/kmod/otel_claimtest.ko, run otelctl, read one module
 * parameter of oteltrace, and wait for a thread to sleep in a system call
 * (with ring_util.h's wait_in_syscall()).
 */
#ifndef _OTELTRACE_CLAIM_UTIL_H
#define _OTELTRACE_CLAIM_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "vmtest.h"

#define CLAIMTEST_KO	"tests/kmod/otel_claimtest.ko"
#define CLAIMTEST_DEV	"/dev/otel_claimtest"

/* Load otel_claimtest.ko (oteltrace.ko must be loaded): 0 or -errno. */
static inline int claim_load(void)
{
	if (vm_module_loaded("otel_claimtest"))
		vm_unload_module("otel_claimtest");
	return vm_load_module(CLAIMTEST_KO, NULL);
}

/* Run "cmd [args]" in otel_claimtest: 0 or -errno. */
static inline int claim_cmd(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	ssize_t n;
	int fd, err;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(CLAIMTEST_DEV, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, strlen(buf));
	err = n < 0 ? -errno : (n == (ssize_t)strlen(buf) ? 0 : -EIO);
	close(fd);
	return err;
}

/* What the last successful otel_claimtest command returned, or -errno. */
static inline long claim_result(void)
{
	char buf[32] = "";
	int fd = open(CLAIMTEST_DEV, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -EIO;
}

/* Run build/otelctl ARGS, output discarded: its exit status, or -1. */
static inline int claim_otelctl(const char *args)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1",
		 vm_path("build/otelctl"), args);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* /sys/module/oteltrace/parameters/@name as a string ("" if unreadable). */
static inline const char *claim_param(const char *name)
{
	static char buf[64];
	char path[128];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/module/oteltrace/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return buf;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

#endif /* _OTELTRACE_CLAIM_UTIL_H */
