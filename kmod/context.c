// SPDX-License-Identifier: GPL-2.0
/*
 * The chain of current spans of each execution context, for implicit
 * nesting, and the per-task remote context that user space sets with
 * ioctl().
 *
 * A chain is a small stack of entries in oteltrace's own memory (struct
 * otel_ctx_stack), each holding a copy of a span's ids and flags and, for
 * identity only, its handle's address.  A child takes its parent's ids from
 * the entry, never from the parent's handle, so a handle whose frame has
 * returned, or that its driver overwrote, is never read, copied or written
 * through (docs/span-records.md).  Only the owning context pushes and pops;
 * another context that ends a span of this chain marks its entry with a
 * compare-and-swap of the entry's generation (odd: ended), and the owner
 * drops marked entries from the top when it next uses the chain.  A
 * current span's handle names its entry in one word, ctx_ref (the
 * entry's generation and index, the context level, the task slot or the
 * CPU: context.h), checked against the chain before anything is done.
 *
 * Task context: a fixed table keyed by the task pointer, so task_struct is
 * untouched.  A task claims a slot with cmpxchg() on its key when it begins
 * a current span (or sets a remote context) and has none.  While the table
 * is at most half full it keeps the slot until it exits: claiming and
 * releasing around every outermost span cost twice the rest of an unsampled
 * span (measured under TCG).  Past half full, a task gives its slot back
 * when its outermost span ends, so occupancy stays bounded by the spans
 * actually open.  Only the owning task reads or writes a slot's data (but
 * for the generation marks above), so the data needs no lock; the keys are
 * shared and change only by cmpxchg() (claim) and smp_store_release()
 * (release).  A task's key lives in one of two windows of 8 keys picked by
 * two hashes; a lookup stops at its own key (almost always the first) and
 * never at a hole.  When both windows are full the span is counted and
 * becomes a root.
 *
 * Interrupt context: one chain per CPU for each of softirq, hardirq and
 * NMI, never mixed with the interrupted task's.  These contexts do not nest
 * within themselves, and a span made current there must end before the
 * handler returns (a dead frame is only detected on task stacks).
 *
 * A task's slot is freed when it exits (sched_process_exit) and, should
 * anything in do_exit() claim it again after that hook, when the task is
 * freed (sched_process_free, before the task_struct can be reused): so a
 * recycled task_struct never inherits a stale slot, and the key alone
 * identifies the task.  Not its start time: a thread other than the leader
 * that calls execve() takes the leader's start time in de_thread(), and
 * keeps its slot, its remote context and its open system call span.
 *
 * Remote context: the W3C context user space sets for its own thread
 * (OTEL_IOC_SET_TASK_CONTEXT, through dev.c or remote.c's world-usable
 * device) lives in the thread's slot, which it pins (the half-full policy
 * never gives such a slot back).  A new thread or process inherits it
 * (sched_process_fork): its parent, the only task that knows the child
 * yet, claims a slot for the child before the child first runs, and
 * copies the remote context only, never a current kernel span (that span
 * belongs to the parent's call, which the child is not part of).  An exec
 * that raises privileges drops it (sched_process_exec with AT_SECURE), as
 * the dynamic linker drops LD_PRELOAD.  Every slot holding a remote context
 * is charged to a uid (remote.c); the charge goes with the context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/binfmts.h>
#include <linux/bits.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>

#include "bridge.h"
#include "context.h"
#include "internal.h"
#include "oteltrace.h"

static unsigned int context_slots = 4096;
module_param(context_slots, uint, 0444);
MODULE_PARM_DESC(context_slots,
		 "task context table size, a power of two (default 4096)");
unsigned int otel_ctx_bits __read_mostly;
u32 otel_ctx_mask __read_mostly;

/* Keys apart from the data: a lookup touches only the keys. */
struct task_struct **otel_slot_key __read_mostly;
struct otel_task_slot *otel_slots __read_mostly;
DEFINE_PER_CPU(struct otel_ctx_stack, otel_irq_stacks[OTEL_CTX_IRQ_CELLS]);

atomic_t otel_ctx_used;			/* slots claimed */
static atomic_long_t otel_ctx_inherited;	/* forks that inherited */
static atomic_long_t otel_ctx_inherit_lost;	/* forks that could not */

