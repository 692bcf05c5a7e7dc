// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: oteltrace's configuration and counters through /dev/oteltrace,
 * with the module parameters as a fallback for the sampler.  Each feature
 * is probed once, so a tracer that lacks one gets that figure skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kbench.h"

#define SAMPLER_PARAM "/sys/module/oteltrace/parameters/sampler"
#define NOOP_PARAM "/sys/module/oteltrace/parameters/noop_spans"

/* noop_spans as found: 1 (Y), 0 (N), or -1 (no such parameter). */
static int kb_tracer_noop_get(void)
{
	char c = 0;
	int fd = open(NOOP_PARAM, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

int kb_tracer_open(struct kb_tracer *t)
{
	struct otel_stats_req req = { .cpu = OTEL_STATS_ALL_CPUS };

	memset(t, 0, sizeof(*t));
	t->fd = open("/dev/" OTEL_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	t->saved.size = sizeof(t->saved);
	t->have_config = !ioctl(t->fd, OTEL_IOC_GET_CONFIG, &t->saved);
	t->have_stats = !ioctl(t->fd, OTEL_IOC_STATS, &req);
	t->have_clear = !ioctl(t->fd, OTEL_IOC_CLEAR);
	t->saved_noop = kb_tracer_noop_get();
	return 0;
}

void kb_tracer_close(struct kb_tracer *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* Read-modify-write of the configuration. */
static int kb_tracer_set(struct kb_tracer *t, void (*edit)(struct otel_config *,
							   uint64_t),
			 uint64_t val)
{
	struct otel_config c = { .size = sizeof(c) };

	if (!t->have_config)
		return -ENOTTY;
	if (ioctl(t->fd, OTEL_IOC_GET_CONFIG, &c))
		return -errno;
	c.size = sizeof(c);
	edit(&c, val);
	return ioctl(t->fd, OTEL_IOC_SET_CONFIG, &c) ? -errno : 0;
}

static void edit_enabled(struct otel_config *c, uint64_t v)
{
	c->enabled = v;
}

static void edit_sampler(struct otel_config *c, uint64_t v)
{
	c->sampler = v;
	c->ratio = OTEL_RATIO_ONE;
}

static void edit_mode(struct otel_config *c, uint64_t v)
{
	c->mode = v;
}

static void edit_ring_size(struct otel_config *c, uint64_t v)
{
	c->ring_size = v;
}

int kb_tracer_enable(struct kb_tracer *t, bool on)
{
	return kb_tracer_set(t, edit_enabled, on);
}

int kb_tracer_sampler(struct kb_tracer *t, unsigned int sampler)
{
	char buf[16];
	int fd, n, ret = 0;

	if (t->have_config)
		return kb_tracer_set(t, edit_sampler, sampler);
	fd = open(SAMPLER_PARAM, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%u\n", sampler);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* noop_spans=Y or N; -ENOENT from an oteltrace.ko without it. */
int kb_tracer_noop(bool on)
{
	int fd, ret = 0;

	fd = open(NOOP_PARAM, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "Y\n" : "N\n", 2) != 2)
		ret = -errno;
	close(fd);
	return ret;
}

int kb_tracer_mode(struct kb_tracer *t, unsigned int mode)
{
	return kb_tracer_set(t, edit_mode, mode);
}

int kb_tracer_ring_size(struct kb_tracer *t, uint64_t bytes)
{
	return kb_tracer_set(t, edit_ring_size, bytes);
}

int kb_tracer_clear(struct kb_tracer *t)
{
	if (!t->have_clear)
		return -ENOTTY;
	return ioctl(t->fd, OTEL_IOC_CLEAR) ? -errno : 0;
}

int kb_tracer_stats(struct kb_tracer *t, struct otel_cpu_stats *s)
{
	struct otel_stats_req req = { .cpu = OTEL_STATS_ALL_CPUS };

	if (!t->have_stats)
		return -ENOTTY;
	if (ioctl(t->fd, OTEL_IOC_STATS, &req))
		return -errno;
	*s = req.stats;
	return 0;
}

/* Put back the configuration found at open. */
void kb_tracer_restore(struct kb_tracer *t)
{
	struct otel_config c = t->saved;

	if (t->have_config)
		ioctl(t->fd, OTEL_IOC_SET_CONFIG, &c);
	if (t->saved_noop >= 0)
		kb_tracer_noop(t->saved_noop);
}
