// SPDX-License-Identifier: GPL-2.0
/*
 * otel_ringtest: writes OTEL_REC_RAW records into the oteltrace rings from
 * every context, for the accounting tests (tests/vm/ring_*.c).
 *
 * At load, on every online CPU: a kthread (task context) writes
 * task_records records, a pinned hrtimer (hardirq) writes hard_records in
 * bursts of `burst` every period_us, and a tasklet it schedules (softirq)
 * writes soft_records in bursts.  With nmi_records, the kthread also sends
 * itself an NMI every 64 records while one of its own records is reserved
 * but not committed; the NMI handler writes a burst of 4 (NMI nested in a
 * task writer).  Record format: otel_ringtest.h.
 * Read-only parameters report progress: `attempted` (records tried by all
 * writers, written or dropped) and `done` (1 when every writer finished),
 * so a test can check attempted == read + dropped exactly.  `oversize`
 * records of OTEL_REC_MAX_SIZE + 8 bytes are tried at load; `refused`
 * counts those the ring refused.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <asm/apic.h>
#include <asm/nmi.h>

#include "ring.h"
#include "tests/kmod/otel_ringtest.h"

static unsigned long task_records;
module_param(task_records, ulong, 0444);
MODULE_PARM_DESC(task_records, "records per CPU from a kthread");
static unsigned long soft_records;
module_param(soft_records, ulong, 0444);
MODULE_PARM_DESC(soft_records, "records per CPU from a tasklet");
static unsigned long hard_records;
module_param(hard_records, ulong, 0444);
MODULE_PARM_DESC(hard_records, "records per CPU from an hrtimer");
static unsigned long nmi_records;
module_param(nmi_records, ulong, 0444);
MODULE_PARM_DESC(nmi_records, "records per CPU from NMI (x86), nested in the kthread's");
static unsigned int min_size = 40;
module_param(min_size, uint, 0444);
MODULE_PARM_DESC(min_size, "smallest record, bytes (multiple of 8, >= 40)");
static unsigned int max_size = 256;
module_param(max_size, uint, 0444);
MODULE_PARM_DESC(max_size, "largest record, bytes (multiple of 8)");
static unsigned int burst = 32;
module_param(burst, uint, 0444);
MODULE_PARM_DESC(burst, "records per hrtimer or tasklet run");
static unsigned int period_us = 200;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "hrtimer period");
static unsigned int task_sleep_us;
module_param(task_sleep_us, uint, 0444);
MODULE_PARM_DESC(task_sleep_us, "kthread sleep after every 256 records (0: none)");
static bool hold;
module_param(hold, bool, 0644);
MODULE_PARM_DESC(hold,
		 "task writers wait after each 256 records while set (a test keeps them writing)");
static unsigned int oversize;
module_param(oversize, uint, 0444);
MODULE_PARM_DESC(oversize, "oversize records to try at load");
static unsigned int refused;
module_param(refused, uint, 0444);
MODULE_PARM_DESC(refused, "oversize records refused (read-only)");

struct rt_writer {
	u32 id;
	u32 ctx;
	u64 quota;
	u64 seq;		/* attempts so far; only the writer changes it */
};

struct rt_cpu {
	unsigned int cpu;
	struct rt_writer w[RINGTEST_NR_CTX];
	struct task_struct *thread;
	struct hrtimer timer;
	struct tasklet_struct tasklet;
};

static struct rt_cpu *rt_cpus;	/* [nr_cpu_ids], online CPUs at load */
static bool rt_stopping;
static bool rt_nmi_registered;
static DEFINE_PER_CPU(int, rt_nmi_pending);

#define RT_NMI_BURST	4

static void rt_write(struct rt_writer *w);

static int rt_nmi(unsigned int type, struct pt_regs *regs)
{
	struct rt_writer *w;
	unsigned int n;

	/* Only our own NMIs; xchg so a timed-out one writes nothing. */
	if (!this_cpu_xchg(rt_nmi_pending, 0))
		return NMI_DONE;
	w = &rt_cpus[smp_processor_id()].w[RINGTEST_CTX_NMI];
	for (n = 0; n < RT_NMI_BURST && w->seq < w->quota; n++)
		rt_write(w);
	return NMI_HANDLED;
}