/* Drop a slot's remote context and its charge. */
static notrace void slot_drop_remote(int idx)
{
	struct otel_task_slot *s = &otel_slots[idx];

	if (!s->has_remote)
		return;
	s->has_remote = false;
	memset(&s->remote, 0, sizeof(s->remote));
	otel_remote_uncharge(s->remote_uid);
}

/*
 * Empty a slot but keep its chain's generation counter running: a late
 * foreign end of a span its last owner left current compares generations,
 * and must not match an entry of the next owner.
 */
static notrace void slot_clear(int idx)
{
	u32 gen = otel_slots[idx].stack.gen;

	slot_drop_remote(idx);
	memset(&otel_slots[idx], 0, sizeof(otel_slots[idx]));
	otel_slots[idx].stack.gen = gen;
}

static notrace unsigned int window_free(u32 start)
{
	unsigned int i, n = 0;

	for (i = 0; i < OTEL_CTX_WINDOW; i++)
		n += !READ_ONCE(otel_slot_key[(start + i) & otel_ctx_mask]);
	return n;
}

/*
 * Claim a slot for @t, which has none: current, or a child its parent is
 * creating (it has not run yet).  The index, or -1 if both windows are full.
 */
static __always_inline int slot_claim(struct task_struct *t)
{
	unsigned int i, w, first;
	u32 win[2];
	int idx;

	win[0] = otel_slot_window(t, 0);
	win[1] = otel_slot_window(t, 1);
	first = window_free(win[1]) > window_free(win[0]);
	for (w = 0; w < 2; w++) {
		u32 start = win[first ^ w];

		for (i = 0; i < OTEL_CTX_WINDOW; i++) {
			idx = (start + i) & otel_ctx_mask;
			if (READ_ONCE(otel_slot_key[idx]) ||
			    cmpxchg(&otel_slot_key[idx], NULL, t))
				continue;
			/* cmpxchg() is a full barrier: the slot is ours. */
			slot_clear(idx);
			atomic_inc(&otel_ctx_used);
			return idx;
		}
	}
	return -1;
}

/**
 * otel_slot_claim() - claim a slot for @t, which has none
 * @t:		current
 *
 * Return: the slot's index, or -1 (counted) when both of its windows are
 * full.
 */
notrace int otel_slot_claim(struct task_struct *t)
{
	int idx = slot_claim(t);

	if (idx < 0)
		otel_misuse(OTEL_MISUSE_CONTEXT_FULL, NULL);
	return idx;
}

/**
 * otel_slot_lookup_slow() - the current task's slot, past the first probe
 * @t:		current
 * @claim:	claim a slot if the task has none
 *
 * Return: the slot's index, or -1 (none, or both windows full: counted).
 */
notrace int otel_slot_lookup_slow(struct task_struct *t, bool claim)
{
	int idx = otel_slot_find(t);

	if (idx < 0 && claim)
		idx = otel_slot_claim(t);
	return idx;
}

static notrace void slot_release(int idx)
{
	slot_clear(idx);
	atomic_dec(&otel_ctx_used);
	/* Pairs with the cmpxchg() of the next claimer. */
	smp_store_release(&otel_slot_key[idx], NULL);
}

/**
 * otel_slot_maybe_release() - the task's outermost span ended
 * @idx:	its slot
 *
 * In a crowded table the task gives its slot back (see the top comment).
 */
notrace void otel_slot_maybe_release(u32 idx)
{
	if (atomic_read(&otel_ctx_used) <= (otel_ctx_mask + 1) / 2 ||
	    otel_slots[idx].has_remote)
		return;
	slot_release(idx);
}

/**
 * otel_ref_stack() - the chain a span's ctx_ref names
 * @ref:	struct otel_kspan.ctx_ref
 *
 * Return: the chain, or NULL if @ref names none (a handle a driver
 * scribbled on): only checked values index our tables.
 */
notrace struct otel_ctx_stack *otel_ref_stack(u64 ref)
{
	u32 owner = otel_ref_owner(ref);
	int level = otel_ref_level(ref);

	if (otel_ref_index(ref) >= OTEL_CTX_DEPTH)
		return NULL;
	if (!level)
		return owner <= otel_ctx_mask ? &otel_slots[owner].stack : NULL;
	if (owner >= nr_cpu_ids || !cpu_possible(owner))
		return NULL;
	return per_cpu_ptr(&otel_irq_stacks[level - 1], owner);
}

