// SPDX-License-Identifier: GPL-2.0
/*
 * The "current span" of each execution context, for implicit nesting, and
 * the per-task remote context that user space sets with ioctl().
 *
 * Task context: a fixed table keyed by the task pointer, so task_struct is
 * untouched.  A task claims a slot with cmpxchg() on its key when it begins
 * a current span (or sets a remote context) and has none.  While the table
 * is at most half full it keeps the slot until it exits: claiming and
 * releasing around every outermost span cost twice the rest of an unsampled
 * span (measured under TCG).  Past half full, a task gives its slot back
 * when its outermost span ends, so occupancy stays bounded by the spans
 * actually open.  Only the owning task reads or writes a slot's data, so
 * the data needs no lock; the keys are shared and change only by cmpxchg()
 * (claim) and smp_store_release() (release).  A task's key lives in one of
 * two windows of 8 keys picked by two hashes; a lookup stops at its own key
 * (almost always the first) and never at a hole.  When both windows are
 * full the span is counted and becomes a root.
 *
 * Interrupt context: one cell per CPU for each of softirq, hardirq and NMI,
 * never mixed with the interrupted task's.  These contexts do not nest
 * within themselves, and a span made current there must end before the
 * handler returns.
 *
 * A task's slot is freed when it exits, from the sched_process_exit
 * tracepoint; the slot also records the task's start time, so a recycled
 * task_struct never inherits a stale slot.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "oteltrace.h"

#define OTEL_CTX_WINDOW		8	/* keys per window: one cache line */
#define OTEL_CTX_SLOTS_MIN	256
#define OTEL_CTX_SLOTS_MAX	BIT(20)
#define OTEL_CTX_UNLINK_MAX	16	/* out-of-order end: walk this deep */

/* Per-CPU cells of the interrupt contexts (enum otel_context - 1). */
#define OTEL_CTX_IRQ_CELLS	3

struct otel_task_slot {
	struct otel_kspan		*cur;
	u64				start_time;
	struct otel_span_context	remote;
	bool				has_remote;
};

static unsigned int context_slots = 4096;
module_param(context_slots, uint, 0444);
MODULE_PARM_DESC(context_slots,
		 "task context table size, a power of two (default 4096)");
static unsigned int otel_ctx_bits __read_mostly;
static u32 otel_ctx_mask __read_mostly;

/* Keys apart from the data: a lookup touches only the keys. */
static struct task_struct **otel_slot_key;
static struct otel_task_slot *otel_slots;
static DEFINE_PER_CPU(struct otel_kspan *, otel_irq_cur[OTEL_CTX_IRQ_CELLS]);

static atomic_t otel_ctx_used;		/* slots claimed */
static atomic_long_t otel_ctx_table_full;
static atomic_long_t otel_ctx_misnested;
static struct tracepoint *otel_exit_tp;

static notrace int otel_context_index(void)
{
	if (in_nmi())
		return OTEL_CTX_NMI;
	if (in_hardirq())
		return OTEL_CTX_HARDIRQ;
	if (in_serving_softirq())
		return OTEL_CTX_SOFTIRQ;
	return OTEL_CTX_TASK;
}

/*
 * A task's two windows: two independent multiplicative hashes of its
 * pointer ("two choices": a claim takes the emptier window, so a full
 * window pair is far rarer than one long cluster of linear probing).
 */
static notrace void slot_windows(struct task_struct *t, u32 *w)
{
	u64 v = (unsigned long)t;

	w[0] = hash_64(v, otel_ctx_bits);
	w[1] = (v * 0x9fb21c651e98df25ULL) >> (64 - otel_ctx_bits);
}

static notrace int slot_find(struct task_struct *t)
{
	unsigned int i, w;
	u32 win[2];

	slot_windows(t, win);
	for (w = 0; w < 2; w++) {
		for (i = 0; i < OTEL_CTX_WINDOW; i++) {
			u32 idx = (win[w] + i) & otel_ctx_mask;

			if (READ_ONCE(otel_slot_key[idx]) != t)
				continue;
			/* Left by a dead task whose task_struct we reuse. */
			if (otel_slots[idx].start_time != t->start_time) {
				memset(&otel_slots[idx], 0,
				       sizeof(otel_slots[idx]));
				otel_slots[idx].start_time = t->start_time;
			}
			return idx;
		}
	}
	return -1;
}

static notrace unsigned int window_free(u32 start)
{
	unsigned int i, n = 0;

	for (i = 0; i < OTEL_CTX_WINDOW; i++)
		n += !READ_ONCE(otel_slot_key[(start + i) & otel_ctx_mask]);
	return n;
}

