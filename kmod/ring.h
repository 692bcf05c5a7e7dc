/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-CPU record rings: the writer side used by the span code.
 *
 * Contract (implemented in ring.c, design in docs/ring.md):
 *  - otel_ring_reserve() disables preemption, checks recursion, reserves
 *    @size bytes in this CPU's ring and fills the header (type, size, cpu,
 *    context flags, time_ns).  The caller fills span_id and the payload and
 *    then calls otel_ring_commit() on the same record, with nothing that
 *    sleeps in between.  NULL means the record was dropped and counted; the
 *    caller must not commit then (preemption is already re-enabled).
 *  - Lock-free, no allocation, never sleeps, prints nothing; usable from
 *    task, softirq, hardirq and NMI context, nested.
 *  - @size includes struct otel_rec_hdr and is rounded up to 8 by the ring;
 *    above OTEL_REC_MAX_SIZE the record is refused (dropped_too_big).
 *
 * The writer pair is exported (GPL) only so that the ring's own test module
 * (tests/kmod/otel_ringtest.c) and the benchmark can write raw records;
 * drivers use the span API in oteltrace.h, never these.
 *
 * The reader side (dev.c) uses the rest of this header.
 */
#ifndef _OTELTRACE_RING_H
#define _OTELTRACE_RING_H

#include <linux/types.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <asm/local.h>
#include <asm/local64.h>
#include "uapi/oteltrace.h"

struct otel_rec_hdr *otel_ring_reserve(u16 type, u32 size);
void otel_ring_commit(struct otel_rec_hdr *rec);

/* Set up and tear down the rings (called from main.c). */
int otel_ring_init(void);
void otel_ring_exit(void);

/* Smallest and largest data area of one ring (a power of two between). */
#define OTEL_RING_MIN_SIZE	(16U << 10)
#define OTEL_RING_MAX_SIZE	(64U << 20)

/**
 * struct otel_ring - one CPU's ring
 * @area:	vmalloc_user() memory: consumer page, producer page, data
 * @cons:	consumer page (user-writable: never trusted)
 * @prod:	producer page (read-only to user space)
 * @data:	the data area, otel_ring_size bytes
 * @head:	end of reserved space; only this CPU moves it (local cmpxchg)
 * @tail:	overwrite mode: start of the oldest record kept
 * @committing:	writers inside reserve..commit on this CPU (they nest)
 * @recursion:	one bit per context (task, softirq, hardirq, NMI) in use
 * @wake_work:	wakes readers from any context, NMI included
 * @stat:	counters, changed by this CPU only (local64 ops)
 */
struct otel_ring {
	void			*area;
	struct otel_ring_consumer *cons;
	struct otel_ring_producer *prod;
	u8			*data;
	local64_t		head;
	local64_t		tail;
	local_t			committing;
	unsigned int		recursion;
	struct irq_work		wake_work;
	struct {
		local64_t	records;
		local64_t	bytes;
		local64_t	dropped_full;
		local64_t	dropped_too_big;
		local64_t	dropped_nested;
		local64_t	dropped_disabled;
		local64_t	overwritten;
		local64_t	discarded;
		local64_t	wakeups;
	} stat;
};

/* Reader side: everything below is for dev.c, in process context. */
extern struct otel_ring **otel_rings;		/* [nr_cpu_ids] */
extern struct mutex otel_ring_mutex;		/* serialises readers/control */
extern wait_queue_head_t otel_ring_wq;		/* readers wait here */

u64 otel_ring_size(void);
u64 otel_ring_stride(void);
u32 otel_ring_mode(void);
u32 otel_ring_wakeup_bytes(void);
void otel_ring_set_wakeup_bytes(u32 bytes);
int otel_ring_set_mode(u32 mode);
int otel_ring_resize(u64 size);
void otel_ring_snapshot(void);
void otel_ring_resume(void);
void otel_ring_clear(void);
void otel_ring_stats(unsigned int cpu, struct otel_cpu_stats *out);
void otel_ring_reader_waiting(void);
bool otel_ring_has_data(void);
u64 otel_ring_read_start(struct otel_ring *ring, u64 prod);
int otel_ring_map_get(void);
void otel_ring_map_put(void);

#endif /* _OTELTRACE_RING_H */
