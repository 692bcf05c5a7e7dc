// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl exec [--traceparent TP] [--optional] -- CMD [ARGS...]: give this
 * process the W3C context TP (or $TRACEPARENT), then become CMD, so that
 * the kernel spans of CMD and of every thread and process it starts join
 * the caller's trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "otelctl.h"
#include "userspace/include/oteltrace_context.h"

/* Exit statuses of a CMD that could not be run, as env(1) and nice(1). */
#define EXIT_CANNOT_EXEC	126
#define EXIT_NOT_FOUND		127

static int usage(FILE *out, int status)
{
	fprintf(out, "Usage: %s exec [--traceparent TP] [--optional] -- CMD [ARGS...]\n\n"
		"Give this process the W3C trace context TP, then run CMD in its place.\n"
		"Kernel spans that CMD, its threads and the processes it starts begin\n"
		"with no current kernel span become children of TP's span: same trace\n"
		"id, parent span id from TP, sampled as TP's flags say (00: nothing is\n"
		"recorded).  Without --traceparent, TP is $TRACEPARENT; without either,\n"
		"CMD runs unchanged.\n\n"
		"  --traceparent TP  00-<32 hex trace id>-<16 hex span id>-<2 hex flags>,\n"
		"                    lower case, ids not all zero (W3C Trace Context)\n"
		"  --optional        if the context cannot be set (no module, limit\n"
		"                    reached), warn and run CMD anyway\n\n"
		"With --traceparent, CMD's $TRACEPARENT is set to TP, so that an\n"
		"OpenTelemetry SDK in CMD joins the same trace.  A malformed\n"
		"$TRACEPARENT is ignored, as W3C Trace Context says: a warning, and\n"
		"CMD runs without a context.\n\n"
		"Works for any user, through /dev/%s (or /dev/%s where that is\n"
		"missing, or $OTELCTL_DEVICE).  Exit status: 2 usage error or malformed\n"
		"--traceparent, 1 the context could not be set (CMD not run), 126 or 127\n"
		"CMD could not be run, else CMD's own.\n",
		prog, OTEL_CTX_DEVICE_NAME, OTEL_DEVICE_NAME);
	return status;
}

/* The device tried, for the messages: $OTELCTL_DEVICE or the usual two. */
static const char *ctx_path(void)
{
	const char *path = getenv("OTELCTL_DEVICE");

	return path && *path ? path : NULL;
}

static int ctx_open(void)
{
	const char *path = ctx_path();
	int fd;

	if (!path)
		return otel_ctx_open();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Set the context: 0 or -errno. */
static int set_context(const struct otel_context_req *req)
{
	struct otel_context_req r = *req;
	int fd = ctx_open(), ret;

	if (fd < 0)
		return fd;
	ret = ioctl(fd, OTEL_IOC_SET_TASK_CONTEXT, &r) ? -errno : 0;
	close(fd);
	return ret;
}

static const char *why(int err, char *buf, size_t len)
{
	const char *path = ctx_path();

	switch (err) {
	case -ENOENT:
		if (path)
			snprintf(buf, len, "no %s ($OTELCTL_DEVICE)", path);
		else
			snprintf(buf, len, "oteltrace.ko is not loaded (no /dev/"
				 OTEL_CTX_DEVICE_NAME " nor /dev/"
				 OTEL_DEVICE_NAME ")");
		return buf;
	case -EACCES:
	case -EPERM:
		return "no access to the oteltrace device (a module without /dev/"
		       OTEL_CTX_DEVICE_NAME " is root's only)";
	case -EDQUOT:
		return "this user holds its limit of trace contexts (module parameter context_per_user)";
	case -ENOSPC:
		return "the kernel holds as many trace contexts as it allows (module parameters context_remote_max, context_slots)";
	default:
		return strerror(-err);
	}
}

/*
 * @s as it can go to a terminal: printable ASCII as is, anything else (and
 * a backslash) as \xHH; at most 80 bytes of @s, "..." when there is more.
 */
static const char *escaped(const char *s, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] && i < 80 && o + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o] = '\0';
	if (s[i] && o + 4 < len)
		strcpy(out + o, "...");
	return out;
}

#define TP_WANT "  want 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>, lower case,\n" \
		"  ids not all zero"

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "traceparent", required_argument, NULL, 't' },
		{ "optional", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tp = NULL;
	bool from_env = false;
	struct otel_context_req req;
	int c, optional = 0, err;

	optind = 1;
	/* '+': stop at CMD, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+t:oh", opts, NULL)) != -1) {
		if (c == 't')
			tp = optarg;
		else if (c == 'o')
			optional = 1;
		else if (c == 'h')
			return usage(stdout, EXIT_OK);
		else
			return usage(stderr, EXIT_USAGE);
	}
	if (optind >= argc) {
		errorf("exec: no command to run (try '%s exec --help')", prog);
		return EXIT_USAGE;
	}
	if (!tp) {
		tp = getenv("TRACEPARENT");
		from_env = true;
		if (tp && !*tp)
			tp = NULL;
	}
	if (tp && otel_ctx_parse_traceparent(tp, &req)) {
		char e[512];

		escaped(tp, e, sizeof(e));
		if (!from_env) {
			/* typed on this command line: a usage error */
			errorf("exec: malformed traceparent in --traceparent: '%s'\n"
			       TP_WANT "; %s not run", e, argv[optind]);
			return EXIT_USAGE;
		}
		/*
		 * Inherited: W3C Trace Context says an invalid traceparent is
		 * ignored, so CMD runs, with no context.
		 */
		errorf("exec: ignoring a malformed $TRACEPARENT: '%s'\n" TP_WANT
		       "; running %s without a trace context", e, argv[optind]);
		tp = NULL;
	}
	if (tp) {
		char buf[160];

		err = set_context(&req);
		if (err && !optional) {
			errorf("exec: cannot set the trace context: %s; %s not run",
			       why(err, buf, sizeof(buf)), argv[optind]);
			return EXIT_RUNTIME;
		}
		if (err)
			errorf("exec: cannot set the trace context: %s; running %s without it",
			       why(err, buf, sizeof(buf)), argv[optind]);
		/* CMD's own OpenTelemetry SDK joins the same trace */
		if (!from_env && setenv("TRACEPARENT", tp, 1)) {
			errorf("exec: cannot set $TRACEPARENT: %s; %s not run",
			       strerror(errno), argv[optind]);
			return EXIT_RUNTIME;
		}
	}
	execvp(argv[optind], argv + optind);
	err = errno;
	errorf("exec: %s: %s", argv[optind], strerror(err));
	return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}
