// SPDX-License-Identifier: GPL-2.0
/*
 * The block bridge: one span per block request, from issue to completion,
 * named block.read, block.write, block.flush, block.discard or
 * block.other, with disk.io.direction, system.device, linux.block.sector
 * and linux.block.bytes, status ERROR and the error's name on failure.
 *
 * Its parent is the span that was current in the task that submitted the
 * I/O, although the request is issued (block:block_rq_issue) and completed
 * (block:block_rq_complete) in other contexts, often on other CPUs.  So
 * the submitter's context is captured while the bridge still runs in the
 * submitting task: block:block_getrq fires in blk_mq_submit_bio() for the
 * bio that becomes the head (rq->bio) of a new request.  The capture is a
 * copy of the ids (otel_context_capture()), kept in a fixed table keyed by
 * that bio's address; issue finds it again through rq->bio, begins the
 * span with the captured context as explicit parent, and completion, which
 * fires before the request's bios are ended (rq->bio unchanged), ends it.
 * A request with no bio (a flush the block layer makes) is keyed by its
 * own address, and only bridged in all mode.
 *
 * The table: BLK_ENTRIES entries, a key's entry within a window of
 * BLK_WINDOW from its hash.  Keys change only by cmpxchg() (claim) and
 * smp_store_release() (release); each entry's state says who owns its
 * data: BLK_BUSY its one writer, BLK_CAPTURED or BLK_ISSUED whoever moves
 * it on with a cmpxchg() of the state (and checks the key again: the
 * entry may have been recycled between the key's read and the cmpxchg).
 * A capture that is never issued (its bio merged into a request, or
 * failed) is recycled once it is BLK_STALE_NS old; a full window drops
 * the span, counted.  No lock, no allocation on any path.
 *
 * Bio memory is reused, so an address says little about whose I/O it is:
 * a submitter the bridge does not capture releases any capture left under
 * its bio's address, and issue takes a capture only if it is younger than
 * the request (rq->start_time_ns, stamped when the request was allocated,
 * before block_getrq fires; 0 unless I/O accounting, statistics or an I/O
 * scheduler need it: then younger than BLK_ISSUE_STALE_NS) and names the
 * request's first sector.  A capture failing that is released: in all mode
 * the request becomes a root.
 *
 * Limits: a front merge makes another bio the request's head, so its span
 * loses the captured parent (all mode: a root; traced: no span); a request
 * completed in parts ends at its first part.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <trace/events/block.h>

#include "bridge.h"
#include "ring_write.h"

#define BLK_ENTRIES_BITS	10
#define BLK_ENTRIES		BIT(BLK_ENTRIES_BITS)
#define BLK_WINDOW		8
#define BLK_STALE_NS		(10ULL * NSEC_PER_SEC)
#define BLK_ISSUE_STALE_NS	(2ULL * NSEC_PER_SEC)

enum blk_state {
	BLK_FREE,		/* key 0, or being claimed by its new owner */
	BLK_BUSY,		/* one context writes the entry */
	BLK_CAPTURED,		/* submitter's context kept, not issued */
	BLK_ISSUED,		/* span begun, waiting for completion */
};

/**
 * struct blk_entry - a request on its way through the block layer
 * @key:	its head bio's address, or the request's | 1; 0: free
 * @state:	enum blk_state
 * @has_parent:	@parent is valid
 * @local:	@parent is a kernel span's (not a remote context)
 * @time:	when the context was captured (CLOCK_MONOTONIC ns)
 * @sector:	the captured bio's first sector
 * @rq:		the request issued: identity only, never dereferenced
 * @parent:	the submitter's context
 * @span:	the request's span, from issue to completion
 */
struct blk_entry {
	unsigned long			key;
	atomic_t			state;
	bool				has_parent;
	bool				local;
	u64				time;
	sector_t			sector;
	const struct request		*rq;
	struct otel_span_context	parent;
	struct otel_kspan		span;
};

static struct blk_entry *blk_table;	/* BLK_ENTRIES while on, else NULL */
static atomic_t blk_used;		/* keys claimed: 0 skips every lookup */

static __always_inline unsigned long rq_key(const struct request *rq)
{
	return rq->bio ? (unsigned long)rq->bio : (unsigned long)rq | 1;
}

static __always_inline u32 blk_window(unsigned long key)
{
	return hash_long(key, BLK_ENTRIES_BITS);
}

static notrace struct blk_entry *blk_lookup(struct blk_entry *tab,
					    unsigned long key)
{
	u32 i, w = blk_window(key);

	for (i = 0; i < BLK_WINDOW; i++) {
		struct blk_entry *e = &tab[(w + i) & (BLK_ENTRIES - 1)];

		if (READ_ONCE(e->key) == key)
			return e;
	}
	return NULL;
}

