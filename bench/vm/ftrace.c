// SPDX-License-Identifier: GPL-2.0
/* kbench: ftrace through tracefs (events on and off, clear, counters). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kbench.h"

#define TRACEFS "/sys/kernel/tracing"

static int put(const char *path, const char *val, int flags)
{
	int fd, ret = 0;
	ssize_t n = strlen(val);

	fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -errno;
	if (n && write(fd, val, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

int kb_ftrace_enable(const char *event, bool on)
{
	char path[256];
	int ret;

	ret = put(TRACEFS "/tracing_on", "1", 0);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), TRACEFS "/events/%s/enable", event);
	return put(path, on ? "1" : "0", 0);
}

/* Empty the ftrace ring buffer (opening "trace" for writing with O_TRUNC). */
int kb_ftrace_clear(void)
{
	return put(TRACEFS "/trace", "", O_TRUNC);
}

/* Sum of "entries" and "overrun" over every CPU's stats file. */
int kb_ftrace_entries(uint64_t *entries, uint64_t *overrun)
{
	char path[128], line[128];
	uint64_t v;
	FILE *f;
	int cpu;

	*entries = *overrun = 0;
	for (cpu = 0;; cpu++) {
		snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/stats",
			 cpu);
		f = fopen(path, "re");
		if (!f)
			return cpu ? 0 : -errno;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "entries: %" SCNu64, &v) == 1)
				*entries += v;
			else if (sscanf(line, "overrun: %" SCNu64, &v) == 1)
				*overrun += v;
		}
		fclose(f);
	}
}
