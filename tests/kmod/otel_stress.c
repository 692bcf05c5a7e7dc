// SPDX-License-Identifier: GPL-2.0
/*
 * otel_stress: the writers of the stress test (tests/vm/stress_test.c; what
 * it stresses is listed in docs/testing.md, "Stress").
 *
 * On every CPU online at load, while `run` is 1:
 *  - task: a kthread writes RAW records in rounds of 64 (then sleeps
 *    task_sleep_us), each round inside
 *    two current spans (a child of an unsampled remote parent, entered, and
 *    a child of that: open spans that write nothing); every nmi_every
 *    records it sends itself an NMI while one of its records is reserved
 *    and not yet committed; between rounds it ends the async spans its
 *    hrtimer handed over (a sampled span's record written in task context);
 *  - hardirq: a pinned hrtimer writes `burst` RAW records and a sampled
 *    root span "stress.hardirq", inside which it begins "stress.async" for
 *    the kthread to end; then it schedules the tasklet;
 *  - softirq: the tasklet writes `burst` RAW records inside a sampled root
 *    span "stress.softirq";
 *  - NMI: the handler writes a span "stress.nmi" around 4 RAW records,
 *    nested in the kthread's reservation.
 *
 * Accounting (read-only parameters, stable once run is 0): RAW records are
 * counted by their writer as tried, then as committed or refused by the
 * ring; a sampled span as it ends, when it tries its one SPAN record
 * (`spans`).  The span driver, otel_stress_drv.ko, adds its own through
 * otel_stress_add_spans() when it is unloaded.  `attempted` is the sum of
 * all of them: every record the rings were asked to take.  Spans begun in
 * task context hang under an unsampled parent, so the parent-based
 * samplers (and always_off) keep them from recording and no COMM record
 * is ever written; a sampled one is counted all the same.
 *
 * Control, from process context:
 *  - run: 1 starts the writers (each on its own CPU if it is online);
 *    0 stops them and returns once none is left: timers cancelled,
 *    tasklets killed, kthreads parked, handed-over spans ended;
 *  - budget: the writers make at most this many more attempts (RAW records
 *    and sampled spans), then idle; -1 (default): no limit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <asm/apic.h>
#include <asm/nmi.h>

#include "oteltrace.h"
#include "ring.h"
#include "tests/kmod/otel_ringtest.h"
#include "tests/kmod/otel_stress.h"

static unsigned int burst = 8;
module_param(burst, uint, 0444);
MODULE_PARM_DESC(burst, "RAW records per hrtimer or tasklet run");
static unsigned int period_us = 500;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "hrtimer period");
static unsigned int task_sleep_us = 100;
module_param(task_sleep_us, uint, 0444);
MODULE_PARM_DESC(task_sleep_us, "the kthreads sleep this long after each round (0: never)");
static unsigned int nmi_every = 64;
module_param(nmi_every, uint, 0444);
MODULE_PARM_DESC(nmi_every, "a self-NMI every this many task records (0: none)");

#define ST_ROUND	64	/* RAW records per task round */
#define ST_NMI_BURST	4
#define ST_ASYNC	8	/* async spans in flight per CPU */

/* async slot states: the hrtimer fills a free slot, one ender claims it */
#define ST_FREE		0
#define ST_BEGUN	1
#define ST_ENDING	2

struct st_writer {
	u32	id;
	u32	ctx;
	u64	seq;		/* RAW records tried; only this writer moves it */
	u64	spans;		/* sampled spans begun (stress.seq) */
};

struct st_cpu {
	bool			used;	/* online at load */
	unsigned int		cpu;
	struct st_writer	w[RINGTEST_NR_CTX];
	struct task_struct	*thread;
	bool			parked;
	struct hrtimer		timer;
	struct tasklet_struct	tasklet;
	atomic_t		async_state[ST_ASYNC];
	struct otel_kspan	async[ST_ASYNC];
};

