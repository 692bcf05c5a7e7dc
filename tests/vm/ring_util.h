/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the ring tests (tests/vm/ring_*.c): map the rings, drain them
 * the way oteld does (uapi/oteltrace.h's reader protocol), validate every
 * otel_ringtest.ko record, and load/query the test module.
 */
#ifndef _OTEL_RING_UTIL_H
#define _OTEL_RING_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "uapi/oteltrace.h"
#include "tests/kmod/otel_ringtest.h"
#include "vmtest.h"

#define RING_MAX_CPUS	64

struct rings {
	int fd;
	struct otel_info info;
	unsigned int nr;
	struct otel_ring_consumer *cons[RING_MAX_CPUS];
	const struct otel_ring_producer *prod[RING_MAX_CPUS];
	const uint8_t *data[RING_MAX_CPUS];
};

/* What a reader saw; last[] is per (writer, ring): -1 before any record. */
struct checker {
	uint32_t min_size, max_size, nr_cpus;
	uint64_t read, pads, errors;
	uint64_t per_ctx[RINGTEST_NR_CTX];
	int64_t last[RING_MAX_CPUS * RINGTEST_NR_CTX][RING_MAX_CPUS];
	char first_error[256];
};

static inline int ring_open(void)
{
	return open("/dev/" OTEL_DEVICE_NAME, O_RDWR | O_CLOEXEC);
}

static inline void checker_init(struct checker *ck, uint32_t nr_cpus,
				uint32_t min_size, uint32_t max_size)
{
	memset(ck, 0, sizeof(*ck));
	memset(ck->last, 0xff, sizeof(ck->last));
	ck->nr_cpus = nr_cpus;
	ck->min_size = min_size;
	ck->max_size = max_size;
}

static inline void check_fail(struct checker *ck, const char *why,
			      const struct otel_rec_hdr *h)
{
	if (!ck->errors++)
		snprintf(ck->first_error, sizeof(ck->first_error),
			 "%s (type %u size %u cpu %u flags %u)", why, h->type,
			 h->size, h->cpu, h->flags);
}

/* Validate one record read from ring @ring (-1: read(), ring unknown). */
static inline void check_record(struct checker *ck, const struct otel_rec_hdr *h,
				int ring)
{
	const struct otel_ringtest_rec *r = (const void *)h;
	const uint8_t *fill = (const uint8_t *)(r + 1);
	uint32_t i, n;
	int64_t *last;

	if (h->type != OTEL_REC_RAW || h->size < sizeof(*r))
		return check_fail(ck, "not a ringtest record", h);
	if (h->cpu >= ck->nr_cpus || (ring >= 0 && h->cpu != ring))
		return check_fail(ck, "wrong cpu", h);
	if (r->writer >= ck->nr_cpus * RINGTEST_NR_CTX ||
	    r->ctx != r->writer % RINGTEST_NR_CTX)
		return check_fail(ck, "bad writer", h);
	if ((h->flags & OTEL_RECF_CTX_MASK) != r->ctx)
		return check_fail(ck, "context flags do not match the writer", h);
	if (h->size != otel_ringtest_size(r->seq, ck->min_size, ck->max_size))
		return check_fail(ck, "size does not match seq", h);
	last = &ck->last[r->writer][h->cpu];
	if ((int64_t)r->seq <= *last)
		return check_fail(ck, "sequence went backwards", h);
	*last = r->seq;
	n = h->size - sizeof(*r);
	for (i = 0; i < n; i++)
		if (fill[i] != otel_ringtest_fill(r->writer, r->seq, i))
			return check_fail(ck, "torn payload", h);
	ck->read++;
	ck->per_ctx[r->ctx]++;
}

/* Map every ring: consumer page RW, the rest RO.  0 or -errno. */
static inline int rings_map(struct rings *rs, int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned int i;
	void *p;

	memset(rs, 0, sizeof(*rs));
	rs->fd = fd;
	if (ioctl(fd, OTEL_IOC_INFO, &rs->info))
		return -errno;
	rs->nr = rs->info.nr_cpus;
	if (rs->nr > RING_MAX_CPUS)
		return -E2BIG;
	for (i = 0; i < rs->nr; i++) {
		off_t off = (off_t)i * rs->info.mmap_stride;

		p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
		if (p == MAP_FAILED)
			return -errno;
		rs->cons[i] = p;
		p = mmap(NULL, rs->info.mmap_stride - page, PROT_READ,
			 MAP_SHARED, fd, off + page);
		if (p == MAP_FAILED)
			return -errno;
		rs->prod[i] = p;
		rs->data[i] = (const uint8_t *)p + page;
	}
	return 0;
}

static inline void rings_unmap(struct rings *rs)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned int i;

	for (i = 0; i < rs->nr; i++) {
		if (rs->cons[i])
			munmap(rs->cons[i], page);
		if (rs->prod[i])
			munmap((void *)rs->prod[i], rs->info.mmap_stride - page);
		rs->cons[i] = NULL;
		rs->prod[i] = NULL;
	}
}