/*
 * Is this entry's span gone?  As otel_entry_live(), counting the stale
 * entries (a reused handle, a returned frame) as misuse.
 */
static notrace bool entry_gone(const struct otel_ctx_entry *e,
			       const struct otel_kspan *self, bool task)
{
	if (READ_ONCE(e->gen) & 1)
		return true;
	if (otel_entry_live(e, self, task))
		return false;
	otel_misuse(OTEL_MISUSE_STALE_CURRENT, NULL);
	return true;
}

/**
 * otel_context_top_slow() - otel_context_top() once the top is gone
 * @st:		the calling context's own chain
 * @self:	the handle about to be begun, or NULL
 *
 * Return: the top entry after dropping those that are gone, or NULL.
 */
notrace const struct otel_ctx_entry *
otel_context_top_slow(struct otel_ctx_stack *st, const struct otel_kspan *self)
{
	bool task = in_task();

	while (st->depth && entry_gone(&st->e[st->depth - 1], self, task))
		st->depth--;
	return st->depth ? &st->e[st->depth - 1] : NULL;
}

/**
 * otel_context_pop_slow() - otel_context_pop() when @span is not simply
 * the top of the calling context's chain
 * @span:	a valid handle that was current (the flag already cleared)
 *
 * From another task or CPU the entry is only marked (end_foreign); in the
 * owning context an entry below the top is marked too (misnested), and
 * leaves the chain once it reaches the top.
 */
notrace void otel_context_pop_slow(struct otel_kspan *span)
{
	u64 ref = span->ctx_ref;
	struct otel_ctx_stack *st = otel_ref_stack(ref);
	u32 gen = ref, i = otel_ref_index(ref), owner = otel_ref_owner(ref);
	int level = otel_ref_level(ref);
	struct otel_ctx_entry *e;
	bool mine;

	if (!st) {
		otel_misuse(OTEL_MISUSE_BAD_HANDLE, NULL);
		return;
	}
	if (!level)
		mine = in_task() && READ_ONCE(otel_slot_key[owner]) == current;
	else
		mine = otel_context_index() == level &&
		       owner == raw_smp_processor_id();
	e = &st->e[i];
	if (!mine) {
		/* Another task's or CPU's chain: mark, never pop. */
		if (cmpxchg(&e->gen, gen, gen | 1) == gen)
			otel_misuse(OTEL_MISUSE_END_FOREIGN, span);
		return;
	}
	if (i >= st->depth || READ_ONCE(e->gen) != gen)
		return;		/* already dropped */
	if (i != st->depth - 1) {
		WRITE_ONCE(e->gen, gen | 1);
		otel_misuse(OTEL_MISUSE_MISNESTED, span);
		return;
	}
	st->depth--;
	if (st->depth)
		otel_context_top(st, NULL);
	else if (!level)
		otel_slot_maybe_release(owner);
}

/**
 * otel_kspan_current() - the current span of the calling context
 *
 * Return: the span begun (or entered) last and not yet ended in this task,
 * or in this CPU's current interrupt context (a no-op span is never
 * current); NULL if none.  Use it only
 * in the context that made it current, and only while that span is
 * certainly alive: a driver that frees a handle it entered without
 * leaving it leaves a dangling pointer here.  To parent a span on it, use
 * otel_kspan_begin_async(), which reads oteltrace's own copy of the ids.
 *
 * Context: any.
 */
notrace struct otel_kspan *otel_kspan_current(void)
{
	const struct otel_ctx_entry *top;
	struct otel_ctx_stack *st;

	if (!static_branch_unlikely(&otel_tracing_key))
		return NULL;
	st = otel_context_stack(otel_context_index(), false, NULL, NULL);
	top = st ? otel_context_top(st, NULL) : NULL;
	return top ? (struct otel_kspan *)top->span : NULL;
}
EXPORT_SYMBOL_GPL(otel_kspan_current);

/**
 * otel_context_capture() - the context to propagate from here
 * @ctx:	out: the current span's ids, else the task's remote context,
 *		else all zero
 * @local:	out: @ctx is a kernel span's (not the remote context)
 *
 * From oteltrace's own copies of the ids, never from a handle.
 *
 * Return: true if @ctx is valid.
 *
 * Context: any.
 */
