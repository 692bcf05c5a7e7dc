/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the bridge tests (tests/vm/bridge*_test.c): the trace context
 * they run under, switching and reading bridges through the ioctls.
 */
#ifndef BRIDGE_UTIL_H
#define BRIDGE_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "uapi/oteltrace.h"

/* The W3C context the tests' traced tasks carry (the W3C example ids). */
static const uint8_t tid[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d,
				 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
				 0x47, 0x36 };
static const uint8_t sid[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02,
				0xb7 };

/* OTEL_IOC_SET_BRIDGE: 0 or -errno. */
static inline int bridge_set(int fd, const char *name, unsigned int mode)
{
	struct otel_bridge_req req = { .size = sizeof(req), .mode = mode };

	snprintf(req.name, sizeof(req.name), "%s", name);
	return ioctl(fd, OTEL_IOC_SET_BRIDGE, &req) ? -errno : 0;
}

/* OTEL_IOC_GET_BRIDGE of the bridge called @name: 0 or -errno. */
static inline int bridge_get(int fd, const char *name, struct otel_bridge_req *out)
{
	unsigned int i;

	for (i = 0;; i++) {
		memset(out, 0, sizeof(*out));
		out->size = sizeof(*out);
		out->index = i;
		if (ioctl(fd, OTEL_IOC_GET_BRIDGE, out))
			return -errno;
		if (!strcmp(out->name, name))
			return 0;
	}
}

/* The calling thread's remote context: tid, sid, sampled. */
static inline int set_context(int fd)
{
	struct otel_context_req req = { .trace_flags = OTEL_TRACE_FLAG_SAMPLED };

	memcpy(req.trace_id, tid, 16);
	memcpy(req.span_id, sid, 8);
	return ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &req) ? -errno : 0;
}

#endif
