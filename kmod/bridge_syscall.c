// SPDX-License-Identifier: GPL-2.0
/*
 * The syscall bridge: one span per system call, from raw_syscalls:sys_enter
 * to raw_syscalls:sys_exit, named after the call ("write"), with
 * linux.syscall.nr and linux.syscall.ret, status ERROR and the errno's name
 * when it returns a negative errno.  The span is the task's current span
 * while the call runs, so driver spans and block requests it causes are
 * its children.
 *
 * Where the span lives: a current span must outlive the probe that begins
 * it, so it sits in a table of the bridge's own, allocated when the bridge
 * is switched on, with one handle per slot of the task context table
 * (context.c) and indexed like it: a task with a trace context already has
 * a slot, so the traced-mode filter's lookup finds the handle too.  The
 * handle records which task began it (pointer and start time, compared,
 * never followed): only that task ends it.
 *
 * Calls that never return to sys_exit: exit and exit_group get no span;
 * anything else that leaves a span open when its task exits (an oops in a
 * call) is ended by oteltrace's task exit probe, status ERROR "task
 * exited" (otel_bridge_syscall_task_exit()).  A successful execve returns
 * through sys_exit in the new image, same task, same slot: its span ends
 * normally (from a thread other than the leader too: the exec probe
 * follows the start time de_thread() gives it).  A forked child's first
 * return (sys_exit with no sys_enter) finds no span of its own and does
 * nothing.  Compat (32-bit) calls are
 * not bridged: their numbers are another table's.
 *
 * Switching the bridge off drops the spans still open (counted), without
 * a record: their tasks are in the middle of a call on other CPUs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#ifdef CONFIG_HAVE_SYSCALL_TRACEPOINTS
#include <trace/events/syscalls.h>
#endif

#include "bridge.h"

struct sys_name {
	const char	*name;
	u16		len;
};

/* Generated from the kernel's asm/unistd_64.h (kmod/gen-syscall-names). */
static const struct sys_name sys_names[] = {
#include "syscall_names.h"
};

static const struct sys_name sys_unknown = { "syscall", 7 };

/**
 * struct sys_slot - the open system call span of a context slot's task
 * @span:	the span, current while the call runs
 * @task:	the task that began it: identity only, never dereferenced
 * @start_time:	its start time (a recycled task_struct differs)
 */
struct sys_slot {
	struct otel_kspan		span;
	const struct task_struct	*task;
	u64				start_time;
};

/* otel_ctx_mask + 1 entries while the bridge is on, else NULL. */
static struct sys_slot *sys_slots;

static __always_inline bool sys_mine(const struct sys_slot *s)
{
	return s->task == current && s->start_time == current->start_time;
}

/* raw_syscalls:sys_enter */
static notrace void sys_enter_probe(void *data, struct pt_regs *regs, long id)
{
	struct sys_slot *s, *tab = READ_ONCE(sys_slots);
	struct otel_bridge *b = data;
	const struct sys_name *n;
	int idx;

	if (!static_branch_unlikely(&otel_tracing_key))
		return;
	if (READ_ONCE(b->mode) == OTEL_BRIDGE_ALL) {
		idx = otel_task_slot();
		if (idx < 0)
			idx = otel_slot_claim(current);
		if (idx < 0)
			otel_bridge_count_drop(b);
	} else {
		idx = otel_task_traced_slot();
	}
	if (idx < 0 || !tab)
		return;
	if (id == __NR_exit || id == __NR_exit_group || in_compat_syscall())
		return;

	s = &tab[idx];
	/* A span whose exit we missed, or left by the slot's last owner. */
	if (unlikely(READ_ONCE(s->span.cookie) & OTEL_KSPAN_ACTIVE) &&
	    otel_kspan_abandon(&s->span))
		otel_bridge_count_drop(b);

	n = (unsigned long)id < ARRAY_SIZE(sys_names) && sys_names[id].name ?
	    &sys_names[id] : &sys_unknown;
	s->task = current;
	s->start_time = current->start_time;
	otel_bridge_begin(b, &s->span, n->name, n->len, NULL,
			  OTEL_BEGIN_CURRENT);
	otel_kspan_set_int(&s->span, "linux.syscall.nr", id);
}

