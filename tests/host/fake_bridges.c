// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for bridges_test.c: OTEL_IOC_GET_BRIDGE answered from a
 * fixed list (names that need JSON escaping), failing with EIO at index
 * $FAKE_BRIDGE_FAIL_AT when set; every other ioctl goes to the kernel.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uapi/oteltrace.h"

static const char *const names[] = { "sys\"call", "bl\\ock", "i\trq" };

int ioctl(int fd, unsigned long req, ...)
{
	struct otel_bridge_req *r;
	const char *fail = getenv("FAKE_BRIDGE_FAIL_AT");
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req != OTEL_IOC_GET_BRIDGE)
		return syscall(SYS_ioctl, fd, req, arg);
	r = arg;
	if (fail && r->index == (unsigned int)atoi(fail)) {
		errno = EIO;
		return -1;
	}
	if (r->index >= sizeof(names) / sizeof(names[0])) {
		errno = ENOENT;
		return -1;
	}
	strncpy(r->name, names[r->index], sizeof(r->name) - 1);
	r->mode = r->index;
	r->spans = 10 + r->index;
	r->dropped = r->index;
	return 0;
}
