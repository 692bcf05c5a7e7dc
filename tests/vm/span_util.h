/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the span tests (tests/vm/span_*.c): load oteltrace.ko and the
 * span test module, run a command of tests/kmod/otel_spantest.c, set the
 * sampler through the module parameters, read the ring and span API
 * counters, switch begin_records mode, and look for oteltrace's reports in
 * the kernel log.
 */
#ifndef _OTELTRACE_SPAN_UTIL_H
#define _OTELTRACE_SPAN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>

#include "records.h"
#include "vmtest.h"

#define SPANTEST_KO	"tests/kmod/otel_spantest.ko"
#define DEMO_KO		"kmod/demo/otel_demo.ko"

/* Write a string to a file: 0 or -errno. */
static inline int span_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : (n == (ssize_t)strlen(s) ? 0 : -EIO);
	close(fd);
	return err;
}

/* Read a file into @buf (NUL-terminated): its length, or -errno. */
static inline ssize_t span_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* Run "cmd [n]" in otel_spantest: 0 or -errno. */
static inline int span_cmd(const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return span_write_file("/dev/otel_spantest", buf);
}

/* What the last otel_spantest command found (its read()), or -errno. */
static inline long span_result(void)
{
	char buf[32] = "";
	int fd = open("/dev/otel_spantest", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -EIO;
}

/* Set oteltrace.sampler (a name) and oteltrace.ratio (ppm). */
static inline int span_sampler(const char *sampler, unsigned int ratio)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%u", ratio);
	err = span_write_file("/sys/module/oteltrace/parameters/ratio", buf);
	if (!err)
		err = span_write_file("/sys/module/oteltrace/parameters/sampler",
				      sampler);
	return err;
}

/* Load oteltrace (with @params) and @extra_ko; returns the record fd. */
static inline int span_load(const char *params, const char *extra_ko)
{
	int err;

	vm_unload_module("otel_spantest");
	vm_unload_module("otel_demo");
	err = vm_load_oteltrace(params);
	if (err)
		return err;
	if (extra_ko) {
		err = vm_load_module(extra_ko, NULL);
		if (err)
			return err;
	}
	return rec_open();
}

static inline void span_unload(int fd)
{
	if (fd >= 0)
		close(fd);
	vm_unload_module("otel_spantest");
	vm_unload_module("otel_demo");
	vm_unload_module("oteltrace");
}

static inline int span_is_zero_id(const uint8_t *id, size_t n)
{
	return rec_is_zero(id, n);
}

/* Lower-case hex of @n bytes into a static buffer (for messages). */
static inline const char *span_hex(const uint8_t *id, size_t n)
{
	static char buf[4][2 * OTEL_TRACE_ID_SIZE + 1];
	static int next;
	char *out = buf[next++ % 4];
	size_t i;

	for (i = 0; i < n && i < OTEL_TRACE_ID_SIZE; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	return out;
}

/* OTEL_IOC_SPAN_STATS: 0 or -errno. */
static inline int span_stats(int fd, struct otel_span_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	return ioctl(fd, OTEL_IOC_SPAN_STATS, st) ? -errno : 0;
}

/* OTEL_IOC_STATS summed over every CPU: 0 or -errno. */
static inline int span_ring_stats(int fd, struct otel_cpu_stats *st)
{
	struct otel_stats_req req = { .cpu = OTEL_STATS_ALL_CPUS };

	if (ioctl(fd, OTEL_IOC_STATS, &req))
		return -errno;
	*st = req.stats;
	return 0;
}

static inline uint64_t span_ring_dropped(const struct otel_cpu_stats *st)
{
	return st->dropped_full + st->dropped_too_big + st->dropped_nested +
	       st->dropped_disabled;
}

/*
 * Set one __u32 field of otel_config, at offset @off, through GET then
 * SET (the others as they are): 0 or -errno.
 */
static inline int span_config_u32(int fd, size_t off, uint32_t v)
{
	struct otel_config cfg;

	if (ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg))
		return -errno;
	memcpy((char *)&cfg + off, &v, sizeof(v));
	return ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg) ? -errno : 0;
}

static inline int span_begin_records(int fd, bool on)
{
	return span_config_u32(fd, offsetof(struct otel_config, begin_records),
			       on);
}

static inline int span_noop_spans(int fd, bool on)
{
	return span_config_u32(fd, offsetof(struct otel_config, noop_spans), on);
}

/* The kernel log since kmsg_open(): messages, one per line. */
struct kmsg_log {
	int	fd;
	char	*text;
	size_t	len, cap;
};

/* Start reading the kernel log after what is already there: 0 or -errno. */
static inline int kmsg_open(struct kmsg_log *log)
{
	memset(log, 0, sizeof(*log));
	log->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (log->fd < 0)
		return -errno;
	lseek(log->fd, 0, SEEK_END);
	return 0;
}

static inline void kmsg_close(struct kmsg_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	free(log->text);
	memset(log, 0, sizeof(*log));
	log->fd = -1;
}

/* Append the messages logged since the last call. */
static inline void kmsg_update(struct kmsg_log *log)
{
	char rec[2048], *msg;
	ssize_t len;
	size_t n;

	for (;;) {
		len = read(log->fd, rec, sizeof(rec) - 1);
		if (len < 0 && (errno == EPIPE || errno == EINTR))
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		/* "prio,seq,time,flags;message\n" then continuation lines */
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		n = strcspn(msg, "\n");
		if (log->len + n + 2 > log->cap) {
			log->cap = (log->cap + n + 2) * 2;
			log->text = realloc(log->text, log->cap);
			if (!log->text) {
				perror("realloc");
				exit(1);
			}
		}
		memcpy(log->text + log->len, msg, n);
		log->len += n;
		log->text[log->len++] = '\n';
		log->text[log->len] = '\0';
	}
}

/*
 * How many messages logged since kmsg_open() start with @prefix and
 * contain @needle; the first such message goes into @line if not NULL.
 */
static inline int kmsg_count(struct kmsg_log *log, const char *prefix,
			     const char *needle, char *line, size_t size)
{
	const char *p, *eol;
	int n = 0;

	kmsg_update(log);
	for (p = log->text; p && *p; p = eol + 1) {
		eol = strchr(p, '\n');
		if (strncmp(p, prefix, strlen(prefix)))
			continue;
		if (!memmem(p, eol - p, needle, strlen(needle)))
			continue;
		if (!n++ && line)
			snprintf(line, size, "%.*s", (int)(eol - p), p);
	}
	return n;
}

static inline int span_all_ff(const uint8_t *id, size_t n)
{
	while (n--)
		if (*id++ != 0xff)
			return 0;
	return 1;
}

/* The first thing wrong with a run of spans, for the assertion message. */
struct span_verdict {
	size_t	bad;
	char	why[512];
};

static inline void span_fail(struct span_verdict *v, const struct rec_span *s,
			     const char *why)
{
	if (!v->bad++)
		snprintf(v->why, sizeof(v->why), "%.256s %s: %.128s", s->name,
			 span_hex(s->span_id, OTEL_SPAN_ID_SIZE), why);
}

#endif /* _OTELTRACE_SPAN_UTIL_H */
