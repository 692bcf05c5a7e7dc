/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record format of otel_ringtest.ko, shared with the in-VM ring tests
 * (tests/vm/ring_*.c) that validate every record it writes.
 *
 * Each writer (one per CPU and context) numbers its records 0, 1, 2, ...
 * (the sequence counts attempts, so the gaps are the drops); the size and
 * every payload byte are functions of (writer, seq), so a torn or
 * half-written record is caught.
 */
#ifndef _OTEL_RINGTEST_H
#define _OTEL_RINGTEST_H

#include <linux/types.h>
#include "uapi/oteltrace.h"

/* Writer ids: cpu * RINGTEST_NR_CTX + context. */
#define RINGTEST_CTX_TASK	0
#define RINGTEST_CTX_SOFTIRQ	1
#define RINGTEST_CTX_HARDIRQ	2
#define RINGTEST_CTX_NMI	3
#define RINGTEST_NR_CTX		4

struct otel_ringtest_rec {
	struct otel_rec_hdr hdr;	/* type OTEL_REC_RAW */
	__u32	writer;
	__u32	ctx;			/* RINGTEST_CTX_* */
	__u64	seq;
	/* __u8 fill[]; up to hdr.size */
};

/* Record size for @seq: a multiple of 8 in [min, max]. */
static inline __u32 otel_ringtest_size(__u64 seq, __u32 min, __u32 max)
{
	__u32 steps = (max - min) / 8 + 1;

	return min + (__u32)((seq * 2654435761ULL) % steps) * 8;
}

static inline __u8 otel_ringtest_fill(__u32 writer, __u64 seq, __u32 i)
{
	return (__u8)(writer * 31 + seq * 7 + i);
}

#endif /* _OTEL_RINGTEST_H */
