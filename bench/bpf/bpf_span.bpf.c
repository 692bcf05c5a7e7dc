// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel span made the way ebpf_exporter makes them: two BPF programs on
 * the tracepoints a driver fires when an operation begins and ends
 * (otel_bench_bpf_begin and otel_bench_bpf_end, bench/kmod/events.c).
 *
 * begin: the start time goes into a hash map, keyed by the operation's id.
 * end:   the start is looked up and deleted; one record with the span's ids,
 *        times, name and attributes goes into a BPF ring buffer, which user
 *        space (kbench, bench/vm/bpf.c) drains.
 *
 * Attached as raw tracepoints (the arguments as u64s, no trace event
 * buffer): the cheapest BPF attachment to a tracepoint, the one that tp_btf
 * programs also use.  No CO-RE: the programs read nothing but their
 * arguments.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "bpf_span.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPF_SPAN_INFLIGHT);
	__type(key, __u64);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BPF_SPAN_RING_BYTES);
} spans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPF_SPAN_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* The name as two words, so it is stored as two words, not 16 bytes. */
static const union {
	char	c[BPF_SPAN_NAME_SIZE];
	__u64	w[BPF_SPAN_NAME_SIZE / 8];
} span_name = { .c = BPF_SPAN_NAME };

/* 64 random bits, from the kernel's per-CPU pseudo-random generator. */
static __always_inline __u64 random64(void)
{
	return (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
}

SEC("raw_tp/otel_bench_bpf_begin")
int span_begin(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = ctx->args[0];
	__u64 start = bpf_ktime_get_ns();

	if (bpf_map_update_elem(&starts, &id, &start, BPF_ANY))
		count(BPF_SPAN_NO_ROOM);
	return 0;
}

SEC("raw_tp/otel_bench_bpf_end")
int span_end(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 end = bpf_ktime_get_ns();
	__u64 id = ctx->args[0];
	struct bpf_span_record *r;
	__u64 *start, start_ns;

	start = bpf_map_lookup_elem(&starts, &id);
	if (!start) {
		count(BPF_SPAN_NO_START);
		return 0;
	}
	start_ns = *start;
	bpf_map_delete_elem(&starts, &id);

	r = bpf_ringbuf_reserve(&spans, sizeof(*r), 0);
	if (!r) {
		count(BPF_SPAN_RING_FULL);
		return 0;
	}
	r->trace_id[0] = random64();
	r->trace_id[1] = random64();
	r->span_id = random64();
	r->parent_span_id = 0;
	r->start_ns = start_ns;
	r->end_ns = end;
	((__u64 *)r->name)[0] = span_name.w[0];
	((__u64 *)r->name)[1] = span_name.w[1];
	r->a = (__s64)ctx->args[1];
	r->b = (__s64)ctx->args[2];
	bpf_ringbuf_submit(r, 0);
	return 0;
}