/*
 * Read ring @cpu from @from to its producer_pos (the reader protocol of
 * uapi/oteltrace.h), validating records; return the new position.
 */
static inline uint64_t ring_read_from(struct rings *rs, struct checker *ck,
				      unsigned int cpu, uint64_t from)
{
	uint64_t mask = rs->info.ring_size - 1, pos = from, prod;
	const struct otel_rec_hdr *h;

	prod = __atomic_load_n(&rs->prod[cpu]->producer_pos, __ATOMIC_ACQUIRE);
	while (pos < prod) {
		h = (const void *)(rs->data[cpu] + (pos & mask));
		if (h->size < 8 || h->size % 8 || (pos & mask) + h->size > rs->info.ring_size) {
			check_fail(ck, "bad record size in the ring", h);
			return prod;
		}
		if (h->type == OTEL_REC_PAD)
			ck->pads++;
		else
			check_record(ck, h, cpu);
		pos += h->size;
	}
	return pos;
}

/* One pass over every ring, consuming what is there. */
static inline void rings_drain(struct rings *rs, struct checker *ck)
{
	unsigned int cpu;
	uint64_t pos;

	for (cpu = 0; cpu < rs->nr; cpu++) {
		pos = ring_read_from(rs, ck, cpu, rs->cons[cpu]->consumer_pos);
		__atomic_store_n(&rs->cons[cpu]->consumer_pos, pos, __ATOMIC_RELEASE);
	}
}

/* read() until EAGAIN, validating; returns records or -errno. */
static inline long read_drain(int fd, struct checker *ck)
{
	static uint8_t buf[1 << 16] __attribute__((aligned(8)));
	const struct otel_rec_hdr *h;
	long total = 0;
	ssize_t n, off;
	int fl = fcntl(fd, F_GETFL), err;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			err = errno;
			break;
		}
		for (off = 0; off + (ssize_t)sizeof(*h) <= n; off += h->size) {
			h = (const void *)(buf + off);
			if (h->size < sizeof(*h) || off + h->size > n) {
				check_fail(ck, "read() returned a partial record", h);
				break;
			}
			check_record(ck, h, -1);
			total++;
		}
	}
	fcntl(fd, F_SETFL, fl);
	return err == EAGAIN ? total : -err;
}

static inline int ring_stats(int fd, uint32_t cpu, struct otel_cpu_stats *s)
{
	struct otel_stats_req req = { .cpu = cpu };

	if (ioctl(fd, OTEL_IOC_STATS, &req))
		return -errno;
	*s = req.stats;
	return 0;
}

static inline uint64_t stats_dropped(const struct otel_cpu_stats *s)
{
	return s->dropped_full + s->dropped_too_big + s->dropped_nested +
	       s->dropped_disabled;
}

static inline int ring_set_config(int fd, void (*edit)(struct otel_config *, void *),
				  void *arg)
{
	struct otel_config c;

	if (ioctl(fd, OTEL_IOC_GET_CONFIG, &c))
		return -errno;
	edit(&c, arg);
	return ioctl(fd, OTEL_IOC_SET_CONFIG, &c) ? -errno : 0;
}

/* A numeric parameter of otel_ringtest.ko (e.g. "attempted"). */
static inline long long ringtest_param(const char *name)
{
	char path[128], buf[64];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/otel_ringtest/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Write a writable parameter of otel_ringtest.ko (e.g. "hold"). */
static inline int ringtest_set_param(const char *name, const char *value)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/module/otel_ringtest/parameters/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ret = fputs(value, f) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

static inline int ringtest_load(const char *params)
{
	if (vm_module_loaded("otel_ringtest"))
		vm_unload_module("otel_ringtest");
	return vm_load_module("tests/kmod/otel_ringtest.ko", params);
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Wait until thread @tid of this process sleeps in system call @nr
 * (/proc/self/task/TID/syscall), for at most @deadline_s: an ordering, not
 * a timing; the deadline only catches a hang.  Returns 0 or -ETIMEDOUT.
 */
static inline int wait_in_syscall(pid_t pid, pid_t tid, long nr, double deadline_s)
{
	char path[96], buf[256];
	double end = now_s() + deadline_s;
	long cur;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	while (now_s() < end) {
		f = fopen(path, "r");
		cur = -2;
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				sscanf(buf, "%ld", &cur);
			fclose(f);
		}
		/* "running" while on a CPU: it has not gone to sleep yet */
		if (cur == nr && !strstr(buf, "running"))
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

#endif /* _OTEL_RING_UTIL_H */
