/* SPDX-License-Identifier: GPL-2.0 */
/*
 * otel_bench's trace events: the payload of a span (trace id, span id, two
 * s64) as ftrace events, to compare a span with what ftrace costs.  A span
 * needs two of them (begin and end), hence the pair.
 *
 * otel_bench_bpf_begin and otel_bench_bpf_end are the hooks a BPF tracer
 * makes its spans from (bench/bpf/bpf_span.bpf.c, attached as raw
 * tracepoints, the way ebpf_exporter makes kernel spans): begin carries an
 * operation id, end the id and the span's two s64 attributes.  The ftrace
 * side of these two stays disabled; only the BPF programs see them.
 *
 * Read several times by define_trace.h (hence the guard that lets
 * TRACE_HEADER_MULTI_READ through); events.c defines CREATE_TRACE_POINTS.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM otel_bench

#if !defined(_OTEL_BENCH_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _OTEL_BENCH_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(otel_bench_span,
		    TP_PROTO(const u8 *trace_id, const u8 *span_id, s64 a,
			     s64 b),
		    TP_ARGS(trace_id, span_id, a, b),
		    TP_STRUCT__entry(__array(u8, trace_id, 16)
				     __array(u8, span_id, 8)
				     __field(s64, a)
				     __field(s64, b)),
		    TP_fast_assign(memcpy(__entry->trace_id, trace_id, 16);
				   memcpy(__entry->span_id, span_id, 8);
				   __entry->a = a;
				   __entry->b = b;),
		    TP_printk("trace_id=%s span_id=%s a=%lld b=%lld",
			      __print_hex_str(__entry->trace_id, 16),
			      __print_hex_str(__entry->span_id, 8),
			      __entry->a, __entry->b));

DEFINE_EVENT(otel_bench_span, otel_bench_begin,
	     TP_PROTO(const u8 *trace_id, const u8 *span_id, s64 a, s64 b),
	     TP_ARGS(trace_id, span_id, a, b));

DEFINE_EVENT(otel_bench_span, otel_bench_end,
	     TP_PROTO(const u8 *trace_id, const u8 *span_id, s64 a, s64 b),
	     TP_ARGS(trace_id, span_id, a, b));

TRACE_EVENT(otel_bench_bpf_begin,
	    TP_PROTO(u64 id),
	    TP_ARGS(id),
	    TP_STRUCT__entry(__field(u64, id)),
	    TP_fast_assign(__entry->id = id;),
	    TP_printk("id=%llu", __entry->id));

TRACE_EVENT(otel_bench_bpf_end,
	    TP_PROTO(u64 id, s64 a, s64 b),
	    TP_ARGS(id, a, b),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(s64, a)
			     __field(s64, b)),
	    TP_fast_assign(__entry->id = id;
			   __entry->a = a;
			   __entry->b = b;),
	    TP_printk("id=%llu a=%lld b=%lld", __entry->id, __entry->a,
		      __entry->b));

#endif /* _OTEL_BENCH_TRACE_H */

/* define_trace.h looks for this file by name, in this directory. */
#undef TRACE_INCLUDE_PATH
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE otel_bench_trace
#include <trace/define_trace.h>
