/* SPDX-License-Identifier: GPL-2.0 */
/* otelctl: shared declarations of the subcommands. */
#ifndef OTELCTL_H
#define OTELCTL_H

#include "uapi/oteltrace.h"

/* Exit codes. */
#define EXIT_OK		0
#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

extern const char *prog;

/* Open the device (OTELCTL_DEVICE overrides /dev/oteltrace); -1 on error. */
int dev_open(void);
/*
 * ioctl() that prints "prog: what: strerror" on failure (EPERM: which
 * capability it takes); 0 or -1 with errno the ioctl's.
 */
int dev_ioctl(int fd, unsigned long cmd, void *arg, const char *what);
/* Print why a control ioctl got EPERM. */
void eperm(const char *what);
/* Print an error message prefixed with the program name. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Is argv[1..] just --help / -h? */
int wants_help(int argc, char **argv);

int cmd_stats(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_clear(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bridges(int argc, char **argv);
int cmd_exec(int argc, char **argv);

#endif
