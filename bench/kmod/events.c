// SPDX-License-Identifier: GPL-2.0
/*
 * The ftrace cases: one otel_bench:otel_bench_begin event per operation, or
 * a begin/end pair (what a span costs when made of trace events).  User
 * space enables the events in tracefs; disabled, they cost a static branch.
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

const struct otel_bench_case otel_bench_event = {
	.name	= "event",
	.run	= event_run,
};

const struct otel_bench_case otel_bench_event_pair = {
	.name	= "event_pair",
	.run	= event_pair_run,
};
