// SPDX-License-Identifier: GPL-2.0
/*
 * Ring reader.  For each CPU: the consumer page mapped read-write, the
 * producer page and data area read-only, at offset cpu * mmap_stride
 * (geometry from OTEL_IOC_INFO).  The reader protocol of uapi/oteltrace.h:
 * load-acquire producer_pos, read [consumer_pos, producer_pos), skipping PAD,
 * then store-release consumer_pos.
 *
 * Nothing in the mapping is trusted.  The consumer page is writable by
 * anyone who may open the device, so the read position is oteld's own
 * (struct ring.pos): consumer_pos is read once, checked, at open, and after
 * that only written (but for a move forward, which OTEL_IOC_CLEAR makes,
 * see follow_clear()).  Every record header is checked against the data
 * area before the record is read; one that does not fit ends that ring's
 * pass, is counted (records_corrupt) and reading resumes at producer_pos.
 *
 * Records are copied out a chunk at a time, and each chunk's space is given
 * back to the kernel (consumer_pos) before the chunk is decoded, so writers
 * can use it while oteld works.  The sink may stop a pass (the export queue
 * is full): what it was not given stays in the ring, where the kernel drops
 * new records (and counts them) rather than oteld decoding spans only to
 * drop them.
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

#define CHUNK RING_CHUNK_BYTES

struct ring {
	struct otel_ring_consumer *cons;
	const struct otel_ring_producer *prod;
	const uint8_t *data;
	void *prod_map;
	size_t prod_map_len;
	uint64_t pos;	/* where the next read starts: a record's start */
};

struct ring_reader {
	int fd;		/* -1: rings given by ring_attach() */
	struct otel_info info;
	struct ring *rings;
	uint32_t next;	/* the ring a pass starts with: where one stopped */
	uint8_t chunk[CHUNK] __attribute__((aligned(8)));
};

/* An 8-aligned position at most one ring behind producer position @prod. */
static bool pos_ok(uint64_t pos, uint64_t prod, uint64_t size)
{
	return !(pos & 7) && pos <= prod && prod - pos <= size;
}

static uint64_t load_prod(const struct ring *ring)
{
	/* pairs with the kernel's smp_store_release() of producer_pos */
	return __atomic_load_n(&ring->prod->producer_pos, __ATOMIC_ACQUIRE);
}

static uint64_t load_cons(const struct ring *ring)
{
	return __atomic_load_n(&ring->cons->consumer_pos, __ATOMIC_RELAXED);
}

/*
 * Where reading starts: consumer_pos, as the last reader left it, if it is
 * a position a record can start at; else, lapped in overwrite mode, the
 * oldest record kept; else producer_pos, counted (what lies before it is
 * lost: there is no telling where its records start).
 */
static void start_ring(struct ring *ring, uint64_t size)
{
	uint64_t prod = load_prod(ring), cons = load_cons(ring), tail;

	if (pos_ok(cons, prod, size)) {
		ring->pos = cons;
		return;
	}
	tail = __atomic_load_n(&ring->prod->overwrite_tail, __ATOMIC_RELAXED);
	if (!(cons & 7) && cons <= tail && pos_ok(tail, prod, size)) {
		ring->pos = tail;
		return;
	}
	atomic_fetch_add(&stats.records_corrupt, 1);
	ring->pos = prod;
}

/* Geometry a reader can work with; logs why not. */
static bool info_ok(const char *path, const struct otel_info *info)
{
	if (info->abi_version != OTEL_ABI_VERSION) {
		log_msg("%s: the module writes records of ABI version %u, this "
			"oteld reads ABI version %d: use the oteld built with "
			"that oteltrace.ko", path, info->abi_version,
			OTEL_ABI_VERSION);
		return false;
	}
	if (!info->nr_cpus || info->ring_size < 64 ||
	    (info->ring_size & (info->ring_size - 1)) ||
	    info->mmap_stride < 2ull * info->page_size + info->ring_size) {
		log_msg("%s: %u rings of %llu bytes, stride %llu: not usable",
			path, info->nr_cpus,
			(unsigned long long)info->ring_size,
			(unsigned long long)info->mmap_stride);
		return false;
	}
	return true;
}

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
	if (!info_ok(path, &r->info))
		goto err;
	r->rings = calloc(r->info.nr_cpus, sizeof(*r->rings));
	if (!r->rings)
		goto err;
	for (cpu = 0; cpu < r->info.nr_cpus; cpu++) {
		if (map_ring(r, cpu)) {
			log_msg("%s: mmap of ring %u: %s", path, cpu,
				strerror(errno));
			goto err;
		}
		start_ring(&r->rings[cpu], r->info.ring_size);
	}
	return r;
err:
	ring_close(r);
	return NULL;
}

struct ring_reader *ring_attach(const struct otel_info *info,
			       struct otel_ring_consumer *const *cons,
			       const void *const *prod)
{
	struct ring_reader *r = calloc(1, sizeof(*r));
	uint32_t cpu;

	if (!r)
		return NULL;
	r->fd = -1;
	r->info = *info;
	if (!info_ok("ring_attach", info))
		goto err;
	r->rings = calloc(info->nr_cpus, sizeof(*r->rings));
	if (!r->rings)
		goto err;
	for (cpu = 0; cpu < info->nr_cpus; cpu++) {
		r->rings[cpu].cons = cons[cpu];
		r->rings[cpu].prod = prod[cpu];
		r->rings[cpu].data = (const uint8_t *)prod[cpu] +
				     info->page_size;
		start_ring(&r->rings[cpu], info->ring_size);
	}
	return r;
err:
	free(r->rings);
	free(r);
	return NULL;
}

