// SPDX-License-Identifier: GPL-2.0
/*
 * The ftrace cases: one otel_bench:otel_bench_begin event per operation, or
 * a begin/end pair (what a span costs when made of trace events).  User
 * space enables the events in tracefs; disabled, they cost a static branch.
 *
 * The BPF case: the two tracepoints a BPF tracer makes a span from, fired
 * per operation (begin with an id, end with the id and two s64).  What they
 * cost is what the BPF programs user space attached to them do.
 */
#include "otel_bench.h"

#define CREATE_TRACE_POINTS
#include "otel_bench_trace.h"

static void event_run(u64 seq, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		trace_otel_bench_begin(otel_bench_ids.trace_id,
				       otel_bench_ids.span_id, seq + i,
				       -(s64)(seq + i));
}

static void event_pair_run(u64 seq, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		trace_otel_bench_begin(otel_bench_ids.trace_id,
				       otel_bench_ids.span_id, seq + i,
				       -(s64)(seq + i));
		trace_otel_bench_end(otel_bench_ids.trace_id,
				     otel_bench_ids.span_id, seq + i,
				     -(s64)(seq + i));
	}
}

static void bpf_span_run(u64 seq, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		trace_otel_bench_bpf_begin(seq + i);
		trace_otel_bench_bpf_end(seq + i, seq + i, -(s64)(seq + i));
	}
}

const struct otel_bench_case otel_bench_event = {
	.name	= "event",
	.run	= event_run,
};

const struct otel_bench_case otel_bench_event_pair = {
	.name	= "event_pair",
	.run	= event_pair_run,
};

const struct otel_bench_case otel_bench_bpf_span = {
	.name	= "bpf_span",
	.run	= bpf_span_run,
};
