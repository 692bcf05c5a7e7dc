/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * oteltrace_context.h: put the calling thread's kernel spans into your
 * application's trace.  Header only, no library; any user may call it.
 *
 *	#include <oteltrace/oteltrace_context.h>	(installed: make install,
 *						 or the oteld package)
 *	#include "oteltrace_context.h"	(a source tree:
 *					 cc -I/path/to/oteltrace/userspace/include)
 *
 *	otel_ctx_set_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 *	...	kernel spans this thread begins with no current kernel span
 *	...	are children of span 00f067aa0ba902b7 of that trace
 *	otel_ctx_clear();
 *
 * The context belongs to the calling thread (not the process); threads and
 * processes it creates afterwards inherit it, an exec keeps it (unless it
 * raises privileges: set-user-ID), and it goes when the thread exits.  The trace
 * flags decide sampling under oteltrace's parent-based samplers (the
 * default): 01 records, 00 records nothing.  The calls go through
 * /dev/oteltrace-ctx (mode 0666), or /dev/oteltrace where that is missing
 * (an older module; root only).
 *
 * Every function returns 0 or a negative errno (and leaves errno set):
 * -EINVAL a malformed traceparent, -ENOENT oteltrace.ko is not loaded,
 * -EDQUOT your uid holds its limit of contexts (module parameter
 * context_per_user), -ENOSPC the kernel's context table is full.
 */
#ifndef _OTELTRACE_CONTEXT_H_USER
#define _OTELTRACE_CONTEXT_H_USER

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * The uapi header: beside this one in a source tree (uapi/, two levels up),
 * else installed as <oteltrace/oteltrace.h> (PREFIX/include/oteltrace/).
 */
#if defined(__has_include)
#if __has_include("../../uapi/oteltrace.h")
#include "../../uapi/oteltrace.h"
#else
#include <oteltrace/oteltrace.h>
#endif
#else
#include <oteltrace/oteltrace.h>
#endif

/*
 * Linux only.  O_CLOEXEC is POSIX.1-2008: strict ISO C modes (-std=c11,
 * no feature macro) hide it; glibc still has it as __O_CLOEXEC, which has
 * the right value for every architecture.  Otherwise, compile with
 * -D_GNU_SOURCE or -D_POSIX_C_SOURCE=200809L.
 */
#if defined(O_CLOEXEC)
#define OTEL_CTX__O_CLOEXEC	O_CLOEXEC
#elif defined(__O_CLOEXEC)
#define OTEL_CTX__O_CLOEXEC	__O_CLOEXEC
#else
#error "oteltrace_context.h needs O_CLOEXEC: -D_POSIX_C_SOURCE=200809L or -D_GNU_SOURCE"
#endif

/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define OTEL_CTX_TRACEPARENT_LEN	55

static inline int otel_ctx__hex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		/* W3C: lower-case hex only. */
		if (!((hi >= '0' && hi <= '9') || (hi >= 'a' && hi <= 'f')) ||
		    !((lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f')))
			return -1;
		hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static inline int otel_ctx__zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/**
 * otel_ctx_parse_traceparent() - parse a W3C traceparent value
 * @tp:		"00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"
 * @req:	out: the request for OTEL_IOC_SET_TASK_CONTEXT
 *
 * As W3C Trace Context asks: version 00 is exactly 55 characters; a later
 * version (01 to fe) may carry more fields after a '-', which are ignored;
 * version ff, upper-case hex and all-zero trace or span ids are invalid.
 * The same rules as the kernel's otel_traceparent_parse().
 *
 * Return: 0, or -EINVAL (@req zeroed).
 */
static inline int otel_ctx_parse_traceparent(const char *tp,
					     struct otel_context_req *req)
{
	unsigned char version;
	size_t len;

	memset(req, 0, sizeof(*req));
	if (!tp)
		goto err;
	len = strlen(tp);
	if (len < OTEL_CTX_TRACEPARENT_LEN || otel_ctx__hex(tp, &version, 1) ||
	    version == 0xff ||
	    (version == 0 && len != OTEL_CTX_TRACEPARENT_LEN) ||
	    (len > OTEL_CTX_TRACEPARENT_LEN &&
	     tp[OTEL_CTX_TRACEPARENT_LEN] != '-'))
		goto err;
	if (tp[2] != '-' || tp[35] != '-' || tp[52] != '-' ||
	    otel_ctx__hex(tp + 3, req->trace_id, OTEL_TRACE_ID_SIZE) ||
	    otel_ctx__hex(tp + 36, req->span_id, OTEL_SPAN_ID_SIZE) ||
	    otel_ctx__hex(tp + 53, &req->trace_flags, 1) ||
	    otel_ctx__zero(req->trace_id, OTEL_TRACE_ID_SIZE) ||
	    otel_ctx__zero(req->span_id, OTEL_SPAN_ID_SIZE))
		goto err;
	return 0;
err:
	memset(req, 0, sizeof(*req));
	errno = EINVAL;
	return -EINVAL;
}

/**
 * otel_ctx_open() - a descriptor for the context ioctls
 *
 * Return: the descriptor (O_CLOEXEC), or -ENOENT (no module loaded) or
 * another negative errno of open().
 */
static inline int otel_ctx_open(void)
{
	int fd = open("/dev/" OTEL_CTX_DEVICE_NAME,
		      O_RDONLY | OTEL_CTX__O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		fd = open("/dev/" OTEL_DEVICE_NAME,
			  O_RDONLY | OTEL_CTX__O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One ioctl on a descriptor of its own: 0 or -errno. */
static inline int otel_ctx__ioctl(unsigned long cmd,
				  struct otel_context_req *req)
{
	int fd = otel_ctx_open(), ret, err;

	if (fd < 0)
		return fd;
	ret = ioctl(fd, cmd, req) ? -errno : 0;
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

/**
 * otel_ctx_set_traceparent() - make @tp the calling thread's context
 * @tp:		a W3C traceparent value (otel_ctx_parse_traceparent())
 *
 * Return: 0 or a negative errno (see the top of this file).
 */
static inline int otel_ctx_set_traceparent(const char *tp)
{
	struct otel_context_req req;

	if (otel_ctx_parse_traceparent(tp, &req))
		return -EINVAL;
	return otel_ctx__ioctl(OTEL_IOC_SET_TASK_CONTEXT, &req);
}

/**
 * otel_ctx_clear() - drop the calling thread's context
 *
 * Return: 0 or a negative errno.
 */
static inline int otel_ctx_clear(void)
{
	struct otel_context_req req;

	memset(&req, 0, sizeof(req));
	return otel_ctx__ioctl(OTEL_IOC_SET_TASK_CONTEXT, &req);
}

/**
 * otel_ctx_get() - the calling thread's context
 * @req:	out: its current kernel span, else its remote context, else
 *		all zero
 *
 * Return: 0 or a negative errno.
 */
static inline int otel_ctx_get(struct otel_context_req *req)
{
	memset(req, 0, sizeof(*req));
	return otel_ctx__ioctl(OTEL_IOC_GET_TASK_CONTEXT, req);
}

#endif /* _OTELTRACE_CONTEXT_H_USER */
