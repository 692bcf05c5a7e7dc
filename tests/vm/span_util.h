/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the span tests (tests/vm/span_*.c): load oteltrace.ko and the
 * span test module, run a command of tests/kmod/otel_spantest.c, set the
 * sampler through the module parameters.
 */
#ifndef _OTELTRACE_SPAN_UTIL_H
#define _OTELTRACE_SPAN_UTIL_H

#include <stdarg.h>

#include "records.h"
#include "vmtest.h"

#define SPANTEST_KO	"tests/kmod/otel_spantest.ko"
#define DEMO_KO		"kmod/demo/otel_demo.ko"

/* Write a string to a file: 0 or -errno. */
static inline int span_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : (n == (ssize_t)strlen(s) ? 0 : -EIO);
	close(fd);
	return err;
}

/* Run "cmd [n]" in otel_spantest: 0 or -errno. */
static inline int span_cmd(const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return span_write_file("/dev/otel_spantest", buf);
}

/* Set oteltrace.sampler (a name) and oteltrace.ratio (ppm). */
static inline int span_sampler(const char *sampler, unsigned int ratio)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%u", ratio);
	err = span_write_file("/sys/module/oteltrace/parameters/ratio", buf);
	if (!err)
		err = span_write_file("/sys/module/oteltrace/parameters/sampler",
				      sampler);
	return err;
}

/* Load oteltrace (with @params) and @extra_ko; returns the record fd. */
static inline int span_load(const char *params, const char *extra_ko)
{
	int err;

	vm_unload_module("otel_spantest");
	vm_unload_module("otel_demo");
	err = vm_load_oteltrace(params);
	if (err)
		return err;
	if (extra_ko) {
		err = vm_load_module(extra_ko, NULL);
		if (err)
			return err;
	}
	return rec_open();
}

static inline void span_unload(int fd)
{
	if (fd >= 0)
		close(fd);
	vm_unload_module("otel_spantest");
	vm_unload_module("otel_demo");
	vm_unload_module("oteltrace");
}

static inline int span_is_zero_id(const uint8_t *id, size_t n)
{
	return rec_is_zero(id, n);
}

/* Lower-case hex of @n bytes into a static buffer (for messages). */
static inline const char *span_hex(const uint8_t *id, size_t n)
{
	static char buf[4][2 * OTEL_TRACE_ID_SIZE + 1];
	static int next;
	char *out = buf[next++ % 4];
	size_t i;

	for (i = 0; i < n && i < OTEL_TRACE_ID_SIZE; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	return out;
}

#endif /* _OTELTRACE_SPAN_UTIL_H */