/*
 * Take entry @e in state @from for writing; false if another context
 * moved it first, or it now holds another key.
 */
static notrace bool blk_take(struct blk_entry *e, unsigned long key, int from)
{
	if (atomic_cmpxchg(&e->state, from, BLK_BUSY) != from)
		return false;
	if (READ_ONCE(e->key) == key)
		return true;
	atomic_set(&e->state, from);	/* recycled under us: not ours */
	return false;
}

/* A free entry, or a stale capture, for @key: BLK_BUSY, or NULL if full. */
static notrace struct blk_entry *blk_claim(struct blk_entry *tab,
					   unsigned long key, u64 now)
{
	u32 i, w = blk_window(key);
	struct blk_entry *e;
	unsigned long old;

	for (i = 0; i < BLK_WINDOW; i++) {
		e = &tab[(w + i) & (BLK_ENTRIES - 1)];
		if (!READ_ONCE(e->key) && !cmpxchg(&e->key, 0, key)) {
			/* cmpxchg() is a full barrier: the entry is ours. */
			atomic_inc(&blk_used);
			atomic_set(&e->state, BLK_BUSY);
			return e;
		}
	}
	for (i = 0; i < BLK_WINDOW; i++) {
		e = &tab[(w + i) & (BLK_ENTRIES - 1)];
		old = READ_ONCE(e->key);
		if (!old || now - READ_ONCE(e->time) < BLK_STALE_NS ||
		    !blk_take(e, old, BLK_CAPTURED))
			continue;
		WRITE_ONCE(e->key, key);
		return e;
	}
	return NULL;
}

static notrace void blk_release(struct blk_entry *e)
{
	atomic_set(&e->state, BLK_FREE);
	atomic_dec(&blk_used);
	/* Pairs with the cmpxchg() of the next claimer. */
	smp_store_release(&e->key, 0);
}

/* block:block_getrq, in the submitting task: keep its context. */
static notrace void blk_getrq_probe(void *data, struct bio *bio)
{
	struct blk_entry *e, *tab = READ_ONCE(blk_table);
	struct otel_bridge *b = data;
	struct otel_span_context ctx;
	unsigned long key = (unsigned long)bio;
	bool has, local;

	if (!static_branch_unlikely(&otel_tracing_key) || !tab)
		return;
	if (READ_ONCE(b->mode) != OTEL_BRIDGE_ALL && in_task() &&
	    otel_task_traced_slot() < 0)
		goto forget;
	has = otel_context_capture(&ctx, &local);
	if (!has && READ_ONCE(b->mode) != OTEL_BRIDGE_ALL)
		goto forget;

	/* The same address again: a bio freed before its issue, reused. */
	e = blk_lookup(tab, key);
	if (!e || !blk_take(e, key, BLK_CAPTURED))
		e = blk_claim(tab, key, otel_clock_ns());
	if (!e) {
		otel_bridge_count_drop(b);
		return;
	}
	e->has_parent = has;
	e->local = local;
	e->parent = ctx;
	e->sector = bio->bi_iter.bi_sector;
	/* rq->start_time_ns's clock (not NMI-safe; this is no NMI). */
	e->time = ktime_get_ns();
	atomic_set_release(&e->state, BLK_CAPTURED);
	return;

forget:
	/* Not ours: a capture left under this address is not this bio's. */
	if (atomic_read(&blk_used)) {
		e = blk_lookup(tab, key);
		if (e && blk_take(e, key, BLK_CAPTURED))
			blk_release(e);
	}
}

/*
 * Is the capture in @e (taken) another bio's, left at the same address?
 * See the top comment.
 */
static notrace bool blk_capture_stale(const struct blk_entry *e,
				      const struct request *rq)
{
	u64 born = READ_ONCE(rq->start_time_ns);

	if (e->sector != blk_rq_pos(rq))
		return true;
	if (born)
		return e->time < born;
	return otel_clock_ns() - e->time > BLK_ISSUE_STALE_NS;
}

static notrace const char *blk_span_name(const struct request *rq, u16 *len)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		*len = sizeof("block.read") - 1;
		return "block.read";
	case REQ_OP_WRITE:
		*len = sizeof("block.write") - 1;
		return "block.write";
	case REQ_OP_FLUSH:
		*len = sizeof("block.flush") - 1;
		return "block.flush";
	case REQ_OP_DISCARD:
		*len = sizeof("block.discard") - 1;
		return "block.discard";
	default:
		*len = sizeof("block.other") - 1;
		return "block.other";
	}
}