void ring_close(struct ring_reader *r)
{
	uint32_t cpu;

	if (!r)
		return;
	for (cpu = 0; r->fd >= 0 && r->rings && cpu < r->info.nr_cpus; cpu++) {
		if (r->rings[cpu].cons)
			munmap(r->rings[cpu].cons, r->info.page_size);
		if (r->rings[cpu].prod_map)
			munmap(r->rings[cpu].prod_map,
			       r->rings[cpu].prod_map_len);
	}
	free(r->rings);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

uint32_t ring_nr_cpus(const struct ring_reader *r)
{
	return r->info.nr_cpus;
}

size_t ring_max_record(const struct ring_reader *r)
{
	return r->info.max_record ? r->info.max_record : OTEL_REC_MAX_SIZE;
}

int ring_wait(struct ring_reader *r, int timeout_ms)
{
	return ring_wait2(r, -1, timeout_ms);
}

int ring_wait2(struct ring_reader *r, int fd, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = r->fd, .events = POLLIN },
		{ .fd = fd, .events = POLLIN },	/* ignored when < 0 */
	};
	int n = poll(p, 2, timeout_ms);

	if (n < 0)
		return -1;
	return n > 0 && ((p[0].revents | p[1].revents) & POLLIN);
}

/*
 * OTEL_IOC_CLEAR empties a ring by moving consumer_pos (and producer_pos)
 * forward to the head, then writers may reuse everything before it: follow
 * a consumer_pos that moved ahead of @pos to a position a record can start
 * at.  (A co-reader's scribble can do no more than a co-reader: skip
 * records; the headers are checked all the same.)
 */
static uint64_t follow_clear(const struct ring *ring, uint64_t pos,
			     uint64_t prod, uint64_t size)
{
	uint64_t cons = load_cons(ring);

	return cons > pos && pos_ok(cons, prod, size) ? cons : pos;
}

/*
 * Where this pass starts: @pos, unless the ring is more than full from it,
 * which happens in overwrite mode only (the kernel counts what it wrote
 * over): then the oldest record kept, or, if that makes no sense either,
 * producer_pos, counted.
 */
static uint64_t pass_start(const struct ring *ring, uint64_t pos,
			   uint64_t prod, uint64_t size)
{
	uint64_t tail;

	if (pos == prod || pos_ok(pos, prod, size))
		return pos;
	tail = __atomic_load_n(&ring->prod->overwrite_tail, __ATOMIC_RELAXED);
	if (pos <= prod && pos <= tail && pos_ok(tail, prod, size))
		return tail;
	atomic_fetch_add(&stats.records_corrupt, 1);
	return prod;
}

/*
 * Is the header at offset @off of the data area one of a record that lies
 * inside the data area and below @left bytes to producer_pos?  Its size is
 * read into *@len only once the whole header is known to be inside.
 */
static bool header_ok(const uint8_t *data, uint64_t size, uint64_t off,
		      uint64_t left, uint16_t *type, uint16_t *len)
{
	if (off > size - 8)
		return false;
	memcpy(type, data + off, sizeof(*type));
	memcpy(len, data + off + 2, sizeof(*len));
	return *len >= 8 && !(*len % 8) && *len <= size - off && *len <= left;
}

/* Read up to @pos, which the kernel may now reuse. */
static void give_back(struct ring *ring, uint64_t pos)
{
	ring->pos = pos;
	/* pairs with the kernel's smp_load_acquire() of consumer_pos */
	__atomic_store_n(&ring->cons->consumer_pos, pos, __ATOMIC_RELEASE);
}

/*
 * One pass over one ring: at most one ring's worth, so none starves.
 * False when the sink stopped it.
 */
static bool drain_one(struct ring_reader *r, struct ring *ring,
		      ring_sink sink, void *arg, size_t *total)
{
	uint64_t size = r->info.ring_size, mask = size - 1, cons, prod;
	size_t fill = 0;
	uint16_t type, len;

	prod = load_prod(ring);
	cons = pass_start(ring, follow_clear(ring, ring->pos, prod, size),
			  prod, size);
	while (cons < prod) {
		uint64_t off = cons & mask;

		if (!header_ok(ring->data, size, off, prod - cons, &type,
			       &len)) {
			atomic_fetch_add(&stats.records_corrupt, 1);
			cons = prod;
			break;
		}
		if (type != OTEL_REC_PAD) {
			if (fill + len > CHUNK) {
				/* the chunk holds everything before cons */
				give_back(ring, cons);
				if (!sink(r->chunk, fill, arg))
					return false;
				fill = 0;
			}
			memcpy(r->chunk + fill, ring->data + off, len);
			fill += len;
		}
		cons += len;
		*total += len;
	}
	give_back(ring, cons);
	return !fill || sink(r->chunk, fill, arg);
}

size_t ring_drain(struct ring_reader *r, ring_sink sink, void *arg,
		  bool *stopped)
{
	uint32_t i, cpu = r->next < r->info.nr_cpus ? r->next : 0;
	size_t total = 0;

	*stopped = false;
	for (i = 0; i < r->info.nr_cpus; i++) {
		if (!drain_one(r, &r->rings[cpu], sink, arg, &total)) {
			r->next = cpu;
			*stopped = true;
			break;
		}
		cpu = cpu + 1 < r->info.nr_cpus ? cpu + 1 : 0;
	}
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
