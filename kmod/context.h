/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The chains of current spans (context.c has the design): the part every
 * span begin and end runs, inline, so that a span makes as few calls as
 * possible (a call and its return are a good share of a span's cost, more
 * so under emulation); the rare paths stay in context.c.  The common case
 * takes few branches: tests are combined into one boolean where they can
 * be (under QEMU's TCG every branch ends a translation block, and a block
 * costs several times what its instructions do; docs/benchmarks.md).
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
#define OTEL_CTX_SLOTS_MIN	256
#define OTEL_CTX_SLOTS_MAX	BIT(20)
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
int otel_slot_lookup_slow(struct task_struct *t, bool claim);
void otel_slot_maybe_release(u32 idx);
void otel_context_pop_slow(struct otel_kspan *span);
const struct otel_ctx_entry *otel_context_top_slow(struct otel_ctx_stack *st,
						   const struct otel_kspan *self);
struct otel_ctx_stack *otel_ref_stack(u64 ref);

/*
 * struct otel_kspan.ctx_ref: where a current span's entry is, one word
 * (one store at push, one load at pop): the entry's generation, its
 * index, the context level (0: a task's chain) and the owner, a task slot
 * or, for an interrupt chain, the CPU.
 */
#define OTEL_REF_INDEX_SHIFT	32
#define OTEL_REF_LEVEL_SHIFT	36
#define OTEL_REF_OWNER_SHIFT	38

static __always_inline u64 otel_ref_make(u32 gen, u32 index, int level,
					 u32 owner)
{
	return gen | (u64)index << OTEL_REF_INDEX_SHIFT |
	       (u64)level << OTEL_REF_LEVEL_SHIFT |
	       (u64)owner << OTEL_REF_OWNER_SHIFT;
}

static __always_inline u32 otel_ref_index(u64 ref)
{
	return (ref >> OTEL_REF_INDEX_SHIFT) & 15;
}

static __always_inline int otel_ref_level(u64 ref)
{
	return (ref >> OTEL_REF_LEVEL_SHIFT) & 3;
}

static __always_inline u32 otel_ref_owner(u64 ref)
{
	return ref >> OTEL_REF_OWNER_SHIFT;
}

/**
 * otel_context_index() - the execution context of the caller
 *
 * Without a branch, as interrupt_context_level() (NMI implies hardirq).
 *
 * Return: enum otel_context.
 */
static __always_inline int otel_context_index(void)
{
	unsigned long pc = preempt_count();

	BUILD_BUG_ON(OTEL_CTX_TASK != 0 || OTEL_CTX_SOFTIRQ != 1 ||
		     OTEL_CTX_HARDIRQ != 2 || OTEL_CTX_NMI != 3);
	return !!(pc & NMI_MASK) + !!(pc & (NMI_MASK | HARDIRQ_MASK)) +
	       !!(pc & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET));
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

/*
 * The slot of @t if its key is the first of its first window (almost
 * always: see otel_slot_claim()), else -1: one load and one branch.
 */
static __always_inline int otel_slot_find_first(struct task_struct *t)
{
	u32 idx = otel_slot_window(t, 0);

	return likely(READ_ONCE(otel_slot_key[idx]) == t) ? (int)idx : -1;
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

	idx = otel_slot_find_first(current);
	if (unlikely(idx < 0)) {
		idx = otel_slot_lookup_slow(current, claim);
		if (idx < 0)
			return NULL;
	}
	if (slot)
		*slot = idx + 1;
	if (remote)
		*remote = otel_slots[idx].has_remote ?
			  &otel_slots[idx].remote : NULL;
	return &otel_slots[idx].stack;
}

/*
 * Is this entry's span still there?  Not if it was ended from another
 * context (odd generation), or, counted as stale by
 * otel_context_top_slow(), if its handle is the one being begun now (so its
 * memory is being reused) or lies on this task's stack below the stack
 * pointer (its frame returned): two compares against the stack's bounds.
 * The handle itself is never read.  One boolean, no branch.
 */
static __always_inline bool otel_entry_live(const struct otel_ctx_entry *e,
					    const struct otel_kspan *self,
					    bool task)
{
	unsigned long p = (unsigned long)e->span;
	unsigned long stack = (unsigned long)task_stack_page(current);

	return !otel_all_in_one((READ_ONCE(e->gen) & 1) |
				(p == (unsigned long)self) |
				(task & (p - stack < THREAD_SIZE) &
				 (p < current_stack_pointer)));
}

