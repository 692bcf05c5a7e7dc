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
 * the writers (ring_write.h) read them.
 */
u64 otel_ring_bytes __read_mostly;
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
 * @new_head:	head after the reservation
 * @size:	ring size
 * @rec_pos:	where the new record starts
 *
 * Moves tail over whole records until [tail, new_head) fits.  Reserve made
 * sure new_head - producer_pos <= size, so the walk stops at or below
 * producer_pos: every record it steps over is complete.  (Interrupts can
 * write any amount while an outer writer on this CPU is between reserve
 * and commit; its record is above producer_pos and must not be walked.)
 */
notrace void otel_ring_overwrite(struct otel_ring *ring, u64 new_head,
				 u64 size, u64 rec_pos)
{
	struct otel_rec_hdr *old;
	u64 tail, next;
	u16 sz, type;

	for (;;) {
		tail = local64_read(&ring->tail);
		if (new_head - tail <= size)
			break;
		old = (struct otel_rec_hdr *)(ring->data + (tail & (size - 1)));
		sz = READ_ONCE(old->size);
		type = READ_ONCE(old->type);
		if (unlikely(sz < 8 || (sz & 7) || (tail & (size - 1)) + sz > size))
			next = rec_pos;	/* cannot happen: resynchronise */
		else
			next = tail + sz;
		if (local64_cmpxchg(&ring->tail, tail, next) == tail &&
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
u64 otel_ring_read_start(struct otel_ring *ring, u64 prod)
{
	u64 cons = READ_ONCE(ring->cons->consumer_pos);
	u64 tail;

	if (READ_ONCE(otel_ring_cur_mode) == OTEL_MODE_OVERWRITE) {
		tail = local64_read(&ring->tail);
		if (prod - cons > prod - tail || (cons & 7))
			cons = tail;
		return cons;
	}
	/* Records start 8-aligned: an unaligned header would cross the end. */
	if (prod - cons > READ_ONCE(otel_ring_bytes) || (cons & 7))
		return prod;
	return cons;
}

/*
 * Has some ring @min bytes or more waiting?  RCU protects the ring areas
 * against a concurrent resize.
 */
static bool ring_data_ready(u64 min)
{
	struct otel_ring *ring;
	bool ready = false;
	unsigned int cpu;
	u64 prod;

	rcu_read_lock();
	for_each_possible_cpu(cpu) {
		ring = otel_rings[cpu];
		/* Pairs with otel_ring_end_commit()'s release. */
		prod = smp_load_acquire(&ring->prod->producer_pos);
		if (prod - otel_ring_read_start(ring, prod) >= min) {
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

static void ring_unpause(void)
{
	if (!otel_snapshot_on)
		WRITE_ONCE(otel_ring_paused, false);
}

/* Empty a paused ring without moving positions backwards. */
static void ring_empty(struct otel_ring *ring)
{
	u64 head = local64_read(&ring->head);

	local64_set(&ring->tail, head);
	WRITE_ONCE(ring->prod->overwrite_tail, head);
	WRITE_ONCE(ring->prod->producer_pos, head);
	WRITE_ONCE(ring->cons->consumer_pos, head);
}

/*
 * A paused ring's records that no reader has had, counted in `discarded`
 * before a resize or a mode change throws them away: every record stays
 * written or counted (docs/ring.md, rule 8).  Walks from the read start to
 * producer_pos; a header that cannot be one (consumer_pos moved into a
 * record by user space) ends the walk.
 */
static void ring_count_discarded(struct otel_ring *ring)
{
	u64 size = otel_ring_bytes, prod, pos, off, n = 0;
	const struct otel_rec_hdr *rec;
	u16 sz;

	lockdep_assert_held(&otel_ring_mutex);
	prod = READ_ONCE(ring->prod->producer_pos);
	for (pos = otel_ring_read_start(ring, prod); pos != prod; pos += sz) {
		off = pos & (size - 1);
		rec = (const struct otel_rec_hdr *)(ring->data + off);
		sz = rec->size;
		if (sz < 8 || (sz & 7) || off + sz > size || prod - pos < sz)
			break;
		if (rec->type != OTEL_REC_PAD)
			n++;
	}
	local64_add(n, &ring->stat.discarded);
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
	local64_set(&ring->stat.discarded, 0);
	local64_set(&ring->stat.wakeups, 0);
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
		ring_empty(otel_rings[cpu]);
		ring_zero_stats(otel_rings[cpu]);
	}
	ring_unpause();
}

/**
 * otel_ring_set_mode() - switch between discard and overwrite mode
 * @mode:	enum otel_ring_mode
 *
 * A change empties the rings (the overwrite tail must start at a record);
 * the records no reader had are counted in `discarded`.
 * Context: process, otel_ring_mutex held.
 * Return: 0 or -EINVAL.
 */
int otel_ring_set_mode(u32 mode)
{
	unsigned int cpu;

	if (mode > OTEL_MODE_OVERWRITE)
		return -EINVAL;
	if (mode == otel_ring_cur_mode)
		return 0;
	ring_pause();
	for_each_possible_cpu(cpu)	/* read start of the old mode */
		ring_count_discarded(otel_rings[cpu]);
	WRITE_ONCE(otel_ring_cur_mode, mode);
	for_each_possible_cpu(cpu)
		ring_empty(otel_rings[cpu]);
	ring_unpause();
	return 0;
}

static void *ring_area_alloc(u64 size)
{
	return vmalloc_user(2 * PAGE_SIZE + size);
}

/* Point @ring at a fresh (zeroed) area. */
static void ring_area_set(struct otel_ring *ring, void *area,
			  unsigned int cpu, u64 size)
{
	ring->area = area;
	ring->cons = area;
	ring->prod = area + PAGE_SIZE;
	ring->data = area + 2 * PAGE_SIZE;
	local64_set(&ring->head, 0);
	local64_set(&ring->tail, 0);
	ring->prod->ring_size = size;
	ring->prod->cpu = cpu;
	ring->prod->online = cpu_online(cpu);
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
 * The records in the rings are lost, those no reader had counted in
 * `discarded`; the statistics stay.
 * Context: process, otel_ring_mutex held.
 * Return: 0, -EINVAL, -EBUSY while the rings are mapped, or -ENOMEM.
 */
int otel_ring_resize(u64 size)
{
	unsigned int cpu;
	void **areas;
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

	areas = kcalloc(nr_cpu_ids, sizeof(*areas), GFP_KERNEL);
	if (!areas) {
		ret = -ENOMEM;
		goto out;
	}
	for_each_possible_cpu(cpu) {
		areas[cpu] = ring_area_alloc(size);
		if (!areas[cpu]) {
			ret = -ENOMEM;
			goto out_free;
		}
	}

	cpus_read_lock();	/* against the online flag's callbacks */
	ring_pause();
	for_each_possible_cpu(cpu) {
		void *old = otel_rings[cpu]->area;

		ring_count_discarded(otel_rings[cpu]);
		ring_area_set(otel_rings[cpu], areas[cpu], cpu, size);
		areas[cpu] = old;	/* freed below */
	}
	WRITE_ONCE(otel_ring_bytes, size);
	ring_unpause();
	cpus_read_unlock();
	synchronize_rcu();	/* ring_data_ready() may still look at the old areas */

out_free:
	for_each_possible_cpu(cpu)
		vfree(areas[cpu]);
	kfree(areas);
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
		out->discarded += local64_read(&ring->stat.discarded);
		out->wakeups += local64_read(&ring->stat.wakeups);
	}
}

static int ring_cpu_online(unsigned int cpu)
{
	WRITE_ONCE(otel_rings[cpu]->prod->online, 1);
	return 0;
}

static int ring_cpu_offline(unsigned int cpu)
{
	WRITE_ONCE(otel_rings[cpu]->prod->online, 0);
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
		vfree(ring->area);
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
	struct otel_ring *ring;
	unsigned int cpu;
	void *area;
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
		area = ring_area_alloc(size);
		if (!area) {
			ret = -ENOMEM;
			goto err_free;
		}
		init_irq_work(&ring->wake_work, ring_wake_fn);
		ring_area_set(ring, area, cpu, size);
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
