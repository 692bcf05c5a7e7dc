/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bridges: spans from existing kernel tracepoints (docs/bridges.md).  The
 * core (bridge.c) keeps the table of bridges, their modes, the module
 * parameter and the ioctls; each bridge is one file (bridge_*.c) that
 * attaches its probes in ->enable() and detaches them in ->disable().
 */
#ifndef _OTELTRACE_BRIDGE_H
#define _OTELTRACE_BRIDGE_H

#include <linux/percpu.h>
#include <linux/tracepoint.h>
#include <linux/types.h>

#include "context.h"
#include "internal.h"
#include "oteltrace.h"

/**
 * struct otel_bridge_tp - one tracepoint a bridge attaches to
 * @name:	the tracepoint's name ("sys_enter")
 * @probe:	the probe, of the tracepoint's prototype
 * @tp:		found at init (for_each_kernel_tracepoint()), or NULL
 */
struct otel_bridge_tp {
	const char		*name;
	void			*probe;
	struct tracepoint	*tp;
};

/**
 * struct otel_bridge_stats - a bridge's counters, per CPU
 * @spans:	spans begun
 * @dropped:	spans not made (a full table) or abandoned at disable
 */
struct otel_bridge_stats {
	u64	spans;
	u64	dropped;
};

/**
 * struct otel_bridge - one entry of the bridge table (bridge.c)
 * @name:	what otelctl and the module parameter call it
 * @modes:	the modes it supports, bits 1 << OTEL_BRIDGE_*
 * @tps:	its tracepoints, ended by an entry with a NULL name; probes
 *		get the bridge as their data pointer
 * @enable:	optional: allocate what the probes need, before they attach
 * @disable:	optional: after the probes are detached and no probe runs
 *		any more, end or drop the spans still open
 * @mode:	enum otel_bridge_mode; probes read it with READ_ONCE()
 * @stats:	its counters
 * @scope:	the instrumentation scope of its spans, "oteltrace/NAME"
 * @scope_name:	@scope's name
 */
struct otel_bridge {
	const char			*name;
	u32				modes;
	struct otel_bridge_tp		*tps;
	int				(*enable)(struct otel_bridge *b);
	void				(*disable)(struct otel_bridge *b);
	u32				mode;
	struct otel_bridge_stats __percpu *stats;
	struct otel_kscope		scope;
	char				scope_name[OTEL_BRIDGE_NAME_MAX + 16];
};

/* The bridges, one per file; bridge.c's table lists them. */
extern struct otel_bridge otel_bridge_syscall;
extern struct otel_bridge otel_bridge_block;
extern struct otel_bridge otel_bridge_irq;

static __always_inline void otel_bridge_count_span(struct otel_bridge *b)
{
	this_cpu_inc(b->stats->spans);
}

static __always_inline void otel_bridge_count_drop(struct otel_bridge *b)
{
	this_cpu_inc(b->stats->dropped);
}

/**
 * otel_bridge_begin() - begin a bridge span (kspan.c's begin, our scope)
 * @b:		the bridge
 * @span:	handle in the bridge's own memory
 * @name:	span name, valid until the end
 * @name_len:	bytes of @name
 * @parent:	explicit parent context, or NULL
 * @flags:	OTEL_BEGIN_*
 */
static __always_inline void otel_bridge_begin(struct otel_bridge *b,
					      struct otel_kspan *span,
					      const char *name, u16 name_len,
					      const struct otel_span_context *parent,
					      unsigned int flags)
{
	__otel_kspan_begin(span, &b->scope, name,
			   OTEL_BEGIN_INFO(name_len, OTEL_SPAN_KIND_INTERNAL,
					   flags | (parent ? OTEL_BEGIN_CTX : 0)),
			   parent);
	otel_bridge_count_span(b);
}

int otel_bridge_init(void);
void otel_bridge_exit(void);
long otel_bridge_ioctl(unsigned int cmd, void __user *arg);

/* bridge_syscall.c: the exiting task's open system call span, if any. */
void otel_bridge_syscall_task_exit(int idx);
void otel_bridge_syscall_task_exec(int idx);
bool otel_bridge_syscall_owns(const struct otel_kspan *span);

#endif /* _OTELTRACE_BRIDGE_H */
