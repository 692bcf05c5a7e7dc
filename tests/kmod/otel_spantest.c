// SPDX-License-Identifier: GPL-2.0
/*
 * otel_spantest: makes spans on command for the in-VM span tests
 * (tests/vm/span_*.c), which read them back from /dev/oteltrace.
 *
 * Write "<command> [n]" to /dev/otel_spantest; the command runs before
 * write() returns.  Span names start with "t." and name the command:
 *   roots N	N root spans "t.root" (ids, sampling)
 *   tree N	N roots "t.tree.root", each with an implicit child
 *		"t.tree.child" (parent-based sampling)
 *   nest N	N spans "t.nest" nested implicitly by recursion, then an
 *		out-of-order pair "t.ooo.a"/"t.ooo.b" and a root "t.ooo.after"
 *   attrs	"t.attrs": one attribute of each type and edge values
 *   limits	"t.limits.attrs" (130 attributes), "t.limits.events" (131
 *		events), "t.limits.links" (129 links), "t.limits.evattrs" (an
 *		event with 130 attributes, then one aimed at an older event)
 *   events	"t.events": events with time and attributes, links with
 *		attributes
 *   status	"t.status.ok", ".error", ".ok_final", ".errno", ".errno_unknown"
 *   remote	"t.remote" under a parsed traceparent; "t.enter.parent"
 *		entered, with an implicit child "t.enter.child"
 *   hardirq N	task span "t.hardirq.task" current while a pinned hrtimer
 *		fires N times in hardirq on the same CPU; each run makes
 *		"t.hardirq.root" (must be a root) with implicit child
 *		"t.hardirq.child", and ends "t.hardirq.async" #i begun in the
 *		task with "t.hardirq.task" as explicit parent
 *   softirq N	the same with a timer_list (softirq) on another CPU:
 *		"t.softirq.task", ".root", ".child", ".async"
 *   nmi N	the same with N self-sent NMIs (x86): "t.nmi.task", ".root",
 *		".child", ".async"
 *   cpus	"t.cpus.parent" in the task; for every other online CPU a
 *		child "t.cpus.ipi" begun here and ended by an IPI there
 *   recursion	a probe on oteltrace:kspan_begin begins "t.recursion.probe"
 *		(which must not fire the event again) while
 *		"t.recursion.outer" begins
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define OTEL_SCOPE_VERSION "test"

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/timer.h>
#include <linux/uaccess.h>
#ifdef CONFIG_X86_LOCAL_APIC
#include <asm/apic.h>
#include <asm/nmi.h>
#endif

#include "oteltrace.h"
#include "oteltrace_trace.h"

#define T_KIND		OTEL_SPAN_KIND_INTERNAL
#define T_MAX_IRQ	64

static DEFINE_MUTEX(spantest_lock);

static void cmd_roots(unsigned int n)
{
	struct otel_kspan s;

	while (n--) {
		otel_kspan_begin(&s, "t.root", T_KIND);
		otel_kspan_end(&s);
	}
}

static void cmd_tree(unsigned int n)
{
	struct otel_kspan root, child;

	while (n--) {
		otel_kspan_begin(&root, "t.tree.root", T_KIND);
		otel_kspan_begin(&child, "t.tree.child", T_KIND);
		otel_kspan_end(&child);
		otel_kspan_end(&root);
	}
}

static void nest_spans(unsigned int depth)
{
	struct otel_kspan s;

	if (!depth)
		return;
	otel_kspan_begin(&s, "t.nest", T_KIND);
	otel_kspan_set_int(&s, "t.depth", depth);
	nest_spans(depth - 1);
	otel_kspan_end(&s);
}

static void cmd_nest(unsigned int n)
{
	struct otel_kspan a, b, after;

	nest_spans(min(n, 32U));
	/* Ended out of order: "after" must still be a root. */
	otel_kspan_begin(&a, "t.ooo.a", T_KIND);
	otel_kspan_begin(&b, "t.ooo.b", T_KIND);
	otel_kspan_end(&a);
	otel_kspan_end(&b);
	otel_kspan_begin(&after, "t.ooo.after", T_KIND);
	otel_kspan_end(&after);
}

