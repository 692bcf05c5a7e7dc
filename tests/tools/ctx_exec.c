// SPDX-License-Identifier: GPL-2.0
/*
 * ctx_exec: run a command as a child of the W3C context in $TRACEPARENT.
 *
 *	TRACEPARENT=00-<trace id>-<span id>-01 ctx_exec [--] CMD [ARGS...]
 *
 * Sets the calling thread's remote context with OTEL_IOC_SET_TASK_CONTEXT
 * and execs CMD, which keeps it (the same task).  A test stand-in for
 * `otelctl exec` (the bridge tests call it through one macro, CTX_EXEC in
 * tests/vm/bridge_test.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/oteltrace.h"

static int hex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	unsigned int v;

	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *tp = getenv("TRACEPARENT");
	struct otel_context_req req;
	unsigned char flags;
	int fd, first = 1;

	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	if (first >= argc || !tp || strlen(tp) != 55 || tp[2] != '-' ||
	    tp[35] != '-' || tp[52] != '-') {
		fprintf(stderr, "usage: TRACEPARENT=00-<32 hex>-<16 hex>-<2 hex> ctx_exec [--] CMD [ARGS...]\n");
		return 2;
	}
	memset(&req, 0, sizeof(req));
	if (hex(tp + 3, req.trace_id, 16) || hex(tp + 36, req.span_id, 8) ||
	    hex(tp + 53, &flags, 1)) {
		fprintf(stderr, "ctx_exec: bad TRACEPARENT %s\n", tp);
		return 2;
	}
	req.trace_flags = flags;
	fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &req)) {
		fprintf(stderr, "ctx_exec: /dev/%s: %s\n", OTEL_DEVICE_NAME,
			strerror(errno));
		return 1;
	}
	close(fd);
	execvp(argv[first], argv + first);
	fprintf(stderr, "ctx_exec: %s: %s\n", argv[first], strerror(errno));
	return 127;
}
