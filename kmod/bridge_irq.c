// SPDX-License-Identifier: GPL-2.0
/*
 * The irq bridge: one span per hardirq handler run, from
 * irq:irq_handler_entry to irq:irq_handler_exit, named after the handler
 * (its irqaction's name), with linux.irq.number.  An interrupt belongs to
 * no task, so there is no traced mode: the bridge is off or all.
 *
 * Handlers nest on a CPU: a chained handler (generic_handle_domain_irq_safe()
 * and the like) runs the handlers of its child interrupts from inside its
 * own, each with its own irq_handler_entry/exit.  So each CPU keeps a small
 * stack of IRQ_DEPTH handles; the top one is the current span of the CPU's
 * hardirq chain while its handler runs, so spans a driver begins in its
 * handler (and the nested handlers' spans) are its children.  Deeper
 * nesting makes no span (counted dropped); its exit is matched by depth.
 * A nested handler runs deeper on the same stack than its parent's entry:
 * an entry whose stack pointer is not below a level's recorded one finds
 * that handler returned (its exit missed while the probes attached) and
 * drops its span, counted, so a missed exit never offsets the stack.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/sched/task_stack.h>
#include <trace/events/irq.h>

#include "bridge.h"

#define IRQ_DEPTH	4

/**
 * struct irq_bridge_stack - one CPU's handler spans
 * @span:	the spans of the handlers running, outermost first
 * @sp:		the stack pointer at each one's entry
 * @depth:	handlers entered and not exited, including those past
 *		IRQ_DEPTH (no span)
 */
struct irq_bridge_stack {
	struct otel_kspan	span[IRQ_DEPTH];
	unsigned long		sp[IRQ_DEPTH];
	unsigned int		depth;
};

static DEFINE_PER_CPU(struct irq_bridge_stack, irq_spans);

/* irq:irq_handler_entry, hardirq context (interrupts off) */
static notrace void irq_entry_probe(void *data, int irq,
				    struct irqaction *action)
{
	struct irq_bridge_stack *st = this_cpu_ptr(&irq_spans);
	unsigned long sp = current_stack_pointer;
	struct otel_bridge *b = data;
	struct otel_kspan *span;
	unsigned int d = st->depth;

	/* Levels whose handler returned unseen (see the top comment). */
	while (d && d <= IRQ_DEPTH && st->sp[d - 1] <= sp) {
		d--;
		if (otel_kspan_abandon(&st->span[d]))
			otel_bridge_count_drop(b);
	}
	st->depth = d + 1;
	if (unlikely(d >= IRQ_DEPTH)) {
		otel_bridge_count_drop(b);
		return;
	}
	st->sp[d] = sp;
	span = &st->span[d];
	if (!static_branch_unlikely(&otel_tracing_key))
		return;
	otel_bridge_begin(b, span, action->name ? action->name : "irq", 0,
			  NULL, OTEL_BEGIN_CURRENT);
	otel_kspan_set_int(span, "linux.irq.number", irq);
}

/* irq:irq_handler_exit */
static notrace void irq_exit_probe(void *data, int irq,
				   struct irqaction *action, int ret)
{
	struct irq_bridge_stack *st = this_cpu_ptr(&irq_spans);
	struct otel_kspan *span;
	unsigned int d = st->depth;

	/* An entry we missed (the probes attached in between). */
	if (!d)
		return;
	st->depth = --d;
	if (d >= IRQ_DEPTH)
		return;
	span = &st->span[d];
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

/* No probe runs any more: the spans begun but never ended are dropped. */
static void irq_disable(struct otel_bridge *b)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct irq_bridge_stack *st = per_cpu_ptr(&irq_spans, cpu);
		unsigned int i;

		for (i = 0; i < IRQ_DEPTH; i++) {
			if (otel_kspan_abandon(&st->span[i]))
				otel_bridge_count_drop(b);
		}
		st->depth = 0;
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