static void cmd_attrs(void)
{
	static const char bytes[] = { 'a', 0, 'b' };
	struct otel_kspan s;

	otel_kspan_begin(&s, "t.attrs", T_KIND);
	otel_kspan_set_str(&s, "t.str", "hello, world");
	otel_kspan_set_str(&s, "t.str_empty", "");
	otel_kspan_set_strn(&s, "t.str_nul", bytes, sizeof(bytes));
	otel_kspan_set_bool(&s, "t.true", true);
	otel_kspan_set_bool(&s, "t.false", false);
	otel_kspan_set_int(&s, "t.int_max", S64_MAX);
	otel_kspan_set_int(&s, "t.int_min", S64_MIN);
	otel_kspan_set_int(&s, "t.int_neg", -1);
	otel_kspan_set_double(&s, "t.half", 1, 2);
	otel_kspan_set_double(&s, "t.neg_frac", -12250, 1000);
	/* pi as IEEE 754 binary64 */
	otel_kspan_set_double_bits(&s, "t.pi_bits", 0x400921fb54442d18ULL);
	otel_kspan_end(&s);
}

static void cmd_limits(void)
{
	struct otel_span_context ctx;
	struct otel_kspan s, other;
	struct otel_kattr a;
	unsigned int i;
	u16 first;

	otel_kspan_begin(&s, "t.limits.attrs", T_KIND);
	for (i = 0; i < 130; i++)
		otel_kspan_set_int(&s, "t.i", i);
	otel_kspan_end(&s);

	otel_kspan_begin(&s, "t.limits.events", T_KIND);
	for (i = 0; i < 131; i++)
		otel_kspan_add_event(&s, "t.ev");
	otel_kspan_end(&s);

	otel_kspan_begin_child(&other, NULL, "t.limits.target", T_KIND);
	otel_kspan_get_context(&other, &ctx);
	otel_kspan_begin(&s, "t.limits.links", T_KIND);
	for (i = 0; i < 129; i++)
		otel_kspan_add_link(&s, &ctx, NULL, 0);
	otel_kspan_end(&s);
	otel_kspan_end(&other);

	otel_kspan_begin(&s, "t.limits.evattrs", T_KIND);
	first = otel_kspan_add_event(&s, "t.ev1");
	for (i = 0; i < 130; i++) {
		a = OTEL_KATTR_INT("t.i", i);
		otel_kspan_event_attrs(&s, first, &a, 1);
	}
	otel_kspan_add_event(&s, "t.ev2");
	a = OTEL_KATTR_BOOL("t.late", true);
	otel_kspan_event_attrs(&s, first, &a, 1);
	otel_kspan_end(&s);
}

static void cmd_events(void)
{
	struct otel_kattr ev_attrs[] = {
		OTEL_KATTR_INT("t.step", 1),
		OTEL_KATTR_STR("t.what", "x"),
	};
	struct otel_kattr link_attrs[] = { OTEL_KATTR_BOOL("t.linked", true) };
	struct otel_span_context ctx;
	struct otel_kspan s, target;

	otel_kspan_begin_child(&target, NULL, "t.events.target", T_KIND);
	otel_kspan_get_context(&target, &ctx);
	otel_kspan_end(&target);

	otel_kspan_begin(&s, "t.events", T_KIND);
	otel_kspan_add_event(&s, "t.plain");
	otel_kspan_add_event_attrs(&s, "t.timed", 123456789, ev_attrs,
				   ARRAY_SIZE(ev_attrs));
	otel_kspan_add_link(&s, &ctx, link_attrs, ARRAY_SIZE(link_attrs));
	otel_kspan_end(&s);
}