static notrace int slot_claim(struct task_struct *t)
{
	unsigned int i, w, first;
	int idx = slot_find(t);
	u32 win[2];

	if (idx >= 0)
		return idx;
	slot_windows(t, win);
	first = window_free(win[1]) > window_free(win[0]);
	for (w = 0; w < 2; w++) {
		u32 start = win[first ^ w];

		for (i = 0; i < OTEL_CTX_WINDOW; i++) {
			idx = (start + i) & otel_ctx_mask;
			if (READ_ONCE(otel_slot_key[idx]) ||
			    cmpxchg(&otel_slot_key[idx], NULL, t))
				continue;
			/* cmpxchg() is a full barrier: the slot is ours. */
			memset(&otel_slots[idx], 0, sizeof(otel_slots[idx]));
			otel_slots[idx].start_time = t->start_time;
			atomic_inc(&otel_ctx_used);
			return idx;
		}
	}
	atomic_long_inc(&otel_ctx_table_full);
	return -1;
}

static notrace void slot_release(int idx)
{
	memset(&otel_slots[idx], 0, sizeof(otel_slots[idx]));
	atomic_dec(&otel_ctx_used);
	/* Pairs with the cmpxchg() of the next claimer. */
	smp_store_release(&otel_slot_key[idx], NULL);
}

static notrace bool cell_is_task(struct otel_kspan **cell)
{
	return cell >= &otel_slots[0].cur &&
	       cell <= &otel_slots[otel_ctx_mask].cur;
}

/**
 * otel_context_cell() - where this context keeps its current span
 * @claim:	task context: claim a slot if the task has none
 * @remote:	if not NULL, out: the task's remote context, or NULL if it
 *		has none (valid until the task changes it)
 *
 * Return: the cell, or NULL (no slot and @claim false, or table full).
 */
notrace struct otel_kspan **
otel_context_cell(bool claim, const struct otel_span_context **remote)
{
	int ctx = otel_context_index();
	int idx;

	if (remote)
		*remote = NULL;
	if (ctx != OTEL_CTX_TASK)
		return this_cpu_ptr(&otel_irq_cur[ctx - 1]);

	idx = claim ? slot_claim(current) : slot_find(current);
	if (idx < 0)
		return NULL;
	if (remote && otel_slots[idx].has_remote)
		*remote = &otel_slots[idx].remote;
	return &otel_slots[idx].cur;
}

/**
 * otel_context_push() - make @span its context's current span
 * @span:	an active span
 * @cell:	from otel_context_cell()
 */
notrace void otel_context_push(struct otel_kspan *span,
			       struct otel_kspan **cell)
{
	span->prev = READ_ONCE(*cell);
	span->cell = cell;
	span->state |= OTEL_KSPAN_CURRENT;
	/* Interrupts only look at their own cells: no ordering needed. */
	WRITE_ONCE(*cell, span);
}

/* A span ended out of order: unlink it from the chain of current spans. */
static notrace void context_unlink(struct otel_kspan *span)
{
	struct otel_kspan *n = READ_ONCE(*span->cell);
	unsigned int depth;

	atomic_long_inc(&otel_ctx_misnested);
	for (depth = 0; n && depth < OTEL_CTX_UNLINK_MAX; depth++) {
		if (n->prev == span) {
			n->prev = span->prev;
			return;
		}
		n = n->prev;
	}
}

/**
 * otel_context_pop() - undo otel_context_push() when @span ends or leaves
 * @span:	a span with OTEL_KSPAN_CURRENT
 */
notrace void otel_context_pop(struct otel_kspan *span)
{
	struct otel_kspan **cell = span->cell;
	struct otel_task_slot *slot;

	span->state &= ~OTEL_KSPAN_CURRENT;
	if (READ_ONCE(*cell) != span) {
		context_unlink(span);
		return;
	}
	WRITE_ONCE(*cell, span->prev);
	if (span->prev || !cell_is_task(cell) ||
	    atomic_read(&otel_ctx_used) <= (otel_ctx_mask + 1) / 2)
		return;

	/* Crowded table: the task's outermost span ended, give the slot back. */
	slot = container_of(cell, struct otel_task_slot, cur);
	if (!slot->has_remote && in_task() &&
	    READ_ONCE(otel_slot_key[slot - otel_slots]) == current)
		slot_release(slot - otel_slots);
}

/**
 * otel_kspan_current() - the current span of the calling context
 *
 * Return: the span begun (or entered) last and not yet ended in this task,
 * or in this CPU's current interrupt context; NULL if none.
 *
 * Context: any.
 */
