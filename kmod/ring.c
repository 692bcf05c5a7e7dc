// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU record rings: reserve and commit for writers in any context, and
 * the control operations behind /dev/oteltrace (size, mode, pause for a
 * snapshot, clear, statistics).
 *
 * The rules, invariants and memory-ordering pairings are in docs/ring.md;
 * the short version:
 *  - only the ring's own CPU writes head, tail, the records and the
 *    producer page, with preemption disabled; nested writers (softirq,
 *    hardirq, NMI) interrupt an outer one and finish before it resumes, so
 *    local (non-LOCKed) cmpxchg is enough;
 *  - the outermost writer of a nest publishes producer_pos, and only when
 *    every record below it is written (ftrace's "committing" counter);
 *  - consumer_pos is user-writable: it can only cause drops, every access
 *    is masked into the data area and no record crosses its end.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/timer.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "ring.h"
#include "ring_write.h"

static unsigned int ring_size_kb = 256;
module_param(ring_size_kb, uint, 0444);
MODULE_PARM_DESC(ring_size_kb,
		 "data area of each CPU's ring in KiB, a power of two from 16 to 65536 (default 256)");

static unsigned int ring_mode = OTEL_MODE_DISCARD;
module_param(ring_mode, uint, 0444);
MODULE_PARM_DESC(ring_mode,
		 "0: drop new records when a ring is full (default), 1: overwrite the oldest");

/* A reader that missed a wakeup (see otel_ring_reader_waiting()) waits this long at most. */
#define OTEL_WAKE_SLACK		(HZ / 10)

struct otel_ring **otel_rings;
/* Serialises read(), resize, mode, snapshot, clear. */
DEFINE_MUTEX(otel_ring_mutex);
DECLARE_WAIT_QUEUE_HEAD(otel_ring_wq);

/*
 * Changed only under otel_ring_mutex, with writers paused (except wakeup);
 * the writers (ring_write.h) read them.  otel_ring_bytes is every ring's
 * size for the control side (the writers read their ring's own).
 */
static u64 otel_ring_bytes;
u32 otel_ring_cur_mode __read_mostly;
u32 otel_ring_wakeup;
bool otel_ring_paused;		/* writers drop (dropped_disabled) */
static bool otel_snapshot_on;
bool otel_ring_reader_wait;		/* a reader sleeps: commits queue wake_work */

/* Mappings of the rings: a resize needs none. */
static DEFINE_SPINLOCK(otel_map_lock);
static unsigned int otel_nr_maps;
static bool otel_resizing;

static enum cpuhp_state otel_cpuhp_state;
static struct timer_list otel_wake_timer;

/**
 * otel_ring_overwrite() - overwrite mode: make room by dropping the oldest
 * @ring:	this CPU's ring
 * @b:		its memory, as the writer loaded it
 * @new_head:	head after the reservation
 * @rec_pos:	where the new record starts
 *
 * Moves tail over whole records until [tail, new_head) fits.  Reserve made
 * sure new_head - producer_pos <= size, so the walk stops at or below
 * producer_pos: every record it steps over is complete.  (Interrupts can
 * write any amount while an outer writer on this CPU is between reserve
 * and commit; its record is above producer_pos and must not be walked.)
 */
notrace void otel_ring_overwrite(struct otel_ring *ring, struct otel_ring_buf *b,
				 u64 new_head, u64 rec_pos)
{
	const u64 size = b->size;
	struct otel_rec_hdr *old;
	u64 tail, next;
	u16 sz, type;

	for (;;) {
		tail = local64_read(&b->tail);
		if (new_head - tail <= size)
			break;
		old = (struct otel_rec_hdr *)(b->data + (tail & (size - 1)));
		sz = READ_ONCE(old->size);
		type = READ_ONCE(old->type);
		if (unlikely(sz < 8 || (sz & 7) || (tail & (size - 1)) + sz > size))
			next = rec_pos;	/* cannot happen: resynchronise */
		else
			next = tail + sz;
		if (local64_cmpxchg(&b->tail, tail, next) == tail &&
		    type != OTEL_REC_PAD)
			local64_inc(&ring->stat.overwritten);
	}
	/* Tail moves before the freed bytes change: pairs with read()'s smp_rmb(). */
	smp_wmb();
}

/**
 * otel_ring_reserve() - reserve a record in this CPU's ring
 * @type:	enum otel_rec_type
 * @size:	bytes of the record, header included; rounded up to 8
 *
 * The out-of-line form of __otel_ring_reserve() (ring_write.h), for the
 * ring's test module and the benchmark.
 *
 * Context: any, NMI included.  Lock-free, never sleeps.
 * Return: the record, or NULL when it was dropped (and counted).
 */
notrace struct otel_rec_hdr *otel_ring_reserve(u16 type, u32 size)
{
	return __otel_ring_reserve(type, size);
}
EXPORT_SYMBOL_GPL(otel_ring_reserve);

/**
 * otel_ring_commit() - publish a record from otel_ring_reserve()
 * @rec:	the record, completely written
 *
 * Context: the context that reserved @rec, on the same CPU.
 */
notrace void otel_ring_commit(struct otel_rec_hdr *rec)
{
	__otel_ring_commit(rec);
}
EXPORT_SYMBOL_GPL(otel_ring_commit);

/* --- reader side and control, process context --- */

static bool ring_data_ready(u64 min);

static void ring_wake_fn(struct irq_work *work)
{
	WRITE_ONCE(otel_ring_reader_wait, false);
	wake_up_interruptible_all(&otel_ring_wq);
}

/*
 * Writers test otel_ring_reader_wait without a barrier (that would be a LOCKed
 * instruction per record), so a reader going to sleep just as a writer
 * publishes can miss its wakeup: this timer bounds that to OTEL_WAKE_SLACK.
 */
static void ring_wake_timer_fn(struct timer_list *t)
{
	u32 wb = READ_ONCE(otel_ring_wakeup);

	if (!wq_has_sleeper(&otel_ring_wq))
		return;
	if (ring_data_ready(wb ? wb : 1))
		wake_up_interruptible_all(&otel_ring_wq);
	mod_timer(&otel_wake_timer, jiffies + OTEL_WAKE_SLACK);
}

/* A reader is about to check for data and sleep if there is none. */
void otel_ring_reader_waiting(void)
{
	WRITE_ONCE(otel_ring_reader_wait, true);
	smp_mb();	/* flag before the reader's data check */
	if (!timer_pending(&otel_wake_timer))
		mod_timer(&otel_wake_timer, jiffies + OTEL_WAKE_SLACK);
}

u64 otel_ring_size(void)
{
	return READ_ONCE(otel_ring_bytes);
}

u64 otel_ring_stride(void)
{
	return READ_ONCE(otel_ring_bytes) + 2 * PAGE_SIZE;
}

u32 otel_ring_mode(void)
{
	return READ_ONCE(otel_ring_cur_mode);
}

u32 otel_ring_wakeup_bytes(void)
{
	return READ_ONCE(otel_ring_wakeup);
}

void otel_ring_set_wakeup_bytes(u32 bytes)
{
	WRITE_ONCE(otel_ring_wakeup, bytes);
}

/*
 * First position a reader should read: consumer_pos if it is sane.  In
 * overwrite mode never before the oldest record kept; in discard mode a
 * consumer_pos outside [prod - size, prod] or not 8-aligned is garbage from
 * user space and the reader resynchronises at prod.
 */
u64 otel_ring_read_start(struct otel_ring_buf *b, u64 prod)
{
	u64 cons = READ_ONCE(b->cons->consumer_pos);
	u64 tail;

	if (READ_ONCE(otel_ring_cur_mode) == OTEL_MODE_OVERWRITE) {
		tail = local64_read(&b->tail);
		if (prod - cons > prod - tail || (cons & 7))
			cons = tail;
		return cons;
	}
	/* Records start 8-aligned: an unaligned header would cross the end. */
	if (prod - cons > b->size || (cons & 7))
		return prod;
	return cons;
}

/*
 * Has some ring @min bytes or more waiting?  RCU protects the ring areas
 * against a concurrent resize (which publishes a new one with
 * rcu_assign_pointer() and waits a grace period before freeing the old).
 */
static bool ring_data_ready(u64 min)
{
	struct otel_ring_buf *b;
	bool ready = false;
	unsigned int cpu;
	u64 prod;

	rcu_read_lock();
	for_each_possible_cpu(cpu) {
		b = rcu_dereference(otel_rings[cpu]->buf);
		/* Pairs with otel_ring_end_commit()'s release. */
		prod = smp_load_acquire(&b->prod->producer_pos);
		if (prod - otel_ring_read_start(b, prod) >= min) {
			ready = true;
			break;
		}
	}
	rcu_read_unlock();
	return ready;
}

/**
 * otel_ring_has_data() - is a record waiting in any ring?
 *
 * Return: true if some ring has published records past its read start.
 */
bool otel_ring_has_data(void)
{
	return ring_data_ready(1);
}

/* Writers drop from now on; wait out those in flight (preempt-disabled). */
static void ring_pause(void)
{
	lockdep_assert_held(&otel_ring_mutex);
	WRITE_ONCE(otel_ring_paused, true);
	synchronize_rcu();
}

/*
 * Let the writers in again (unless a snapshot holds them).  They test
 * otel_ring_paused with a plain load and no barrier, then read what the
 * control side changed while they were out (a new struct otel_ring_buf,
 * positions, the mode).  The grace period orders that for them: a writer
 * whose preempt-disabled section reads the store below began after this
 * grace period began, so it sees every store made before it (RCU's
 * grace-period guarantee), on any CPU however weakly ordered, at no cost
 * on the hot path.  It also ends every reader that could still hold an
 * area a resize replaced.
 */
static void ring_unpause(void)
{
	lockdep_assert_held(&otel_ring_mutex);
	synchronize_rcu();
	if (!otel_snapshot_on)
		WRITE_ONCE(otel_ring_paused, false);
}

/* Empty a paused ring without moving positions backwards. */
static void ring_empty(struct otel_ring_buf *b)
{
	u64 head = local64_read(&b->head);

	local64_set(&b->tail, head);
	WRITE_ONCE(b->prod->overwrite_tail, head);
	WRITE_ONCE(b->prod->producer_pos, head);
	WRITE_ONCE(b->cons->consumer_pos, head);
}

/*
 * Count, as discarded, the records of a paused ring that no reader has read
 * (from where read() would start to producer_pos): a resize or a mode
 * change is about to throw them away.
 */
static void ring_discard(struct otel_ring *ring, struct otel_ring_buf *b)
{
	u64 prod = READ_ONCE(b->prod->producer_pos), n = 0, off, pos;
	const struct otel_rec_hdr *rec;
	u16 sz;

	for (pos = otel_ring_read_start(b, prod); prod - pos >= 8; pos += sz) {
		off = pos & (b->size - 1);
		rec = (const struct otel_rec_hdr *)(b->data + off);
		sz = READ_ONCE(rec->size);
		if (sz < 8 || (sz & 7) || off + sz > b->size || prod - pos < sz)
			break;	/* cannot happen: every record is complete */
		if (READ_ONCE(rec->type) != OTEL_REC_PAD)
			n++;
	}
	atomic64_add(n, &ring->discarded);
}

static void ring_zero_stats(struct otel_ring *ring)
{
	local64_set(&ring->stat.records, 0);
	local64_set(&ring->stat.bytes, 0);
	local64_set(&ring->stat.dropped_full, 0);
	local64_set(&ring->stat.dropped_too_big, 0);
	local64_set(&ring->stat.dropped_nested, 0);
	local64_set(&ring->stat.dropped_disabled, 0);
	local64_set(&ring->stat.overwritten, 0);
	local64_set(&ring->stat.wakeups, 0);
	atomic64_set(&ring->discarded, 0);
}

/**
 * otel_ring_snapshot() - stop writing so the rings can be read consistently
 *
 * Records written until otel_ring_resume() are dropped (dropped_disabled).
 * Context: process, otel_ring_mutex held.
 */
void otel_ring_snapshot(void)
{
	otel_snapshot_on = true;
	ring_pause();
}

/**
 * otel_ring_resume() - undo otel_ring_snapshot()
 * Context: process, otel_ring_mutex held.
 */
void otel_ring_resume(void)
{
	lockdep_assert_held(&otel_ring_mutex);
	otel_snapshot_on = false;
	ring_unpause();
}

/**
 * otel_ring_clear() - discard every record and zero the statistics
 * Context: process, otel_ring_mutex held.
 */
void otel_ring_clear(void)
{
	unsigned int cpu;

	ring_pause();
	for_each_possible_cpu(cpu) {
		ring_empty(otel_ring_buf_locked(otel_rings[cpu]));
		ring_zero_stats(otel_rings[cpu]);
	}
	ring_unpause();
}

/**
 * otel_ring_set_mode() - switch between discard and overwrite mode
 * @mode:	enum otel_ring_mode
 *
 * A change empties the rings (the overwrite tail must start at a record);
 * the records no reader had read are counted as discarded.
 * Context: process, otel_ring_mutex held.
 * Return: 0 or -EINVAL.
 */
int otel_ring_set_mode(u32 mode)
{
	struct otel_ring_buf *b;
	unsigned int cpu;

	if (mode > OTEL_MODE_OVERWRITE)
		return -EINVAL;
	if (mode == otel_ring_cur_mode)
		return 0;
	ring_pause();
	for_each_possible_cpu(cpu) {
		b = otel_ring_buf_locked(otel_rings[cpu]);
		ring_discard(otel_rings[cpu], b);
		ring_empty(b);
	}
	WRITE_ONCE(otel_ring_cur_mode, mode);
	ring_unpause();
	return 0;
}

/* A ring's memory of @size data bytes, zeroed: NULL if out of memory. */
static struct otel_ring_buf *ring_buf_alloc(unsigned int cpu, u64 size)
{
	struct otel_ring_buf *b;

	b = kzalloc_node(sizeof(*b), GFP_KERNEL, cpu_to_node(cpu));
	if (!b)
		return NULL;
	b->area = vmalloc_user(2 * PAGE_SIZE + size);
	if (!b->area) {
		kfree(b);
		return NULL;
	}
	b->cons = b->area;
	b->prod = b->area + PAGE_SIZE;
	b->data = b->area + 2 * PAGE_SIZE;
	b->size = size;
	local64_set(&b->head, 0);
	local64_set(&b->tail, 0);
	b->prod->ring_size = size;
	b->prod->cpu = cpu;
	return b;
}

static void ring_buf_free(struct otel_ring_buf *b)
{
	if (!b)
		return;
	vfree(b->area);
	kfree(b);
}

static bool ring_size_valid(u64 size)
{
	return is_power_of_2(size) && size >= OTEL_RING_MIN_SIZE &&
	       size <= OTEL_RING_MAX_SIZE && size >= PAGE_SIZE;
}

/**
 * otel_ring_resize() - reallocate every ring with a new data size
 * @size:	bytes, a power of two in [OTEL_RING_MIN_SIZE, OTEL_RING_MAX_SIZE]
 *
 * The records no reader had read are lost, counted as discarded; the
 * statistics stay.  The new memory is published with rcu_assign_pointer()
 * while the writers are paused; ring_unpause()'s grace period makes a
 * writer that runs again see it (docs/ring.md, "Resize").
 * Context: process, otel_ring_mutex held.
 * Return: 0, -EINVAL, -EBUSY while the rings are mapped, or -ENOMEM.
 */
int otel_ring_resize(u64 size)
{
	struct otel_ring_buf **bufs, *old;
	struct otel_ring *ring;
	unsigned int cpu;
	int ret = 0;

	if (!ring_size_valid(size))
		return -EINVAL;
	if (size == otel_ring_bytes)
		return 0;
	spin_lock(&otel_map_lock);
	if (otel_nr_maps)
		ret = -EBUSY;
	else
		otel_resizing = true;
	spin_unlock(&otel_map_lock);
	if (ret)
		return ret;

	bufs = kcalloc(nr_cpu_ids, sizeof(*bufs), GFP_KERNEL);
	if (!bufs) {
		ret = -ENOMEM;
		goto out;
	}
	for_each_possible_cpu(cpu) {
		bufs[cpu] = ring_buf_alloc(cpu, size);
		if (!bufs[cpu]) {
			ret = -ENOMEM;
			goto out_free;
		}
	}

	cpus_read_lock();	/* against the online flag's callbacks */
	ring_pause();
	for_each_possible_cpu(cpu) {
		ring = otel_rings[cpu];
		old = otel_ring_buf_locked(ring);
		ring_discard(ring, old);
		bufs[cpu]->prod->online = cpu_online(cpu);
		rcu_assign_pointer(ring->buf, bufs[cpu]);
		bufs[cpu] = old;	/* freed below */
	}
	WRITE_ONCE(otel_ring_bytes, size);
	ring_unpause();		/* its grace period ends every user of the old */
	cpus_read_unlock();

out_free:
	for_each_possible_cpu(cpu)
		ring_buf_free(bufs[cpu]);
	kfree(bufs);
out:
	spin_lock(&otel_map_lock);
	otel_resizing = false;
	spin_unlock(&otel_map_lock);
	return ret;
}

/**
 * otel_ring_map_get() - count a mapping of the rings (mmap, vma open)
 * Return: 0, or -EBUSY while a resize is in progress.
 */
int otel_ring_map_get(void)
{
	int ret = 0;

	spin_lock(&otel_map_lock);
	if (otel_resizing)
		ret = -EBUSY;
	else
		otel_nr_maps++;
	spin_unlock(&otel_map_lock);
	return ret;
}

/* A mapping of the rings is gone (vma close). */
void otel_ring_map_put(void)
{
	spin_lock(&otel_map_lock);
	otel_nr_maps--;
	spin_unlock(&otel_map_lock);
}

/**
 * otel_ring_map_page() - a page of a ring, for mmap()
 * @cpu:	the ring's CPU (possible)
 * @pgoff:	page in the ring's area: 0 consumer, 1 producer, then data
 *
 * Context: process, holding a mapping count (otel_ring_map_get()), so no
 * resize can replace the area meanwhile.
 * Return: the page.
 */
struct page *otel_ring_map_page(unsigned int cpu, unsigned long pgoff)
{
	struct otel_ring_buf *b;

	b = rcu_dereference_protected(otel_rings[cpu]->buf,
				      READ_ONCE(otel_nr_maps));
	return vmalloc_to_page(b->area + pgoff * PAGE_SIZE);
}

/**
 * otel_ring_stats() - read the counters of a ring, or their sums
 * @cpu:	a possible CPU, or OTEL_STATS_ALL_CPUS
 * @out:	filled (reserved fields zero)
 */
void otel_ring_stats(unsigned int cpu, struct otel_cpu_stats *out)
{
	unsigned int c;

	memset(out, 0, sizeof(*out));
	for_each_possible_cpu(c) {
		struct otel_ring *ring = otel_rings[c];

		if (cpu != OTEL_STATS_ALL_CPUS && cpu != c)
			continue;
		out->records += local64_read(&ring->stat.records);
		out->bytes += local64_read(&ring->stat.bytes);
		out->dropped_full += local64_read(&ring->stat.dropped_full);
		out->dropped_too_big += local64_read(&ring->stat.dropped_too_big);
		out->dropped_nested += local64_read(&ring->stat.dropped_nested);
		out->dropped_disabled += local64_read(&ring->stat.dropped_disabled);
		out->overwritten += local64_read(&ring->stat.overwritten);
		out->wakeups += local64_read(&ring->stat.wakeups);
		out->discarded += atomic64_read(&ring->discarded);
	}
}

/* The producer page's online flag (a resize holds the hotplug lock). */
static void ring_set_online(unsigned int cpu, u32 online)
{
	struct otel_ring_buf *b;

	rcu_read_lock();
	b = rcu_dereference(otel_rings[cpu]->buf);
	WRITE_ONCE(b->prod->online, online);
	rcu_read_unlock();
}

static int ring_cpu_online(unsigned int cpu)
{
	ring_set_online(cpu, 1);
	return 0;
}

static int ring_cpu_offline(unsigned int cpu)
{
	ring_set_online(cpu, 0);
	return 0;
}

static void ring_free_all(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct otel_ring *ring = otel_rings[cpu];

		if (!ring)
			continue;
		irq_work_sync(&ring->wake_work);
		/* No writer, reader or mapping is left. */
		ring_buf_free(rcu_dereference_protected(ring->buf, true));
		kfree(ring);
	}
	kfree(otel_rings);
	otel_rings = NULL;
}