static void cmd_status(void)
{
	struct otel_kspan s;

	otel_kspan_begin(&s, "t.status.ok", T_KIND);
	otel_kspan_set_status(&s, OTEL_STATUS_OK, "ignored");
	otel_kspan_end(&s);

	otel_kspan_begin(&s, "t.status.error", T_KIND);
	otel_kspan_set_status(&s, OTEL_STATUS_ERROR, "boom");
	otel_kspan_end(&s);

	otel_kspan_begin(&s, "t.status.ok_final", T_KIND);
	otel_kspan_set_status(&s, OTEL_STATUS_OK, NULL);
	otel_kspan_set_status(&s, OTEL_STATUS_ERROR, "too late");
	otel_kspan_end(&s);

	otel_kspan_begin(&s, "t.status.errno", T_KIND);
	otel_kspan_record_errno(&s, 0);
	otel_kspan_record_errno(&s, -EIO);
	otel_kspan_end(&s);

	otel_kspan_begin(&s, "t.status.errno_unknown", T_KIND);
	otel_kspan_record_errno(&s, -4000);
	otel_kspan_end(&s);
}

static int cmd_remote(void)
{
	static const char tp[] =
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	struct otel_span_context ctx;
	struct otel_kspan s, child;
	char buf[OTEL_TRACEPARENT_LEN + 1];
	int ret;

	ret = otel_traceparent_parse(tp, strlen(tp), &ctx);
	if (ret)
		return ret;
	if (otel_traceparent_format(&ctx, buf, sizeof(buf)) < 0 ||
	    strcmp(buf, tp))
		return -EPROTO;
	/* Bad inputs must be refused. */
	if (!otel_traceparent_parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01",
				    OTEL_TRACEPARENT_LEN, &ctx) ||
	    !otel_traceparent_parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				    OTEL_TRACEPARENT_LEN, &ctx) ||
	    !otel_traceparent_parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
				    OTEL_TRACEPARENT_LEN, &ctx) ||
	    !otel_traceparent_parse(tp, strlen(tp) - 1, &ctx))
		return -EPROTO;
	otel_traceparent_parse(tp, strlen(tp), &ctx);

	otel_kspan_begin_remote(&s, &ctx, "t.remote", OTEL_SPAN_KIND_SERVER);
	otel_kspan_end(&s);

	otel_kspan_begin_child(&s, NULL, "t.enter.parent", T_KIND);
	otel_kspan_enter(&s);
	otel_kspan_begin(&child, "t.enter.child", T_KIND);
	/* The current span and the context to propagate are the child's. */
	if (otel_kspan_current() != &child ||
	    !otel_current_context(&ctx) ||
	    memcmp(ctx.span_id, child.span_id, OTEL_SPAN_ID_SIZE))
		ret = -EPROTO;
	otel_kspan_end(&child);
	if (otel_kspan_current() != &s)
		ret = -EPROTO;
	otel_kspan_leave(&s);
	otel_kspan_end(&s);
	return ret;
}

/* Interrupt-context commands share this state (one command at a time). */
static struct {
	struct otel_kspan	task;
	struct otel_kspan	async[T_MAX_IRQ];
	unsigned int		n;
	atomic_t		runs;
	struct completion	done;
	struct hrtimer		hrtimer;
	struct timer_list	timer;
	int			cpu;
} irqt;

static void irq_body(const char *root_name, const char *child_name)
{
	struct otel_kspan root, child;
	unsigned int i = atomic_read(&irqt.runs);

	otel_kspan_begin(&root, root_name, T_KIND);
	otel_kspan_begin(&child, child_name, T_KIND);
	otel_kspan_set_int(&child, "t.run", i);
	otel_kspan_end(&child);
	otel_kspan_end(&root);
	otel_kspan_end(&irqt.async[i]);
	if (atomic_inc_return(&irqt.runs) == irqt.n)
		complete(&irqt.done);
}

