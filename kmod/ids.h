/* SPDX-License-Identifier: GPL-2.0 */
/*
 * W3C ids (ids.c has the design): inline, because every span begin makes
 * one or two and a call costs as much as the arithmetic.
 */
#ifndef _OTELTRACE_IDS_H
#define _OTELTRACE_IDS_H

#include <linux/compiler.h>
#include <linux/percpu.h>
#include <linux/types.h>

#include "compat.h"

#define OTEL_ID_CPU_SHIFT	48

extern u64 otel_id_key[3];
DECLARE_PER_CPU(u64, otel_id_counter);

void otel_ids_init(void);

/* splitmix64's output function: invertible, good avalanche. */
static __always_inline u64 otel_mix64(u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A 64-bit input no other id shares (the CPU in the top 16 bits). */
static __always_inline u64 otel_id_input(void)
{
	return this_cpu_inc_return(otel_id_counter);
}

/**
 * otel_new_span_id() - a fresh span id
 * @id:	out: OTEL_SPAN_ID_SIZE bytes, never all zero
 */
static __always_inline void otel_new_span_id(u8 *id)
{
	u64 v;

	/* Exactly one input maps to zero: skip it. */
	do {
		v = otel_mix64(otel_id_input() ^ otel_id_key[0]);
	} while (unlikely(!v));
	put_unaligned_be64(v, id);
}

/**
 * otel_new_trace_id() - a fresh trace id
 * @id:	out: OTEL_TRACE_ID_SIZE bytes, never all zero
 *
 * The halves come from different keys (see otel_ids_init()), so they are
 * never both zero.
 */
static __always_inline void otel_new_trace_id(u8 *id)
{
	u64 in = otel_id_input();

	put_unaligned_be64(otel_mix64(in ^ otel_id_key[1]), id);
	put_unaligned_be64(otel_mix64(in ^ otel_id_key[2]), id + 8);
}

#endif /* _OTELTRACE_IDS_H */