notrace struct otel_kspan *otel_kspan_current(void)
{
	struct otel_kspan **cell;

	if (!static_branch_unlikely(&otel_tracing_key))
		return NULL;
	cell = otel_context_cell(false, NULL);
	return cell ? READ_ONCE(*cell) : NULL;
}
EXPORT_SYMBOL_GPL(otel_kspan_current);

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
	const struct otel_span_context *remote;
	struct otel_kspan **cell;

	memset(ctx, 0, sizeof(*ctx));
	if (!static_branch_unlikely(&otel_tracing_key))
		return false;
	cell = otel_context_cell(false, &remote);
	if (cell && READ_ONCE(*cell))
		return otel_kspan_get_context(READ_ONCE(*cell), ctx);
	if (!remote)
		return false;
	*ctx = *remote;
	return true;
}
EXPORT_SYMBOL_GPL(otel_current_context);

/**
 * otel_kspan_enter() - make a span current in this context for a while
 * @span:	an active span not current anywhere (begun with
 *		otel_kspan_begin_child() or otel_kspan_begin_remote())
 *
 * Spans begun with otel_kspan_begin() until otel_kspan_leave() become its
 * children.  Leave (or end it) in the same context.
 *
 * Context: any.
 */
notrace void otel_kspan_enter(struct otel_kspan *span)
{
	struct otel_kspan **cell;

	if (!(span->state & OTEL_KSPAN_ACTIVE) ||
	    (span->state & OTEL_KSPAN_CURRENT))
		return;
	cell = otel_context_cell(true, NULL);
	if (cell)
		otel_context_push(span, cell);
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
	if (span->state & OTEL_KSPAN_CURRENT)
		otel_context_pop(span);
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

static long context_set(void __user *arg)
{
	struct otel_context_req req;
	int idx;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;

	if (!memchr_inv(req.trace_id, 0, sizeof(req.trace_id))) {
		/* Clear: keep the slot only while a span is current. */
		idx = slot_find(current);
		if (idx < 0)
			return 0;
		otel_slots[idx].has_remote = false;
		memset(&otel_slots[idx].remote, 0,
		       sizeof(otel_slots[idx].remote));
		if (!otel_slots[idx].cur)
			slot_release(idx);
		return 0;
	}
	if (!memchr_inv(req.span_id, 0, sizeof(req.span_id)))
		return -EINVAL;

	idx = slot_claim(current);
	if (idx < 0)
		return -ENOSPC;
	memcpy(otel_slots[idx].remote.trace_id, req.trace_id,
	       OTEL_TRACE_ID_SIZE);
	memcpy(otel_slots[idx].remote.span_id, req.span_id, OTEL_SPAN_ID_SIZE);
	otel_slots[idx].remote.trace_flags = req.trace_flags;
	otel_slots[idx].has_remote = true;
	return 0;
}

static long context_get(void __user *arg)
{
	const struct otel_span_context *remote;
	struct otel_span_context ctx = { 0 };
	struct otel_context_req req;
	struct otel_kspan **cell;

	memset(&req, 0, sizeof(req));
	cell = otel_context_cell(false, &remote);
	if (cell && *cell)
		otel_kspan_get_context(*cell, &ctx);
	else if (remote)
		ctx = *remote;
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
 * Return: 0, -EFAULT, -EINVAL (reserved bytes set, or a zero span id with
 * a trace id), -ENOSPC (context table full) or -ENOTTY (other @cmd).
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

static void otel_task_exit_probe(void *data, struct task_struct *t)
{
	int idx;

	/* do_exit() runs this in the exiting task itself. */
	if (t != current)
		return;
	idx = slot_find(t);
	if (idx >= 0)
		slot_release(idx);
}

static void find_exit_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		*(struct tracepoint **)priv = tp;
}

/**
 * otel_context_init() - allocate the task table and hook task exit
 *
 * Return: 0 or -ENOMEM / the tracepoint registration error.
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

	for_each_kernel_tracepoint(find_exit_tp, &otel_exit_tp);
	if (otel_exit_tp) {
		ret = tracepoint_probe_register(otel_exit_tp,
						otel_task_exit_probe, NULL);
		if (ret)
			goto err_probe;
	} else {
		pr_warn("no sched_process_exit: exited tasks keep their slots\n");
	}
	return 0;

err_probe:
	kvfree(otel_slots);
err_slots:
	kvfree(otel_slot_key);
	return ret;
}

/**
 * otel_context_exit() - unhook task exit and free the table
 *
 * No span may be active: every module using the API is gone.
 */
void otel_context_exit(void)
{
	if (otel_exit_tp) {
		tracepoint_probe_unregister(otel_exit_tp, otel_task_exit_probe,
					    NULL);
		tracepoint_synchronize_unregister();
		otel_exit_tp = NULL;
	}
	if (atomic_long_read(&otel_ctx_table_full) ||
	    atomic_long_read(&otel_ctx_misnested))
		pr_info("context table full %ld times, %ld spans ended out of order\n",
			atomic_long_read(&otel_ctx_table_full),
			atomic_long_read(&otel_ctx_misnested));
	kvfree(otel_slots);
	kvfree(otel_slot_key);
}
