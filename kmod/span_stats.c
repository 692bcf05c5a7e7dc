// SPDX-License-Identifier: GPL-2.0
/*
 * Counters of span API misuse (struct otel_span_stats), and a one-time
 * report of each kind in the kernel log: enough for a driver developer to
 * find the bug, never a flood, never a WARNING splat (a misuse is the
 * driver's bug, and oteltrace has already made it harmless).
 *
 * Misuse is rare, so the counters are plain atomics shared by all CPUs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/sched.h>

#include "internal.h"
#include "oteltrace.h"

static atomic_long_t otel_misuse_count[OTEL_MISUSE_NR];
static unsigned long otel_misuse_reported;

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

/**
 * otel_misuse() - count a misuse and report its kind the first time
 * @what:	enum otel_misuse
 * @span:	the (valid) handle involved, for its name, or NULL when the
 *		handle must not be read
 *
 * Context: any (printk is safe in NMI; it runs once per kind).
 */
notrace void otel_misuse(enum otel_misuse what, const struct otel_kspan *span)
{
	atomic_long_inc(&otel_misuse_count[what]);
	if (test_and_set_bit(what, &otel_misuse_reported))
		return;
	if (span)
		pr_warn("%s: \"%.*s\" of %.*s, in %s[%d] (reported once; see otelctl stats)\n",
			otel_misuse_text[what], span->name_len, span->name,
			span->scope->name_len, span->scope->name,
			in_task() ? current->comm : "interrupt",
			in_task() ? task_pid_nr(current) : 0);
	else
		pr_warn("%s, in %s[%d] (reported once; see otelctl stats)\n",
			otel_misuse_text[what],
			in_task() ? current->comm : "interrupt",
			in_task() ? task_pid_nr(current) : 0);
}

/**
 * otel_span_stats_get() - OTEL_IOC_SPAN_STATS
 * @out:	filled, reserved fields zero
 */
void otel_span_stats_get(struct otel_span_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->begin_active = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_BEGIN_ACTIVE]);
	out->end_twice = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_END_TWICE]);
	out->end_foreign = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_END_FOREIGN]);
	out->stale_current = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_STALE_CURRENT]);
	out->misnested = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_MISNESTED]);
	out->bad_handle = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_BAD_HANDLE]);
	out->context_full = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_CONTEXT_FULL]);
	out->depth_full = atomic_long_read(&otel_misuse_count[OTEL_MISUSE_DEPTH_FULL]);
}
