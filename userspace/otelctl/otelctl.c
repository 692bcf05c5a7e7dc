// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl: statistics and settings of oteltrace.ko through /dev/oteltrace,
 * and "exec" to run a command inside a trace context (/dev/oteltrace-ctx).
 * One subcommand per entry of the table below; each parses its own options.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "otelctl.h"

const char *prog = "otelctl";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "stats",	cmd_stats,	"per-CPU and total ring statistics" },
	{ "config",	cmd_config,	"show or change the configuration" },
	{ "flush",	cmd_flush,	"wake readers so waiting records are read now" },
	{ "clear",	cmd_clear,	"discard every record and zero the statistics" },
	{ "snapshot",	cmd_snapshot,	"stop writing while CMD runs (or until Ctrl-C): read the rings as they are" },
	{ "resume",	cmd_resume,	"end this process's snapshot (kept for scripts)" },
	{ "info",	cmd_info,	"ABI version and ring geometry" },
	{ "bridges",	cmd_bridges,	"list or switch the bridges (spans from kernel tracepoints)" },
	{ "exec",	cmd_exec,	"run a command inside a W3C trace context (any user)" },
};

void errorf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int dev_open(void)
{
	const char *path = getenv("OTELCTL_DEVICE");
	int fd;

	if (!path || !*path)
		path = "/dev/" OTEL_DEVICE_NAME;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		errorf("%s: %s", path, strerror(errno));
	return fd;
}

int dev_ioctl(int fd, unsigned long cmd, void *arg, const char *what)
{
	int err;

	if (ioctl(fd, cmd, arg) == 0)
		return 0;
	err = errno;
	if (errno == EPERM)
		eperm(what);
	else if (errno == EBUSY && (cmd == OTEL_IOC_CLEAR ||
				    cmd == OTEL_IOC_SET_CONFIG))
		errorf("%s: %s: another open file holds a snapshot "
		       "(otelctl snapshot): the rings stay as they are until "
		       "it ends", what, strerror(errno));
	else
		errorf("%s: %s", what, strerror(errno));
	errno = err;	/* for the caller, past the printing */
	return -1;
}

void eperm(const char *what)
{
	errorf("%s: %s: changing oteltrace needs CAP_PERFMON or CAP_SYS_ADMIN "
	       "in the process that opens the device (reading needs only the "
	       "right to open it)", what, strerror(EPERM));
}

int wants_help(int argc, char **argv)
{
	return argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: %s COMMAND [OPTIONS]\n\nCommands:\n", prog);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n'%s COMMAND --help' describes a command's options.\n"
		"The device is /dev/%s (or $OTELCTL_DEVICE); exec uses /dev/%s.\n"
		"Exit status: 0 success, 1 runtime error, 2 usage error (exec: see\n"
		"'%s exec --help').\n",
		prog, OTEL_DEVICE_NAME, OTEL_CTX_DEVICE_NAME, prog);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	errorf("unknown command '%s' (try --help)", argv[1]);
	return EXIT_USAGE;
}