/* block:block_rq_issue: the driver gets the request; any context. */
static notrace void blk_issue_probe(void *data, struct request *rq)
{
	struct blk_entry *e, *tab = READ_ONCE(blk_table);
	unsigned long key = rq_key(rq);
	struct otel_bridge *b = data;
	unsigned int flags = OTEL_BEGIN_EXPLICIT;
	const char *name;
	u16 len;

	if (!static_branch_unlikely(&otel_tracing_key) || !tab)
		return;
	e = atomic_read(&blk_used) ? blk_lookup(tab, key) : NULL;
	if (e) {
		/* Not captured: already issued (a requeue), or busy. */
		if (!blk_take(e, key, BLK_CAPTURED))
			return;
		if (unlikely(blk_capture_stale(e, rq))) {
			if (READ_ONCE(b->mode) != OTEL_BRIDGE_ALL) {
				blk_release(e);
				return;
			}
			e->has_parent = false;
			e->local = false;
			e->time = otel_clock_ns();
		}
	} else {
		if (READ_ONCE(b->mode) != OTEL_BRIDGE_ALL)
			return;
		e = blk_claim(tab, key, otel_clock_ns());
		if (!e) {
			otel_bridge_count_drop(b);
			return;
		}
		e->has_parent = false;
		e->local = false;
		e->time = otel_clock_ns();
	}

	if (e->local)
		flags |= OTEL_BEGIN_LOCAL;
	name = blk_span_name(rq, &len);
	otel_bridge_begin(b, &e->span, name, len,
			  e->has_parent ? &e->parent : NULL, flags);
	if (otel_kspan_is_recording(&e->span)) {
		if (req_op(rq) == REQ_OP_READ)
			otel_kspan_set_str(&e->span, "disk.io.direction", "read");
		else if (req_op(rq) == REQ_OP_WRITE)
			otel_kspan_set_str(&e->span, "disk.io.direction", "write");
		if (rq->q->disk)
			otel_kspan_set_str(&e->span, "system.device",
					   rq->q->disk->disk_name);
		otel_kspan_set_int(&e->span, "linux.block.sector",
				   blk_rq_pos(rq));
		otel_kspan_set_int(&e->span, "linux.block.bytes",
				   blk_rq_bytes(rq));
	}
	e->rq = rq;
	atomic_set_release(&e->state, BLK_ISSUED);
}

/* block:block_rq_complete: the device is done; usually an interrupt. */
static notrace void blk_complete_probe(void *data, struct request *rq,
				       blk_status_t error,
				       unsigned int nr_bytes)
{
	struct blk_entry *e, *tab = READ_ONCE(blk_table);
	unsigned long key;

	if (!tab || !atomic_read(&blk_used))
		return;
	key = rq_key(rq);
	e = blk_lookup(tab, key);
	if (!e || READ_ONCE(e->rq) != rq || !blk_take(e, key, BLK_ISSUED))
		return;
	if (error)
		otel_kspan_record_errno(&e->span, blk_status_to_errno(error));
	otel_kspan_end(&e->span);
	blk_release(e);
}

static int blk_enable(struct otel_bridge *b)
{
	struct blk_entry *tab;

	/* The probes' prototypes are the tracepoints' (checked, not called). */
	(void)sizeof(register_trace_block_getrq(blk_getrq_probe, NULL));
	(void)sizeof(register_trace_block_rq_issue(blk_issue_probe, NULL));
	(void)sizeof(register_trace_block_rq_complete(blk_complete_probe,
						      NULL));
	tab = kvcalloc(BLK_ENTRIES, sizeof(*tab), GFP_KERNEL);
	if (!tab)
		return -ENOMEM;
	atomic_set(&blk_used, 0);
	WRITE_ONCE(blk_table, tab);
	return 0;
}

/* No probe runs any more: drop what is still in flight, free the table. */
static void blk_disable(struct otel_bridge *b)
{
	struct blk_entry *tab = blk_table;
	u32 i;

	if (!tab)
		return;
	for (i = 0; i < BLK_ENTRIES; i++) {
		if (otel_kspan_abandon(&tab[i].span))
			otel_bridge_count_drop(b);
	}
	WRITE_ONCE(blk_table, NULL);
	kvfree(tab);
}

static struct otel_bridge_tp blk_tps[] = {
	{ .name = "block_getrq", .probe = blk_getrq_probe },
	{ .name = "block_rq_issue", .probe = blk_issue_probe },
	{ .name = "block_rq_complete", .probe = blk_complete_probe },
	{ }
};

struct otel_bridge otel_bridge_block = {
	.name		= "block",
	.modes		= BIT(OTEL_BRIDGE_OFF) | BIT(OTEL_BRIDGE_TRACED) |
			  BIT(OTEL_BRIDGE_ALL),
	.tps		= blk_tps,
	.enable		= blk_enable,
	.disable	= blk_disable,
};
