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
#define OTEL_PACK_SHIFT		60	/* sampler above a 57-bit threshold */

#define OTEL_PARENT_NONE	0	/* root span */
#define OTEL_PARENT_SAMPLED	1
#define OTEL_PARENT_UNSAMPLED	2

/* (sampler << OTEL_PACK_SHIFT) | threshold, one word: see sampler.c. */
extern u64 otel_sampler_word;

int otel_sampler_set(u32 sampler, u32 ratio);
void otel_sampler_get(u32 *sampler, u32 *ratio);

/**
 * otel_sample() - decide whether a new span records
 * @trace_id:	the span's trace id (inherited or new)
 * @parent:	OTEL_PARENT_NONE, _SAMPLED or _UNSAMPLED
 *
 * Return: true to record (and set the W3C sampled flag).
 */
static __always_inline bool otel_sample(const u8 *trace_id, int parent)
{
	u64 w = READ_ONCE(otel_sampler_word);
	u32 sampler = w >> OTEL_PACK_SHIFT;
	u64 threshold = w & ((1ULL << OTEL_PACK_SHIFT) - 1);

	switch (sampler) {
	case OTEL_SAMPLER_PARENTBASED_ALWAYS_ON:
	case OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF:
	case OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO:
		if (parent != OTEL_PARENT_NONE)
			return parent == OTEL_PARENT_SAMPLED;
		sampler -= OTEL_SAMPLER_PARENTBASED_ALWAYS_ON;
		break;
	}
	switch (sampler) {
	case OTEL_SAMPLER_ALWAYS_ON:
		return true;
	case OTEL_SAMPLER_TRACEIDRATIO:
		return (get_unaligned_be64(trace_id + 8) & OTEL_R_MASK) >=
		       threshold;
	default:
		return false;
	}
}

#endif /* _OTELTRACE_SAMPLER_H */
