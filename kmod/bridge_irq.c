// SPDX-License-Identifier: GPL-2.0
/*
 * The irq bridge: one span per hardirq handler run, from
 * irq:irq_handler_entry to irq:irq_handler_exit, named after the handler
 * (its irqaction's name), with linux.irq.number.  An interrupt belongs to
 * no task, so there is no traced mode: the bridge is off or all.
 *
 * Hardirq handlers do not nest on a CPU, so one handle per CPU holds the
 * span; it is the current span of the CPU's hardirq chain while the
 * handler runs, so spans a driver begins in its handler are its children.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <trace/events/irq.h>

#include "bridge.h"

static DEFINE_PER_CPU(struct otel_kspan, irq_span);

/* irq:irq_handler_entry */
static notrace void irq_entry_probe(void *data, int irq,
				    struct irqaction *action)
{
	struct otel_kspan *span = this_cpu_ptr(&irq_span);
	struct otel_bridge *b = data;

	if (!static_branch_unlikely(&otel_tracing_key))
		return;
	/* An exit we missed (the probes attached in between). */
	if (unlikely(READ_ONCE(span->cookie) & OTEL_KSPAN_ACTIVE) &&
	    otel_kspan_abandon(span))
		otel_bridge_count_drop(b);
	otel_bridge_begin(b, span, action->name ? action->name : "irq", 0,
			  NULL, OTEL_BEGIN_CURRENT);
	otel_kspan_set_int(span, "linux.irq.number", irq);
}

/* irq:irq_handler_exit */
static notrace void irq_exit_probe(void *data, int irq,
				   struct irqaction *action, int ret)
{
	struct otel_kspan *span = this_cpu_ptr(&irq_span);

	if (READ_ONCE(span->cookie) & OTEL_KSPAN_ACTIVE)
		otel_kspan_end(span);
}

static int irq_enable(struct otel_bridge *b)
{
	/* The probes' prototypes are the tracepoints' (checked, not called). */
	(void)sizeof(register_trace_irq_handler_entry(irq_entry_probe, NULL));
	(void)sizeof(register_trace_irq_handler_exit(irq_exit_probe, NULL));
	return 0;
}

/* No probe runs any more: a span begun but never ended is dropped. */
static void irq_disable(struct otel_bridge *b)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		if (otel_kspan_abandon(per_cpu_ptr(&irq_span, cpu)))
			otel_bridge_count_drop(b);
	}
}

static struct otel_bridge_tp irq_tps[] = {
	{ .name = "irq_handler_entry", .probe = irq_entry_probe },
	{ .name = "irq_handler_exit", .probe = irq_exit_probe },
	{ }
};

struct otel_bridge otel_bridge_irq = {
	.name		= "irq",
	.modes		= BIT(OTEL_BRIDGE_OFF) | BIT(OTEL_BRIDGE_ALL),
	.tps		= irq_tps,
	.enable		= irq_enable,
	.disable	= irq_disable,
};
