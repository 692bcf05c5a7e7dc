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
 */
#ifndef _OTELTRACE_RING_H
#define _OTELTRACE_RING_H

#include <linux/types.h>
#include "uapi/oteltrace.h"

struct otel_rec_hdr *otel_ring_reserve(u16 type, u32 size);
void otel_ring_commit(struct otel_rec_hdr *rec);

/* Timestamp used for records: CLOCK_MONOTONIC, NMI-safe. */
u64 otel_clock_ns(void);

/* Set up and tear down the rings (called from main.c). */
int otel_ring_init(void);
void otel_ring_exit(void);

#endif /* _OTELTRACE_RING_H */