notrace bool otel_context_capture(struct otel_span_context *ctx, bool *local)
{
	const struct otel_span_context *remote;
	const struct otel_ctx_entry *top = NULL;
	struct otel_ctx_stack *st;

	memset(ctx, 0, sizeof(*ctx));
	*local = false;
	st = otel_context_stack(otel_context_index(), false, &remote, NULL);
	if (st)
		top = otel_context_top(st, NULL);
	if (top) {
		*ctx = top->ctx;
		*local = true;
		return true;
	}
	if (!remote)
		return false;
	*ctx = *remote;
	return true;
}

static notrace bool current_context(struct otel_span_context *ctx)
{
	bool local;

	return otel_context_capture(ctx, &local);
}

/**
 * otel_context_abandon() - mark a current span's entry gone, from anywhere
 * @span:	a handle whose end was claimed (its cookie no longer active)
 *		and that was current
 *
 * Like an end from another context (the owner drops the entry when it
 * next uses its chain), but not counted as misuse: for the bridges, which
 * drop their open spans when switched off.
 *
 * Context: any.
 */
notrace void otel_context_abandon(struct otel_kspan *span)
{
	u64 ref = span->ctx_ref;
	struct otel_ctx_stack *st = otel_ref_stack(ref);
	u32 gen = ref;

	if (st)
		cmpxchg(&st->e[otel_ref_index(ref)].gen, gen, gen | 1);
}

/**
 * otel_current_context() - the W3C context to propagate from here
 * @ctx:	out: the current span's context, else the task's remote
 *		context, else all zero
 *
 * Return: true if @ctx is valid.
 *
 * Context: any.
 */
notrace bool otel_current_context(struct otel_span_context *ctx)
{
	if (!static_branch_unlikely(&otel_tracing_key)) {
		memset(ctx, 0, sizeof(*ctx));
		return false;
	}
	return current_context(ctx);
}
EXPORT_SYMBOL_GPL(otel_current_context);

/**
 * otel_kspan_enter() - make a span current in this context for a while
 * @span:	an active span not current anywhere (begun with
 *		otel_kspan_begin_child() or otel_kspan_begin_remote())
 *
 * Spans begun with otel_kspan_begin() until otel_kspan_leave() become its
 * children.  Leave (or end it) in the same context.  A no-op span (no ids)
 * is ignored.
 *
 * Context: any.
 */
notrace void otel_kspan_enter(struct otel_kspan *span)
{
	struct otel_ctx_stack *st;
	u32 slot;
	int ctx;

	/* a no-op span has no ids for its children (__otel_kspan_noop()) */
	if (!otel_kspan_valid(span) || !(span->cookie & OTEL_KSPAN_ACTIVE) ||
	    (span->cookie & (OTEL_KSPAN_CURRENT | OTEL_KSPAN_NOOP)))
		return;
	ctx = otel_context_index();
	st = otel_context_stack(ctx, true, NULL, &slot);
	if (st) {
		otel_context_top(st, span);
		if (otel_context_push(span, st, slot, ctx))
			span->cookie |= OTEL_KSPAN_CURRENT;
	}
}
EXPORT_SYMBOL_GPL(otel_kspan_enter);

/**
 * otel_kspan_leave() - undo otel_kspan_enter()
 * @span:	the span entered
 *
 * Context: the context that entered it.
 */
notrace void otel_kspan_leave(struct otel_kspan *span)
{
	if ((span->cookie & OTEL_KSPAN_CURRENT) && otel_kspan_valid(span)) {
		span->cookie &= ~OTEL_KSPAN_CURRENT;
		otel_context_pop(span);
	}
}
EXPORT_SYMBOL_GPL(otel_kspan_leave);

/* Parse @n hex digits (lower case, as W3C requires) into @n / 2 bytes. */
static bool parse_hex(const char *s, u8 *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isdigit(s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return false;
	}
	return !hex2bin(out, s, n / 2);
}

/**
 * otel_traceparent_parse() - parse a W3C traceparent header value
 * @s:		"00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"
 * @len:	bytes of @s (no NUL needed)
 * @ctx:	out: the context (all zero on error)
 *
 * Accepts version 00 exactly and, as W3C asks, later versions with more
 * fields after the flags; refuses version ff, upper-case hex and all-zero
 * ids.
 *
 * Return: 0 or -EINVAL.
 *
 * Context: any.
 */
notrace int otel_traceparent_parse(const char *s, size_t len,
				   struct otel_span_context *ctx)
{
	u8 version, flags;

