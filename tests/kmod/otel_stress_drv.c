// SPDX-License-Identifier: GPL-2.0
/*
 * otel_stress_drv: a driver that uses the span API, loaded and unloaded by
 * the stress test (tests/vm/stress_test.c) while its spans are in flight.
 * It needs otel_stress.ko, which keeps its count across unloads.
 *
 * On every CPU online at load:
 *  - a kthread opens a current span "drv.task" (under an unsampled remote
 *    parent: it writes nothing) and a child "drv.task.child", sleeps inside
 *    them, ends them, again and again;
 *  - a pinned hrtimer (hardirq) begins and ends a sampled root span
 *    "drv.hardirq" and, inside it, begins "drv.async", which it hands to
 *  - a pinned timer_list (softirq) that ends it, the next time it runs.
 *
 * The exit stops all of them first (the kthreads end their spans on the
 * way out), then ends the spans still handed over, and only then reports
 * to otel_stress.ko how many sampled spans ended: each tried one SPAN
 * record.  Nothing of the module is used after its exit returns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timer.h>

#include "compat.h"
#include "oteltrace.h"
#include "tests/kmod/otel_ringtest.h"
#include "tests/kmod/otel_stress.h"

static unsigned int period_us = 2000;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "hrtimer period");

#define DRV_ASYNC	4	/* spans handed from the hrtimer to the timer */

struct drv_cpu {
	bool			used;
	unsigned int		cpu;
	u64			seq[RINGTEST_NR_CTX];	/* sampled spans, stress.seq */
	struct task_struct	*thread;
	struct hrtimer		hrtimer;
	struct timer_list	timer;
	atomic_t		async_busy[DRV_ASYNC];
	struct otel_kspan	async[DRV_ASYNC];
};

static struct drv_cpu *drv_cpus;	/* [nr_cpu_ids] */
static bool drv_stopping;
static atomic64_t drv_spans;

static const struct otel_span_context drv_unsampled = {
	.trace_id = { 0xd7, 0x1e, [15] = 2 },
	.span_id = { 0xd7, [7] = 2 },
	.trace_flags = 0,
};

static void drv_attrs(struct otel_kspan *span, struct drv_cpu *c,
		      unsigned int ctx)
{
	if (otel_kspan_is_recording(span))
		c->seq[ctx]++;
	otel_kspan_set_int(span, "stress.writer", c->cpu * RINGTEST_NR_CTX + ctx);
	otel_kspan_set_int(span, "stress.seq", c->seq[ctx]);
}

static void drv_end(struct otel_kspan *span)
{
	bool rec = otel_kspan_is_recording(span);

	otel_kspan_end(span);
	if (rec)
		atomic64_inc(&drv_spans);
}

/* softirq, or the exit: end the handed-over spans. */
static void drv_async_end(struct drv_cpu *c)
{
	unsigned int i;

	for (i = 0; i < DRV_ASYNC; i++) {
		if (!atomic_read_acquire(&c->async_busy[i]))
			continue;
		drv_end(&c->async[i]);
		atomic_set_release(&c->async_busy[i], 0);
	}
}

static void drv_timer(struct timer_list *t)
{
	struct drv_cpu *c = from_timer(c, t, timer);

	drv_async_end(c);
	if (!READ_ONCE(drv_stopping))
		mod_timer(&c->timer, jiffies + 1);
}

static enum hrtimer_restart drv_hrtimer(struct hrtimer *t)
{
	struct drv_cpu *c = container_of(t, struct drv_cpu, hrtimer);
	DEFINE_OTEL_KSPAN(span);
	unsigned int i;

	if (READ_ONCE(drv_stopping))
		return HRTIMER_NORESTART;
	otel_kspan_begin(&span, "drv.hardirq", OTEL_SPAN_KIND_INTERNAL);
	drv_attrs(&span, c, OTEL_CTX_HARDIRQ);
	for (i = 0; i < DRV_ASYNC; i++) {
		if (atomic_read_acquire(&c->async_busy[i]))
			continue;
		otel_kspan_begin_async(&c->async[i], "drv.async",
				       OTEL_SPAN_KIND_INTERNAL);
		drv_attrs(&c->async[i], c, OTEL_CTX_HARDIRQ);
		atomic_set_release(&c->async_busy[i], 1);
		break;
	}
	drv_end(&span);
	hrtimer_forward_now(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static int drv_thread(void *arg)
{
	DEFINE_OTEL_KSPAN(outer);
	DEFINE_OTEL_KSPAN(inner);

	while (!kthread_should_stop()) {
		otel_kspan_begin_remote(&outer, &drv_unsampled, "drv.task",
					OTEL_SPAN_KIND_INTERNAL);
		otel_kspan_enter(&outer);
		otel_kspan_begin(&inner, "drv.task.child", OTEL_SPAN_KIND_INTERNAL);
		/* in flight while it sleeps: an unload comes in here */
		usleep_range(200, 1000);
		drv_end(&inner);
		otel_kspan_leave(&outer);
		drv_end(&outer);
		cond_resched();
	}
	return 0;
}

static void drv_start(void *arg)
{
	struct drv_cpu *c = arg;

	hrtimer_start(&c->hrtimer, ns_to_ktime((u64)period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED);
	mod_timer(&c->timer, jiffies + 1);
}

static void drv_stop(void)
{
	unsigned int cpu;

	WRITE_ONCE(drv_stopping, true);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct drv_cpu *c = &drv_cpus[cpu];

		if (c->thread)
			kthread_stop(c->thread);
		if (!c->used)
			continue;
		hrtimer_cancel(&c->hrtimer);
		timer_delete_sync(&c->timer);
	}
	/* Nothing runs any more: end what is still handed over. */
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (drv_cpus[cpu].used)
			drv_async_end(&drv_cpus[cpu]);
	otel_stress_add_spans(atomic64_read(&drv_spans));
	kfree(drv_cpus);
}

static int __init drv_init(void)
{
	unsigned int cpu;
	struct drv_cpu *c;
	int ret = 0;

	if (!period_us)
		return -EINVAL;
	drv_cpus = kcalloc(nr_cpu_ids, sizeof(*drv_cpus), GFP_KERNEL);
	if (!drv_cpus)
		return -ENOMEM;
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		c = &drv_cpus[cpu];
		c->cpu = cpu;
		hrtimer_init(&c->hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
		c->hrtimer.function = drv_hrtimer;
		timer_setup(&c->timer, drv_timer, TIMER_PINNED);
		c->used = true;
		c->thread = kthread_create_on_cpu(drv_thread, c, cpu,
						  "otel_stress_drv/%u");
		if (IS_ERR(c->thread)) {
			ret = PTR_ERR(c->thread);
			c->thread = NULL;
			break;
		}
	}
	if (!ret) {
		for_each_online_cpu(cpu) {
			c = &drv_cpus[cpu];
			wake_up_process(c->thread);
			smp_call_function_single(cpu, drv_start, c, 1);
		}
	}
	cpus_read_unlock();
	if (ret)
		drv_stop();
	return ret;
}

static void __exit drv_exit(void)
{
	drv_stop();
}

module_init(drv_init);
module_exit(drv_exit);

MODULE_DESCRIPTION("oteltrace stress test: a driver with spans in flight");
MODULE_LICENSE("GPL");
