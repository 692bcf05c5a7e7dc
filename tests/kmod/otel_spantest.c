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
 *		events, the last 3 with an attribute), "t.limits.links" (129
 *		links, the last with an attribute), "t.limits.evattrs" (an
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
 *
 * Record shapes of ABI 2 (one record per span, docs/span-records.md):
 *   bench N	N spans "t.bench": begin, int attributes bench.a and bench.b,
 *		end (the benchmark's span)
 *   budget	attributes past the handle's 128-byte inline budget:
 *		"t.budget" (12 entries of 24 bytes, one of 224, one of 24),
 *		"t.budget.status" (3 entries, an 80-byte ERROR message, 3
 *		more), "t.budget.longmsg" (1 entry, a 200-byte message cut
 *		at 128, 1 more)
 *   evbig	"t.evbig": an event and a link with 10 string attributes of
 *		224-byte entries each (more than one record holds); the link
 *		points at "t.evbig.target"
 *   noend	"t.noend" begun (not current) and never ended
 *
 * No-op spans (tests/vm/span_sampling_test.c), run by a task whose remote
 * context user space set, under always_off:
 *   noop N	"t.noop" with an attribute and an implicit child
 *		"t.noop.child", an explicit child "t.noop.explicit" of
 *		"t.noop", an async "t.noop.async" (never a no-op span);
 *		"t.noop" ended twice; "t.noop.twice" begun twice.  N = 1
 *		(noop_spans=Y): the first two must be no-op spans (not
 *		current, their context and the one to propagate are the
 *		task's, unchanged, and a work item that has a context of
 *		its own ("t.noop.other", entered) reads none; the explicit
 *		child, unsampled, is the task context's child); N = 0:
 *		unsampled spans (ids, flags 00, current, the explicit child
 *		is t.noop's, a work item reads t.noop's ids).  -EPROTO if
 *		not
 *
 * Misuse of the span API (tests/vm/span_misuse_test.c).  Each command
 * (but mleak) ends with N ordinary spans in the same task: N / 2 roots
 * "t.m.root", each with an implicit child "t.m.child", both carrying
 * t.seq.  A span the command leaks names its ids through an explicit child
 * "t.m.witness" (the leaked span itself never writes).
 *   mstale N	a span left current by a function M_DEPTH frames down,
 *		"t.m.leak"; the stack there then filled with 0xff
 *   mleak	the same leak alone (the next command's spans follow it)
 *   mordinary N	only the ordinary spans
 *   msame N	a span "t.m.same" left current, then one begun at the same
 *		address ("t.m.same", the only one that ends)
 *   mtwice N	handles begun twice: "t.m.twice" (current, under
 *		"t.m.twice.parent") and "t.m.twice.child" (not current); the
 *		first spans, "t.m.twice.lost", are abandoned
 *   mend N	ending: a handle never begun; "t.m.end.twice" ended twice;
 *		random bytes posing as a current span (attribute, event,
 *		end); a copy of "t.m.end.orig"; random bytes begun as
 *		"t.m.end.garbage"
 *   mforeign N	current spans ended elsewhere: "t.m.foreign.work" by a work
 *		item, then "t.m.foreign.after" (a root); "t.m.foreign.ipi"
 *		under "t.m.foreign.parent" by an IPI on another CPU, then
 *		"t.m.foreign.child" (the parent's child)
 *   rcu_barrier	waits for pending RCU callbacks (tasks being freed)
 *
 * The scope guard (tests/vm/span_scope_test.c):
 *   scoped N	N rounds of scoped_request() left by each of its four
 *		paths in turn (see there): "t.s.request" (t.path, t.seq) with
 *		children "t.s.step", "t.s.inner", "t.s.iter"; after each
 *		call no span may be current (else -EPROTO), and a root
 *		"t.s.after" (t.path, t.seq) follows
 *
 * debug_open_spans (tests/vm/span_debug_test.c; mleak leaves a span open
 * across the system call):
 *   dexit	a kthread "otel_dexit" begins "t.d.exit" as its current span
 *		and exits with it open; returns once the kthread is dead
 *
 * Regressions of fixes to the span layer, each as close to its bug as a
 * test gets (tests/vm/span_race_test.c; span names "t.r.*"):
 *   rlimit N	N spans "t.r.limit", each with an event "t.r.ev" of three
 *		1000-byte string attributes t.r.s0..2 and two more added to
 *		it (t.r.m0..1), a link to itself with t.r.s0..2 and the same
 *		three as span attributes, while a kprobe on
 *		otel_ring_reserve() flips attr_value_length_limit between 8
 *		and 840 at every record the command reserves there (between
 *		measuring a record and writing it); result: the flips
 *   rstatus N	N rounds on two CPUs: "t.r.status" ended on one while the
 *		other sets status ERROR, with 128 bytes of 'q' and with "e",
 *		until the end returns
 *   rstatusk N	N spans "t.r.status" (ERROR "e") ended while a kprobe on
 *		otel_ring_overwrite() (overwrite mode) stores a 128-byte
 *		message of 'q' into the handle, between measuring the SPAN
 *		record and writing it; result: how many times it did
 *   rend2 N	N rounds on two CPUs: "t.r.end2" (t.seq = round from 1)
 *		ended by both at once; in the first N / 2 a probe on
 *		oteltrace:kspan_end holds an end there until the other end
 *		arrives too or returns
 *   rscribble K	a handle with a valid cookie and a length (or a reserved
 *		field) overwritten (see cmd_rscribble()), between 0xa5
 *		and 0x5a bytes
 *   ractive	"t.r.active.first" begun, its name and scope pointers
 *		poisoned, begun again as "t.r.active.again" and ended
 *
 * Reading <debugfs>/otel_spantest/exit_span does nothing; its release()
 * runs in do_exit() when a process exits with it open, after oteltrace's
 * task exit hook: it leaves "t.exit.hold" current (so the task's context
 * slot stays claimed until the task is freed) and makes "t.exit.parent"
 * (t.exiting = 1 if PF_EXITING) with an implicit child "t.exit.child".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define OTEL_SCOPE_VERSION "test"

#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poison.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/timer.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#ifdef CONFIG_X86_LOCAL_APIC
#include <asm/apic.h>
#include <asm/nmi.h>
#endif

#include "compat.h"
#include "oteltrace.h"
#include "oteltrace_trace.h"

#define T_KIND		OTEL_SPAN_KIND_INTERNAL
#define T_MAX_IRQ	64

static DEFINE_MUTEX(spantest_lock);
static long spantest_result;	/* what the last command found; read() */

static void cmd_roots(unsigned int n)
{
	DEFINE_OTEL_KSPAN(s);

	while (n--) {
		otel_kspan_begin(&s, "t.root", T_KIND);
		otel_kspan_end(&s);
	}
}

static void cmd_tree(unsigned int n)
{
	DEFINE_OTEL_KSPAN(root);
	DEFINE_OTEL_KSPAN(child);

	while (n--) {
		otel_kspan_begin(&root, "t.tree.root", T_KIND);
		otel_kspan_begin(&child, "t.tree.child", T_KIND);
		otel_kspan_end(&child);
		otel_kspan_end(&root);
	}
}

static void nest_spans(unsigned int depth)
{
	DEFINE_OTEL_KSPAN(s);

	if (!depth)
		return;
	otel_kspan_begin(&s, "t.nest", T_KIND);
	otel_kspan_set_int(&s, "t.depth", depth);
	nest_spans(depth - 1);
	otel_kspan_end(&s);
}

static void cmd_nest(unsigned int n)
{
	DEFINE_OTEL_KSPAN(a);
	DEFINE_OTEL_KSPAN(b);
	DEFINE_OTEL_KSPAN(after);

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
	DEFINE_OTEL_KSPAN(s);

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
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(other);
	struct otel_span_context ctx;
	struct otel_kattr a;
	unsigned int i;
	u16 first;

	otel_kspan_begin(&s, "t.limits.attrs", T_KIND);
	for (i = 0; i < 130; i++)
		otel_kspan_set_int(&s, "t.i", i);
	otel_kspan_end(&s);

	/* the 3 events and the link cut carry attributes: not the span's */
	a = OTEL_KATTR_INT("t.i", 1);
	otel_kspan_begin(&s, "t.limits.events", T_KIND);
	for (i = 0; i < 131; i++)
		otel_kspan_add_event_attrs(&s, "t.ev", 0, i < 128 ? NULL : &a,
					   i < 128 ? 0 : 1);
	otel_kspan_end(&s);

	otel_kspan_begin_child(&other, NULL, "t.limits.target", T_KIND);
	otel_kspan_get_context(&other, &ctx);
	otel_kspan_begin(&s, "t.limits.links", T_KIND);
	for (i = 0; i < 129; i++)
		otel_kspan_add_link(&s, &ctx, i < 128 ? NULL : &a,
				    i < 128 ? 0 : 1);
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
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(target);
	struct otel_span_context ctx;

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
	DEFINE_OTEL_KSPAN(s);

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
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(child);
	struct otel_span_context ctx;
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
	DEFINE_OTEL_KSPAN(root);
	DEFINE_OTEL_KSPAN(child);
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
		timer_delete_sync(&irqt.timer);
		otel_kspan_end(&irqt.task);
		return -ETIMEDOUT;
	}
	timer_delete_sync(&irqt.timer);
	otel_kspan_end(&irqt.task);
	return 0;
}

#ifdef CONFIG_X86_LOCAL_APIC
static atomic_t nmi_armed;

/* NMI context: no completion, no lock; the task polls irqt.runs. */
static int spantest_nmi(unsigned int type, struct pt_regs *regs)
{
	DEFINE_OTEL_KSPAN(root);
	DEFINE_OTEL_KSPAN(child);
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
	DEFINE_OTEL_KSPAN(parent);
	DEFINE_OTEL_KSPAN(child);
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
	DEFINE_OTEL_KSPAN(s);

	/* Without oteltrace's guard this would recurse until the stack ends. */
	atomic_inc(&probe_calls);
	otel_kspan_begin(&s, "t.recursion.probe", T_KIND);
	otel_kspan_end(&s);
}

static int cmd_recursion(void)
{
	DEFINE_OTEL_KSPAN(outer);
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

/* --- record shapes of ABI 2 --- */

/* Keys of 5 bytes: an int attribute is a 24-byte entry (16 + 5, padded). */
static const char * const t_keys[] = {
	"t.k00", "t.k01", "t.k02", "t.k03", "t.k04", "t.k05",
	"t.k06", "t.k07", "t.k08", "t.k09", "t.k10", "t.k11",
};

#define T_TEXT_LEN	200
static char t_text[T_TEXT_LEN + 1];	/* 'a'..'z' repeated */

static void cmd_bench(unsigned int n)
{
	DEFINE_OTEL_KSPAN(s);
	unsigned int i;

	for (i = 0; i < n; i++) {
		otel_kspan_begin(&s, "t.bench", T_KIND);
		otel_kspan_set_int(&s, "bench.a", i);
		otel_kspan_set_int(&s, "bench.b", -(s64)i);
		otel_kspan_end(&s);
	}
}

static void cmd_budget(void)
{
	DEFINE_OTEL_KSPAN(s);
	char msg[81];
	unsigned int i;

	otel_kspan_begin(&s, "t.budget", T_KIND);
	for (i = 0; i < ARRAY_SIZE(t_keys); i++)
		otel_kspan_set_int(&s, t_keys[i], i);
	otel_kspan_set_str(&s, "t.big", t_text);
	otel_kspan_set_int(&s, "t.last", ARRAY_SIZE(t_keys));
	otel_kspan_end(&s);

	memcpy(msg, t_text, 80);
	msg[80] = '\0';
	otel_kspan_begin(&s, "t.budget.status", T_KIND);
	for (i = 0; i < 3; i++)
		otel_kspan_set_int(&s, t_keys[i], i);
	otel_kspan_set_status(&s, OTEL_STATUS_ERROR, msg);
	for (; i < 6; i++)
		otel_kspan_set_int(&s, t_keys[i], i);
	otel_kspan_end(&s);

	otel_kspan_begin(&s, "t.budget.longmsg", T_KIND);
	otel_kspan_set_int(&s, t_keys[0], 0);
	otel_kspan_set_status(&s, OTEL_STATUS_ERROR, t_text);
	otel_kspan_set_int(&s, t_keys[1], 1);
	otel_kspan_end(&s);
}

static void cmd_evbig(void)
{
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(target);
	struct otel_kattr a[10];
	struct otel_span_context ctx;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(a); i++)
		a[i] = OTEL_KATTR_STR(t_keys[i], t_text);
	otel_kspan_begin_child(&target, NULL, "t.evbig.target", T_KIND);
	otel_kspan_get_context(&target, &ctx);
	otel_kspan_end(&target);

	otel_kspan_begin(&s, "t.evbig", T_KIND);
	otel_kspan_add_event_attrs(&s, "t.ev", 0, a, ARRAY_SIZE(a));
	otel_kspan_add_link(&s, &ctx, a, ARRAY_SIZE(a));
	otel_kspan_end(&s);
}

static void cmd_noend(void)
{
	DEFINE_OTEL_KSPAN(s);

	/* Not current, so nothing else sees it; never ended. */
	otel_kspan_begin_child(&s, NULL, "t.noend", T_KIND);
	otel_kspan_set_int(&s, "t.lost", 1);
}

/* --- misuse --- */

#define M_DEPTH		8	/* frames between a command and its leaked span */
#define M_PAD		256	/* bytes of stack each of those frames takes */

/* N / 2 roots "t.m.root", each with an implicit child "t.m.child". */
static noinline void ordinary(unsigned int n)
{
	DEFINE_OTEL_KSPAN(root);
	DEFINE_OTEL_KSPAN(child);
	unsigned int i;

	for (i = 0; i < n / 2; i++) {
		otel_kspan_begin(&root, "t.m.root", T_KIND);
		otel_kspan_set_int(&root, "t.seq", i);
		otel_kspan_begin(&child, "t.m.child", T_KIND);
		otel_kspan_set_int(&child, "t.seq", i);
		otel_kspan_end(&child);
		otel_kspan_end(&root);
		if (!(i % 256))
			cond_resched();
	}
}

/* Address and cookie of the handle leak_span() left current. */
static unsigned long leaked_addr, leaked_cookie;

/* Begin a current span and return without ending it: the bug under test. */
static noinline void leak_span(const char *name)
{
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(witness);

	otel_kspan_begin(&s, name, T_KIND);
	/* The leaked span never writes: this child names its ids. */
	otel_kspan_begin_child(&witness, &s, "t.m.witness", T_KIND);
	otel_kspan_end(&witness);
	leaked_addr = (unsigned long)&s;
	leaked_cookie = s.cookie;
}

/* leak_span() @depth frames of M_PAD bytes below the caller. */
static noinline void deep_leak(unsigned int depth, const char *name)
{
	u8 pad[M_PAD];

	barrier_data(pad);
	if (depth)
		deep_leak(depth - 1, name);
	else
		leak_span(name);
	barrier_data(pad);
}

/* Fill @depth frames of stack below the caller with 0xff. */
static noinline void scribble(unsigned int depth)
{
	u8 pad[M_PAD];

	memset(pad, 0xff, sizeof(pad));
	barrier_data(pad);
	if (depth)
		scribble(depth - 1);
	barrier_data(pad);
}

static int cmd_mstale(unsigned int n)
{
	deep_leak(M_DEPTH, "t.m.leak");
	/* A deeper call chain reuses the dead frame. */
	scribble(M_DEPTH + 4);
	if (READ_ONCE(*(unsigned long *)leaked_addr) == leaked_cookie)
		return -EPROTO;	/* the scribble missed the handle */
	ordinary(n);
	return 0;
}

static unsigned long same_addr[2];

/* Call 0 leaves "t.m.same" current; call 1 begins one at the same place. */
static noinline void same_addr_span(unsigned int call)
{
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(witness);

	otel_kspan_begin(&s, "t.m.same", T_KIND);
	same_addr[call] = (unsigned long)&s;
	if (!call) {
		otel_kspan_begin_child(&witness, &s, "t.m.witness", T_KIND);
		otel_kspan_end(&witness);
		return;
	}
	otel_kspan_end(&s);
}

static int cmd_msame(unsigned int n)
{
	unsigned int call;

	for (call = 0; call < 2; call++)
		same_addr_span(call);
	if (same_addr[0] != same_addr[1])
		return -EPROTO;	/* not the same frame: the test proves nothing */
	ordinary(n);
	return 0;
}

static void cmd_mtwice(unsigned int n)
{
	DEFINE_OTEL_KSPAN(parent);
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(x);

	otel_kspan_begin(&parent, "t.m.twice.parent", T_KIND);
	otel_kspan_begin(&s, "t.m.twice.lost", T_KIND);
	otel_kspan_set_int(&s, "t.lost", 1);
	otel_kspan_begin(&s, "t.m.twice", T_KIND);
	otel_kspan_end(&s);
	otel_kspan_end(&parent);

	otel_kspan_begin_child(&x, NULL, "t.m.twice.lost", T_KIND);
	otel_kspan_begin_child(&x, NULL, "t.m.twice.child", T_KIND);
	otel_kspan_end(&x);
	ordinary(n);
}

static int cmd_mend(unsigned int n)
{
	DEFINE_OTEL_KSPAN(never);
	DEFINE_OTEL_KSPAN(s);
	struct otel_kspan *g;

	g = kmalloc_array(2, sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;

	otel_kspan_end(&never);

	otel_kspan_begin(&s, "t.m.end.twice", T_KIND);
	otel_kspan_end(&s);
	otel_kspan_end(&s);

	/* Random bytes posing as an active, recording, current span. */
	get_random_bytes(g, sizeof(*g));
	g->cookie |= OTEL_KSPAN_ACTIVE | OTEL_KSPAN_RECORDING |
		     OTEL_KSPAN_CURRENT;
	otel_kspan_set_int(g, "t.garbage", 1);
	otel_kspan_add_event(g, "t.garbage");
	otel_kspan_end(g);

	/* A copy of a live handle is not a handle. */
	otel_kspan_begin(&s, "t.m.end.orig", T_KIND);
	memcpy(&g[1], &s, sizeof(s));
	otel_kspan_end(&g[1]);
	otel_kspan_end(&s);

	/* Random bytes are fine to begin: they are overwritten. */
	get_random_bytes(g, sizeof(*g));
	otel_kspan_begin(g, "t.m.end.garbage", T_KIND);
	otel_kspan_end(g);
	kfree(g);
	ordinary(n);
	return 0;
}

struct foreign_end {
	struct work_struct	work;
	struct otel_kspan	*span;
	struct completion	done;
};

static void foreign_end_work(struct work_struct *work)
{
	struct foreign_end *f = container_of(work, struct foreign_end, work);

	otel_kspan_end(f->span);
	complete(&f->done);
}

static void foreign_end_ipi(void *span)
{
	otel_kspan_end(span);
}

static int cmd_mforeign(unsigned int n)
{
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(parent);
	DEFINE_OTEL_KSPAN(next);
	struct foreign_end f = { .span = &s };
	int cpu, me;

	otel_kspan_begin(&s, "t.m.foreign.work", T_KIND);
	init_completion(&f.done);
	INIT_WORK_ONSTACK(&f.work, foreign_end_work);
	queue_work(system_wq, &f.work);
	wait_for_completion(&f.done);
	flush_work(&f.work);
	destroy_work_on_stack(&f.work);
	otel_kspan_begin(&next, "t.m.foreign.after", T_KIND);
	otel_kspan_end(&next);

	otel_kspan_begin(&parent, "t.m.foreign.parent", T_KIND);
	otel_kspan_begin(&s, "t.m.foreign.ipi", T_KIND);
	me = get_cpu();
	cpu = cpumask_any_but(cpu_online_mask, me);
	if (cpu < nr_cpu_ids)
		smp_call_function_single(cpu, foreign_end_ipi, &s, 1);
	put_cpu();
	if (cpu >= nr_cpu_ids) {
		otel_kspan_end(&s);
		otel_kspan_end(&parent);
		return -ENXIO;	/* one CPU online */
	}
	otel_kspan_begin(&next, "t.m.foreign.child", T_KIND);
	otel_kspan_end(&next);
	otel_kspan_end(&parent);
	ordinary(n);
	return 0;
}

/*
 * A task exits with its span still current (the handle on the heap), and a
 * new task takes its context slot: ending the old span then must not touch
 * the new task's chain.  Kthread A begins "t.m.orphan" and exits; once A
 * is freed, kthread B (likely in A's task_struct, so A's slot) begins
 * "t.m.bystander"; this task ends the orphan; B then begins its implicit
 * child "t.m.bystander.child".  spantest_result: times B reused A's
 * task_struct (the case that matters).
 */
struct orphan {
	struct otel_kspan	*span;
	struct completion	ready;
	struct completion	go;
};

static int orphan_owner(void *arg)
{
	struct orphan *o = arg;

	otel_kspan_begin(o->span, "t.m.orphan", T_KIND);
	complete(&o->ready);
	return 0;	/* exits with the span current */
}

static int orphan_bystander(void *arg)
{
	struct orphan *o = arg;
	DEFINE_OTEL_KSPAN(t);
	DEFINE_OTEL_KSPAN(c);

	otel_kspan_begin(&t, "t.m.bystander", T_KIND);
	complete(&o->ready);
	wait_for_completion(&o->go);
	otel_kspan_begin(&c, "t.m.bystander.child", T_KIND);
	otel_kspan_end(&c);
	otel_kspan_end(&t);
	return 0;
}

/* Start @fn in a kthread, referenced; return once it completed o->ready. */
static struct task_struct *orphan_thread(int (*fn)(void *), struct orphan *o)
{
	struct task_struct *t = kthread_create(fn, o, "otel_orphan");

	if (IS_ERR(t))
		return t;
	get_task_struct(t);
	init_completion(&o->ready);
	wake_up_process(t);
	wait_for_completion(&o->ready);
	return t;
}

static int cmd_morphan(unsigned int n)
{
	struct task_struct *a, *b;
	struct orphan o;
	unsigned int i;

	spantest_result = 0;
	o.span = kzalloc(sizeof(*o.span), GFP_KERNEL);
	if (!o.span)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		a = orphan_thread(orphan_owner, &o);
		if (IS_ERR(a))
			break;
		kthread_stop(a);
		put_task_struct(a);
		/* Let A be reaped and freed (an RCU callback). */
		msleep(20);
		rcu_barrier();

		init_completion(&o.go);
		b = orphan_thread(orphan_bystander, &o);
		if (IS_ERR(b))
			break;
		spantest_result += a == b;
		otel_kspan_end(o.span);
		complete(&o.go);
		kthread_stop(b);
		put_task_struct(b);
	}
	kfree(o.span);
	return i < n ? -ENOMEM : 0;
}

/* --- the scope guard: OTEL_KSPAN_SCOPED() --- */

/* A helper with its own scoped span: a child of the caller's. */
static noinline void scoped_step(void)
{
	OTEL_KSPAN_SCOPED(s, "t.s.step", T_KIND);

	otel_kspan_set_int(&s, "t.step", 1);
}

/*
 * One request, left by path @path:
 *   0	return at once ("t.s.request" alone)
 *   1	goto out after the step: out records -EIO on the request
 *	(children: t.s.step)
 *   2	return from inside a nested scope with a scoped span of its own
 *	(children: t.s.step, t.s.inner)
 *   3	the whole way: the nested scope closes, a loop leaves its scoped
 *	span by continue, then by break, the request is ended explicitly and
 *	the scope's end does nothing (children: t.s.step, t.s.inner, two
 *	t.s.iter)
 * The seq attribute tells rounds apart.
 */
static noinline int scoped_request(unsigned int path, unsigned int seq)
{
	OTEL_KSPAN_SCOPED(req, "t.s.request", T_KIND);
	unsigned int i;
	int ret = 0;

	otel_kspan_set_int(&req, "t.path", path);
	otel_kspan_set_int(&req, "t.seq", seq);
	if (path == 0)
		return -EAGAIN;
	scoped_step();
	if (path == 1) {
		ret = -EIO;
		goto out;
	}
	{
		OTEL_KSPAN_SCOPED(inner, "t.s.inner", T_KIND);

		if (path == 2)
			return 2;
		otel_kspan_set_int(&inner, "t.path", path);
	}
	for (i = 0; i < 3; i++) {
		OTEL_KSPAN_SCOPED(it, "t.s.iter", T_KIND);

		otel_kspan_set_int(&it, "t.i", i);
		if (!i)
			continue;
		break;
	}
	otel_kspan_end(&req);
out:
	otel_kspan_record_errno(&req, ret);
	return ret;
}

static int cmd_scoped(unsigned int n)
{
	DEFINE_OTEL_KSPAN(after);
	unsigned int seq, path;

	for (seq = 0; seq < n; seq++) {
		for (path = 0; path < 4; path++) {
			scoped_request(path, seq);
			if (otel_kspan_current())
				return -EPROTO;	/* a scoped span stayed */
			otel_kspan_begin(&after, "t.s.after", T_KIND);
			otel_kspan_set_int(&after, "t.path", path);
			otel_kspan_set_int(&after, "t.seq", seq);
			otel_kspan_end(&after);
		}
		cond_resched();
	}
	return 0;
}

/* --- debug_open_spans --- */

static int dexit_thread(void *arg)
{
	DEFINE_OTEL_KSPAN(s);

	otel_kspan_begin(&s, "t.d.exit", T_KIND);
	complete(arg);
	return 0;	/* exits with the span current: the bug reported */
}

static int cmd_dexit(void)
{
	DECLARE_COMPLETION_ONSTACK(begun);
	struct task_struct *t;
	unsigned int i;

	t = kthread_create(dexit_thread, &begun, "otel_dexit");
	if (IS_ERR(t))
		return PTR_ERR(t);
	get_task_struct(t);
	wake_up_process(t);
	wait_for_completion(&begun);
	/* Until do_exit() has passed the task exit hook. */
	for (i = 0; !READ_ONCE(t->exit_state) && i < 250; i++)
		msleep(20);
	put_task_struct(t);
	return i < 250 ? 0 : -ETIMEDOUT;
}

/* --- regressions of the span layer's fixes (tests/vm/span_race_test.c) --- */

#define R_WAIT		(10 * HZ)	/* a partner that never came: give up */
#define R_VLEN_SHORT	8		/* attr_value_length_limit flips... */
#define R_VLEN_LONG	840		/* ...between these in rlimit */
#define R_LONG_LEN	1000		/* r_long: longer than either */
#define R_PRE		256		/* 0xa5 bytes before a scribbled handle */
#define R_POST		512		/* 0x5a bytes after it */
#define R_NAME_BUF	1024

static char r_long[R_LONG_LEN + 1];			/* 'v' */
static char r_msg_q[OTEL_KSPAN_INLINE_BYTES + 1];	/* 'q' */
static char r_msg_m[OTEL_KSPAN_INLINE_BYTES + 1];	/* 'm' */
static char r_name[R_NAME_BUF];		/* "t.r.name", NUL, then 'n' */
static bool r_quit;		/* a side of a race gave up: both stop */

static void race_init(void)
{
	memset(r_long, 'v', R_LONG_LEN);
	memset(r_msg_q, 'q', OTEL_KSPAN_INLINE_BYTES);
	memset(r_msg_m, 'm', OTEL_KSPAN_INLINE_BYTES);
	memset(r_name, 'n', sizeof(r_name) - 1);
	strscpy(r_name, "t.r.name", sizeof(r_name));
}

/* One side of a two-CPU race: a kthread bound to a CPU. */
struct r_thread {
	struct task_struct	*task;
	struct completion	done;
};

static int r_start(struct r_thread *t, int (*fn)(void *), int cpu)
{
	init_completion(&t->done);
	t->task = kthread_create(fn, t, "otel_race/%d", cpu);
	if (IS_ERR(t->task))
		return PTR_ERR(t->task);
	kthread_bind(t->task, cpu);
	get_task_struct(t->task);
	wake_up_process(t->task);
	return 0;
}

/* Wait until @t's function is done (it completes t->done), reap it. */
static void r_reap(struct r_thread *t)
{
	wait_for_completion(&t->done);
	kthread_stop(t->task);
	put_task_struct(t->task);
}

/*
 * Spin until @v reaches @want (its values only grow): the two sides of a
 * race must be on their CPUs at once.  False if the partner never came;
 * then both sides stop.
 */
static bool r_wait(atomic_t *v, int want)
{
	unsigned long deadline = jiffies + R_WAIT;
	unsigned int spin = 0;

	while (atomic_read_acquire(v) < want) {
		if (READ_ONCE(r_quit))
			return false;
		if (!(++spin & 1023)) {
			if (time_after(jiffies, deadline)) {
				WRITE_ONCE(r_quit, true);
				return false;
			}
			cond_resched();
		}
		cpu_relax();
	}
	return true;
}

/* Run @fn0 and @fn1 in kthreads on two CPUs until both are done. */
static int r_race(struct r_thread t[2], int (*fn0)(void *),
		  int (*fn1)(void *))
{
	int cpu0, cpu1, ret;

	cpu0 = cpumask_first(cpu_online_mask);
	cpu1 = cpumask_next(cpu0, cpu_online_mask);
	if (cpu1 >= nr_cpu_ids)
		return -ENXIO;
	WRITE_ONCE(r_quit, false);
	ret = r_start(&t[0], fn0, cpu0);
	if (ret)
		return ret;
	ret = r_start(&t[1], fn1, cpu1);
	if (ret) {
		WRITE_ONCE(r_quit, true);
		r_reap(&t[0]);
		return ret;
	}
	r_reap(&t[1]);
	r_reap(&t[0]);
	return READ_ONCE(r_quit) ? -ETIMEDOUT : 0;
}

/*
 * rlimit: attr_value_length_limit changes between measuring an EVENT,
 * LINK or ATTR record and writing it.  A kprobe on otel_ring_reserve()
 * (through which every such record is reserved) flips the limit between
 * R_VLEN_SHORT and R_VLEN_LONG each time this command reserves one.
 */
static struct {
	unsigned int		*limit;
	struct task_struct	*task;
	atomic_t		flips;
} rlim;

/*
 * oteltrace's unsigned int module parameter @name, the variable sysfs
 * writes, or NULL: user space cannot change it at an exact point.
 */
static unsigned int *oteltrace_uint_param(const char *name)
{
#ifdef CONFIG_MODULE_UNLOAD
	const struct module_use *use;
	const struct module *m;
	unsigned int i;

	/* The modules this one uses: oteltrace stays while we are loaded. */
	list_for_each_entry(use, &THIS_MODULE->target_list, target_list) {
		m = use->target;
		if (strcmp(m->name, "oteltrace"))
			continue;
		for (i = 0; i < m->num_kp; i++) {
			if (!strcmp(m->kp[i].name, name) &&
			    m->kp[i].ops == &param_ops_uint)
				return m->kp[i].arg;
		}
	}
#endif
	return NULL;
}

/*
 * The kprobes' post handler: having one keeps a probe a plain breakpoint,
 * never optimized into a jump, which would leave deferred code patching
 * (and RCU tasks waits) running behind the next commands.
 */
static void r_kprobe_post(struct kprobe *p, struct pt_regs *regs,
			  unsigned long flags)
{
}

static int rlimit_flip(struct kprobe *p, struct pt_regs *regs)
{
	unsigned int v;

	if (current != rlim.task)
		return 0;
	v = READ_ONCE(*rlim.limit) == R_VLEN_SHORT ? R_VLEN_LONG : R_VLEN_SHORT;
	WRITE_ONCE(*rlim.limit, v);
	atomic_inc(&rlim.flips);
	return 0;
}

static void rlimit_span(void)
{
	struct otel_kattr a[] = {
		OTEL_KATTR_STR("t.r.s0", r_long),
		OTEL_KATTR_STR("t.r.s1", r_long),
		OTEL_KATTR_STR("t.r.s2", r_long),
	};
	struct otel_kattr more[] = {
		OTEL_KATTR_STR("t.r.m0", r_long),
		OTEL_KATTR_STR("t.r.m1", r_long),
	};
	struct otel_span_context ctx;
	DEFINE_OTEL_KSPAN(s);
	u16 ev;

	otel_kspan_begin_child(&s, NULL, "t.r.limit", T_KIND);
	otel_kspan_get_context(&s, &ctx);
	ev = otel_kspan_add_event_attrs(&s, "t.r.ev", 0, a, ARRAY_SIZE(a));
	otel_kspan_event_attrs(&s, ev, more, ARRAY_SIZE(more));
	otel_kspan_add_link(&s, &ctx, a, ARRAY_SIZE(a));
	otel_kspan_set_attrs(&s, a, ARRAY_SIZE(a));
	otel_kspan_end(&s);
}

static int cmd_rlimit(unsigned int n)
{
	struct kprobe kp = {
		.symbol_name	= "otel_ring_reserve",
		.pre_handler	= rlimit_flip,
		.post_handler	= r_kprobe_post,
	};
	unsigned int saved, i;
	int ret;

	rlim.limit = oteltrace_uint_param("attr_value_length_limit");
	if (!rlim.limit)
		return -ENOENT;
	saved = READ_ONCE(*rlim.limit);
	WRITE_ONCE(*rlim.limit, R_VLEN_SHORT);
	rlim.task = current;
	atomic_set(&rlim.flips, 0);
	ret = register_kprobe(&kp);
	if (!ret) {
		for (i = 0; i < n; i++)
			rlimit_span();
		unregister_kprobe(&kp);
	}
	WRITE_ONCE(*rlim.limit, saved);
	spantest_result = atomic_read(&rlim.flips);
	return ret;
}

/*
 * rstatus: thread 0 begins "t.r.status" and, once thread 1 has set it
 * ERROR with r_msg_q, ends it while thread 1 goes on setting ERROR with
 * "e" and with r_msg_q, until the end has returned.
 */
static struct {
	struct otel_kspan	span;
	struct r_thread		t[2];
	unsigned int		n;
	atomic_t		go;		/* round thread 1 sets status in */
	atomic_t		started;	/* ... and has set it once */
	atomic_t		ended;		/* round thread 0 has ended */
	atomic_t		stopped;	/* round thread 1 stopped setting */
} rst;

static int rstatus_end(void *arg)
{
	struct r_thread *t = arg;
	unsigned int i;

	for (i = 1; i <= rst.n; i++) {
		otel_kspan_begin_child(&rst.span, NULL, "t.r.status", T_KIND);
		atomic_set_release(&rst.go, i);
		if (!r_wait(&rst.started, i)) {
			otel_kspan_end(&rst.span);
			break;
		}
		otel_kspan_end(&rst.span);
		atomic_set_release(&rst.ended, i);
		if (!r_wait(&rst.stopped, i))
			break;
	}
	complete(&t->done);
	return 0;
}

static int rstatus_set(void *arg)
{
	struct r_thread *t = arg;
	unsigned int i;

	for (i = 1; i <= rst.n; i++) {
		if (!r_wait(&rst.go, i))
			break;
		otel_kspan_set_status(&rst.span, OTEL_STATUS_ERROR, r_msg_q);
		atomic_set_release(&rst.started, i);
		while (atomic_read_acquire(&rst.ended) < i &&
		       !READ_ONCE(r_quit)) {
			otel_kspan_set_status(&rst.span, OTEL_STATUS_ERROR, "e");
			otel_kspan_set_status(&rst.span, OTEL_STATUS_ERROR,
					      r_msg_q);
		}
		atomic_set_release(&rst.stopped, i);
	}
	complete(&t->done);
	return 0;
}

static int cmd_rstatus(unsigned int n)
{
	rst.n = n;
	atomic_set(&rst.go, 0);
	atomic_set(&rst.started, 0);
	atomic_set(&rst.ended, 0);
	atomic_set(&rst.stopped, 0);
	return r_race(rst.t, rstatus_end, rstatus_set);
}

/*
 * rstatusk: the same interleaving, made certain (overwrite mode): a kprobe
 * on otel_ring_overwrite(), which reserving the SPAN record calls after
 * the end has measured it, does the stores of a set_status() already past
 * its checks: 128 bytes of 'q' at the end of the inline buffer, msg_len
 * 128.  The span had status ERROR with "e" until then.
 */
static struct {
	struct task_struct	*task;
	struct otel_kspan	*span;		/* armed: the next reserve's */
	atomic_t		forced;
} rstk;

static int rstatusk_store(struct kprobe *p, struct pt_regs *regs)
{
	struct otel_kspan *s = READ_ONCE(rstk.span);

	if (current != rstk.task || !s)
		return 0;
	WRITE_ONCE(rstk.span, NULL);
	memcpy(s->ibuf, r_msg_q, OTEL_KSPAN_INLINE_BYTES);
	WRITE_ONCE(s->msg_len, OTEL_KSPAN_INLINE_BYTES);
	atomic_inc(&rstk.forced);
	return 0;
}

static int cmd_rstatusk(unsigned int n)
{
	struct kprobe kp = {
		.symbol_name	= "otel_ring_overwrite",
		.pre_handler	= rstatusk_store,
		.post_handler	= r_kprobe_post,
	};
	DEFINE_OTEL_KSPAN(s);
	unsigned int i;
	int ret;

	rstk.task = current;
	atomic_set(&rstk.forced, 0);
	ret = register_kprobe(&kp);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		otel_kspan_begin_child(&s, NULL, "t.r.status", T_KIND);
		otel_kspan_set_status(&s, OTEL_STATUS_ERROR, "e");
		WRITE_ONCE(rstk.span, &s);
		otel_kspan_end(&s);
		WRITE_ONCE(rstk.span, NULL);
	}
	unregister_kprobe(&kp);
	spantest_result = atomic_read(&rstk.forced);
	return 0;
}

/*
 * rend2: thread 0 begins "t.r.end2" (t.seq = the round) and ends it while
 * thread 1 ends it too.  In the first half of the rounds a probe on
 * oteltrace:kspan_end, which an end fires once it has taken the span to
 * write, holds each end there until the other end arrives too or has
 * returned: two ends that would both write are then certain to.
 */
static struct {
	struct otel_kspan	span;
	struct r_thread		t[2];
	unsigned int		n;
	bool			meet;		/* hold ends in the probe */
	atomic_t		go;		/* round both may end */
	atomic_t		done[2];	/* round each side has ended */
	atomic_t		arrived;	/* ends of this round in the probe */
} rend;

static void rend_probe(void *data, const struct otel_kspan *span)
{
	int other = current == rend.t[0].task;
	u64 until = ktime_get_mono_fast_ns() + NSEC_PER_SEC;

	if (span != &rend.span || !READ_ONCE(rend.meet))
		return;
	atomic_inc(&rend.arrived);
	while (atomic_read(&rend.arrived) < 2 &&
	       atomic_read(&rend.done[other]) < atomic_read(&rend.go) &&
	       ktime_get_mono_fast_ns() < until)
		cpu_relax();
}

static int rend_first(void *arg)
{
	struct r_thread *t = arg;
	unsigned int i;

	for (i = 1; i <= rend.n && !READ_ONCE(r_quit); i++) {
		otel_kspan_begin_child(&rend.span, NULL, "t.r.end2", T_KIND);
		otel_kspan_set_int(&rend.span, "t.seq", i);
		WRITE_ONCE(rend.meet, i <= rend.n / 2);
		atomic_set(&rend.arrived, 0);
		atomic_set_release(&rend.go, i);
		otel_kspan_end(&rend.span);
		atomic_set_release(&rend.done[0], i);
		if (!r_wait(&rend.done[1], i))
			break;
	}
	complete(&t->done);
	return 0;
}

static int rend_second(void *arg)
{
	struct r_thread *t = arg;
	unsigned int i;

	for (i = 1; i <= rend.n; i++) {
		if (!r_wait(&rend.go, i))
			break;
		otel_kspan_end(&rend.span);
		atomic_set_release(&rend.done[1], i);
	}
	complete(&t->done);
	return 0;
}

static int cmd_rend2(unsigned int n)
{
	int ret;

	rend.n = n;
	atomic_set(&rend.go, 0);
	atomic_set(&rend.done[0], 0);
	atomic_set(&rend.done[1], 0);
	ret = register_trace_kspan_end(rend_probe, NULL);
	if (ret)
		return ret;
	ret = r_race(rend.t, rend_first, rend_second);
	unregister_trace_kspan_end(rend_probe, NULL);
	tracepoint_synchronize_unregister();
	return ret;
}

/* Four 32-byte entries (keys of 9 bytes) fill the inline buffer exactly. */
static void rscribble_fill(struct otel_kspan *s)
{
	otel_kspan_set_int(s, "t.r.key.0", 0);
	otel_kspan_set_int(s, "t.r.key.1", 1);
	otel_kspan_set_int(s, "t.r.key.2", 2);
	otel_kspan_set_int(s, "t.r.key.3", 3);
}

/*
 * rscribble K: a handle with a valid cookie whose lengths a driver
 * overwrote, R_PRE bytes of 0xa5 before it and R_POST of 0x5a after it:
 *   0	"t.r.used5": ibuf_used 5 (not whole words)
 *   1	"t.r.used512": the inline buffer full (4 entries), ibuf_used 512
 *   2	"t.r.flush": the same, then an attribute (the buffer is flushed)
 *   3	"t.r.msg": status ERROR with 128 bytes of 'm', msg_len 400
 *   4	r_name ("t.r.name" then 'n' bytes): name_len 900
 *   5	"t.r.reserved": the handle's copies of the record's reserved
 *	fields (zero0, zero1) set to 0xa5
 */
static int cmd_rscribble(unsigned int k)
{
	u8 *buf = kmalloc(R_PRE + sizeof(struct otel_kspan) + R_POST,
			  GFP_KERNEL);
	struct otel_kspan *s;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	s = (struct otel_kspan *)(buf + R_PRE);
	memset(buf, 0xa5, R_PRE);
	memset(s, 0, sizeof(*s));
	memset(s + 1, 0x5a, R_POST);
	switch (k) {
	case 0:
		otel_kspan_begin_child(s, NULL, "t.r.used5", T_KIND);
		s->ibuf_used = 5;
		break;
	case 1:
	case 2:
		otel_kspan_begin_child(s, NULL, k == 1 ? "t.r.used512" :
				       "t.r.flush", T_KIND);
		rscribble_fill(s);
		s->ibuf_used = 512;
		if (k == 2)
			otel_kspan_set_int(s, "t.r.after", 4);
		break;
	case 3:
		otel_kspan_begin_child(s, NULL, "t.r.msg", T_KIND);
		otel_kspan_set_status(s, OTEL_STATUS_ERROR, r_msg_m);
		s->msg_len = 400;
		break;
	case 4:
		otel_kspan_begin_child(s, NULL, r_name, T_KIND);
		s->name_len = 900;
		break;
	case 5:
		otel_kspan_begin_child(s, NULL, "t.r.reserved", T_KIND);
		s->zero0 = 0xa5;
		s->zero1 = 0xa5a5a5a5;
		break;
	default:
		ret = -EINVAL;
		break;
	}
	otel_kspan_end(s);
	kfree(buf);
	return ret;
}

/*
 * ractive: "t.r.active.first" begun, then its name and scope pointers
 * overwritten with poison (as a reused stack frame would leave them), then
 * the handle begun again as "t.r.active.again" (and ended): the report of
 * the abandoned span must not read it.
 */
static int cmd_ractive(void)
{
	struct otel_kspan *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return -ENOMEM;
	otel_kspan_begin_child(s, NULL, "t.r.active.first", T_KIND);
	s->name = LIST_POISON1;
	s->scope = LIST_POISON2;
	otel_kspan_begin_child(s, NULL, "t.r.active.again", T_KIND);
	otel_kspan_end(s);
	kfree(s);
	return 0;
}

/* release() of <debugfs>/otel_spantest/exit_span: see the top comment. */
static int exit_span_release(struct inode *inode, struct file *file)
{
	DEFINE_OTEL_KSPAN(hold);
	DEFINE_OTEL_KSPAN(parent);
	DEFINE_OTEL_KSPAN(child);

	otel_kspan_begin(&hold, "t.exit.hold", T_KIND);
	otel_kspan_begin(&parent, "t.exit.parent", T_KIND);
	otel_kspan_set_int(&parent, "t.exiting",
			   !!(current->flags & PF_EXITING));
	otel_kspan_begin(&child, "t.exit.child", T_KIND);
	otel_kspan_end(&child);
	otel_kspan_end(&parent);
	return 0;
}

static const struct file_operations exit_span_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.release	= exit_span_release,
};

/* otel_kspan_get_context() of a span, from a work item (another task). */
struct noop_peek {
	struct work_struct		work;
	struct otel_kspan		*span;
	struct otel_span_context	ctx;
	bool				got;
};

static void noop_peek_work(struct work_struct *work)
{
	struct noop_peek *p = container_of(work, struct noop_peek, work);
	struct otel_span_context oc = { .trace_flags = 0 };
	DEFINE_OTEL_KSPAN(other);

	/* a context of the kworker's own, from another trace */
	memset(oc.trace_id, 0x77, sizeof(oc.trace_id));
	memset(oc.span_id, 0x66, sizeof(oc.span_id));
	otel_kspan_begin_remote(&other, &oc, "t.noop.other", T_KIND);
	otel_kspan_enter(&other);
	p->got = otel_kspan_get_context(p->span, &p->ctx);
	otel_kspan_leave(&other);
	otel_kspan_end(&other);
}

static bool noop_peek(struct otel_kspan *span, struct otel_span_context *ctx)
{
	struct noop_peek p = { .span = span };

	INIT_WORK_ONSTACK(&p.work, noop_peek_work);
	queue_work(system_wq, &p.work);
	flush_work(&p.work);
	destroy_work_on_stack(&p.work);
	*ctx = p.ctx;
	return p.got;
}

/* A no-op span (or, with !@noop, an unsampled one): see "noop" above. */
static int cmd_noop(bool noop)
{
	DEFINE_OTEL_KSPAN(s);
	DEFINE_OTEL_KSPAN(child);
	DEFINE_OTEL_KSPAN(explicit);
	DEFINE_OTEL_KSPAN(async);
	DEFINE_OTEL_KSPAN(twice);
	struct otel_span_context ctx, own, outer, ex, as, peek, remote;
	bool ok, peeked;

	/* the task's remote context, as user space set it */
	if (!otel_current_context(&remote))
		return -ENOENT;
	otel_kspan_begin(&s, "t.noop", T_KIND);
	otel_kspan_set_int(&s, "t.a", 1);
	otel_kspan_begin(&child, "t.noop.child", T_KIND);
	otel_kspan_begin_child(&explicit, &s, "t.noop.explicit", T_KIND);
	otel_kspan_begin_async(&async, "t.noop.async", T_KIND);
	ok = !otel_kspan_is_recording(&s) && !otel_kspan_is_recording(&child) &&
	     !otel_kspan_is_recording(&explicit) &&
	     otel_current_context(&ctx) && otel_kspan_get_context(&child, &own) &&
	     otel_kspan_get_context(&s, &outer) &&
	     otel_kspan_get_context(&explicit, &ex) &&
	     !memcmp(ex.trace_id, remote.trace_id, OTEL_TRACE_ID_SIZE) &&
	     !ex.trace_flags &&
	     /* an async span is never a no-op span: ids, flags 00 */
	     otel_kspan_get_context(&async, &as) &&
	     !memcmp(as.trace_id, remote.trace_id, OTEL_TRACE_ID_SIZE) &&
	     memcmp(as.span_id, remote.span_id, OTEL_SPAN_ID_SIZE) &&
	     !as.trace_flags;
	peeked = noop_peek(&s, &peek);
	if (noop)
		/*
		 * the remote context passes through, read in this task only;
		 * the explicit child's parent is the no-op span's: the
		 * remote one
		 */
		ok = ok && !otel_kspan_current() &&
		     !memcmp(&ctx, &remote, sizeof(ctx)) &&
		     !memcmp(&own, &remote, sizeof(own)) &&
		     !memcmp(&outer, &remote, sizeof(outer)) &&
		     !memcmp(explicit.parent_id, remote.span_id,
			     OTEL_SPAN_ID_SIZE) &&
		     !peeked && !memchr_inv(&peek, 0, sizeof(peek));
	else
		ok = ok && otel_kspan_current() == &child &&
		     !memcmp(ctx.span_id, own.span_id, OTEL_SPAN_ID_SIZE) &&
		     !memcmp(ctx.trace_id, remote.trace_id,
			     OTEL_TRACE_ID_SIZE) && !ctx.trace_flags &&
		     !memcmp(explicit.parent_id, s.span_id,
			     OTEL_SPAN_ID_SIZE) &&
		     peeked && !memcmp(&peek, &outer, sizeof(peek));
	otel_kspan_end(&async);
	otel_kspan_end(&explicit);
	otel_kspan_end(&child);
	otel_kspan_end(&s);
	otel_kspan_end(&s);	/* counted as end_twice */
	/* begun twice: counted as begin_active */
	otel_kspan_begin(&twice, "t.noop.twice", T_KIND);
	otel_kspan_begin(&twice, "t.noop.twice", T_KIND);
	otel_kspan_end(&twice);
	return ok ? 0 : -EPROTO;
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
	else if (!strcmp(cmd, "bench"))
		cmd_bench(n);
	else if (!strcmp(cmd, "budget"))
		cmd_budget();
	else if (!strcmp(cmd, "evbig"))
		cmd_evbig();
	else if (!strcmp(cmd, "noop"))
		ret = cmd_noop(n);
	else if (!strcmp(cmd, "noend"))
		cmd_noend();
	else if (!strcmp(cmd, "mstale"))
		ret = cmd_mstale(n);
	else if (!strcmp(cmd, "mleak"))
		deep_leak(M_DEPTH, "t.m.leak");
	else if (!strcmp(cmd, "mordinary"))
		ordinary(n);
	else if (!strcmp(cmd, "msame"))
		ret = cmd_msame(n);
	else if (!strcmp(cmd, "mtwice"))
		cmd_mtwice(n);
	else if (!strcmp(cmd, "mend"))
		ret = cmd_mend(n);
	else if (!strcmp(cmd, "mforeign"))
		ret = cmd_mforeign(n);
	else if (!strcmp(cmd, "morphan"))
		ret = cmd_morphan(n);
	else if (!strcmp(cmd, "rcu_barrier"))
		rcu_barrier();
	else if (!strcmp(cmd, "scoped"))
		ret = cmd_scoped(n);
	else if (!strcmp(cmd, "dexit"))
		ret = cmd_dexit();
	else if (!strcmp(cmd, "rlimit"))
		ret = cmd_rlimit(n);
	else if (!strcmp(cmd, "rstatus"))
		ret = cmd_rstatus(n);
	else if (!strcmp(cmd, "rstatusk"))
		ret = cmd_rstatusk(n);
	else if (!strcmp(cmd, "rend2"))
		ret = cmd_rend2(n);
	else if (!strcmp(cmd, "rscribble"))
		ret = cmd_rscribble(n);
	else if (!strcmp(cmd, "ractive"))
		ret = cmd_ractive();
	else
		ret = -EINVAL;
	mutex_unlock(&spantest_lock);
	return ret ? ret : count;
}

/* read(): the last command's result, as a decimal number and newline. */
static ssize_t spantest_read(struct file *file, char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[24];
	int len;

	mutex_lock(&spantest_lock);
	len = scnprintf(buf, sizeof(buf), "%ld\n", spantest_result);
	mutex_unlock(&spantest_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations spantest_fops = {
	.owner	= THIS_MODULE,
	.read	= spantest_read,
	.write	= spantest_write,
	.llseek	= noop_llseek,
};

static struct miscdevice spantest_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "otel_spantest",
	.fops	= &spantest_fops,
	.mode	= 0600,
};

static struct dentry *spantest_dir;

static int __init spantest_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < T_TEXT_LEN; i++)
		t_text[i] = 'a' + i % 26;
	race_init();
	ret = misc_register(&spantest_miscdev);
	if (ret)
		return ret;
	spantest_dir = debugfs_create_dir("otel_spantest", NULL);
	debugfs_create_file("exit_span", 0400, spantest_dir, NULL,
			    &exit_span_fops);
	return 0;
}

static void __exit spantest_exit(void)
{
	debugfs_remove_recursive(spantest_dir);
	misc_deregister(&spantest_miscdev);
}

module_init(spantest_init);
module_exit(spantest_exit);

MODULE_DESCRIPTION("oteltrace span API test driver");
MODULE_LICENSE("GPL");
