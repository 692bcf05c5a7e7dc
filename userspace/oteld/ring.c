// SPDX-License-Identifier: GPL-2.0
/*
 * Ring reader.  For each CPU: the consumer page mapped read-write, the
 * producer page and data area read-only, at offset cpu * mmap_stride
 * (geometry from OTEL_IOC_INFO).  The reader protocol of uapi/oteltrace.h:
 * load-acquire producer_pos, read [consumer_pos, producer_pos), skipping PAD,
 * then store-release consumer_pos.  Nothing the kernel maps is trusted: a
 * record size that does not fit stops that ring's pass and is counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring.h"

#define CHUNK (64u << 10)

struct ring {
	struct otel_ring_consumer *cons;
	const struct otel_ring_producer *prod;
	const uint8_t *data;
	void *prod_map;
	size_t prod_map_len;
};

struct ring_reader {
	int fd;
	struct otel_info info;
	struct ring *rings;
	uint8_t chunk[CHUNK];
};

static int map_ring(struct ring_reader *r, uint32_t cpu)
{
	struct ring *ring = &r->rings[cpu];
	off_t off = (off_t)cpu * r->info.mmap_stride;
	void *p;

	p = mmap(NULL, r->info.page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 r->fd, off);
	if (p == MAP_FAILED)
		return -1;
	ring->cons = p;
	ring->prod_map_len = r->info.page_size + r->info.ring_size;
	p = mmap(NULL, ring->prod_map_len, PROT_READ, MAP_SHARED, r->fd,
		 off + r->info.page_size);
	if (p == MAP_FAILED)
		return -1;
	ring->prod_map = p;
	ring->prod = p;
	ring->data = (const uint8_t *)p + r->info.page_size;
	return 0;
}

struct ring_reader *ring_open(const char *path)
{
	struct ring_reader *r = calloc(1, sizeof(*r));
	uint32_t cpu;

	if (!r)
		return NULL;
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0) {
		log_msg("%s: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	if (ioctl(r->fd, OTEL_IOC_INFO, &r->info)) {
		log_msg("%s: OTEL_IOC_INFO: %s", path, strerror(errno));
		goto err;
	}
	if (r->info.abi_version != OTEL_ABI_VERSION) {
		log_msg("%s: the module writes records of ABI version %u, this "
			"oteld reads ABI version %d: use the oteld built with "
			"that oteltrace.ko", path, r->info.abi_version,
			OTEL_ABI_VERSION);
		goto err;
	}
	if (!r->info.nr_cpus || !r->info.ring_size ||
	    (r->info.ring_size & (r->info.ring_size - 1)) ||
	    r->info.mmap_stride < 2ull * r->info.page_size +
				  r->info.ring_size) {
		log_msg("%s: %u rings of %llu bytes, stride %llu: not usable",
			path, r->info.nr_cpus,
			(unsigned long long)r->info.ring_size,
			(unsigned long long)r->info.mmap_stride);
		goto err;
	}
	r->rings = calloc(r->info.nr_cpus, sizeof(*r->rings));
	if (!r->rings)
		goto err;
	for (cpu = 0; cpu < r->info.nr_cpus; cpu++) {
		if (map_ring(r, cpu)) {
			log_msg("%s: mmap of ring %u: %s", path, cpu,
				strerror(errno));
			goto err;
		}
	}
	return r;
err:
	ring_close(r);
	return NULL;
}

void ring_close(struct ring_reader *r)
{
	uint32_t cpu;

	if (!r)
		return;
	for (cpu = 0; r->rings && cpu < r->info.nr_cpus; cpu++) {
		if (r->rings[cpu].cons)
			munmap(r->rings[cpu].cons, r->info.page_size);
		if (r->rings[cpu].prod_map)
			munmap(r->rings[cpu].prod_map,
			       r->rings[cpu].prod_map_len);
	}
	free(r->rings);
	close(r->fd);
	free(r);
}

uint32_t ring_nr_cpus(const struct ring_reader *r)
{
	return r->info.nr_cpus;
}

int ring_wait(struct ring_reader *r, int timeout_ms)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -1;
	return n > 0 && (p.revents & POLLIN);
}

/* One pass over one ring: at most one ring's worth, so none starves. */
static size_t drain_one(struct ring_reader *r, struct ring *ring,
			ring_sink sink, void *arg)
{
	uint64_t size = r->info.ring_size, mask = size - 1, cons, prod;
	size_t fill = 0, total = 0;

	/* pairs with the kernel's smp_store_release() of producer_pos */
	prod = __atomic_load_n(&ring->prod->producer_pos, __ATOMIC_ACQUIRE);
	cons = __atomic_load_n(&ring->cons->consumer_pos, __ATOMIC_RELAXED);
	if (prod - cons > size) {
		/*
		 * Overwrite mode: the oldest records are gone (the kernel
		 * counts them as overwritten); start at the oldest kept.
		 */
		uint64_t tail = __atomic_load_n(&ring->prod->overwrite_tail,
						__ATOMIC_RELAXED);

		if (tail > cons && tail <= prod && prod - tail <= size)
			cons = tail;
	}
	if (prod - cons > size) {
		/* impossible in discard mode: resynchronise, count */
		atomic_fetch_add(&stats.records_corrupt, 1);
		cons = prod;
	}
	while (cons < prod) {
		uint64_t off = cons & mask;
		uint16_t type, len;

		memcpy(&type, ring->data + off, sizeof(type));
		memcpy(&len, ring->data + off + 2, sizeof(len));
		if (len < 8 || len % 8 || off + len > size ||
		    len > prod - cons) {
			atomic_fetch_add(&stats.records_corrupt, 1);
			cons = prod;
			break;
		}
		if (type != OTEL_REC_PAD) {
			if (fill + len > CHUNK) {
				sink(r->chunk, fill, arg);
				fill = 0;
			}
			memcpy(r->chunk + fill, ring->data + off, len);
			fill += len;
		}
		cons += len;
		total += len;
	}
	if (fill)
		sink(r->chunk, fill, arg);
	/* pairs with the kernel's smp_load_acquire() of consumer_pos */
	__atomic_store_n(&ring->cons->consumer_pos, cons, __ATOMIC_RELEASE);
	return total;
}

size_t ring_drain(struct ring_reader *r, ring_sink sink, void *arg)
{
	size_t total = 0;
	uint32_t cpu;

	for (cpu = 0; cpu < r->info.nr_cpus; cpu++)
		total += drain_one(r, &r->rings[cpu], sink, arg);
	return total;
}

int ring_clock(struct ring_reader *r, struct anchor *a)
{
	struct otel_clock c;

	memset(&c, 0, sizeof(c));
	if (ioctl(r->fd, OTEL_IOC_CLOCK, &c))
		return -1;
	a->mono_ns = c.mono_ns;
	a->real_ns = c.real_ns;
	return 0;
}

int ring_kstats(struct ring_reader *r, struct otel_cpu_stats *s)
{
	struct otel_stats_req req;

	memset(&req, 0, sizeof(req));
	req.cpu = OTEL_STATS_ALL_CPUS;
	if (ioctl(r->fd, OTEL_IOC_STATS, &req))
		return -1;
	*s = req.stats;
	return 0;
}
