/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sampling decision (sampler.c has the design and the setters):
 * inline, because every span begin takes it.
 */
#ifndef _OTELTRACE_SAMPLER_H
#define _OTELTRACE_SAMPLER_H

#include <linux/compiler.h>
#include <linux/types.h>

#include "compat.h"
#include "uapi/oteltrace.h"

#define OTEL_R_BITS		56
#define OTEL_R_MASK		((1ULL << OTEL_R_BITS) - 1)
#define OTEL_PACK_SHIFT		57	/* modes above a 57-bit threshold */

#define OTEL_PARENT_NONE	0	/* root span */
#define OTEL_PARENT_SAMPLED	1
#define OTEL_PARENT_UNSAMPLED	2

/* What the sampler does for one kind of parent: 2 bits each. */
#define OTEL_SAMPLE_DROP	0
#define OTEL_SAMPLE_RECORD	1
#define OTEL_SAMPLE_RATIO	2	/* trace id against the threshold */
#define OTEL_SAMPLE_MODE_MASK	3

/*
 * (modes << OTEL_PACK_SHIFT) | threshold, one word (see sampler.c): two
 * bits of mode per OTEL_PARENT_* value, then the traceidratio threshold
 * (at most 2^56, hence 57 bits).
 */
extern u64 otel_sampler_word;

int otel_sampler_set(u32 sampler, u32 ratio);
void otel_sampler_get(u32 *sampler, u32 *ratio);

/**
 * otel_sample() - decide whether a new span records
 * @r:		the span's trace id (inherited or new), its last 8 bytes
 *		read big-endian
 * @parent:	OTEL_PARENT_NONE, _SAMPLED or _UNSAMPLED
 *
 * Without a branch: the sampler's mode for this kind of parent, from a
 * table packed into one word (a span begin takes few branches; each one
 * ends an emulated translation block under QEMU, see docs/benchmarks.md).
 *
 * Return: true to record (and set the W3C sampled flag).
 */
static __always_inline bool otel_sample(u64 r, int parent)
{
	u64 w = READ_ONCE(otel_sampler_word);
	u64 threshold = w & ((1ULL << OTEL_PACK_SHIFT) - 1);
	unsigned int mode = (w >> (OTEL_PACK_SHIFT + 2 * parent)) & 3;

	return (mode & OTEL_SAMPLE_RECORD) |
	       ((mode >> 1) & ((r & OTEL_R_MASK) >= threshold));
}

#endif /* _OTELTRACE_SAMPLER_H */