static struct st_cpu *st_cpus;		/* [nr_cpu_ids] */
static bool st_ready;			/* init done: run may start writers */
static bool st_run;
static bool st_nmi_registered;
static atomic64_t st_budget = ATOMIC64_INIT(-1);
static atomic64_t st_committed, st_refused, st_spans, st_drv_spans;
static DEFINE_PER_CPU(int, st_nmi_pending);
static DECLARE_WAIT_QUEUE_HEAD(st_run_wq);
static DECLARE_WAIT_QUEUE_HEAD(st_parked_wq);

/* The task spans' parent: valid, not sampled. */
static const struct otel_span_context st_unsampled = {
	.trace_id = { 0x5e, 0x55, [15] = 1 },
	.span_id = { 0x5e, [7] = 1 },
	.trace_flags = 0,
};

/* May a writer make one more attempt? */
static bool st_take(void)
{
	if (atomic64_read(&st_budget) < 0)
		return true;
	return atomic64_dec_if_positive(&st_budget) >= 0;
}

/* One RAW record, counted; with @nmi an NMI comes while it is reserved. */
static void st_nmi_self(void);

static void st_raw(struct st_writer *w, bool nmi)
{
	u32 size = otel_ringtest_size(w->seq, STRESS_MIN_SIZE, STRESS_MAX_SIZE);
	struct otel_ringtest_rec *r;
	u8 *fill;
	u32 i;

	r = (struct otel_ringtest_rec *)otel_ring_reserve(OTEL_REC_RAW, size);
	if (r) {
		r->writer = w->id;
		r->ctx = w->ctx;
		r->seq = w->seq;
		fill = (u8 *)(r + 1);
		for (i = 0; i < size - sizeof(*r); i++)
			fill[i] = otel_ringtest_fill(w->id, w->seq, i);
		if (nmi)
			st_nmi_self();
		otel_ring_commit(&r->hdr);
		atomic64_inc(&st_committed);
	} else {
		atomic64_inc(&st_refused);
		if (nmi) {
			preempt_disable();
			st_nmi_self();
			preempt_enable();
		}
	}
	WRITE_ONCE(w->seq, w->seq + 1);
}

static void st_attrs(struct otel_kspan *span, struct st_writer *w)
{
	if (otel_kspan_is_recording(span))
		w->spans++;
	otel_kspan_set_int(span, "stress.writer", w->id);
	otel_kspan_set_int(span, "stress.seq", w->spans);
}

/* End a span; a sampled one tries its SPAN record now: count it. */
static void st_end(struct otel_kspan *span)
{
	bool rec = otel_kspan_is_recording(span);

	otel_kspan_end(span);
	if (rec)
		atomic64_inc(&st_spans);
}

static int st_nmi(unsigned int type, struct pt_regs *regs)
{
	struct st_cpu *c;
	struct st_writer *w;
	DEFINE_OTEL_KSPAN(span);
	unsigned int n;

	/* Only our own NMIs; xchg so a late one writes nothing. */
	if (!this_cpu_xchg(st_nmi_pending, 0))
		return NMI_DONE;
	c = &st_cpus[smp_processor_id()];
	if (!c->used)
		return NMI_HANDLED;
	w = &c->w[RINGTEST_CTX_NMI];
	if (st_take()) {
		otel_kspan_begin(&span, "stress.nmi", OTEL_SPAN_KIND_INTERNAL);
		st_attrs(&span, w);
	}
	for (n = 0; n < ST_NMI_BURST && st_take(); n++)
		st_raw(w, false);
	st_end(&span);
	return NMI_HANDLED;
}

/* Called with a record reserved (preemption off): NMI this CPU, wait for it. */
static void st_nmi_self(void)
{
	u64 end = ktime_get_ns() + 20 * NSEC_PER_MSEC;

	this_cpu_write(st_nmi_pending, 1);
	apic->send_IPI_self(NMI_VECTOR);
	while (this_cpu_read(st_nmi_pending) && ktime_get_ns() < end)
		cpu_relax();
	this_cpu_xchg(st_nmi_pending, 0);
}

