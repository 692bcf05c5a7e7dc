// SPDX-License-Identifier: GPL-2.0
/* kbench: otel_bench.ko's control file (see bench/kmod/main.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kbench.h"

#define CTL "/sys/kernel/debug/otel_bench/ctl"

int kb_bench_open(struct kb_bench *b)
{
	b->fd = open(CTL, O_RDWR | O_CLOEXEC);
	return b->fd < 0 ? -errno : 0;
}

void kb_bench_close(struct kb_bench *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static int kb_bench_answer(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Does this build of otel_bench.ko have case @name? */
bool kb_bench_has(const char *name)
{
	struct kb_bench b;
	char buf[256], *tok, *save;
	bool found = false;

	if (kb_bench_open(&b))
		return false;
	if (!kb_bench_answer(b.fd, buf, sizeof(buf)))
		for (tok = strtok_r(buf, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			if (!strcmp(tok, name))
				found = true;
	kb_bench_close(&b);
	return found;
}

int kb_bench_cmd(struct kb_bench *b, const char *cmd, const char *name,
		 unsigned int arg, uint64_t *ns, uint64_t *ops)
{
	char buf[128];
	int n, ret;

	n = snprintf(buf, sizeof(buf), "%s %s %u", cmd, name, arg);
	if (write(b->fd, buf, n) != n)
		return -errno;
	ret = kb_bench_answer(b->fd, buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "ns %" SCNu64 " ops %" SCNu64, ns, ops) != 2)
		return -EPROTO;
	return 0;
}

int kb_bench_chunks(struct kb_bench *b, unsigned int *chunk,
		    unsigned int *median)
{
	char buf[128];
	int ret;

	ret = kb_bench_answer(b->fd, buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "ns %*u ops %*u chunk %u median %u", chunk,
		   median) != 2)
		return -EPROTO;
	return 0;
}