static enum hrtimer_restart hardirq_fn(struct hrtimer *t)
{
	irq_body("t.hardirq.root", "t.hardirq.child");
	if (atomic_read(&irqt.runs) >= irqt.n)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(200 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void softirq_fn(struct timer_list *t)
{
	irq_body("t.softirq.root", "t.softirq.child");
	if (atomic_read(&irqt.runs) < irqt.n)
		add_timer_on(&irqt.timer, irqt.cpu);
}

static void irq_prepare(unsigned int n, const char *task_name,
			const char *async_name)
{
	unsigned int i;

	irqt.n = clamp(n, 1U, (unsigned int)T_MAX_IRQ);
	atomic_set(&irqt.runs, 0);
	init_completion(&irqt.done);
	otel_kspan_begin(&irqt.task, task_name, T_KIND);
	for (i = 0; i < irqt.n; i++)
		otel_kspan_begin_child(&irqt.async[i], &irqt.task, async_name,
				       T_KIND);
}

static int cmd_hardirq(unsigned int n)
{
	unsigned long deadline = jiffies + 10 * HZ;
	int ret = 0;

	irq_prepare(n, "t.hardirq.task", "t.hardirq.async");
	hrtimer_init(&irqt.hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	irqt.hrtimer.function = hardirq_fn;

	/* Stay on this CPU, interruptible, with the task span current. */
	preempt_disable();
	hrtimer_start(&irqt.hrtimer, ns_to_ktime(200 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED_HARD);
	while (atomic_read(&irqt.runs) < irqt.n) {
		if (time_after(jiffies, deadline)) {
			ret = -ETIMEDOUT;
			break;
		}
		cpu_relax();
	}
	preempt_enable();
	hrtimer_cancel(&irqt.hrtimer);
	otel_kspan_end(&irqt.task);
	return ret;
}

static int cmd_softirq(unsigned int n)
{
	int cpu = raw_smp_processor_id();

	irqt.cpu = cpumask_any_but(cpu_online_mask, cpu);
	if (irqt.cpu >= nr_cpu_ids)
		irqt.cpu = cpu;
	irq_prepare(n, "t.softirq.task", "t.softirq.async");
	timer_setup(&irqt.timer, softirq_fn, 0);
	irqt.timer.expires = jiffies + 1;
	add_timer_on(&irqt.timer, irqt.cpu);
	if (!wait_for_completion_timeout(&irqt.done, 10 * HZ)) {
		del_timer_sync(&irqt.timer);
		otel_kspan_end(&irqt.task);
		return -ETIMEDOUT;
	}
	del_timer_sync(&irqt.timer);
	otel_kspan_end(&irqt.task);
	return 0;
}

#ifdef CONFIG_X86_LOCAL_APIC
static atomic_t nmi_armed;

/* NMI context: no completion, no lock; the task polls irqt.runs. */
static int spantest_nmi(unsigned int type, struct pt_regs *regs)
{
	struct otel_kspan root, child;
	unsigned int i;

	if (!atomic_add_unless(&nmi_armed, -1, 0))
		return NMI_DONE;	/* not ours */
	i = atomic_read(&irqt.runs);
	otel_kspan_begin(&root, "t.nmi.root", T_KIND);
	otel_kspan_begin(&child, "t.nmi.child", T_KIND);
	otel_kspan_set_int(&child, "t.run", i);
	otel_kspan_end(&child);
	otel_kspan_end(&root);
	otel_kspan_end(&irqt.async[i]);
	atomic_inc(&irqt.runs);
	return NMI_HANDLED;
}

static int cmd_nmi(unsigned int n)
{
	unsigned long deadline = jiffies + 10 * HZ;
	unsigned int i;
	int ret;

	irq_prepare(n, "t.nmi.task", "t.nmi.async");
	ret = register_nmi_handler(NMI_LOCAL, spantest_nmi, 0, "otel_spantest");
	if (ret)
		goto out;
	/* One NMI at a time, to this CPU, while the task span is current. */
	preempt_disable();
	for (i = 0; i < irqt.n && !ret; i++) {
		atomic_set(&nmi_armed, 1);
		apic->send_IPI_mask(cpumask_of(smp_processor_id()), NMI_VECTOR);
		while (atomic_read(&irqt.runs) <= i) {
			if (time_after(jiffies, deadline)) {
				ret = -ETIMEDOUT;
				break;
			}
			cpu_relax();
		}
	}
	atomic_set(&nmi_armed, 0);
	preempt_enable();
	unregister_nmi_handler(NMI_LOCAL, "otel_spantest");
out:
	otel_kspan_end(&irqt.task);
	return ret;
}
#else
static int cmd_nmi(unsigned int n)
{
	return -EOPNOTSUPP;
}
#endif

static void cpus_end_ipi(void *arg)
{
	otel_kspan_end(arg);
}

static void cmd_cpus(void)
{
	struct otel_kspan parent, child;
	int cpu, me;

	otel_kspan_begin(&parent, "t.cpus.parent", T_KIND);
	for_each_online_cpu(cpu) {
		me = get_cpu();
		if (cpu != me) {
			otel_kspan_begin_child(&child, &parent, "t.cpus.ipi",
					       T_KIND);
			smp_call_function_single(cpu, cpus_end_ipi, &child, 1);
		}
		put_cpu();
	}
	otel_kspan_end(&parent);
}

static atomic_t probe_calls;

static void probe_kspan_begin(void *data, const struct otel_kspan *span)
{
	struct otel_kspan s;

	/* Without oteltrace's guard this would recurse until the stack ends. */
	atomic_inc(&probe_calls);
	otel_kspan_begin(&s, "t.recursion.probe", T_KIND);
	otel_kspan_end(&s);
}

static int cmd_recursion(void)
{
	struct otel_kspan outer;
	int ret;

	atomic_set(&probe_calls, 0);
	ret = register_trace_kspan_begin(probe_kspan_begin, NULL);
	if (ret)
		return ret;
	otel_kspan_begin(&outer, "t.recursion.outer", T_KIND);
	otel_kspan_end(&outer);
	unregister_trace_kspan_begin(probe_kspan_begin, NULL);
	tracepoint_synchronize_unregister();
	return atomic_read(&probe_calls) == 1 ? 0 : -ELOOP;
}

static ssize_t spantest_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	char buf[32], cmd[16];
	unsigned int n = 0;
	int ret = 0;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (sscanf(buf, "%15s %u", cmd, &n) < 1)
		return -EINVAL;

	mutex_lock(&spantest_lock);
	if (!strcmp(cmd, "roots"))
		cmd_roots(n);
	else if (!strcmp(cmd, "tree"))
		cmd_tree(n);
	else if (!strcmp(cmd, "nest"))
		cmd_nest(n);
	else if (!strcmp(cmd, "attrs"))
		cmd_attrs();
	else if (!strcmp(cmd, "limits"))
		cmd_limits();
	else if (!strcmp(cmd, "events"))
		cmd_events();
	else if (!strcmp(cmd, "status"))
		cmd_status();
	else if (!strcmp(cmd, "remote"))
		ret = cmd_remote();
	else if (!strcmp(cmd, "hardirq"))
		ret = cmd_hardirq(n);
	else if (!strcmp(cmd, "softirq"))
		ret = cmd_softirq(n);
	else if (!strcmp(cmd, "nmi"))
		ret = cmd_nmi(n);
	else if (!strcmp(cmd, "cpus"))
		cmd_cpus();
	else if (!strcmp(cmd, "recursion"))
		ret = cmd_recursion();
	else
		ret = -EINVAL;
	mutex_unlock(&spantest_lock);
	return ret ? ret : count;
}

static const struct file_operations spantest_fops = {
	.owner	= THIS_MODULE,
	.write	= spantest_write,
	.llseek	= noop_llseek,
};

static struct miscdevice spantest_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "otel_spantest",
	.fops	= &spantest_fops,
	.mode	= 0600,
};

module_misc_device(spantest_miscdev);

MODULE_DESCRIPTION("oteltrace span API test driver");
MODULE_LICENSE("GPL");