/* hardirq: hand a sampled child of the current span to the kthread. */
static void st_async_begin(struct st_cpu *c, struct st_writer *w)
{
	unsigned int i;

	for (i = 0; i < ST_ASYNC; i++)
		if (atomic_read_acquire(&c->async_state[i]) == ST_FREE)
			break;
	if (i == ST_ASYNC || !st_take())
		return;
	otel_kspan_begin_async(&c->async[i], "stress.async",
			       OTEL_SPAN_KIND_INTERNAL);
	st_attrs(&c->async[i], w);
	atomic_set_release(&c->async_state[i], ST_BEGUN);
}

/* End the handed-over spans (any task, one ender per slot). */
static void st_async_end(struct st_cpu *c)
{
	unsigned int i;

	for (i = 0; i < ST_ASYNC; i++) {
		if (atomic_cmpxchg_acquire(&c->async_state[i], ST_BEGUN,
					   ST_ENDING) != ST_BEGUN)
			continue;
		st_end(&c->async[i]);
		atomic_set_release(&c->async_state[i], ST_FREE);
	}
}

static enum hrtimer_restart st_timer(struct hrtimer *t)
{
	struct st_cpu *c = container_of(t, struct st_cpu, timer);
	struct st_writer *w = &c->w[RINGTEST_CTX_HARDIRQ];
	DEFINE_OTEL_KSPAN(span);
	unsigned int n;

	if (!READ_ONCE(st_run))
		return HRTIMER_NORESTART;
	for (n = 0; n < burst && st_take(); n++)
		st_raw(w, false);
	if (st_take()) {
		otel_kspan_begin(&span, "stress.hardirq", OTEL_SPAN_KIND_INTERNAL);
		st_attrs(&span, w);
		st_async_begin(c, w);
		st_end(&span);
	}
	tasklet_schedule(&c->tasklet);
	hrtimer_forward_now(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void st_tasklet(struct tasklet_struct *t)
{
	struct st_cpu *c = from_tasklet(c, t, tasklet);
	struct st_writer *w = &c->w[RINGTEST_CTX_SOFTIRQ];
	DEFINE_OTEL_KSPAN(span);
	unsigned int n;

	if (!READ_ONCE(st_run))
		return;
	if (st_take()) {
		otel_kspan_begin(&span, "stress.softirq", OTEL_SPAN_KIND_INTERNAL);
		st_attrs(&span, w);
	}
	for (n = 0; n < burst && st_take(); n++)
		st_raw(w, false);
	st_end(&span);
}

/* One round of task records inside two current spans; false: no budget. */
static bool st_round(struct st_writer *w)
{
	DEFINE_OTEL_KSPAN(outer);
	DEFINE_OTEL_KSPAN(inner);
	bool more = true;
	unsigned int n;

	otel_kspan_begin_remote(&outer, &st_unsampled, "stress.task",
				OTEL_SPAN_KIND_INTERNAL);
	otel_kspan_enter(&outer);
	otel_kspan_begin(&inner, "stress.task.child", OTEL_SPAN_KIND_INTERNAL);
	for (n = 0; n < ST_ROUND; n++) {
		if (!READ_ONCE(st_run) || !st_take()) {
			more = false;
			break;
		}
		st_raw(w, st_nmi_registered && nmi_every &&
		       !(w->seq % nmi_every));
	}
	st_end(&inner);
	otel_kspan_leave(&outer);
	st_end(&outer);
	return more;
}

static void st_park(struct st_cpu *c)
{
	st_async_end(c);
	WRITE_ONCE(c->parked, true);
	wake_up_all(&st_parked_wq);
	wait_event_interruptible(st_run_wq,
				 READ_ONCE(st_run) || kthread_should_stop());
	WRITE_ONCE(c->parked, false);
}

static int st_thread(void *arg)
{
	struct st_cpu *c = arg;

	while (!kthread_should_stop()) {
		if (!READ_ONCE(st_run)) {
			st_park(c);
			continue;
		}
		if (!st_round(&c->w[RINGTEST_CTX_TASK]))
			schedule_timeout_interruptible(1);
		else if (task_sleep_us)
			usleep_range(task_sleep_us, 2 * task_sleep_us);
		else
			cond_resched();
		st_async_end(c);
	}
	return 0;
}

static void st_start_timer(void *arg)
{
	struct st_cpu *c = arg;

	hrtimer_start(&c->timer, ns_to_ktime((u64)period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED);
}

static bool st_all_parked(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (st_cpus[cpu].thread && !READ_ONCE(st_cpus[cpu].parked))
			return false;
	return true;
}

/* Every writer stops; returns when none is left (or -EINTR). */
static int st_stop(void)
{
	unsigned int cpu;
	int ret;

	WRITE_ONCE(st_run, false);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct st_cpu *c = &st_cpus[cpu];

		if (!c->used)
			continue;
		hrtimer_cancel(&c->timer);
		tasklet_kill(&c->tasklet);
	}
	ret = wait_event_interruptible(st_parked_wq, st_all_parked());
	if (ret)
		return ret;
	/* Spans the hrtimers handed over after their kthread parked. */
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (st_cpus[cpu].used)
			st_async_end(&st_cpus[cpu]);
	/* NMIs come only from the kthreads; wait for any handler anyway. */
	synchronize_rcu();
	return 0;
}

static void st_start(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (st_cpus[cpu].thread && cpu_online(cpu))
			set_cpus_allowed_ptr(st_cpus[cpu].thread, cpumask_of(cpu));
	WRITE_ONCE(st_run, true);
	cpus_read_lock();
	for_each_online_cpu(cpu)
		if (st_cpus[cpu].used)
			smp_call_function_single(cpu, st_start_timer,
						 &st_cpus[cpu], 1);
	cpus_read_unlock();
	wake_up_all(&st_run_wq);
}

static int param_set_run(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret = kstrtobool(val, &on);

	if (ret)
		return ret;
	if (!READ_ONCE(st_ready)) {
		st_run = on;	/* at load: init starts them */
		return 0;
	}
	if (on == READ_ONCE(st_run))
		return 0;
	if (!on)
		return st_stop();
	st_start();
	return 0;
}

static int param_get_run(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(st_run));
}

static int param_set_budget(const char *val, const struct kernel_param *kp)
{
	s64 v;
	int ret = kstrtos64(val, 0, &v);

	if (ret)
		return ret;
	if (v < -1)
		return -EINVAL;
	atomic64_set(&st_budget, v);
	return 0;
}

static int param_get_budget(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(&st_budget));
}

