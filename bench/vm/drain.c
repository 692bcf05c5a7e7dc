// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: a minimal reader that empties every ring through mmap, following
 * the reader protocol of uapi/oteltrace.h, and counts what it read: every
 * record, and the SPAN records among them (one per span that ended, ABI 2).
 * It is the throughput benchmark's reader when oteld is not there, and
 * the relay floor's (relay.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kbench.h"

struct kb_ring {
	struct otel_ring_consumer	*cons;
	const struct otel_ring_producer	*prod;	/* followed by the data */
	const uint8_t			*data;
};

struct kb_drain {
	pthread_t	thread;
	int		fd;
	int		cpu;
	struct otel_info info;
	struct kb_ring	*rings;
	struct kb_relay	*relay;	/* SPAN records go there too, or NULL */
	bool		relay_full;	/* a record waits for the relay */
	atomic_bool	stop;
	uint64_t	records, spans, bytes, bad;
};

/* Is the record at @h, of @size bytes, sound enough to step over? */
static bool record_ok(const struct otel_rec_hdr *h, uint64_t size,
		      uint64_t off, uint64_t ring_size)
{
	/* a PAD may be 8 bytes: only its type and size are there */
	uint64_t min = h->type == OTEL_REC_PAD ? 8 : sizeof(*h);

	if (h->type == OTEL_REC_SPAN)
		min = sizeof(struct otel_rec_span);
	return size >= min && size % 8 == 0 && off + size <= ring_size;
}

/* Consume everything published in one ring; bytes consumed. */
static uint64_t drain_ring(struct kb_drain *d, struct kb_ring *r)
{
	uint64_t mask = d->info.ring_size - 1;
	uint64_t cons = r->cons->consumer_pos, start = cons;
	uint64_t prod = __atomic_load_n(&r->prod->producer_pos,
					__ATOMIC_ACQUIRE);

	while (cons < prod) {
		const struct otel_rec_hdr *h = (const void *)
			(r->data + (cons & mask));
		uint64_t size = h->size;

		if (!record_ok(h, size, cons & mask, d->info.ring_size)) {
			d->bad++;	/* corrupt: skip what was published */
			cons = prod;
			break;
		}
		if (h->type == OTEL_REC_SPAN && d->relay &&
		    !kb_relay_put(d->relay, h, size)) {
			d->relay_full = true;	/* it stays in the ring */
			break;
		}
		if (h->type != OTEL_REC_PAD)
			d->records++;
		if (h->type == OTEL_REC_SPAN)
			d->spans++;
		cons += size;
	}
	d->bytes += cons - start;
	/* pairs with the kernel's check of consumer_pos before reserving */
	__atomic_store_n(&r->cons->consumer_pos, cons, __ATOMIC_RELEASE);
	return cons - start;
}

static void *drain_main(void *arg)
{
	struct kb_drain *d = arg;
	struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
	uint64_t got;
	unsigned int i;
	bool last;

	if (d->cpu >= 0)
		kb_pin(d->cpu);
	do {
		last = atomic_load(&d->stop);
		got = 0;
		d->relay_full = false;
		for (i = 0; i < d->info.nr_cpus; i++)
			got += drain_ring(d, &d->rings[i]);
		if (d->relay_full)
			kb_relay_wait(d->relay, 10);	/* room is missing */
		else if (!got && !last)
			poll(&pfd, 1, 10);	/* woken by records or flush */
	} while (!last || got || d->relay_full);
	return NULL;
}

static void drain_unmap(struct kb_drain *d)
{
	unsigned int i;

	for (i = 0; i < d->info.nr_cpus; i++) {
		if (d->rings[i].cons)
			munmap(d->rings[i].cons, d->info.page_size);
		if (d->rings[i].prod)
			munmap((void *)d->rings[i].prod,
			       d->info.page_size + d->info.ring_size);
	}
	free(d->rings);
}

struct kb_drain *kb_drain_start(int cpu, struct kb_relay *relay, char *err,
				size_t errlen)
{
	struct kb_drain *d = calloc(1, sizeof(*d));
	unsigned int i;
	void *p;

	if (!d)
		goto fail;
	d->cpu = cpu;
	d->relay = relay;
	d->fd = open("/dev/" OTEL_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		goto fail;
	d->info.size = sizeof(d->info);
	if (ioctl(d->fd, OTEL_IOC_INFO, &d->info))
		goto fail_close;
	if (d->info.abi_version != OTEL_ABI_VERSION) {
		snprintf(err, errlen, "oteltrace.ko writes records of ABI %u, "
			 "kbench reads ABI %d", d->info.abi_version,
			 OTEL_ABI_VERSION);
		goto fail_abi;
	}
	if (!d->info.nr_cpus || !d->info.ring_size ||
	    d->info.ring_size & (d->info.ring_size - 1)) {
		errno = EPROTO;
		goto fail_close;
	}
	d->rings = calloc(d->info.nr_cpus, sizeof(*d->rings));
	if (!d->rings)
		goto fail_close;
	for (i = 0; i < d->info.nr_cpus; i++) {
		off_t off = (off_t)i * d->info.mmap_stride;

		p = mmap(NULL, d->info.page_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, d->fd, off);
		if (p == MAP_FAILED)
			goto fail_unmap;
		d->rings[i].cons = p;
		p = mmap(NULL, d->info.page_size + d->info.ring_size,
			 PROT_READ, MAP_SHARED, d->fd, off + d->info.page_size);
		if (p == MAP_FAILED)
			goto fail_unmap;
		d->rings[i].prod = p;
		d->rings[i].data = (const uint8_t *)p + d->info.page_size;
	}
	errno = pthread_create(&d->thread, NULL, drain_main, d);
	if (errno)
		goto fail_unmap;
	return d;

fail_unmap:
	snprintf(err, errlen, "mmap reader: %s", strerror(errno));
	drain_unmap(d);
	close(d->fd);
	free(d);
	return NULL;
fail_close:
	snprintf(err, errlen, "OTEL_IOC_INFO: %s", strerror(errno));
fail_abi:
	close(d->fd);
	free(d);
	return NULL;
fail:
	snprintf(err, errlen, "open /dev/%s: %s", OTEL_DEVICE_NAME,
		 strerror(errno));
	free(d);
	return NULL;
}

void kb_drain_stop(struct kb_drain *d, uint64_t *records, uint64_t *spans,
		   uint64_t *bytes, uint64_t *bad)
{
	atomic_store(&d->stop, true);
	pthread_join(d->thread, NULL);
	*records = d->records;
	*spans = d->spans;
	*bytes = d->bytes;
	*bad = d->bad;
	drain_unmap(d);
	close(d->fd);
	free(d);
}
