/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The chains of current spans (context.c has the design): the part every
 * span begin and end runs, inline, so that a span makes as few calls as
 * possible (a call and its return are a good share of a span's cost, more
 * so under emulation); the rare paths stay in context.c.
 */
#ifndef _OTELTRACE_CONTEXT_H
#define _OTELTRACE_CONTEXT_H

#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/string.h>
#include <linux/uidgid.h>

#include "internal.h"
#include "oteltrace.h"

#define OTEL_CTX_WINDOW		8	/* keys per window: one cache line */
#define OTEL_CTX_IRQ_CELLS	3	/* softirq, hardirq, NMI chains */

/**
 * struct otel_task_slot - a task's entry in the context table
 * @stack:	its chain of current spans
 * @remote:	the W3C context user space set for it, or its parent had
 *		when it was created
 * @remote_uid:	the uid @remote is charged to (remote.c's per-user limit)
 * @has_remote:	@remote is set (and charged)
 */
struct otel_task_slot {
	struct otel_ctx_stack		stack;
	struct otel_span_context	remote;
	kuid_t				remote_uid;
	bool				has_remote;
};

extern unsigned int otel_ctx_bits;
extern u32 otel_ctx_mask;
extern struct task_struct **otel_slot_key;
extern struct otel_task_slot *otel_slots;
extern atomic_t otel_ctx_used;
DECLARE_PER_CPU(struct otel_ctx_stack, otel_irq_stacks[OTEL_CTX_IRQ_CELLS]);

int otel_slot_claim(struct task_struct *t);
void otel_slot_maybe_release(u32 idx);
void otel_context_pop_slow(struct otel_kspan *span);

/**
 * otel_context_index() - the execution context of the caller
 *
 * Return: enum otel_context.
 */
static __always_inline int otel_context_index(void)
{
	unsigned long pc = preempt_count();

	if (pc & NMI_MASK)
		return OTEL_CTX_NMI;
	if (pc & HARDIRQ_MASK)
		return OTEL_CTX_HARDIRQ;
	if (pc & SOFTIRQ_OFFSET)
		return OTEL_CTX_SOFTIRQ;
	return OTEL_CTX_TASK;
}

/*
 * A task's two windows: two independent multiplicative hashes of its
 * pointer ("two choices": a claim takes the emptier window, so a full
 * window pair is far rarer than one long cluster of linear probing).
 */
static __always_inline u32 otel_slot_window(struct task_struct *t, int which)
{
	u64 v = (unsigned long)t;

	if (!which)
		return hash_64(v, otel_ctx_bits);
	return (v * 0x9fb21c651e98df25ULL) >> (64 - otel_ctx_bits);
}

/*
 * The slot of @t, or -1; a lookup stops at its own key, never at a hole.
 * The key alone identifies the task: its slot is released when it exits
 * and again when it is freed (context.c), before its task_struct can be
 * reused.  Not its start time: a non-leader exec (de_thread()) changes it.
 */
static __always_inline int otel_slot_find(struct task_struct *t)
{
	unsigned int i, w;

	for (w = 0; w < 2; w++) {
		u32 win = otel_slot_window(t, w);

		for (i = 0; i < OTEL_CTX_WINDOW; i++) {
			u32 idx = (win + i) & otel_ctx_mask;

			if (READ_ONCE(otel_slot_key[idx]) == t)
				return idx;
		}
	}
	return -1;
}

/**
 * otel_context_stack() - the chain of current spans of this context
 * @ctx:	otel_context_index()
 * @claim:	task context: claim a slot if the task has none
 * @remote:	if not NULL, out: the task's remote context, or NULL if it
 *		has none (valid until the task changes it)
 * @slot:	if not NULL, out: 1 + the task slot, 0 for an interrupt chain
 *
 * Return: the chain, or NULL (no slot and @claim false, or table full).
 */
static __always_inline struct otel_ctx_stack *
otel_context_stack(int ctx, bool claim, const struct otel_span_context **remote,
		   u32 *slot)
{
	int idx;

	if (remote)
		*remote = NULL;
	if (slot)
		*slot = 0;
	if (ctx != OTEL_CTX_TASK)
		return this_cpu_ptr(&otel_irq_stacks[ctx - 1]);

	idx = otel_slot_find(current);
	if (idx < 0 && claim)
		idx = otel_slot_claim(current);
	if (idx < 0)
		return NULL;
	if (slot)
		*slot = idx + 1;
	if (remote && otel_slots[idx].has_remote)
		*remote = &otel_slots[idx].remote;
	return &otel_slots[idx].stack;
}

/*
 * Is this entry's span gone?  Ended from another context (odd generation),
 * or, counted as stale, its handle is the one being begun now (so its
 * memory is being reused) or lies on this task's stack below the stack
 * pointer (its frame returned).  The handle itself is never read.
 */