static u64 st_raw_attempted(void)
{
	unsigned int cpu, i;
	u64 sum = 0;

	for (cpu = 0; st_cpus && cpu < nr_cpu_ids; cpu++)
		for (i = 0; i < RINGTEST_NR_CTX; i++)
			sum += READ_ONCE(st_cpus[cpu].w[i].seq);
	return sum;
}

/* Read-only counters; which one is kp->arg. */
enum { ST_ATTEMPTED, ST_RAW, ST_COMMITTED, ST_REFUSED, ST_SPANS, ST_DRV };

static int param_get_count(char *buf, const struct kernel_param *kp)
{
	u64 v;

	switch ((uintptr_t)kp->arg) {
	case ST_ATTEMPTED:
		v = st_raw_attempted() + atomic64_read(&st_spans) +
		    atomic64_read(&st_drv_spans);
		break;
	case ST_RAW:
		v = st_raw_attempted();
		break;
	case ST_COMMITTED:
		v = atomic64_read(&st_committed);
		break;
	case ST_REFUSED:
		v = atomic64_read(&st_refused);
		break;
	case ST_SPANS:
		v = atomic64_read(&st_spans);
		break;
	default:
		v = atomic64_read(&st_drv_spans);
		break;
	}
	return sysfs_emit(buf, "%llu\n", v);
}

static const struct kernel_param_ops run_ops = {
	.set = param_set_run,
	.get = param_get_run,
};

static const struct kernel_param_ops budget_ops = {
	.set = param_set_budget,
	.get = param_get_budget,
};

