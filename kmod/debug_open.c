// SPDX-License-Identifier: GPL-2.0
/*
 * debug_open_spans: a debug option that reports a current span still open
 * when its task returns to user space from a system call, or exits.  Such
 * a span is a driver bug (an early return that skipped the end, a span
 * handed to a work item as current...): it would parent the task's next
 * spans, or be dropped as stale later, far from the code that leaked it.
 *
 * Off by default; the module parameter (0644) switches it at run time.
 * While it is on:
 *  - otel_context_push() notes, for task chains only, the span's name and
 *    scope (the including module) in a side table, one entry per chain
 *    entry, tagged with the entry's generation.  The names are copied, cut
 *    at a few bytes: by the time of a report the span's handle may be a
 *    dead stack frame and its module may be gone, so nothing of the span is
 *    read after the push.
 *  - a probe on raw_syscalls:sys_exit looks at the calling task's chain of
 *    current spans, and oteltrace's sched_process_exit probe (context.c)
 *    does the same at task exit: every entry still live is reported once,
 *    rate limited, with the name and scope noted at push (or "?" for a span
 *    pushed before the option was on), the trace and span ids from the
 *    entry's own copy, the task and, at return to user space, the system
 *    call number.
 * Nothing changes for the spans themselves: the option only reports.
 *
 * The side table is allocated when the option is first switched on and
 * freed at unload.  Only the task owning a slot pushes to its chain, and
 * both reports run in that task, so the table needs no lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <asm/syscall.h>
#ifdef CONFIG_HAVE_SYSCALL_TRACEPOINTS
#include <trace/events/syscalls.h>
#endif

#include "bridge.h"
#include "context.h"
#include "internal.h"
#include "oteltrace.h"

#define OTEL_DEBUG_NAME		32	/* bytes of a span name kept, with NUL */
#define OTEL_DEBUG_SCOPE	24	/* bytes of a scope name kept, with NUL */

/**
 * struct otel_debug_entry - what debug_open_spans keeps of a current span
 * @gen:	generation of the chain entry it describes
 * @reported:	already reported
 * @name:	the span's name, cut, NUL-terminated
 * @scope:	its scope's name (the module that began it), cut
 */
struct otel_debug_entry {
	u32	gen;
	bool	reported;
	char	name[OTEL_DEBUG_NAME];
	char	scope[OTEL_DEBUG_SCOPE];
};

DEFINE_STATIC_KEY_FALSE(otel_debug_open_key);

/* (context_slots x OTEL_CTX_DEPTH) entries, from the first enable on. */
static struct otel_debug_entry *otel_debug_entries;

static DEFINE_MUTEX(otel_debug_lock);	/* the parameter and the probe */
static bool otel_debug_ready;		/* otel_debug_open_init() ran */
static struct tracepoint *otel_sys_exit_tp;

/* One budget for every report: a leaking driver must not flood the log. */
static DEFINE_RATELIMIT_STATE(otel_debug_rs, 5 * HZ, 10);

/* Copy at most @size - 1 bytes of @s (stops at a NUL) and terminate. */
static notrace void copy_cut(char *dst, const char *s, size_t len,
			     size_t size)
{
	size_t i;

	if (!len || len > size - 1)
		len = size - 1;
	for (i = 0; i < len && s[i]; i++)
		dst[i] = s[i];
	dst[i] = '\0';
}

/**
 * otel_debug_open_note() - remember a span made current in a task chain
 * @span:	the span, valid and active (its name and scope still live)
 * @idx:	the task's slot
 * @depth:	its entry in the slot's chain
 * @gen:	the entry's generation
 *
 * Called by otel_context_push() while debug_open_spans is on.
 *
 * Context: the task owning slot @idx (any preemption state).
 */
notrace void otel_debug_open_note(const struct otel_kspan *span, u32 idx,
				  u32 depth, u32 gen)
{
	struct otel_debug_entry *d = READ_ONCE(otel_debug_entries);

	if (!d || idx > otel_ctx_mask || depth >= OTEL_CTX_DEPTH)
		return;
	d += (size_t)idx * OTEL_CTX_DEPTH + depth;
	d->gen = gen;
	d->reported = false;
	copy_cut(d->name, span->name, span->name_len, sizeof(d->name));
	copy_cut(d->scope, span->scope->name, span->scope->name_len,
		 sizeof(d->scope));
}

/*
 * Report each live entry of slot @idx's chain not reported yet, at the
 * task's exit or at the return of system call @nr.  Runs in the slot's
 * task.
 */
static notrace void report_open(struct otel_debug_entry *table, int idx,
				bool at_exit, long nr)
{
	const struct otel_ctx_stack *st = &otel_slots[idx].stack;
	struct otel_debug_entry *d;
	const struct otel_ctx_entry *e;
	u32 i, gen, depth = min_t(u32, st->depth, OTEL_CTX_DEPTH);

	for (i = 0; i < depth; i++) {
		e = &st->e[i];
		gen = READ_ONCE(e->gen);
		if (gen & 1)
			continue;	/* ended by another context */
		/* The syscall bridge's span is current until sys_exit. */
		if (otel_bridge_syscall_owns(e->span))
			continue;
		d = &table[(size_t)idx * OTEL_CTX_DEPTH + i];
		if (d->gen != gen) {	/* pushed before the option was on */
			d->gen = gen;
			d->reported = false;
			strscpy(d->name, "?", sizeof(d->name));
			strscpy(d->scope, "?", sizeof(d->scope));
		}
		/* A report the rate limit held back is tried again later. */
		if (d->reported || !__ratelimit(&otel_debug_rs))
			continue;
		d->reported = true;
		if (!at_exit)
			pr_warn("span \"%s\" of %s still open (current) at return to user space from syscall %ld, in %s[%d]: trace %*phN span %*phN (debug_open_spans)\n",
				d->name, d->scope, nr, current->comm,
				task_pid_nr(current), OTEL_TRACE_ID_SIZE,
				e->ctx.trace_id, OTEL_SPAN_ID_SIZE, e->ctx.span_id);
		else
			pr_warn("span \"%s\" of %s still open (current) at exit of %s[%d]: trace %*phN span %*phN (debug_open_spans)\n",
				d->name, d->scope, current->comm,
				task_pid_nr(current), OTEL_TRACE_ID_SIZE,
				e->ctx.trace_id, OTEL_SPAN_ID_SIZE, e->ctx.span_id);
	}
}