/* Called with a record reserved: NMI ourselves and wait for the handler. */
static void rt_nmi_self(void)
{
	u64 end = ktime_get_ns() + 10 * NSEC_PER_MSEC;

	this_cpu_write(rt_nmi_pending, 1);
	apic->send_IPI_self(NMI_VECTOR);
	while (this_cpu_read(rt_nmi_pending) && ktime_get_ns() < end)
		cpu_relax();
	this_cpu_xchg(rt_nmi_pending, 0);
}

static void rt_write_nmi(struct rt_writer *w, bool nmi)
{
	u32 size = otel_ringtest_size(w->seq, min_size, max_size), i;
	struct otel_ringtest_rec *r;
	u8 *fill;

	r = (struct otel_ringtest_rec *)otel_ring_reserve(OTEL_REC_RAW, size);
	if (r) {
		r->writer = w->id;
		r->ctx = w->ctx;
		r->seq = w->seq;
		fill = (u8 *)(r + 1);
		for (i = 0; i < size - sizeof(*r); i++)
			fill[i] = otel_ringtest_fill(w->id, w->seq, i);
		if (nmi)
			rt_nmi_self();
		otel_ring_commit(&r->hdr);
	} else if (nmi) {
		preempt_disable();
		rt_nmi_self();
		preempt_enable();
	}
	WRITE_ONCE(w->seq, w->seq + 1);
}

static void rt_write(struct rt_writer *w)
{
	rt_write_nmi(w, false);
}

static bool rt_burst(struct rt_writer *w)
{
	unsigned int n;

	for (n = 0; n < burst && w->seq < w->quota; n++)
		rt_write(w);
	return w->seq < w->quota;
}