static const struct kernel_param_ops count_ops = { .get = param_get_count };

module_param_cb(run, &run_ops, NULL, 0644);
MODULE_PARM_DESC(run, "1: writers run; 0: stop them and wait until none is left");
module_param_cb(budget, &budget_ops, NULL, 0644);
MODULE_PARM_DESC(budget, "attempts left before the writers idle (-1: no limit)");
module_param_cb(attempted, &count_ops, (void *)ST_ATTEMPTED, 0444);
MODULE_PARM_DESC(attempted, "records tried: RAW, spans and the driver's spans");
module_param_cb(raw_attempted, &count_ops, (void *)ST_RAW, 0444);
MODULE_PARM_DESC(raw_attempted, "RAW records tried");
module_param_cb(raw_committed, &count_ops, (void *)ST_COMMITTED, 0444);
MODULE_PARM_DESC(raw_committed, "RAW records the rings took");
module_param_cb(raw_refused, &count_ops, (void *)ST_REFUSED, 0444);
MODULE_PARM_DESC(raw_refused, "RAW records the rings refused");
module_param_cb(spans, &count_ops, (void *)ST_SPANS, 0444);
MODULE_PARM_DESC(spans, "sampled spans ended (one SPAN record tried each)");
module_param_cb(driver_spans, &count_ops, (void *)ST_DRV, 0444);
MODULE_PARM_DESC(driver_spans, "sampled spans otel_stress_drv.ko reported");

/**
 * otel_stress_add_spans() - count a span driver's sampled spans
 * @n:	spans that ended sampled, each of which tried one SPAN record
 *
 * Called by otel_stress_drv.ko's exit, once none of its spans is left.
 */
void otel_stress_add_spans(u64 n)
{
	atomic64_add(n, &st_drv_spans);
}
EXPORT_SYMBOL_GPL(otel_stress_add_spans);

static void st_free(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct st_cpu *c = &st_cpus[cpu];

		if (c->thread)
			kthread_stop(c->thread);
		if (c->used)
			st_async_end(c);
	}
	/* After the kthreads, which send the NMIs, are gone. */
	if (st_nmi_registered)
		unregister_nmi_handler(NMI_LOCAL, "otel_stress");
	kfree(st_cpus);
}

static int __init st_init(void)
{
	unsigned int cpu, i;
	struct st_cpu *c;
	int ret = 0;

	if (!burst || !period_us)
		return -EINVAL;
	st_cpus = kcalloc(nr_cpu_ids, sizeof(*st_cpus), GFP_KERNEL);
	if (!st_cpus)
		return -ENOMEM;
	ret = register_nmi_handler(NMI_LOCAL, st_nmi, 0, "otel_stress");
	if (ret)
		goto err_free;
	st_nmi_registered = true;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		c = &st_cpus[cpu];
		c->cpu = cpu;
		for (i = 0; i < RINGTEST_NR_CTX; i++) {
			c->w[i].id = cpu * RINGTEST_NR_CTX + i;
			c->w[i].ctx = i;
		}
		tasklet_setup(&c->tasklet, st_tasklet);
		hrtimer_init(&c->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
		c->timer.function = st_timer;
		c->used = true;
		c->thread = kthread_create(st_thread, c, "otel_stress/%u", cpu);
		if (IS_ERR(c->thread)) {
			ret = PTR_ERR(c->thread);
			c->thread = NULL;
			break;
		}
		kthread_bind(c->thread, cpu);
	}
	cpus_read_unlock();
	if (ret)
		goto err_free;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (st_cpus[cpu].thread)
			wake_up_process(st_cpus[cpu].thread);
	WRITE_ONCE(st_ready, true);
	if (st_run) {
		st_run = false;
		st_start();
	}
	return 0;

err_free:
	st_free();
	return ret;
}

static void __exit st_exit(void)
{
	st_stop();
	st_free();
}

module_init(st_init);
module_exit(st_exit);

MODULE_DESCRIPTION("oteltrace stress test writers");
MODULE_LICENSE("GPL");