	memset(ctx, 0, sizeof(*ctx));
	if (!s || len < OTEL_TRACEPARENT_LEN)
		return -EINVAL;
	if (!parse_hex(s, &version, 2) || version == 0xff ||
	    (version == 0 && len != OTEL_TRACEPARENT_LEN) ||
	    (len > OTEL_TRACEPARENT_LEN && s[OTEL_TRACEPARENT_LEN] != '-'))
		return -EINVAL;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-' ||
	    !parse_hex(s + 3, ctx->trace_id, 32) ||
	    !parse_hex(s + 36, ctx->span_id, 16) ||
	    !parse_hex(s + 53, &flags, 2))
		goto err;
	if (!memchr_inv(ctx->trace_id, 0, OTEL_TRACE_ID_SIZE) ||
	    !memchr_inv(ctx->span_id, 0, OTEL_SPAN_ID_SIZE))
		goto err;
	ctx->trace_flags = flags;
	return 0;
err:
	memset(ctx, 0, sizeof(*ctx));
	return -EINVAL;
}
EXPORT_SYMBOL_GPL(otel_traceparent_parse);

/**
 * otel_traceparent_format() - format a context as a traceparent value
 * @ctx:	the context (otel_kspan_get_context())
 * @buf:	out: the NUL-terminated string
 * @size:	bytes of @buf, at least OTEL_TRACEPARENT_LEN + 1
 *
 * Return: OTEL_TRACEPARENT_LEN, or -EINVAL (invalid context) or
 * -ENOSPC (@buf too small).
 *
 * Context: any.
 */
notrace int otel_traceparent_format(const struct otel_span_context *ctx,
				    char *buf, size_t size)
{
	char *p = buf;

	if (size < OTEL_TRACEPARENT_LEN + 1)
		return -ENOSPC;
	if (!memchr_inv(ctx->trace_id, 0, OTEL_TRACE_ID_SIZE) ||
	    !memchr_inv(ctx->span_id, 0, OTEL_SPAN_ID_SIZE))
		return -EINVAL;
	*p++ = '0';
	*p++ = '0';
	*p++ = '-';
	p = bin2hex(p, ctx->trace_id, OTEL_TRACE_ID_SIZE);
	*p++ = '-';
	p = bin2hex(p, ctx->span_id, OTEL_SPAN_ID_SIZE);
	*p++ = '-';
	p = hex_byte_pack(p, ctx->trace_flags);
	*p = '\0';
	return OTEL_TRACEPARENT_LEN;
}
EXPORT_SYMBOL_GPL(otel_traceparent_format);

/*
 * Give the calling task the remote context @ctx, or clear it (@ctx NULL).
 * The slot is claimed before the charge, so that charges never outnumber
 * slots (remote.c relies on it).  Return 0, -ENOSPC or -EDQUOT.
 */
static int task_set_remote(const struct otel_span_context *ctx)
{
	struct otel_task_slot *s;
	bool claimed = false;
	kuid_t uid;
	int idx, ret;

	idx = otel_slot_find(current);
	if (!ctx) {
		/* Keep the slot only while a span is current. */
		if (idx < 0)
			return 0;
		slot_drop_remote(idx);
		if (!otel_slots[idx].stack.depth)
			slot_release(idx);
		return 0;
	}
	if (idx < 0) {
		idx = otel_slot_claim(current);
		if (idx < 0)
			return -ENOSPC;
		claimed = true;
	}
	s = &otel_slots[idx];
	if (!s->has_remote) {
		uid = current_uid();
		ret = otel_remote_charge(uid);
		if (ret) {
			if (claimed)
				slot_release(idx);
			return ret;
		}
		s->remote_uid = uid;
	}
	s->remote = *ctx;
	s->has_remote = true;
	return 0;
}

