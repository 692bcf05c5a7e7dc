// SPDX-License-Identifier: GPL-2.0
/* Logging to stderr, one line per message, prefixed with the program name. */
#include <stdarg.h>
#include <stdio.h>

#include "oteld.h"

int log_verbose;

static void vlog(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "oteld: %s\n", line);
}

void log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
