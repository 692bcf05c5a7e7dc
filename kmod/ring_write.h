/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ring's writer side, inline: reserve and commit (ring.c has the
 * control side and docs/ring.md the rules and memory-ordering pairings).
 * The span code writes a span's record through these so that a span makes
 * as few calls as possible; otel_ring_reserve() / otel_ring_commit() are
 * the same code out of line, for the test and benchmark modules.
 *
 *  - only the ring's own CPU writes head, tail, the records and the
 *    producer page, with preemption disabled; nested writers (softirq,
 *    hardirq, NMI) interrupt an outer one and finish before it resumes, so
 *    local (non-LOCKed) cmpxchg is enough;
 *  - the outermost writer of a nest publishes producer_pos, and only when
 *    every record below it is written (ftrace's "committing" counter);
 *  - consumer_pos is user-writable: it can only cause drops, every access
 *    is masked into the data area and no record crosses its end.
 */
#ifndef _OTELTRACE_RING_WRITE_H
#define _OTELTRACE_RING_WRITE_H

#include <linux/irq_work.h>
#include <linux/preempt.h>
#include <linux/timekeeping.h>

#include "ring.h"

/*
 * Ring settings the writers read (ring.c changes them, writers paused; the
 * ring's memory and size are in struct otel_ring_buf).
 */
extern u32 otel_ring_cur_mode;
extern u32 otel_ring_wakeup;
extern bool otel_ring_paused;
extern bool otel_ring_reader_wait;

void otel_ring_overwrite(struct otel_ring *ring, struct otel_ring_buf *b,
			 u64 new_head, u64 rec_pos);

/**
 * otel_clock_ns() - the timestamp of records
 *
 * Return: CLOCK_MONOTONIC nanoseconds, NMI-safe.
 */
static __always_inline u64 otel_clock_ns(void)
{
	return ktime_get_mono_fast_ns();
}

static __always_inline void otel_ring_maybe_wake(struct otel_ring *ring,
						 struct otel_ring_buf *b,
						 u64 head)
{
	u32 wb;

	if (!READ_ONCE(otel_ring_reader_wait))
		return;
	wb = READ_ONCE(otel_ring_wakeup);
	if (wb && head - READ_ONCE(b->cons->consumer_pos) < wb)
		return;
	/* Never wake from here: we may be in NMI.  irq_work is NMI-safe. */
	if (irq_work_queue(&ring->wake_work))
		local64_inc(&ring->stat.wakeups);
}

/*
 * End of a reserve..commit section (also of a failed reserve).  Writers on
 * one CPU nest like a stack, so when the outermost one ends, every record
 * below head is complete and producer_pos may move there.  A writer that
 * interrupts us after the decrement is outermost itself and publishes; one
 * that reserved between our read of head and the decrement is seen by the
 * re-check.
 */
static __always_inline void otel_ring_end_commit(struct otel_ring *ring,
						 struct otel_ring_buf *b)
{
	u64 head;

	if (local_read(&ring->committing) != 1) {
		local_dec(&ring->committing);
		return;
	}
again:
	head = local64_read(&b->head);
	WRITE_ONCE(b->prod->overwrite_tail, local64_read(&b->tail));
	/* Records below head are written: pairs with the reader's acquire. */
	smp_store_release(&b->prod->producer_pos, head);
	local_dec(&ring->committing);
	barrier();
	if (unlikely(local64_read(&b->head) != head)) {
		local_inc(&ring->committing);
		goto again;
	}
	otel_ring_maybe_wake(ring, b, head);
}

/**
 * __otel_ring_reserve_at() - reserve a record in this CPU's ring
 * @type:	enum otel_rec_type
 * @size:	bytes of the record, header included; rounded up to 8
 * @time_ns:	the record's time_ns, read by the caller (a span's end), or
 *		0 to read the clock once the record is reserved
 *
 * On success preemption stays disabled until __otel_ring_commit().  The
 * header is filled (type, size, cpu, context flags, time_ns; span_id
 * zeroed).
 *
 * Context: any, NMI included.  Lock-free, never sleeps.
 * Return: the record, or NULL when it was dropped (and counted).
 */
static __always_inline struct otel_rec_hdr *
__otel_ring_reserve_at(u16 type, u32 size, u64 time_ns)
{
	struct otel_rec_hdr *rec, *pad_rec;
	struct otel_ring_buf *b;
	struct otel_ring *ring;
	u64 head, new_head, cons, pad, rsize;
	unsigned int bit, ctx, cpu;
	bool overwrite;

	preempt_disable_notrace();
	cpu = smp_processor_id();
	ring = otel_rings[cpu];
	if (unlikely(size > OTEL_REC_MAX_SIZE || size < sizeof(*rec))) {
		local64_inc(&ring->stat.dropped_too_big);
		goto out;
	}
	size = ALIGN(size, 8);
	if (unlikely(READ_ONCE(otel_ring_paused))) {
		local64_inc(&ring->stat.dropped_disabled);
		goto out;
	}
	ctx = interrupt_context_level();
	bit = 1U << ctx;
	if (unlikely(ring->recursion & bit)) {
		local64_inc(&ring->stat.dropped_nested);
		goto out;
	}
	/* Plain RMW is fine: an interrupting context restores the word. */
	ring->recursion |= bit;
	barrier();
	local_inc(&ring->committing);

	/*
	 * The area and its size, published together (ring.c, resize).  We
	 * run with preemption disabled, so the check holds without asking
	 * lockdep, which an NMI had better not do.
	 */
	b = rcu_dereference_sched_check(ring->buf, !preemptible());
	rsize = b->size;
	overwrite = READ_ONCE(otel_ring_cur_mode) == OTEL_MODE_OVERWRITE;
	do {
		head = local64_read(&b->head);
		pad = rsize - (head & (rsize - 1));
		if (pad >= size)
			pad = 0;
		new_head = head + pad + size;
		if (!overwrite) {
			/* Reader is done with the bytes below cons: pairs with its release. */
			cons = smp_load_acquire(&b->cons->consumer_pos);
			if (unlikely(new_head - cons > rsize))
				goto full;
		} else if (unlikely(new_head - READ_ONCE(b->prod->producer_pos) >
				    rsize)) {
			/* Would overwrite a record an interrupted writer is still writing. */
			goto full;
		}
	} while (local64_cmpxchg(&b->head, head, new_head) != head);

	if (overwrite)
		otel_ring_overwrite(ring, b, new_head, head + pad);
	if (pad) {
		/* Only type and size are meaningful in a PAD (it may be 8 bytes). */
		pad_rec = (struct otel_rec_hdr *)(b->data + (head & (rsize - 1)));
		pad_rec->type = OTEL_REC_PAD;
		pad_rec->size = pad;
		pad_rec->cpu = cpu;
		pad_rec->flags = 0;
	}
	rec = (struct otel_rec_hdr *)(b->data + ((head + pad) & (rsize - 1)));
	rec->type = type;
	rec->size = size;
	rec->cpu = cpu;
	rec->flags = ctx;
	rec->time_ns = time_ns ? time_ns : otel_clock_ns();
	memset(rec->span_id, 0, sizeof(rec->span_id));
	return rec;

full:
	local64_inc(&ring->stat.dropped_full);
	otel_ring_end_commit(ring, b);
	barrier();
	ring->recursion &= ~bit;
out:
	preempt_enable_notrace();
	return NULL;
}

/**
 * __otel_ring_reserve() - reserve a record in this CPU's ring, timed now
 * @type:	enum otel_rec_type
 * @size:	bytes of the record, header included; rounded up to 8
 *
 * __otel_ring_reserve_at() with the clock read once the record is reserved.
 *
 * Context: any, NMI included.  Lock-free, never sleeps.
 * Return: the record, or NULL when it was dropped (and counted).
 */
static __always_inline struct otel_rec_hdr *__otel_ring_reserve(u16 type,
								u32 size)
{
	return __otel_ring_reserve_at(type, size, 0);
}

/**
 * __otel_ring_commit() - publish a record from __otel_ring_reserve()
 * @rec:	the record, completely written
 *
 * Re-enables preemption.  The record becomes visible to readers when the
 * outermost writer on this CPU commits.
 *
 * Context: the context that reserved @rec, on the same CPU.
 */
static __always_inline void __otel_ring_commit(struct otel_rec_hdr *rec)
{
	struct otel_ring *ring = otel_rings[smp_processor_id()];
	/* The one reserve used: no resize runs while a writer is inside. */
	struct otel_ring_buf *b = rcu_dereference_sched_check(ring->buf,
							      !preemptible());

	local64_inc(&ring->stat.records);
	local64_add(rec->size, &ring->stat.bytes);
	otel_ring_end_commit(ring, b);
	barrier();
	ring->recursion &= ~(1U << interrupt_context_level());
	preempt_enable_notrace();
}

#endif /* _OTELTRACE_RING_WRITE_H */
