/* SPDX-License-Identifier: GPL-2.0 */
/*
 * otel_bench.ko: the cases it measures.
 *
 * A case runs @n operations back to back.  main.c times batches of them with
 * interrupts off (the cost of one operation) or calls them in a loop for a
 * while with preemption on (throughput).  Each case keeps its own loop, so
 * the loop makes only direct calls: no indirect call (retpoline) per
 * operation blurs the figure.
 */
#ifndef _OTEL_BENCH_H
#define _OTEL_BENCH_H

#include <linux/types.h>

/**
 * struct otel_bench_case - one measured operation
 * @name:	name user space asks for
 * @run:	run @n operations; @seq numbers the first one (the operations
 *		carry it as a payload, so the compiler cannot fold them)
 */
struct otel_bench_case {
	const char *name;
	void (*run)(u64 seq, u32 n);
};

/* The payload every case carries: a W3C trace id, a span id, two s64. */
struct otel_bench_ids {
	u8 trace_id[16];
	u8 span_id[8];
};

extern const struct otel_bench_ids otel_bench_ids;

/* floor.c: clock reads plus a 64-byte store into a per-CPU buffer. */
extern const struct otel_bench_case otel_bench_floor;
extern const struct otel_bench_case otel_bench_clock;
extern const struct otel_bench_case otel_bench_empty;
int otel_bench_floor_init(void);
void otel_bench_floor_exit(void);

/* events.c: the same payload as an ftrace trace event, one or a pair. */
extern const struct otel_bench_case otel_bench_event;
extern const struct otel_bench_case otel_bench_event_pair;
/* events.c: the begin/end tracepoints a BPF tracer makes a span from. */
extern const struct otel_bench_case otel_bench_bpf_span;

/* ring.c: one 64-byte record through oteltrace's ring writer. */
extern const struct otel_bench_case otel_bench_ring;
/* ring_span.c: the bench span's record, with no span API around it. */
extern const struct otel_bench_case otel_bench_ring_span;

/* kspan.c: a span with two int64 attributes through oteltrace.h. */
extern const struct otel_bench_case otel_bench_kspan;
extern const struct otel_bench_case otel_bench_kspan_bare;

#endif /* _OTEL_BENCH_H */
