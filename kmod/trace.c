// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates oteltrace's trace events (oteltrace_trace.h).  This must be
 * the only file defining CREATE_TRACE_POINTS; Kbuild adds -I$(src) so that
 * define_trace.h finds the header.
 *
 * The tracepoints are exported so that other modules can attach probes
 * (register_trace_kspan_begin() after including oteltrace_trace.h).
 */
#define CREATE_TRACE_POINTS
#include "oteltrace_trace.h"

EXPORT_TRACEPOINT_SYMBOL_GPL(kspan_begin);
EXPORT_TRACEPOINT_SYMBOL_GPL(kspan_end);
