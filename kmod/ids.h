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
 * otel_span_id_of() - the span id of an input
 * @in:	from otel_id_input(), used for no other span
 *
 * Return: the id as a number (store it big-endian), never zero: the one
 * input that mixes to zero takes 1 instead (no branch), so two of the 2^64
 * inputs share an id.
 */
static __always_inline u64 otel_span_id_of(u64 in)
{
	u64 v = otel_mix64(in ^ otel_id_key[0]);

	return v + !v;
}

/**
 * otel_trace_id_of() - the trace id of a root span's input
 * @in:	from otel_id_input(), the root span's own (see otel_span_id_of())
 * @lo:	out: the id's last 8 bytes as a big-endian number (what the
 *	ratio sampler reads)
 *
 * The halves come from different keys (see otel_ids_init()), so they are
 * never both zero.
 *
 * Return: the id's first 8 bytes as a big-endian number.
 */
static __always_inline u64 otel_trace_id_of(u64 in, u64 *lo)
{
	*lo = otel_mix64(in ^ otel_id_key[2]);
	return otel_mix64(in ^ otel_id_key[1]);
}

#endif /* _OTELTRACE_IDS_H */