/**
 * otel_debug_open_task_exit() - the task owning slot @idx exits
 * @idx:	its slot, about to be released
 *
 * Called by the sched_process_exit probe while debug_open_spans is on.
 *
 * Context: the exiting task.
 */
notrace void otel_debug_open_task_exit(int idx)
{
	struct otel_debug_entry *table = READ_ONCE(otel_debug_entries);

	if (table && otel_slots[idx].stack.depth)
		report_open(table, idx, true, 0);
}

/* raw_syscalls:sys_exit: the calling task returns to user space. */
static notrace void otel_debug_sys_exit(void *data, struct pt_regs *regs,
					long ret)
{
	struct otel_debug_entry *table = READ_ONCE(otel_debug_entries);
	int idx;

	if (!static_branch_unlikely(&otel_debug_open_key) || !table)
		return;
	idx = otel_slot_find(current);
	if (idx >= 0 && otel_slots[idx].stack.depth)
		report_open(table, idx, false, syscall_get_nr(current, regs));
}

/* Switch the option; otel_debug_lock held, otel_debug_ready. */
static int debug_open_apply(bool on)
{
	struct otel_debug_entry *d;
	int ret;

	if (on == static_key_enabled(&otel_debug_open_key))
		return 0;
	if (!on) {
		static_branch_disable(&otel_debug_open_key);
		tracepoint_probe_unregister(otel_sys_exit_tp,
					    otel_debug_sys_exit, NULL);
		tracepoint_synchronize_unregister();
		return 0;
	}
	if (!otel_sys_exit_tp) {
		pr_err("debug_open_spans: no raw_syscalls:sys_exit tracepoint in this kernel\n");
		return -EOPNOTSUPP;
	}
	if (!otel_debug_entries) {
		d = kvcalloc((size_t)(otel_ctx_mask + 1) * OTEL_CTX_DEPTH,
			     sizeof(*d), GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
		if (!d)
			return -ENOMEM;
		WRITE_ONCE(otel_debug_entries, d);
	}
	static_branch_enable(&otel_debug_open_key);
	ret = tracepoint_probe_register(otel_sys_exit_tp, otel_debug_sys_exit,
					NULL);
	if (ret)
		static_branch_disable(&otel_debug_open_key);
	return ret;
}

static bool debug_open_spans;

static int debug_open_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret;

	ret = kstrtobool(val ? val : "1", &on);	/* a bare name means on */
	if (ret)
		return ret;
	mutex_lock(&otel_debug_lock);
	/* Before init (insmod's parameters) only the value is kept. */
	if (otel_debug_ready)
		ret = debug_open_apply(on);
	if (!ret)
		debug_open_spans = on;
	mutex_unlock(&otel_debug_lock);
	return ret;
}

static const struct kernel_param_ops debug_open_ops = {
	.flags	= KERNEL_PARAM_OPS_FL_NOARG,
	.set	= debug_open_set,
	.get	= param_get_bool,
};

module_param_cb(debug_open_spans, &debug_open_ops, &debug_open_spans, 0644);
__MODULE_PARM_TYPE(debug_open_spans, "bool");
MODULE_PARM_DESC(debug_open_spans,
		 "report current spans still open when their task returns to user space or exits (debug; default off)");

static void find_sys_exit(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_exit"))
		*(struct tracepoint **)priv = tp;
}

/**
 * otel_debug_open_init() - find the tracepoint, apply a load-time setting
 *
 * Call it after otel_kspan_init(), which allocates the context table.
 *
 * Return: 0, or the error of switching the option on (insmod fails).
 */
int otel_debug_open_init(void)
{
	int ret = 0;

#ifdef CONFIG_HAVE_SYSCALL_TRACEPOINTS
	/* The probe's prototype is the tracepoint's (checked, not called). */
	(void)sizeof(register_trace_sys_exit(otel_debug_sys_exit, NULL));
#endif
	mutex_lock(&otel_debug_lock);
	for_each_kernel_tracepoint(find_sys_exit, &otel_sys_exit_tp);
	otel_debug_ready = true;
	if (debug_open_spans)
		ret = debug_open_apply(true);
	if (ret) {
		otel_debug_ready = false;
		kvfree(otel_debug_entries);
		WRITE_ONCE(otel_debug_entries, NULL);
	}
	mutex_unlock(&otel_debug_lock);
	return ret;
}

/**
 * otel_debug_open_exit() - switch the option off and free its table
 *
 * Before otel_kspan_exit(); waits until no probe runs any more.
 */
void otel_debug_open_exit(void)
{
	mutex_lock(&otel_debug_lock);
	debug_open_apply(false);
	otel_debug_ready = false;
	kvfree(otel_debug_entries);
	WRITE_ONCE(otel_debug_entries, NULL);
	otel_sys_exit_tp = NULL;
	mutex_unlock(&otel_debug_lock);
}