static __always_inline bool otel_entry_gone(const struct otel_ctx_entry *e,
					    const struct otel_kspan *self,
					    bool task)
{
	const void *p = e->span;

	if (READ_ONCE(e->gen) & 1)
		return true;
	if (p == self ||
	    (task && object_is_on_stack(p) &&
	     (unsigned long)p < current_stack_pointer)) {
		otel_misuse(OTEL_MISUSE_STALE_CURRENT, NULL);
		return true;
	}
	return false;
}

/**
 * otel_context_top() - the live current span of a chain
 * @st:		from otel_context_stack()
 * @self:	the handle about to be begun (its address cannot be a live
 *		parent), or NULL
 *
 * Drops the entries of spans that are gone from the top first.  @st must
 * be the calling context's own chain.
 *
 * Return: the top entry, or NULL if the chain is empty.
 */
static __always_inline const struct otel_ctx_entry *
otel_context_top(struct otel_ctx_stack *st, const struct otel_kspan *self)
{
	bool task = in_task();

	while (st->depth &&
	       otel_entry_gone(&st->e[st->depth - 1], self, task))
		st->depth--;
	return st->depth ? &st->e[st->depth - 1] : NULL;
}

/**
 * otel_context_push() - make @span its context's current span
 * @span:	an active span, its ids set
 * @st:		from otel_context_stack()
 * @slot:	its @slot output
 *
 * Return: false if the chain is full (the span is not current).
 */
static __always_inline bool otel_context_push(struct otel_kspan *span,
					      struct otel_ctx_stack *st,
					      u32 slot)
{
	struct otel_ctx_entry *e;

	if (unlikely(st->depth >= OTEL_CTX_DEPTH)) {
		otel_misuse(OTEL_MISUSE_DEPTH_FULL, span);
		return false;
	}
	st->gen += 2;
	e = &st->e[st->depth];
	e->span = span;
	e->trace_flags = span->trace_flags;
	memcpy(e->trace_id, span->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(e->span_id, span->span_id, OTEL_SPAN_ID_SIZE);
	WRITE_ONCE(e->gen, st->gen);
	if (static_branch_unlikely(&otel_debug_open_key) && slot)
		otel_debug_open_note(span, slot - 1, st->depth, st->gen);
	/* Interrupts only look at their own chains: no ordering needed. */
	st->depth++;
	span->ctx_stack = st;
	span->ctx_slot = slot;
	span->ctx_index = e - st->e;
	span->ctx_gen = st->gen;
	span->cookie |= OTEL_KSPAN_CURRENT;
	return true;
}

/**
 * otel_context_pop() - undo otel_context_push() when @span ends or leaves
 * @span:	a valid handle with OTEL_KSPAN_CURRENT
 *
 * The common case inline: @span is the top of its own task's chain (an
 * interrupt chain, anything out of order or foreign: the slow path).
 */
static __always_inline void otel_context_pop(struct otel_kspan *span)
{
	struct otel_ctx_stack *st = span->ctx_stack;
	u32 idx = span->ctx_slot - 1;

	span->cookie &= ~OTEL_KSPAN_CURRENT;
	if (span->ctx_slot && idx <= otel_ctx_mask &&
	    st == &otel_slots[idx].stack && in_task() &&
	    READ_ONCE(otel_slot_key[idx]) == current &&
	    span->ctx_index + 1 == st->depth &&
	    READ_ONCE(st->e[span->ctx_index].gen) == span->ctx_gen) {
		st->depth--;
		if (st->depth)
			otel_context_top(st, NULL);
		else if (atomic_read(&otel_ctx_used) > (otel_ctx_mask + 1) / 2)
			otel_slot_maybe_release(idx);
		return;
	}
	otel_context_pop_slow(span);
}

/**
 * otel_task_traced_slot() - does the current task carry a trace context?
 *
 * The bridges' filter (docs/bridges.md), on every system call of every
 * task while one is on: an untraced task costs one load when no task has
 * a slot, else the slot lookup (the key windows, one or two cache lines).
 * Task context only.
 *
 * Return: the task's slot if it has a remote context or a current span,
 * else -1.
 */
static __always_inline int otel_task_traced_slot(void)
{
	int idx;

	if (!atomic_read(&otel_ctx_used))
		return -1;
	idx = otel_slot_find(current);
	if (idx < 0 || (!otel_slots[idx].has_remote &&
			!otel_slots[idx].stack.depth))
		return -1;
	return idx;
}

/**
 * otel_task_slot() - the current task's slot, if it has one
 *
 * Return: the slot, or -1 (one load when no task has a slot).
 */
static __always_inline int otel_task_slot(void)
{
	if (!atomic_read(&otel_ctx_used))
		return -1;
	return otel_slot_find(current);
}

bool otel_context_capture(struct otel_span_context *ctx, bool *local);
void otel_context_abandon(struct otel_kspan *span);

#endif /* _OTELTRACE_CONTEXT_H */