static long context_set(void __user *arg)
{
	struct otel_span_context ctx;
	struct otel_context_req req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	if (!memchr_inv(req.trace_id, 0, sizeof(req.trace_id)))
		return task_set_remote(NULL);
	if (!memchr_inv(req.span_id, 0, sizeof(req.span_id)))
		return -EINVAL;

	memset(&ctx, 0, sizeof(ctx));
	memcpy(ctx.trace_id, req.trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(ctx.span_id, req.span_id, OTEL_SPAN_ID_SIZE);
	ctx.trace_flags = req.trace_flags;
	return task_set_remote(&ctx);
}

static long context_get(void __user *arg)
{
	struct otel_span_context ctx;
	struct otel_context_req req;

	memset(&req, 0, sizeof(req));
	current_context(&ctx);
	memcpy(req.trace_id, ctx.trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(req.span_id, ctx.span_id, OTEL_SPAN_ID_SIZE);
	req.trace_flags = ctx.trace_flags;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

/**
 * otel_context_ioctl() - OTEL_IOC_SET_TASK_CONTEXT / GET_TASK_CONTEXT
 * @cmd:	the ioctl command
 * @arg:	user pointer to struct otel_context_req
 *
 * Both act on the calling thread, whichever device the call came through.
 *
 * Return: 0, -EFAULT, -EINVAL (reserved bytes set, or a zero span id with
 * a trace id), -ENOSPC (context table full, or all users together hold
 * context_remote_max remote contexts), -EDQUOT (the caller's uid
 * holds its limit of remote contexts) or -ENOTTY (other @cmd).
 */
long otel_context_ioctl(unsigned int cmd, void __user *arg)
{
	switch (cmd) {
	case OTEL_IOC_SET_TASK_CONTEXT:
		return context_set(arg);
	case OTEL_IOC_GET_TASK_CONTEXT:
		return context_get(arg);
	default:
		return -ENOTTY;
	}
}

/* sched_process_exit: do_exit() runs it in the exiting task itself. */
static void otel_task_exit_probe(void *data, struct task_struct *t)
{
	int idx;

	if (t != current)
		return;
	idx = otel_slot_find(t);
	if (idx < 0)
		return;
	if (static_branch_unlikely(&otel_debug_open_key))
		otel_debug_open_task_exit(idx);		/* debug_open.c */
	otel_bridge_syscall_task_exit(idx);		/* bridge_syscall.c */
	/* Ending that span may have given the slot back already. */
	if (READ_ONCE(otel_slot_key[idx]) == t)
		slot_release(idx);
}

/*
 * sched_process_free: the task is gone for good (an RCU callback), so it
 * cannot race with us for its slot; catches a slot claimed after the exit
 * hook ran.
 */
static void otel_task_free_probe(void *data, struct task_struct *t)
{
	int idx = otel_slot_find(t);

	if (idx >= 0)
		slot_release(idx);
}

/*
 * sched_process_fork: runs in the parent after copy_process() and before
 * wake_up_new_task(), so the child has not run and no one else knows it:
 * the parent fills the child's slot as its owner would (the scheduler's
 * wake-up orders these writes before the child's first instruction).  The
 * child inherits the remote context only, charged to its own uid (the
 * parent's at this point); past the per-user limit or with the table full
 * it simply starts without one, counted.  Kernel threads fork from
 * kthreadd, which has none; io_uring workers do not pass this tracepoint.
 */
static void otel_task_fork_probe(void *data, struct task_struct *parent,
				 struct task_struct *child)
{
	struct otel_task_slot *from, *to;
	kuid_t uid;
	int idx, cidx;

	if (parent != current)
		return;
	idx = otel_slot_find(parent);
	if (idx < 0 || !otel_slots[idx].has_remote)
		return;
	from = &otel_slots[idx];

	/*
	 * The free probe released the slot of the task_struct's last user:
	 * one found here cannot be the new child's, start it afresh.
	 */
	cidx = otel_slot_find(child);
	if (unlikely(cidx >= 0))
		slot_clear(cidx);
	else
		cidx = slot_claim(child);
	if (cidx < 0)
		goto lost;
	to = &otel_slots[cidx];
	if (!to->has_remote) {
		uid = current_uid();
		if (otel_remote_charge(uid)) {
			slot_release(cidx);
			goto lost;
		}
		to->remote_uid = uid;
	}
	to->remote = from->remote;
	to->has_remote = true;
	atomic_long_inc(&otel_ctx_inherited);
	return;
lost:
	atomic_long_inc(&otel_ctx_inherit_lost);
}

/*
 * sched_process_exec, in the task itself once the new program is loaded
 * (after de_thread(): a non-leader has the leader's start time now, and
 * keeps its slot, found by key): the syscall bridge follows the new start
 * time; a set-user-ID or otherwise privilege-raising exec (AT_SECURE)
 * starts without the context its unprivileged caller gave it.
 */
static void otel_task_exec_probe(void *data, struct task_struct *t,
				 pid_t old_pid, struct linux_binprm *bprm)
{
	int idx;

	if (t != current)
		return;
	idx = otel_slot_find(t);
	if (idx < 0)
		return;
	otel_bridge_syscall_task_exec(idx);		/* bridge_syscall.c */
	if (bprm->secureexec)
		slot_drop_remote(idx);
}

/**
 * otel_context_stats() - the context table's part of OTEL_IOC_SPAN_STATS
 * @out:	its context_used, context_inherited, context_inherit_lost
 */
void otel_context_stats(struct otel_span_stats *out)
{
	out->context_used = atomic_read(&otel_ctx_used);
	out->context_inherited = atomic_long_read(&otel_ctx_inherited);
	out->context_inherit_lost = atomic_long_read(&otel_ctx_inherit_lost);
}

/* The task lifecycle tracepoints the table hooks, in registration order. */
static struct otel_task_hook {
	const char		*name;
	void			*probe;
	struct tracepoint	*tp;
} otel_task_hooks[] = {
	{ "sched_process_exit", otel_task_exit_probe },
	{ "sched_process_free", otel_task_free_probe },
	{ "sched_process_fork", otel_task_fork_probe },
	{ "sched_process_exec", otel_task_exec_probe },
};

static void find_tp(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(otel_task_hooks); i++) {
		if (!strcmp(tp->name, otel_task_hooks[i].name))
			otel_task_hooks[i].tp = tp;
	}
}

static void unhook_tasks(unsigned int n)
{
	while (n--)
		tracepoint_probe_unregister(otel_task_hooks[n].tp,
					    otel_task_hooks[n].probe, NULL);
	tracepoint_synchronize_unregister();
}

static int hook_tasks(void)
{
	unsigned int i;
	int ret;

	for_each_kernel_tracepoint(find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(otel_task_hooks); i++) {
		if (!otel_task_hooks[i].tp) {
			pr_err("no %s tracepoint: cannot follow tasks\n",
			       otel_task_hooks[i].name);
			ret = -ENOENT;
			goto err;
		}
		ret = tracepoint_probe_register(otel_task_hooks[i].tp,
						otel_task_hooks[i].probe,
						NULL);
		if (ret)
			goto err;
	}
	return 0;
err:
	unhook_tasks(i);
	return ret;
}

/**
 * otel_context_init() - allocate the task table and hook the task
 * lifecycle (exit and free release slots, fork inherits, exec drops)
 *
 * Return: 0 or -EINVAL (context_slots), -ENOMEM, -ENOENT (a tracepoint
 * is missing) or the tracepoint registration error.
 */
int otel_context_init(void)
{
	int ret;

	if (context_slots < OTEL_CTX_SLOTS_MIN ||
	    context_slots > OTEL_CTX_SLOTS_MAX ||
	    !is_power_of_2(context_slots)) {
		pr_err("context_slots=%u: want a power of two in %lu..%lu\n",
		       context_slots, (unsigned long)OTEL_CTX_SLOTS_MIN,
		       (unsigned long)OTEL_CTX_SLOTS_MAX);
		return -EINVAL;
	}
	otel_ctx_bits = ilog2(context_slots);
	otel_ctx_mask = context_slots - 1;
	otel_slot_key = kvcalloc(context_slots, sizeof(*otel_slot_key),
				 GFP_KERNEL);
	if (!otel_slot_key)
		return -ENOMEM;
	otel_slots = kvcalloc(context_slots, sizeof(*otel_slots),
			      GFP_KERNEL);
	if (!otel_slots) {
		ret = -ENOMEM;
		goto err_slots;
	}
	/* Every slot may hold a charge: one quota entry per slot. */
	ret = otel_remote_init(context_slots);
	if (ret)
		goto err_remote;
	ret = hook_tasks();
	if (ret)
		goto err_hook;
	return 0;

err_hook:
	otel_remote_exit();
err_remote:
	kvfree(otel_slots);
err_slots:
	kvfree(otel_slot_key);
	return ret;
}

/**
 * otel_context_exit() - unhook the task lifecycle and free the table
 *
 * No span may be active: every module using the API is gone, and so is
 * the world-usable device (main.c removes it first).  Remote contexts
 * still set simply vanish with the table.
 */
void otel_context_exit(void)
{
	unhook_tasks(ARRAY_SIZE(otel_task_hooks));
	otel_remote_exit();
	kvfree(otel_slots);
	kvfree(otel_slot_key);
}