/**
 * otel_context_top() - the live current span of a chain
 * @st:		from otel_context_stack()
 * @self:	the handle about to be begun (its address cannot be a live
 *		parent), or NULL
 *
 * Drops the entries of spans that are gone from the top first (out of
 * line).  @st must be the calling context's own chain.
 *
 * Return: the top entry, or NULL if the chain is empty.
 */
static __always_inline const struct otel_ctx_entry *
otel_context_top(struct otel_ctx_stack *st, const struct otel_kspan *self)
{
	u32 depth = READ_ONCE(st->depth);
	const struct otel_ctx_entry *e;

	if (!depth)
		return NULL;
	e = &st->e[(depth - 1) & (OTEL_CTX_DEPTH - 1)];
	if (likely(otel_entry_live(e, self, in_task())))
		return e;
	return otel_context_top_slow(st, self);
}

/**
 * otel_context_push_at() - make @span its context's current span
 * @span:	an active span, its ids set
 * @st:		from otel_context_stack(), with room (depth below
 *		OTEL_CTX_DEPTH)
 * @slot:	its @slot output
 * @ctx:	the calling context (otel_context_index())
 *
 * The caller sets OTEL_KSPAN_CURRENT in the cookie.
 */
static __always_inline void otel_context_push_at(struct otel_kspan *span,
						 struct otel_ctx_stack *st,
						 u32 slot, int ctx)
{
	u32 depth = st->depth & (OTEL_CTX_DEPTH - 1), gen = st->gen + 2;
	struct otel_ctx_entry *e = &st->e[depth];

	BUILD_BUG_ON(!is_power_of_2(OTEL_CTX_DEPTH));
	st->gen = gen;
	e->span = span;
	memcpy(e->ctx.trace_id, span->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(e->ctx.span_id, span->span_id, OTEL_SPAN_ID_SIZE);
	e->ctx.trace_flags = span->trace_flags;
	WRITE_ONCE(e->gen, gen);
	if (static_branch_unlikely(&otel_debug_open_key) && slot)
		otel_debug_open_note(span, slot - 1, depth, gen);
	/* Interrupts only look at their own chains: no ordering needed. */
	st->depth = depth + 1;
	BUILD_BUG_ON(OTEL_CTX_DEPTH > 16 || CONFIG_NR_CPUS > (1 << 26) ||
		     OTEL_CTX_SLOTS_MAX > (1 << 26));
	span->ctx_ref = otel_ref_make(gen, depth, ctx,
				      slot ? slot - 1 : raw_smp_processor_id());
}

/**
 * otel_context_push() - make @span its context's current span
 * @span:	an active span, its ids set
 * @st:		from otel_context_stack()
 * @slot:	its @slot output
 * @ctx:	the calling context (otel_context_index())
 *
 * The caller sets OTEL_KSPAN_CURRENT in the cookie when this succeeds.
 *
 * Return: false if the chain is full (the span is not current).
 */
static __always_inline bool otel_context_push(struct otel_kspan *span,
					      struct otel_ctx_stack *st,
					      u32 slot, int ctx)
{
	if (unlikely(st->depth >= OTEL_CTX_DEPTH)) {
		otel_misuse(OTEL_MISUSE_DEPTH_FULL, span);
		return false;
	}
	otel_context_push_at(span, st, slot, ctx);
	return true;
}

/**
 * otel_context_pop() - undo otel_context_push() when @span ends or leaves
 * @span:	a valid handle that was current (the caller clears
 *		OTEL_KSPAN_CURRENT)
 *
 * The common case inline, its tests as one boolean: @span is the top of
 * its own task's chain (an interrupt chain, anything out of order or
 * foreign: the slow path).  Every load goes through an index masked into
 * the table, so a handle a driver scribbled on is only compared.
 */
static __always_inline void otel_context_pop(struct otel_kspan *span)
{
	u64 ref = span->ctx_ref;
	u32 idx = otel_ref_owner(ref), i = otel_ref_index(ref);
	u32 m = idx & otel_ctx_mask;
	struct otel_ctx_stack *st = &otel_slots[m].stack;
	bool task = in_task(), mine;

	mine = otel_all_in_one((idx == m) & (otel_ref_level(ref) == 0) & task &
			       (READ_ONCE(otel_slot_key[m]) == current) &
			       (i + 1 == st->depth) &
			       (READ_ONCE(st->e[i & (OTEL_CTX_DEPTH - 1)].gen) ==
				(u32)ref));
	if (unlikely(!mine)) {
		otel_context_pop_slow(span);
		return;
	}
	st->depth = i;
	if (unlikely(i))
		otel_context_top(st, NULL);
	else if (unlikely(atomic_read(&otel_ctx_used) > (otel_ctx_mask + 1) / 2))
		otel_slot_maybe_release(m);
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
