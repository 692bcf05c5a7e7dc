/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the per-CPU rings of /dev/oteltrace through mmap and poll. */
#ifndef OTELD_RING_H
#define OTELD_RING_H

#include "oteld.h"

struct ring_reader;

/* The most bytes of records handed to a sink at once. */
#define RING_CHUNK_BYTES	(64u << 10)

/*
 * Called with whole records (PAD left out), copied out of the ring; the
 * ring's space is already given back.  Returns false to stop reading: the
 * records after these stay in their ring for the next ring_drain().
 */
typedef bool (*ring_sink)(const void *records, size_t len, void *arg);

struct ring_reader *ring_open(const char *path);
void ring_close(struct ring_reader *r);
uint32_t ring_nr_cpus(const struct ring_reader *r);
/* The largest record the module writes (OTEL_IOC_INFO max_record). */
size_t ring_max_record(const struct ring_reader *r);
/* Waits up to @timeout_ms for records; 1 ready, 0 timeout, -1 error/EINTR */
int ring_wait(struct ring_reader *r, int timeout_ms);
/* The same, also woken when @fd (if >= 0) is readable: 1, 0, -1 as above */
int ring_wait2(struct ring_reader *r, int fd, int timeout_ms);
/*
 * Reads every ring up to its producer position, or until the sink says
 * stop (*@stopped, then the next call starts with that ring); returns
 * bytes read.
 */
size_t ring_drain(struct ring_reader *r, ring_sink sink, void *arg,
		  bool *stopped);
int ring_clock(struct ring_reader *r, struct anchor *a);
int ring_kstats(struct ring_reader *r, struct otel_cpu_stats *s);

/*
 * For tests: a reader of rings already in memory, laid out as mmap() gives
 * them (@prod[n]: the producer page, the data area info->page_size bytes
 * after it); no device, so only ring_drain() and ring_close() work.
 */
struct ring_reader *ring_attach(const struct otel_info *info,
			       struct otel_ring_consumer *const *cons,
			       const void *const *prod);

#endif