/**
 * otel_ring_init() - allocate a ring for every possible CPU
 * Return: 0 or a negative errno.
 */
int otel_ring_init(void)
{
	u64 size = (u64)ring_size_kb << 10;
	struct otel_ring_buf *b;
	struct otel_ring *ring;
	unsigned int cpu;
	int ret;

	if (!ring_size_valid(size) || ring_mode > OTEL_MODE_OVERWRITE) {
		pr_err("bad ring_size_kb=%u or ring_mode=%u\n", ring_size_kb,
		       ring_mode);
		return -EINVAL;
	}
	otel_ring_bytes = size;
	otel_ring_cur_mode = ring_mode;
	otel_rings = kcalloc(nr_cpu_ids, sizeof(*otel_rings), GFP_KERNEL);
	if (!otel_rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		ring = kzalloc_node(sizeof(*ring), GFP_KERNEL, cpu_to_node(cpu));
		if (!ring) {
			ret = -ENOMEM;
			goto err_free;
		}
		otel_rings[cpu] = ring;
		init_irq_work(&ring->wake_work, ring_wake_fn);
		b = ring_buf_alloc(cpu, size);
		if (!b) {
			ret = -ENOMEM;
			goto err_free;
		}
		b->prod->online = cpu_online(cpu);
		RCU_INIT_POINTER(ring->buf, b);
	}
	timer_setup(&otel_wake_timer, ring_wake_timer_fn, 0);

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "oteltrace/ring:online",
				ring_cpu_online, ring_cpu_offline);
	if (ret < 0)
		goto err_free;
	otel_cpuhp_state = ret;
	return 0;

err_free:
	ring_free_all();
	return ret;
}

/**
 * otel_ring_exit() - free the rings; no writer or reader is left
 */
void otel_ring_exit(void)
{
	cpuhp_remove_state(otel_cpuhp_state);
	timer_delete_sync(&otel_wake_timer);
	ring_free_all();
}
