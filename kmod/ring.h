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
#include <linux/atomic.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/wait.h>
#include <asm/local.h>
#include <asm/local64.h>
#include "uapi/oteltrace.h"

struct page;

struct otel_rec_hdr *otel_ring_reserve(u16 type, u32 size);
void otel_ring_commit(struct otel_rec_hdr *rec);

/* Set up and tear down the rings (called from main.c). */
int otel_ring_init(void);
void otel_ring_exit(void);

/* Smallest and largest data area of one ring (a power of two between). */
#define OTEL_RING_MIN_SIZE	(16U << 10)
#define OTEL_RING_MAX_SIZE	(64U << 20)

/**
 * struct otel_ring_buf - one ring's memory, its geometry and its positions
 * @head:	end of reserved space; only the ring's CPU moves it (local cmpxchg)
 * @tail:	overwrite mode: start of the oldest record kept
 * @data:	the data area, @size bytes
 * @size:	bytes in @data, a power of two
 * @cons:	consumer page (user-writable: never trusted)
 * @prod:	producer page (read-only to user space)
 * @area:	vmalloc_user() memory: consumer page, producer page, data
 *
 * A resize publishes a new one with rcu_assign_pointer() (ring.c); but for
 * @head, @tail and the pages' contents nothing in it changes once it is
 * published, so whoever loads the pointer with rcu_dereference*() sees an
 * area and a size that belong together.  It never reaches user space (the
 * pages of @area do).
 */
struct otel_ring_buf {
	local64_t		head;
	local64_t		tail;
	u8			*data;
	u64			size;
	struct otel_ring_consumer *cons;
	struct otel_ring_producer *prod;
	void			*area;
};

/**
 * struct otel_ring - one CPU's ring
 * @buf:	the ring's memory: writers read it with rcu_dereference_sched()
 *		(they run with preemption disabled), readers under
 *		otel_ring_mutex or rcu_read_lock()
 * @committing:	writers inside reserve..commit on this CPU (they nest)
 * @recursion:	one bit per context (task, softirq, hardirq, NMI) in use
 * @wake_work:	wakes readers from any context, NMI included
 * @discarded:	records thrown away unread by a resize or a mode change
 *		(control side only, under otel_ring_mutex)
 * @stat:	counters, changed by this CPU only (local64 ops)
 */
struct otel_ring {
	struct otel_ring_buf __rcu *buf;
	local_t			committing;
	unsigned int		recursion;
	struct irq_work		wake_work;
	atomic64_t		discarded;
	struct {
		local64_t	records;
		local64_t	bytes;
		local64_t	dropped_full;
		local64_t	dropped_too_big;
		local64_t	dropped_nested;
		local64_t	dropped_disabled;
		local64_t	overwritten;
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
u64 otel_ring_read_start(struct otel_ring_buf *b, u64 prod);
int otel_ring_map_get(void);
void otel_ring_map_put(void);
struct page *otel_ring_map_page(unsigned int cpu, unsigned long pgoff);

/**
 * otel_ring_buf_locked() - a ring's memory, for a reader holding the mutex
 * @ring:	the ring
 *
 * A resize swaps the memory under otel_ring_mutex only.
 * Return: the ring's current struct otel_ring_buf.
 */
static inline struct otel_ring_buf *otel_ring_buf_locked(struct otel_ring *ring)
{
	return rcu_dereference_protected(ring->buf,
					 lockdep_is_held(&otel_ring_mutex));
}

#endif /* _OTELTRACE_RING_H */
