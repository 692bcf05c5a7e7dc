// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl bridges: list the bridges (spans from existing kernel
 * tracepoints, docs/bridges.md) with their mode and counters, or switch
 * some on or off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "otelctl.h"

static const char *const mode_names[] = { "off", "traced", "all" };
#define NR_MODES (sizeof(mode_names) / sizeof(mode_names[0]))

static int usage(FILE *out, int status)
{
	fprintf(out, "Usage: %s bridges [--json]\n"
		"       %s bridges enable [--all] NAME[:traced|:all]...\n"
		"       %s bridges disable NAME...\n\n"
		"A bridge turns a pair of kernel tracepoints into spans (syscall,\n"
		"block, irq).  Without arguments list them: name, mode, spans begun,\n"
		"spans dropped.  'enable' switches bridges on in traced mode (only\n"
		"tasks that carry a trace context) or, with --all or NAME:all, for\n"
		"everything; 'disable' switches them off.  Changing needs\n"
		"CAP_SYS_ADMIN.\n", prog, prog, prog);
	return status;
}

/* @s as a JSON string: quotes, backslash and bytes outside ASCII escaped */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/*
 * The list is made whole in memory and printed only then: an error half
 * way prints nothing on stdout (no cut table, no unterminated JSON), only
 * the error on stderr.
 */
static int list(int fd, int json)
{
	struct otel_bridge_req req;
	char *text = NULL;
	size_t len = 0;
	unsigned int i;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		errorf("bridges: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (json)
		fputc('[', f);
	for (i = 0;; i++) {
		const char *mode;

		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.index = i;
		if (ioctl(fd, OTEL_IOC_GET_BRIDGE, &req)) {
			if (errno == ENOENT)
				break;
			errorf("bridges: bridge %u: %s", i, strerror(errno));
			fclose(f);
			free(text);
			return EXIT_RUNTIME;
		}
		req.name[sizeof(req.name) - 1] = '\0';
		mode = req.mode < NR_MODES ? mode_names[req.mode] : "unknown";
		if (json) {
			fputs(i ? ",{\"name\":" : "{\"name\":", f);
			json_string(f, req.name);
			fprintf(f, ",\"mode\":\"%s\",\"spans\":%llu,\"dropped\":%llu}",
				mode, (unsigned long long)req.spans,
				(unsigned long long)req.dropped);
			continue;
		}
		if (!i)
			fprintf(f, "%-10s %-7s %12s %12s\n", "NAME", "MODE",
				"SPANS", "DROPPED");
		fprintf(f, "%-10s %-7s %12llu %12llu\n", req.name, mode,
			(unsigned long long)req.spans,
			(unsigned long long)req.dropped);
	}
	if (json)
		fputs("]\n", f);
	if (fclose(f)) {
		errorf("bridges: %s", strerror(errno));
		free(text);
		return EXIT_RUNTIME;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return EXIT_OK;
}

/* "name" or "name:mode" into @req; -1 if the mode is not known. */
static int parse_target(const char *arg, unsigned int dflt,
			struct otel_bridge_req *req)
{
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	unsigned int m;

	memset(req, 0, sizeof(*req));
	req->size = sizeof(*req);
	req->mode = dflt;
	if (!len || len >= sizeof(req->name))
		return -1;
	memcpy(req->name, arg, len);
	if (!colon)
		return 0;
	for (m = 1; m < NR_MODES; m++) {
		if (!strcmp(colon + 1, mode_names[m])) {
			req->mode = dflt == OTEL_BRIDGE_OFF ? OTEL_BRIDGE_OFF : m;
			return dflt == OTEL_BRIDGE_OFF ? -1 : 0;
		}
	}
	return -1;
}

int cmd_bridges(int argc, char **argv)
{
	struct otel_bridge_req req;
	unsigned int mode;
	int fd, i, first, ret = EXIT_OK;

	if (wants_help(argc, argv))
		return usage(stdout, EXIT_OK);
	if (argc == 1 || (argc == 2 && !strcmp(argv[1], "--json"))) {
		fd = dev_open();
		if (fd < 0)
			return EXIT_RUNTIME;
		ret = list(fd, argc == 2);
		close(fd);
		return ret;
	}
	if (!strcmp(argv[1], "enable")) {
		mode = OTEL_BRIDGE_TRACED;
	} else if (!strcmp(argv[1], "disable")) {
		mode = OTEL_BRIDGE_OFF;
	} else {
		errorf("bridges: unknown argument '%s' (try '%s bridges --help')",
		       argv[1], prog);
		return EXIT_USAGE;
	}
	first = 2;
	if (mode && argc > 2 && !strcmp(argv[2], "--all")) {
		mode = OTEL_BRIDGE_ALL;
		first = 3;
	}
	if (first >= argc) {
		errorf("bridges %s: no bridge named (try '%s bridges --help')",
		       argv[1], prog);
		return EXIT_USAGE;
	}
	for (i = first; i < argc; i++) {
		if (parse_target(argv[i], mode, &req)) {
			errorf("bridges %s: bad bridge '%s' (try '%s bridges --help')",
			       argv[1], argv[i], prog);
			return EXIT_USAGE;
		}
	}
	fd = dev_open();
	if (fd < 0)
		return EXIT_RUNTIME;
	for (i = first; i < argc; i++) {
		parse_target(argv[i], mode, &req);
		if (ioctl(fd, OTEL_IOC_SET_BRIDGE, &req)) {
			if (errno == EPERM)
				eperm("bridges");
			else
				errorf("bridges %s %s: %s", argv[1], req.name,
				       errno == ENOENT ? "no such bridge" :
				       errno == EINVAL ? "mode not supported" :
				       strerror(errno));
			ret = EXIT_RUNTIME;
		}
	}
	close(fd);
	return ret;
}
