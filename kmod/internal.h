/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared between oteltrace.ko's files; nothing here is part of
 * the driver API (that is oteltrace.h) or of the ABI (uapi/oteltrace.h).
 */
#ifndef _OTELTRACE_INTERNAL_H
#define _OTELTRACE_INTERNAL_H

#include <linux/types.h>
#include "uapi/oteltrace.h"

#ifndef OTELTRACE_VERSION
#define OTELTRACE_VERSION "0.1.0"
#endif

/* dev.c: the /dev/oteltrace character device. */
int otel_dev_init(void);
void otel_dev_exit(void);

/*
 * Span API (kspan.c, ids.c, sampler.c, context.c, trace.c).  The driver
 * API itself is in oteltrace.h.
 */
struct otel_kspan;
struct otel_span_context;

/* kspan.c: bring the span API up/down (main.c); enable = static key. */
int otel_kspan_init(void);
void otel_kspan_exit(void);
void otel_kspan_set_enabled(bool on);
bool otel_kspan_enabled(void);

/* ids.c: W3C ids, unique by construction, never zero. */
void otel_ids_init(void);
void otel_new_span_id(u8 *id);
void otel_new_trace_id(u8 *id);

/* sampler.c: enum otel_sampler and ratio in 1/OTEL_RATIO_ONE units. */
#define OTEL_PARENT_NONE	0	/* root span */
#define OTEL_PARENT_SAMPLED	1
#define OTEL_PARENT_UNSAMPLED	2
bool otel_sample(const u8 *trace_id, int parent);
int otel_sampler_set(u32 sampler, u32 ratio);
void otel_sampler_get(u32 *sampler, u32 *ratio);

/*
 * context.c: each context's current span and the per-task remote context.
 * otel_context_ioctl() serves OTEL_IOC_SET/GET_TASK_CONTEXT for dev.c.
 */
int otel_context_init(void);
void otel_context_exit(void);
struct otel_kspan **
otel_context_cell(bool claim, const struct otel_span_context **remote);
void otel_context_push(struct otel_kspan *span, struct otel_kspan **cell);
void otel_context_pop(struct otel_kspan *span);
long otel_context_ioctl(unsigned int cmd, void __user *arg);

#endif /* _OTELTRACE_INTERNAL_H */
