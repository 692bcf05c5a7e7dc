/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The record bench/bpf/bpf_span.bpf.c writes into its BPF ring buffer for
 * each span, and the counters it keeps; shared with the loader in kbench
 * (bench/vm/bpf.c).
 *
 * The payload is the oteltrace bench span's (bench/kmod/kspan.c): trace id,
 * span id, parent span id (zero: a root span), start and end times, the
 * span name and two int64 attributes.  As in ebpf_exporter, a record holds
 * values only: which attribute each value is (the keys) and the span's
 * scope are the reader's configuration, not the record's.
 */
#ifndef OTEL_BENCH_BPF_SPAN_H
#define OTEL_BENCH_BPF_SPAN_H

#include <linux/types.h>

#define BPF_SPAN_NAME		"otel_bench.span"
#define BPF_SPAN_NAME_SIZE	16	/* the name and its NUL */

/* Sizes the loader may change before loading. */
#define BPF_SPAN_RING_BYTES	(8U << 20)	/* power of two, >= a page */
#define BPF_SPAN_INFLIGHT	1024		/* spans begun, not ended */

/**
 * struct bpf_span_record - one span, written when it ends (80 bytes)
 * @trace_id:		W3C trace id, random: bytes 0-7 are @trace_id[0] as a
 *			big-endian number (the reader converts, as
 *			ebpf_exporter's does: ids are u64s in BPF)
 * @span_id:		random, the same way
 * @parent_span_id:	zero: the bench span is a root span
 * @start_ns:		bpf_ktime_get_ns() at begin (CLOCK_MONOTONIC)
 * @end_ns:		bpf_ktime_get_ns() at end
 * @name:		BPF_SPAN_NAME, NUL-padded
 * @a:			first int64 attribute ("bench.a")
 * @b:			second int64 attribute ("bench.b")
 */
struct bpf_span_record {
	__u64	trace_id[2];
	__u64	span_id;
	__u64	parent_span_id;
	__u64	start_ns;
	__u64	end_ns;
	char	name[BPF_SPAN_NAME_SIZE] __attribute__((aligned(8)));
	__s64	a;
	__s64	b;
};

/* Failures the programs count (array map "counters", one __u64 each). */
enum bpf_span_counter {
	BPF_SPAN_NO_ROOM,	/* begin: the hash map of starts was full */
	BPF_SPAN_NO_START,	/* end: no start for this id */
	BPF_SPAN_RING_FULL,	/* end: the ring buffer had no room */
	BPF_SPAN_NR_COUNTERS
};

#endif /* OTEL_BENCH_BPF_SPAN_H */