/* raw_syscalls:sys_exit */
static notrace void sys_exit_probe(void *data, struct pt_regs *regs, long ret)
{
	struct sys_slot *s, *tab = READ_ONCE(sys_slots);
	int idx = otel_task_slot();

	if (idx < 0 || !tab)
		return;
	s = &tab[idx];
	if (likely(!(READ_ONCE(s->span.cookie) & OTEL_KSPAN_ACTIVE)))
		return;
	if (unlikely(!sys_mine(s))) {
		if (otel_kspan_abandon(&s->span))
			otel_bridge_count_drop(data);
		return;
	}
	otel_kspan_set_int(&s->span, "linux.syscall.ret", ret);
	/* rt_sigreturn "returns" the interrupted code's register. */
	if (IS_ERR_VALUE(ret) &&
	    syscall_get_nr(current, regs) != __NR_rt_sigreturn)
		otel_kspan_record_errno(&s->span, ret);
	otel_kspan_end(&s->span);
}

/**
 * otel_bridge_syscall_task_exit() - the task owning slot @idx exits
 * @idx:	its slot
 *
 * Ends the task's open system call span, if any (see the top comment).
 *
 * Context: the exiting task, from oteltrace's sched_process_exit probe
 * (RCU-sched: the table stays until it returns).
 */
notrace void otel_bridge_syscall_task_exit(int idx)
{
	struct sys_slot *s, *tab = READ_ONCE(sys_slots);

	if (!tab)
		return;
	s = &tab[idx];
	if (!(READ_ONCE(s->span.cookie) & OTEL_KSPAN_ACTIVE))
		return;
	if (sys_mine(s)) {
		otel_kspan_set_status(&s->span, OTEL_STATUS_ERROR,
				      "task exited");
		otel_kspan_end(&s->span);
	} else if (otel_kspan_abandon(&s->span)) {
		otel_bridge_count_drop(&otel_bridge_syscall);
	}
}

/**
 * otel_bridge_syscall_task_exec() - the task owning slot @idx exec'd
 * @idx:	its slot
 *
 * A thread other than the leader took the leader's start time in
 * de_thread(): its execve span, still open, follows, so that sys_exit in
 * the new image ends it.
 *
 * Context: the task, from oteltrace's sched_process_exec probe.
 */
notrace void otel_bridge_syscall_task_exec(int idx)
{
	struct sys_slot *s, *tab = READ_ONCE(sys_slots);

	if (!tab)
		return;
	s = &tab[idx];
	if (s->task == current)
		s->start_time = current->start_time;
}

/**
 * otel_bridge_syscall_owns() - is @span a system call span of the bridge?
 * @span:	any address (compared, not read)
 *
 * Return: true if it lies in the bridge's table.
 */
notrace bool otel_bridge_syscall_owns(const struct otel_kspan *span)
{
	const struct sys_slot *tab = READ_ONCE(sys_slots);

	return tab && (const void *)span >= (const void *)tab &&
	       (const void *)span < (const void *)(tab + otel_ctx_mask + 1);
}

static int sys_enable(struct otel_bridge *b)
{
	struct sys_slot *tab;

#ifdef CONFIG_HAVE_SYSCALL_TRACEPOINTS
	/* The probes' prototypes are the tracepoints' (checked, not called). */
	(void)sizeof(register_trace_sys_enter(sys_enter_probe, NULL));
	(void)sizeof(register_trace_sys_exit(sys_exit_probe, NULL));
#endif
	tab = kvcalloc(otel_ctx_mask + 1, sizeof(*tab), GFP_KERNEL);
	if (!tab)
		return -ENOMEM;
	WRITE_ONCE(sys_slots, tab);
	return 0;
}

static void sys_disable(struct otel_bridge *b)
{
	struct sys_slot *tab = sys_slots;
	u32 i;

	if (!tab)
		return;
	for (i = 0; i <= otel_ctx_mask; i++) {
		if (otel_kspan_abandon(&tab[i].span))
			otel_bridge_count_drop(b);
	}
	WRITE_ONCE(sys_slots, NULL);
	/* The task exit hook is a probe too: wait for it to leave the table. */
	synchronize_rcu();
	kvfree(tab);
}

static struct otel_bridge_tp sys_tps[] = {
	{ .name = "sys_enter", .probe = sys_enter_probe },
	{ .name = "sys_exit", .probe = sys_exit_probe },
	{ }
};

struct otel_bridge otel_bridge_syscall = {
	.name		= "syscall",
	.modes		= BIT(OTEL_BRIDGE_OFF) | BIT(OTEL_BRIDGE_TRACED) |
			  BIT(OTEL_BRIDGE_ALL),
	.tps		= sys_tps,
	.enable		= sys_enable,
	.disable	= sys_disable,
};
