// SPDX-License-Identifier: GPL-2.0
/*
 * Counters of span API misuse (struct otel_span_stats), and a one-time
 * report of each kind in the kernel log: enough for a driver developer to
 * find the bug, never a flood, never a WARNING splat (a misuse is the
 * driver's bug, and oteltrace has already made it harmless).
 *
 * The span API runs in any context, possibly under a lock printk needs (a
 * runqueue lock), so it never prints: the first misuse of each kind fills
 * a small report (what, the span name when its handle may be read, the
 * task) and queues an irq_work, which prints it later from a clean
 * interrupt context.  Counters are per CPU: a misuse a driver commits on
 * every request costs no shared cache line.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/irq_work.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "internal.h"
#include "oteltrace.h"

#define OTEL_REPORT_NAME	48

struct otel_misuse_report {
	char	name[OTEL_REPORT_NAME];
	char	scope[OTEL_REPORT_NAME];
	char	comm[TASK_COMM_LEN];
	pid_t	pid;
	bool	filled;		/* written before the bit in otel_reported */
};

static DEFINE_PER_CPU(unsigned long, otel_misuse_count[OTEL_MISUSE_NR]);
static unsigned long otel_misuse_claimed;	/* a report is being filled */
static unsigned long otel_misuse_printed;
static struct otel_misuse_report otel_reports[OTEL_MISUSE_NR];

static const char * const otel_misuse_text[OTEL_MISUSE_NR] = {
	[OTEL_MISUSE_BEGIN_ACTIVE]	= "span begun again while active (the first is dropped)",
	[OTEL_MISUSE_END_TWICE]		= "span ended twice",
	[OTEL_MISUSE_END_FOREIGN]	= "current span ended from another task or CPU",
	[OTEL_MISUSE_STALE_CURRENT]	= "current span left behind by a returned stack frame",
	[OTEL_MISUSE_MISNESTED]		= "current span ended out of order",
	[OTEL_MISUSE_BAD_HANDLE]	= "span handle not begun or overwritten",
	[OTEL_MISUSE_CONTEXT_FULL]	= "task context table full: span made a root",
	[OTEL_MISUSE_DEPTH_FULL]	= "too many current spans nested: span not made current",
};

static void otel_misuse_print(struct irq_work *work)
{
	struct otel_misuse_report *r;
	unsigned int i;

	for (i = 0; i < OTEL_MISUSE_NR; i++) {
		r = &otel_reports[i];
		if (!test_bit(i, &otel_misuse_claimed))
			continue;
		/* Pairs with the release in otel_misuse(): report complete. */
		if (!smp_load_acquire(&r->filled) ||
		    test_and_set_bit(i, &otel_misuse_printed))
			continue;
		if (r->name[0])
			pr_warn("%s: \"%s\" of %s, in %s[%d] (reported once; see otelctl stats)\n",
				otel_misuse_text[i], r->name, r->scope,
				r->comm, r->pid);
		else
			pr_warn("%s, in %s[%d] (reported once; see otelctl stats)\n",
				otel_misuse_text[i], r->comm, r->pid);
	}
}

static DEFINE_IRQ_WORK(otel_misuse_work, otel_misuse_print);

/* Copy at most @size - 1 bytes of @s, stopping at a NUL. */
static notrace void copy_name(char *dst, const char *s, size_t len,
			      size_t size)
{
	len = min(len, size - 1);
	len = strnlen(s, len);
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/**
 * otel_misuse() - count a misuse and report its kind the first time
 * @what:	enum otel_misuse
 * @span:	the handle involved, for its name, when the caller knows it
 *		is the driver's live handle; NULL when it must not be read
 *
 * Context: any.  Never prints here (see the top of this file).
 */
notrace void otel_misuse(enum otel_misuse what, const struct otel_kspan *span)
{
	struct otel_misuse_report *r = &otel_reports[what];

	this_cpu_inc(otel_misuse_count[what]);
	if (test_bit(what, &otel_misuse_claimed) ||
	    test_and_set_bit(what, &otel_misuse_claimed))
		return;
	if (span && span->name) {
		copy_name(r->name, span->name, OTEL_REPORT_NAME,
			  sizeof(r->name));
		copy_name(r->scope, span->scope->name, span->scope->name_len,
			  sizeof(r->scope));
	}
	if (in_task()) {
		memcpy(r->comm, current->comm, sizeof(r->comm));
		r->comm[sizeof(r->comm) - 1] = '\0';
		r->pid = task_pid_nr(current);
	} else {
		strscpy(r->comm, "interrupt", sizeof(r->comm));
	}
	/* The report is complete before the printer may see it. */
	smp_store_release(&r->filled, true);
	irq_work_queue(&otel_misuse_work);
}

static u64 misuse_sum(enum otel_misuse what)
{
	unsigned int cpu;
	u64 sum = 0;

	for_each_possible_cpu(cpu)
		sum += per_cpu(otel_misuse_count[what], cpu);
	return sum;
}

/**
 * otel_span_stats_get() - OTEL_IOC_SPAN_STATS
 * @out:	filled, reserved fields zero
 */
void otel_span_stats_get(struct otel_span_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->begin_active = misuse_sum(OTEL_MISUSE_BEGIN_ACTIVE);
	out->end_twice = misuse_sum(OTEL_MISUSE_END_TWICE);
	out->end_foreign = misuse_sum(OTEL_MISUSE_END_FOREIGN);
	out->stale_current = misuse_sum(OTEL_MISUSE_STALE_CURRENT);
	out->misnested = misuse_sum(OTEL_MISUSE_MISNESTED);
	out->bad_handle = misuse_sum(OTEL_MISUSE_BAD_HANDLE);
	out->context_full = misuse_sum(OTEL_MISUSE_CONTEXT_FULL);
	out->depth_full = misuse_sum(OTEL_MISUSE_DEPTH_FULL);
	otel_context_stats(out);
	otel_remote_stats(out);
}

/**
 * otel_span_stats_exit() - wait for a queued report (module unload)
 */
void otel_span_stats_exit(void)
{
	irq_work_sync(&otel_misuse_work);
}