static int rt_thread(void *arg)
{
	struct rt_writer *w = arg;
	struct rt_writer *nmi = w + (RINGTEST_CTX_NMI - RINGTEST_CTX_TASK);

	while (w->seq < w->quota && !kthread_should_stop()) {
		rt_write_nmi(w, rt_nmi_registered && !(w->seq & 63) &&
			     READ_ONCE(nmi->seq) < nmi->quota);
		if (!(w->seq & 255)) {
			while (READ_ONCE(hold) && !kthread_should_stop())
				schedule_timeout_interruptible(HZ / 100);
			if (task_sleep_us)
				usleep_range(task_sleep_us, task_sleep_us * 2);
			else
				cond_resched();
		}
	}
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

static void rt_tasklet(struct tasklet_struct *t)
{
	struct rt_cpu *c = from_tasklet(c, t, tasklet);

	rt_burst(&c->w[RINGTEST_CTX_SOFTIRQ]);
}

static enum hrtimer_restart rt_timer(struct hrtimer *t)
{
	struct rt_cpu *c = container_of(t, struct rt_cpu, timer);
	struct rt_writer *soft = &c->w[RINGTEST_CTX_SOFTIRQ];
	bool more = rt_burst(&c->w[RINGTEST_CTX_HARDIRQ]);

	if (soft->seq < soft->quota) {
		tasklet_schedule(&c->tasklet);
		more = true;
	}
	if (!more || READ_ONCE(rt_stopping))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime((u64)period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void rt_start_timer(void *arg)
{
	struct rt_cpu *c = arg;

	hrtimer_start(&c->timer, ns_to_ktime((u64)period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED);
}

static int param_get_attempted(char *buf, const struct kernel_param *kp)
{
	u64 sum = 0;
	unsigned int cpu, i;

	for (cpu = 0; rt_cpus && cpu < nr_cpu_ids; cpu++)
		for (i = 0; i < RINGTEST_NR_CTX; i++)
			sum += READ_ONCE(rt_cpus[cpu].w[i].seq);
	return sysfs_emit(buf, "%llu\n", sum);
}

static int param_get_done(char *buf, const struct kernel_param *kp)
{
	unsigned int cpu, i;
	bool done = true;

	/* The NMI writer runs only while its kthread does. */
	for (cpu = 0; rt_cpus && cpu < nr_cpu_ids; cpu++)
		for (i = 0; i < RINGTEST_CTX_NMI; i++)
			if (READ_ONCE(rt_cpus[cpu].w[i].seq) < rt_cpus[cpu].w[i].quota)
				done = false;
	return sysfs_emit(buf, "%d\n", done);
}

static const struct kernel_param_ops attempted_ops = { .get = param_get_attempted };
static const struct kernel_param_ops done_ops = { .get = param_get_done };
module_param_cb(attempted, &attempted_ops, NULL, 0444);
MODULE_PARM_DESC(attempted, "records tried so far (read-only)");
module_param_cb(done, &done_ops, NULL, 0444);
MODULE_PARM_DESC(done, "1 when every writer finished (read-only)");

static void rt_stop(void)
{
	unsigned int cpu;

	WRITE_ONCE(rt_stopping, true);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct rt_cpu *c = &rt_cpus[cpu];

		if (c->thread)
			kthread_stop(c->thread);
		if (c->timer.function) {
			hrtimer_cancel(&c->timer);
			tasklet_kill(&c->tasklet);
		}
	}
	/* After the kthreads, which send the NMIs, are gone. */
	if (rt_nmi_registered)
		unregister_nmi_handler(NMI_LOCAL, "otel_ringtest");
	rt_nmi_registered = false;
	kfree(rt_cpus);
}

static int __init rt_init(void)
{
	unsigned int cpu, i;
	struct rt_cpu *c;
	int ret = 0;

	if (min_size < sizeof(struct otel_ringtest_rec) || min_size % 8 ||
	    max_size % 8 || max_size < min_size || !burst || !period_us)
		return -EINVAL;
	refused = 0;
	for (i = 0; i < oversize; i++) {
		struct otel_rec_hdr *h = otel_ring_reserve(OTEL_REC_RAW,
							   OTEL_REC_MAX_SIZE + 8);

		if (h)
			otel_ring_commit(h);
		else
			refused++;
	}
	rt_cpus = kcalloc(nr_cpu_ids, sizeof(*rt_cpus), GFP_KERNEL);
	if (!rt_cpus)
		return -ENOMEM;

	if (nmi_records && task_records) {
		ret = register_nmi_handler(NMI_LOCAL, rt_nmi, 0, "otel_ringtest");
		if (ret) {
			kfree(rt_cpus);
			return ret;
		}
		rt_nmi_registered = true;
	}

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		c = &rt_cpus[cpu];
		c->cpu = cpu;
		for (i = 0; i < RINGTEST_NR_CTX; i++) {
			c->w[i].id = cpu * RINGTEST_NR_CTX + i;
			c->w[i].ctx = i;
		}
		c->w[RINGTEST_CTX_TASK].quota = task_records;
		c->w[RINGTEST_CTX_SOFTIRQ].quota = soft_records;
		c->w[RINGTEST_CTX_HARDIRQ].quota = hard_records;
		c->w[RINGTEST_CTX_NMI].quota = task_records ? nmi_records : 0;
		if (task_records) {
			c->thread = kthread_create(rt_thread, &c->w[RINGTEST_CTX_TASK],
						   "otel_ringtest/%u", cpu);
			if (IS_ERR(c->thread)) {
				ret = PTR_ERR(c->thread);
				c->thread = NULL;
				break;
			}
			kthread_bind(c->thread, cpu);
		}
		if (soft_records || hard_records) {
			tasklet_setup(&c->tasklet, rt_tasklet);
			hrtimer_init(&c->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
			c->timer.function = rt_timer;
		}
	}
	if (!ret) {
		for_each_online_cpu(cpu) {
			c = &rt_cpus[cpu];
			if (c->thread)
				wake_up_process(c->thread);
			if (c->timer.function)
				smp_call_function_single(cpu, rt_start_timer, c, 1);
		}
	}
	cpus_read_unlock();
	if (ret)
		rt_stop();
	return ret;
}

static void __exit rt_exit(void)
{
	rt_stop();
}

module_init(rt_init);
module_exit(rt_exit);

MODULE_DESCRIPTION("oteltrace ring test writers");
MODULE_LICENSE("GPL");
