/* SPDX-License-Identifier: GPL-2.0 */
/*
 * oteltrace's own trace events: every span begin and end, for ftrace, perf
 * and bpftrace users (oteltrace:kspan_begin, oteltrace:kspan_end).  They
 * fire for every span begun while tracing is enabled, sampled or not, but
 * the no-op spans noop_spans=Y makes (noop.c: those have no ids).
 *
 * This header is read several times by define_trace.h (hence the guard
 * that lets TRACE_HEADER_MULTI_READ through); trace.c defines
 * CREATE_TRACE_POINTS and includes it once to instantiate the events.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM oteltrace

#if !defined(_OTELTRACE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _OTELTRACE_TRACE_H

#include <linux/tracepoint.h>

#include "compat.h"
#include "oteltrace.h"

/*
 * Kind and status print by name; TRACE_DEFINE_ENUM() exports the values so
 * that perf and trace-cmd, which parse the print format, resolve them too.
 */
TRACE_DEFINE_ENUM(OTEL_SPAN_KIND_UNSPECIFIED);
TRACE_DEFINE_ENUM(OTEL_SPAN_KIND_INTERNAL);
TRACE_DEFINE_ENUM(OTEL_SPAN_KIND_SERVER);
TRACE_DEFINE_ENUM(OTEL_SPAN_KIND_CLIENT);
TRACE_DEFINE_ENUM(OTEL_SPAN_KIND_PRODUCER);
TRACE_DEFINE_ENUM(OTEL_SPAN_KIND_CONSUMER);
TRACE_DEFINE_ENUM(OTEL_STATUS_UNSET);
TRACE_DEFINE_ENUM(OTEL_STATUS_OK);
TRACE_DEFINE_ENUM(OTEL_STATUS_ERROR);

#define otel_show_kind(kind)						\
	__print_symbolic(kind,						\
			 { OTEL_SPAN_KIND_UNSPECIFIED,	"unspecified" },	\
			 { OTEL_SPAN_KIND_INTERNAL,	"internal" },	\
			 { OTEL_SPAN_KIND_SERVER,	"server" },	\
			 { OTEL_SPAN_KIND_CLIENT,	"client" },	\
			 { OTEL_SPAN_KIND_PRODUCER,	"producer" },	\
			 { OTEL_SPAN_KIND_CONSUMER,	"consumer" })

#define otel_show_status(status)					\
	__print_symbolic(status,					\
			 { OTEL_STATUS_UNSET,	"unset" },		\
			 { OTEL_STATUS_OK,	"ok" },			\
			 { OTEL_STATUS_ERROR,	"error" })

DECLARE_EVENT_CLASS(otel_kspan_class,
		    TP_PROTO(const struct otel_kspan *span),
		    TP_ARGS(span),
		    TP_STRUCT__entry(__string_len(name, span->name, span->name_len)
				     __array(u8, trace_id, OTEL_TRACE_ID_SIZE)
				     __array(u8, span_id, OTEL_SPAN_ID_SIZE)
				     __array(u8, parent_id, OTEL_SPAN_ID_SIZE)
				     __field(u8, kind)
				     __field(u8, trace_flags)
				     __field(u8, status)),
		    TP_fast_assign(otel_assign_str_len(name, span->name, span->name_len);
				   memcpy(__entry->trace_id, span->trace_id,
					  OTEL_TRACE_ID_SIZE);
				   memcpy(__entry->span_id, span->span_id,
					  OTEL_SPAN_ID_SIZE);
				   memcpy(__entry->parent_id, span->parent_id,
					  OTEL_SPAN_ID_SIZE);
				   __entry->kind = span->kind;
				   __entry->trace_flags = span->trace_flags;
				   __entry->status = span->status;),
		    TP_printk("name=%s trace_id=%s span_id=%s parent_id=%s kind=%s sampled=%u status=%s",
			      __get_str(name),
			      __print_hex_str(__entry->trace_id, OTEL_TRACE_ID_SIZE),
			      __print_hex_str(__entry->span_id, OTEL_SPAN_ID_SIZE),
			      __print_hex_str(__entry->parent_id, OTEL_SPAN_ID_SIZE),
			      otel_show_kind(__entry->kind),
			      __entry->trace_flags & OTEL_TRACE_FLAG_SAMPLED,
			      otel_show_status(__entry->status)));

/* A span began (status is always unset here). */
DEFINE_EVENT(otel_kspan_class, kspan_begin,
	     TP_PROTO(const struct otel_kspan *span),
	     TP_ARGS(span));

/* A span ended, with its final status. */
DEFINE_EVENT(otel_kspan_class, kspan_end,
	     TP_PROTO(const struct otel_kspan *span),
	     TP_ARGS(span));

#endif /* _OTELTRACE_TRACE_H */

/* define_trace.h looks for this file by name, in this directory. */
#undef TRACE_INCLUDE_PATH
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE oteltrace_trace
#include <trace/define_trace.h>
