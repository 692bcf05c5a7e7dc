// SPDX-License-Identifier: GPL-2.0
/*
 * Record decoding and span assembly (ABI 2, docs/span-records.md).
 *
 * A span ends with one SPAN record holding everything about it.  When its
 * nr_records is 0 (the common case) the record is the whole span: it is
 * decoded straight into one block holding the struct span, its attributes
 * and its strings (pool.c keeps such blocks for reuse), and handed on, with
 * no table and no timer.  Otherwise the span also wrote EVENT, LINK, ATTR or
 * SPAN_BEGIN records, which may sit in other CPUs' rings and so arrive in
 * any order, before or after the SPAN.  Those spans live in a hash table
 * keyed by span id (bounded: when it is full the oldest open span is
 * exported as it is) and on an age list, oldest first.  A span is complete
 * once its SPAN record is in and the other records counted so far reach its
 * nr_records.  Otherwise it is exported marked oteltrace.incomplete=true
 * when its SPAN came more than the grace period ago, when it has been open
 * longer than the span timeout, or when the relay stops.  The ids of spans
 * exported with records missing are remembered for a while, so that a record
 * of theirs arriving later is counted (records_late) and dropped instead of
 * opening a span that would never complete.
 *
 * Nothing read from the kernel or a capture is trusted: every length, offset
 * and attribute entry is checked against the record before anything is
 * taken from it, and a record that fails is counted (records_corrupt) and
 * skipped as a whole.  The table's hash is keyed with random bytes, so span
 * ids cannot be chosen to fall into one bucket.
 *
 * The kernel appends attributes without looking for their key: a key set
 * twice is written twice and the last value counts.  When a span is
 * finished its attributes are put in the order they were written (see
 * "write order" below), one per key and target is kept, the last, and only
 * then the per-span bound applies.
 *
 * Times are kept CLOCK_MONOTONIC while a span is open and converted to Unix
 * epoch ns when it is finished, every time of a span with the one anchor
 * that was current when the span started (a short history of anchors is
 * kept), so durations are exact, events stay inside their span, and a span
 * converted after a wall-clock step and the re-anchor that followed it is
 * off by nothing: what it says is what the wall clock said when it ran.
 *
 * COMM records name tasks: the table maps a pid (and its tgid) to its
 * comm, and a span begun in a task is given its name (struct
 * span.thread_name) when it is finished.  The COMM may sit in another CPU's
 * ring, read later in the same pass or, at worst, in the next one: a span
 * whose task is not named yet (or whose pid the table knows in another
 * process: recycled) waits until the end of the next pass
 * (assembler_pass_end()), then goes out without a name, counted
 * (names_unresolved).  One whose task is named, but by a COMM older than
 * the span while the ring of the CPU it began on was not read up to its
 * start (a rename's COMM may be there), waits for the end of this pass.  The timers (grace, span timeout) run on
 * CLOCK_MONOTONIC as oteld reads it when reading live rings, and on the
 * replay clock in a replay (see advance_clock()).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "oteld.h"

/*
 * ASan builds (the tests, the fuzz targets): every record is decoded from
 * a copy whose bytes past the record are poisoned, so that reading past a
 * record's end is reported, not a stale byte of an earlier one or the next
 * record's.  Other builds decode an 8-aligned record where it lies.
 */
#if defined(__SANITIZE_ADDRESS__)
#define OTELD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OTELD_ASAN 1
#endif
#endif
#ifdef OTELD_ASAN
#include <sanitizer/asan_interface.h>
#define IN_PLACE 0
#else
/* 8-aligned records (the ring reader's, a capture frame's) are read there */
#define IN_PLACE 1
#endif

#define EXPIRE_EVERY_NS 100000000ull	/* 100 ms: the timers' resolution */
#define GONE_SLOTS	4096		/* remembered ids of incomplete spans */
#define COMM_SLOTS	16384		/* task names, two ways per pid */
#define RING_CPUS	65536		/* otel_rec_hdr.cpu is a __u16 */
/* anchors closer than this to the last one kept say nothing new */
#define ANCHOR_EPSILON_NS 100000ull	/* 100 us */
/* distinct events and links a span keeps dropped counts for, at most */
#define SPAN_MAX_ITEM_DROPS (SPAN_MAX_EVENTS + SPAN_MAX_LINKS)
#define MAX_CLOCK_JUMP_NS (3600ull * 1000000000ull)	/* see advance_clock() */
#define SCOPES_KEPT	64	/* scopes of one-record spans, kept once */

/*
 * Attributes an open span may hold before those of one key are merged
 * (make_room()): twice the bound, so that keys set again and again still
 * end with their last value.
 */
#define SPAN_RAW_ATTRS	(2 * SPAN_MAX_ATTRS)

/*
 * Where an event that cannot be named by an attribute target (index 0 or
 * past OTEL_ATTR_TARGET_INDEX) keeps its index: no attribute is left aimed
 * at it, since link 0 never exists (see prune_attrs()).
 */
#define TARGET_NOWHERE	OTEL_ATTR_TARGET_LINK

/*
 * A record, typed: pointing into the buffer fed (8-aligned: the ring
 * reader's copy, a capture frame), or at a copy when that is not aligned.
 * May alias the bytes it is read from.
 */
union any_rec {
	struct otel_rec_hdr hdr;
	struct otel_rec_span span;
	struct otel_rec_span_begin begin;
	struct otel_rec_attr attr;
	struct otel_rec_event event;
	struct otel_rec_link link;
	struct otel_rec_comm comm;
	uint8_t bytes[65536];
} __attribute__((__may_alias__));

struct assembler {
	struct span **buckets;
	size_t mask, open, max_open, max_record;
	struct span *oldest, *newest;
	uint64_t timeout_ns, grace_ns, now, last_time, last_scan;
	uint64_t hash_key[2];
	bool live;		/* timers on CLOCK_MONOTONIC, not record times */
	/* anchors by mono_ns, oldest first; the last one is current */
	struct anchor anchors[ANCHOR_HISTORY];
	size_t nr_anchors;
	bool anchors_trimmed;	/* the oldest ones were let go */
	/* pid -> comm from COMM records; slot pairs, older one replaced */
	struct comm_entry {
		uint32_t pid, tgid;
		uint64_t seq;
		uint64_t time_ns;	/* its COMM's, CLOCK_MONOTONIC */
		char comm[OTEL_COMM_LEN + 1];
	} *comms;
	uint64_t comm_seq;
	/*
	 * by CPU: the latest time the ring stamped on a record read from its
	 * ring (an EVENT's excepted), to tell whether a COMM it wrote before
	 * a span began may still be unread (resolve_name())
	 */
	uint64_t *ring_seen;
	/* finished spans waiting for their task's name (linked by ->next) */
	struct span *pend_new, *pend_old;
	span_sink sink;
	void *arg;
	struct block_cache blocks;	/* for one-block spans */
	/*
	 * The scopes (module name and version) of one-record spans: a few
	 * modules write every span, so their names are kept here once and
	 * shared by the spans (and compared by pointer when a batch is
	 * grouped by scope), not copied into every block.  Freed with the
	 * assembler, after every span.
	 */
	struct scope {
		char *name, *version;
		uint16_t name_len, version_len;
	} scopes[SCOPES_KEPT];
	size_t nr_scopes, last_scope;
	/* direct-mapped; an all-zero slot is empty (no span has id 0) */
	uint8_t gone[GONE_SLOTS][OTEL_SPAN_ID_SIZE];
	/*
	 * The record being decoded, and where it is copied when it is not
	 * 8-aligned (and always under ASan, which poisons the copy past the
	 * record so that a read past its end is reported).
	 */
	const union any_rec *r;
	size_t rec_used;	/* bytes of rec a record ever filled */
	union any_rec rec;
};

void span_free(struct span *s)
{
	size_t i;

	if (!s)
		return;
	if (s->alloc == SPAN_POOLED) {
		blocks_put(&s, 1);
		return;
	}
	if (s->alloc == SPAN_BLOCK) {
		free(s);
		return;
	}
	for (i = 0; i < s->nr_attrs; i++) {
		free(s->attrs[i].key);
		free(s->attrs[i].str);
	}
	for (i = 0; i < s->nr_events; i++)
		free(s->events[i].name);
	free(s->attrs);
	free(s->events);
	free(s->links);
	free(s->item_drops);
	free(s->name);
	free(s->scope_name);
	free(s->scope_version);
	free(s->status_message);
	free(s);
}

/* A batch of spans: pooled blocks go back to the pool under one lock. */
void span_free_batch(struct span **v, size_t n)
{
	size_t i, pooled = 0;

	for (i = 0; i < n; i++) {
		if (v[i] && v[i]->alloc == SPAN_POOLED)
			v[pooled++] = v[i];
		else
			span_free(v[i]);
	}
	blocks_put(v, pooled);
}

static uint64_t mono_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The key of the table's hash.  Without random bytes (getrandom() fails
 * only on very old kernels, or may block early at boot) the key is made of
 * what differs between runs; weaker, but still not known in advance.
 */
static void seed_hash(struct assembler *a)
{
	if (getrandom(a->hash_key, sizeof(a->hash_key), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(a->hash_key))
		return;
	log_debug("getrandom() failed: the span table's hash key is weak");
	a->hash_key[0] = mono_clock() ^ ((uint64_t)getpid() << 32);
	a->hash_key[1] = (uint64_t)(uintptr_t)a ^ (uint64_t)time(NULL);
}

/*
 * The replay clock (last_time) moves on with the times the ring stamps as
 * it writes (a SPAN's end, ATTR, LINK, SPAN_BEGIN; not an EVENT's, which a
 * driver may give, from whatever clock) and with the anchors, never
 * backwards, and never by more than MAX_CLOCK_JUMP_NS at once: one record
 * from a wrong clock would otherwise stop the timers of a replay for good.
 * Such jumps are counted (clock_jumps).  Live, the timers use
 * CLOCK_MONOTONIC and this clock is not needed.
 */
static void advance_clock(struct assembler *a, uint64_t t)
{
	if (a->live || t <= a->last_time)
		return;
	if (a->last_time && t - a->last_time > MAX_CLOCK_JUMP_NS) {
		atomic_fetch_add(&stats.clock_jumps, 1);
		return;
	}
	a->last_time = t;
}

struct assembler *assembler_new(size_t max_open, uint64_t timeout_ns,
				uint64_t grace_ns, span_sink sink, void *arg)
{
	struct assembler *a = calloc(1, sizeof(*a));
	struct timespec mono, real;
	size_t n = 16;

	if (!a)
		return NULL;
	while (n < max_open && n < ((size_t)1 << 30))
		n <<= 1;
	a->buckets = calloc(n, sizeof(*a->buckets));
	a->comms = calloc(COMM_SLOTS, sizeof(*a->comms));
	a->ring_seen = calloc(RING_CPUS, sizeof(*a->ring_seen));
	if (!a->buckets || !a->comms || !a->ring_seen) {
		free(a->buckets);
		free(a->comms);
		free(a->ring_seen);
		free(a);
		return NULL;
	}
#ifdef OTELD_ASAN
	ASAN_POISON_MEMORY_REGION(a->rec.bytes, sizeof(a->rec.bytes));
#endif
	a->mask = n - 1;
	a->max_open = max_open ? max_open : 1;
	a->max_record = OTEL_REC_MAX_SIZE;
	seed_hash(a);
	a->timeout_ns = timeout_ns;
	a->grace_ns = grace_ns;
	a->sink = sink;
	a->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	a->anchors[0].mono_ns = mono.tv_sec * 1000000000ull + mono.tv_nsec;
	a->anchors[0].real_ns = real.tv_sec * 1000000000ull + real.tv_nsec;
	a->nr_anchors = 1;
	return a;
}

void assembler_set_live(struct assembler *a)
{
	a->live = true;
}

void assembler_set_max_record(struct assembler *a, size_t max)
{
	a->max_record = max ? max : OTEL_REC_MAX_SIZE;
}

/* Does @an convert like @last, to within ANCHOR_EPSILON_NS? */
static bool same_offset(const struct anchor *last, const struct anchor *an)
{
	uint64_t t = anchor_to_real(last, an->mono_ns);
	uint64_t d = t > an->real_ns ? t - an->real_ns : an->real_ns - t;

	return d <= ANCHOR_EPSILON_NS;
}

/*
 * An anchor is a CLOCK_MONOTONIC reading too: a replay's clock follows it.
 * It holds from its mono_ns on; one read earlier than anchors already kept
 * (a capture spliced by hand) replaces them.  One that converts as the
 * last one kept does (the periodic re-anchor when the wall clock was not
 * stepped) is not kept: the history holds the last ANCHOR_HISTORY steps,
 * not the last minutes.
 */
void assembler_set_anchor(struct assembler *a, const struct anchor *an)
{
	while (a->nr_anchors &&
	       a->anchors[a->nr_anchors - 1].mono_ns >= an->mono_ns)
		a->nr_anchors--;
	if (a->nr_anchors &&
	    same_offset(&a->anchors[a->nr_anchors - 1], an)) {
		advance_clock(a, an->mono_ns);
		return;
	}
	if (a->nr_anchors == ANCHOR_HISTORY) {
		memmove(a->anchors, a->anchors + 1,
			(ANCHOR_HISTORY - 1) * sizeof(a->anchors[0]));
		a->nr_anchors--;
		a->anchors_trimmed = true;
	}
	a->anchors[a->nr_anchors++] = *an;
	advance_clock(a, an->mono_ns);
}

/*
 * The anchor current at CLOCK_MONOTONIC @t: the latest read by then.  A
 * time older than the oldest anchor kept, when older ones were let go, is
 * converted with the oldest, counted (clock_too_old): the wall clock was
 * stepped more than ANCHOR_HISTORY times since.
 */
static const struct anchor *anchor_at(const struct assembler *a, uint64_t t)
{
	size_t i = a->nr_anchors;

	while (i > 1 && a->anchors[i - 1].mono_ns > t)
		i--;
	if (i == 1 && a->anchors_trimmed && t < a->anchors[0].mono_ns)
		atomic_fetch_add(&stats.clock_too_old, 1);
	return &a->anchors[i - 1];
}

/* ---- task names (COMM records) ---- */

static struct comm_entry *comm_slots(const struct assembler *a, uint32_t pid)
{
	uint64_t v = pid * 0x9e3779b97f4a7c15ull;

	return &a->comms[(v >> 40) % (COMM_SLOTS / 2) * 2];
}

/*
 * The name of thread @pid of process @tgid.  A pid recycled by another
 * process (another tgid) is not named with the old one's name: unknown
 * until the new task's COMM comes.
 */
static const struct comm_entry *comm_find(const struct assembler *a,
					  uint32_t pid, uint32_t tgid)
{
	const struct comm_entry *e = comm_slots(a, pid);

	if (e[0].pid == pid && e[0].tgid == tgid)
		return &e[0];
	if (e[1].pid == pid && e[1].tgid == tgid)
		return &e[1];
	return NULL;
}

/*
 * Name @pid: its slot, an empty one, or the pair's older one; a task's name
 * pushed out so is counted (names_evicted): the table holds COMM_SLOTS
 * tasks, fewer when pids collide.
 */
static void comm_set(struct assembler *a, const struct otel_rec_comm *r)
{
	struct comm_entry *e = comm_slots(a, r->pid);
	size_t len = strnlen(r->comm, OTEL_COMM_LEN);

	if (e[0].pid != r->pid &&
	    (e[1].pid == r->pid || e[1].seq < e[0].seq))
		e++;
	if (e->pid && e->pid != r->pid)
		atomic_fetch_add(&stats.names_evicted, 1);
	e->pid = r->pid;
	e->tgid = r->tgid;
	e->seq = ++a->comm_seq;
	e->time_ns = r->hdr.time_ns;
	memcpy(e->comm, r->comm, len);
	e->comm[len] = '\0';
}

/*
 * A name may be "" (prctl(PR_SET_NAME, "")): the task is named, with no
 * name, and its spans carry no thread.name.  pid 0, an idle task, has no
 * thread to name (the kernel writes no COMM for it; an older one did):
 * counted, not kept.
 */
static void decode_comm(struct assembler *a, size_t size)
{
	const struct otel_rec_comm *r = &a->r->comm;

	if (size < sizeof(*r)) {
		atomic_fetch_add(&stats.records_corrupt, 1);
		return;
	}
	atomic_fetch_add(&stats.records_comm, 1);
	advance_clock(a, r->hdr.time_ns);
	if (r->pid)
		comm_set(a, r);
}

/* Does @s wait for a name?  A span begun in a task, not named yet. */
static bool wants_name(const struct span *s)
{
	return s->begin_context == OTEL_CTX_TASK && s->pid && !s->named;
}

/*
 * Name @s from the table.  The name its task had when the span began is
 * the latest COMM written before the span's start: the kernel writes one
 * in the ring of the CPU the span began on, before the span starts, when
 * the task is new to that CPU or was renamed.  While that ring has not been
 * read up to the span's start, a newer COMM than the table's may still
 * come: with @may_hold the span then waits (for the end of the pass).
 */
static bool resolve_name(const struct assembler *a, struct span *s,
			 bool may_hold)
{
	const struct comm_entry *e = comm_find(a, s->pid, s->tgid);

	if (!e)
		return false;
	if (may_hold && e->time_ns < s->start_mono &&
	    a->ring_seen[s->begin_cpu] < s->start_mono)
		return false;
	memcpy(s->thread_name, e->comm, sizeof(s->thread_name));
	s->named = true;
	return true;
}

uint64_t assembler_last_time(const struct assembler *a)
{
	return a->last_time;
}

size_t assembler_open(const struct assembler *a)
{
	return a->open;
}

bool assembler_held(const struct assembler *a)
{
	return a->pend_new || a->pend_old;
}

/* ---- attribute entries ---- */

static char *dup_str(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* Where an entry's key starts: after its header and any denominator. */
static size_t entry_key_offset(const struct otel_attr_entry *e)
{
	return sizeof(*e) + (e->entry_flags & OTEL_ATTRF_DEN ? 8 : 0);
}

/*
 * Check the entry at @off of a record of @size bytes and copy its header
 * into @e: it must lie inside the record, be a multiple of 8 and hold its
 * denominator, key and value; its type and denominator must make sense.
 */
static bool entry_at(const uint8_t *rec, size_t size, size_t off,
		     struct otel_attr_entry *e)
{
	uint64_t den;

	if (off > size || size - off < sizeof(*e))
		return false;
	memcpy(e, rec + off, sizeof(*e));
	if (e->size < sizeof(*e) || e->size % 8 || e->size > size - off ||
	    e->value_type < OTEL_ATTR_STRING ||
	    e->value_type > OTEL_ATTR_DOUBLE)
		return false;
	if ((size_t)entry_key_offset(e) + e->key_len + e->value_len > e->size)
		return false;
	if (e->value_type != OTEL_ATTR_STRING && e->value_len)
		return false;
	if (e->entry_flags & OTEL_ATTRF_DEN) {
		memcpy(&den, rec + off + sizeof(*e), sizeof(den));
		if (e->value_type != OTEL_ATTR_DOUBLE || !den)
			return false;
	}
	return true;
}

/* Are the @nr entries from @off all well formed and inside the record? */
static bool entries_ok(const uint8_t *rec, size_t size, size_t off,
		       unsigned int nr)
{
	struct otel_attr_entry e;

	while (nr--) {
		if (!entry_at(rec, size, off, &e))
			return false;
		off += e.size;
	}
	return true;
}

/*
 * Where a record's entries start, @attrs_offset, must be 8-aligned, after
 * its fixed part and strings (@strings_end) and inside the record.  A record
 * without entries may leave it 0.
 */
static bool attrs_offset_ok(size_t attrs_offset, unsigned int nr_attrs,
			    size_t strings_end, size_t size)
{
	if (!nr_attrs && !attrs_offset)
		return true;
	return attrs_offset % 8 == 0 && attrs_offset >= strings_end &&
	       attrs_offset <= size;
}

static double entry_double(const uint8_t *p, const struct otel_attr_entry *e)
{
	uint64_t bits = (uint64_t)e->value, den;
	double d;

	if (e->entry_flags & OTEL_ATTRF_DEN) {
		memcpy(&den, p + sizeof(*e), sizeof(den));
		return (double)e->value / (double)den;
	}
	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* Fill @at from the checked entry at @p but for its key and string. */
static void entry_value(struct attr *at, const uint8_t *p,
			const struct otel_attr_entry *e, uint16_t target)
{
	memset(at, 0, sizeof(*at));
	at->type = e->value_type;
	at->target = target;
	at->i = e->value_type == OTEL_ATTR_BOOL ? !!e->value : e->value;
	if (e->value_type == OTEL_ATTR_DOUBLE)
		at->d = entry_double(p, e);
}

/* Fill @at from the checked entry at @p; false when out of memory. */
static bool entry_to_attr(struct attr *at, const uint8_t *p,
			  const struct otel_attr_entry *e, uint16_t target)
{
	const uint8_t *key = p + entry_key_offset(e);

	entry_value(at, p, e, target);
	at->key = dup_str(key, e->key_len);
	if (e->value_type == OTEL_ATTR_STRING)
		at->str = dup_str(key + e->key_len, e->value_len);
	if (!at->key || (e->value_type == OTEL_ATTR_STRING && !at->str)) {
		free(at->key);
		free(at->str);
		return false;
	}
	return true;
}

/* Counts saturate: a hostile dropped count must not wrap to a small one. */
static void sat_add(uint32_t *count, uint32_t n)
{
	*count = *count > UINT32_MAX - n ? UINT32_MAX : *count + n;
}

/*
 * Attributes dropped for the event or link @target (which may arrive
 * later): kept with the span, counted on the item when it is finished
 * (place_item_drops()).  Never on the span: its droppedAttributesCount
 * counts the span's own attributes only.
 */
static void item_drop(struct span *s, uint16_t target, uint32_t n)
{
	struct item_drop *d;
	size_t i;

	if (!n)
		return;
	for (i = 0; i < s->nr_item_drops; i++) {
		if (s->item_drops[i].target == target) {
			sat_add(&s->item_drops[i].n, n);
			return;
		}
	}
	/*
	 * A span keeps at most SPAN_MAX_EVENTS events and SPAN_MAX_LINKS
	 * links: the counts of more targets than that (a hostile stream)
	 * are let go, counted, which keeps this search bounded.
	 */
	d = s->alloc == SPAN_PARTS && s->nr_item_drops < SPAN_MAX_ITEM_DROPS ?
	    realloc(s->item_drops, (s->nr_item_drops + 1) * sizeof(*d)) : NULL;
	if (!d) {
		atomic_fetch_add(&stats.item_attrs_lost, 1);
		return;
	}
	s->item_drops = d;
	d[s->nr_item_drops].target = target;
	d[s->nr_item_drops++].n = n;
}

/*
 * Count an attribute that has no room (relay bound: on its span, event or
 * link) or nowhere to go (on the span).
 */
static void drop_attr(struct span *s, uint16_t target, bool bound)
{
	if (bound)
		atomic_fetch_add(&stats.span_items_dropped, 1);
	if (bound && target != OTEL_ATTR_TARGET_SPAN &&
	    target != TARGET_NOWHERE)
		item_drop(s, target, 1);
	else
		sat_add(&s->dropped_attrs, 1);
}

/* A string of @s's, unless it lives in the span's block. */
static void free_str(const struct span *s, char *str)
{
	if (s->alloc == SPAN_PARTS)
		free(str);
}

static void free_attr(const struct span *s, struct attr *at)
{
	free_str(s, at->key);
	free_str(s, at->str);
}

/*
 * Write order (struct attr.order, then .seq) says which value of a key set
 * twice came last:
 *  - an EVENT's or LINK's own entries were written before any ATTR record
 *    aimed at it: ORDER_ITEM;
 *  - ATTR records go by hdr.time_ns, which the ring stamps as it writes
 *    them (record_order());
 *  - the SPAN record's inline entries come after every ATTR record of the
 *    span: the kernel flushes its inline buffer as an ATTR record only when
 *    it is full, and writes the SPAN record last: ORDER_INLINE.
 * Ties go by seq: records in the order they arrived, then entries in the
 * order of their record.
 */
#define ORDER_ITEM	0
#define ORDER_INLINE	UINT64_MAX

static uint64_t record_order(uint64_t time_ns)
{
	return time_ns < UINT64_MAX - 1 ? time_ns + 1 : UINT64_MAX - 1;
}

static int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

static int cmp_write_order(const void *p, const void *q)
{
	const struct attr *x = p, *y = q;

	if (x->order != y->order)
		return cmp_u64(x->order, y->order);
	return cmp_u64(x->seq, y->seq);
}

/* Target and key, then write order: the writes of one key side by side. */
static int cmp_key(const void *p, const void *q)
{
	const struct attr *x = p, *y = q;
	int c;

	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	c = strcmp(x->key, y->key);
	return c ? c : cmp_write_order(p, q);
}

/* Keys are compared as the exporters write them: as C strings. */
static bool same_key(const struct attr *x, const struct attr *y)
{
	return x->target == y->target && !strcmp(x->key, y->key);
}

/*
 * @to takes the value of @from, a later write of its key, which is used up;
 * with @place it also takes @from's place in write order.  Both are @s's.
 */
static void take_value(const struct span *s, struct attr *to,
		       const struct attr *from, bool place)
{
	free_str(s, to->str);
	free_str(s, from->key);
	to->type = from->type;
	to->str = from->str;
	to->i = from->i;
	to->d = from->d;
	if (place) {
		to->order = from->order;
		to->seq = from->seq;
	}
}

/*
 * Keep one attribute per target and key, holding the value written last,
 * in write order.  It stands where its key was first written, as in an
 * SDK's attribute map (so the bound keeps the keys set first), or with
 * @at_last where it was last written: merging the attributes of a span
 * still open must keep the order of the value it keeps, since the records
 * still to come are compared with it.
 */
static void dedupe_attrs(struct span *s, bool at_last)
{
	size_t i, kept = 0;

	if (s->nr_attrs < 2)
		return;
	qsort(s->attrs, s->nr_attrs, sizeof(*s->attrs), cmp_key);
	for (i = 0; i < s->nr_attrs; i++) {
		if (kept && same_key(&s->attrs[kept - 1], &s->attrs[i]))
			take_value(s, &s->attrs[kept - 1], &s->attrs[i],
				   at_last);
		else
			s->attrs[kept++] = s->attrs[i];
	}
	s->nr_attrs = kept;
	qsort(s->attrs, s->nr_attrs, sizeof(*s->attrs), cmp_write_order);
}

/* The per-span bound, applied once keys are unique: the first ones stay. */
static void bound_attrs(struct span *s)
{
	struct attr *at;

	while (s->nr_attrs > SPAN_MAX_ATTRS) {
		at = &s->attrs[--s->nr_attrs];
		drop_attr(s, at->target, true);
		free_attr(s, at);
	}
}

/*
 * Is a key there twice?  Quadratic, for the few attributes of one record;
 * the first byte spares most calls to strcmp().
 */
static bool has_dup_key(const struct span *s)
{
	const struct attr *at, *p, *end = s->attrs + s->nr_attrs;

	for (at = s->attrs; at < end; at++)
		for (p = s->attrs; p < at; p++)
			if (p->key[0] == at->key[0] && same_key(p, at))
				return true;
	return false;
}

/*
 * Room for @nr more attributes in @s: past SPAN_RAW_ATTRS the writes of
 * each key are merged and the bound applied now (a key cut then and set
 * again later comes back, counted twice; memory stays bounded).  Returns
 * how many of the @nr fit.
 */
static size_t make_room(struct span *s, size_t nr)
{
	if (s->nr_attrs + nr > SPAN_RAW_ATTRS) {
		dedupe_attrs(s, true);
		bound_attrs(s);
	}
	if (s->nr_attrs + nr <= SPAN_RAW_ATTRS)
		return nr;
	return SPAN_RAW_ATTRS - s->nr_attrs;
}

/*
 * Add the @nr checked entries from @off to @s, aimed at @target, written in
 * @order; what finds no room is counted as dropped.  Out of memory, what
 * this call added is taken back and it returns false.
 */
static bool add_entries(struct span *s, const uint8_t *rec, size_t off,
			unsigned int nr, uint16_t target, uint64_t order)
{
	size_t take = make_room(s, nr), first = s->nr_attrs, i;
	uint64_t seq = (uint64_t)s->nr_seen << 16;	/* nr < 1 << 16 */
	struct otel_attr_entry e;
	struct attr *n;

	if (take) {
		n = realloc(s->attrs, (s->nr_attrs + take) * sizeof(*n));
		if (!n)
			return false;
		s->attrs = n;
	}
	for (i = 0; i < nr; i++, off += e.size) {
		memcpy(&e, rec + off, sizeof(e));
		if (i >= take) {
			drop_attr(s, target, true);
			continue;
		}
		n = &s->attrs[s->nr_attrs];
		if (!entry_to_attr(n, rec + off, &e, target))
			goto undo;
		n->order = order;
		n->seq = seq | i;
		s->nr_attrs++;
	}
	return true;
undo:
	while (s->nr_attrs > first)
		free_attr(s, &s->attrs[--s->nr_attrs]);
	return false;
}

/* Count the @nr entries at @off as attributes with nowhere to go. */

/* ---- the identity of a span: ids, names, start ---- */

/* Copy the three names that open a SPAN or SPAN_BEGIN record's strings. */
static bool set_names(struct span *s, const uint8_t *str, size_t name_len,
		      size_t scope_len, size_t version_len)
{
	char *name = dup_str(str, name_len);
	char *scope = dup_str(str + name_len, scope_len);
	char *version = dup_str(str + name_len + scope_len, version_len);

	if (!name || !scope || !version) {
		free(name);
		free(scope);
		free(version);
		return false;
	}
	free(s->name);
	free(s->scope_name);
	free(s->scope_version);
	s->name = name;
	s->scope_name = scope;
	s->scope_version = version;
	return true;
}

static const uint8_t zero_trace_id[OTEL_TRACE_ID_SIZE];

static uint8_t valid_kind(uint8_t kind)
{
	return kind <= OTEL_SPAN_KIND_CONSUMER ? kind : OTEL_SPAN_KIND_UNSPECIFIED;
}

/* ---- SPAN ---- */

static size_t span_strings_end(const struct otel_rec_span *r)
{
	return sizeof(*r) + (size_t)r->name_len + r->scope_name_len +
	       r->scope_version_len + r->status_message_len;
}

static bool span_rec_ok(const struct otel_rec_span *r, size_t size)
{
	size_t end = span_strings_end(r);

	return end <= size && r->status_code <= OTEL_STATUS_ERROR &&
	       memcmp(r->trace_id, zero_trace_id, sizeof(zero_trace_id)) &&
	       attrs_offset_ok(r->attrs_offset, r->nr_attrs, end, size) &&
	       entries_ok((const uint8_t *)r, size, r->attrs_offset,
			  r->nr_attrs);
}

/* What a checked SPAN record says of its span, but names and attributes. */
static void take_span_fields(struct span *s, const struct otel_rec_span *r)
{
	memcpy(s->span_id, r->hdr.span_id, sizeof(s->span_id));
	memcpy(s->trace_id, r->trace_id, sizeof(s->trace_id));
	memcpy(s->parent_span_id, r->parent_span_id,
	       sizeof(s->parent_span_id));
	s->trace_flags = r->trace_flags;
	s->kind = valid_kind(r->kind);
	s->status_code = r->status_code;
	s->begin_flags = r->span_flags;
	s->begin_cpu = r->begin_cpu;
	s->begin_context = r->begin_context;
	s->pid = r->pid;
	s->tgid = r->tgid;
	s->start = r->start_ns;
	s->end = r->hdr.time_ns;
	sat_add(&s->dropped_attrs, r->dropped_attributes);
	sat_add(&s->dropped_events, r->dropped_events);
	sat_add(&s->dropped_links, r->dropped_links);
	s->nr_expected = r->nr_records;
	s->has_begin = s->has_end = true;
}

/*
 * Take a checked SPAN record into @s, one whose other records (a SPAN_BEGIN
 * among them) may already be in.
 */
static bool apply_span(struct span *s, const struct otel_rec_span *r)
{
	const uint8_t *str = (const uint8_t *)(r + 1);
	const uint8_t *msg = str + r->name_len + r->scope_name_len +
			     r->scope_version_len;
	char *message = NULL;

	if (r->status_message_len) {
		message = dup_str(msg, r->status_message_len);
		if (!message)
			return false;
	}
	if (!set_names(s, str, r->name_len, r->scope_name_len,
		       r->scope_version_len) ||
	    !add_entries(s, (const uint8_t *)r, r->attrs_offset, r->nr_attrs,
			 OTEL_ATTR_TARGET_SPAN, ORDER_INLINE)) {
		free(message);
		return false;
	}
	free(s->status_message);
	s->status_message = message;
	take_span_fields(s, r);
	return true;
}

/*
 * A span of one SPAN record (nr_records 0) is one block: struct span, its
 * attributes, then every string (names, status message, keys, string
 * values), each a copy ended by a NUL.  It is decoded as apply_span() and
 * add_entries() would decode it into a new span: the same attributes, order
 * and drops.
 */

/*
 * The bytes the copies of a SPAN record's own strings take; the scope's
 * not when it is kept apart (@scope).
 */
static size_t span_strings_size(const struct otel_rec_span *r,
				const struct scope *scope)
{
	size_t n = r->name_len + 1u +
		   (r->status_message_len ? r->status_message_len + 1u : 0);

	if (!scope)
		n += (size_t)r->scope_name_len + r->scope_version_len + 2;
	return n;
}

/* The bytes the copies of an entry's key and string value take. */
static size_t entry_strings_size(const struct otel_attr_entry *e)
{
	return e->key_len + 1u +
	       (e->value_type == OTEL_ATTR_STRING ? e->value_len + 1u : 0);
}

/* Copy @len bytes at @src to *@p, end them with a NUL, step *@p past. */
static char *pack_str(char **p, const uint8_t *src, size_t len)
{
	char *str = *p;

	memcpy(str, src, len);
	str[len] = '\0';
	*p += len + 1;
	return str;
}

/* The block a span of @r takes with the first @nr of its checked entries. */
static size_t one_block_size(const struct otel_rec_span *r, size_t nr,
			     const struct scope *scope)
{
	const uint8_t *rec = (const uint8_t *)r;
	size_t bytes = span_strings_size(r, scope), off = r->attrs_offset, i;
	struct otel_attr_entry e;

	for (i = 0; i < nr; i++, off += e.size) {
		memcpy(&e, rec + off, sizeof(e));
		bytes += entry_strings_size(&e);
	}
	return sizeof(struct span) + nr * sizeof(struct attr) + bytes;
}

/*
 * The SPAN record's names and status message, copied to *@p; the scope's
 * taken from @scope when it is kept apart.
 */
static void pack_names(struct span *s, const struct otel_rec_span *r,
		       const struct scope *scope, char **p)
{
	const uint8_t *str = (const uint8_t *)(r + 1);

	s->name = pack_str(p, str, r->name_len);
	str += r->name_len;
	if (scope) {
		s->scope_name = scope->name;
		s->scope_version = scope->version;
	} else {
		s->scope_name = pack_str(p, str, r->scope_name_len);
		s->scope_version = pack_str(p, str + r->scope_name_len,
					    r->scope_version_len);
	}
	str += r->scope_name_len + r->scope_version_len;
	if (r->status_message_len)
		s->status_message = pack_str(p, str, r->status_message_len);
}

/*
 * The first @nr checked entries of @r into s->attrs, their strings copied
 * to *@p, in the write order add_entries() gives inline entries.
 */
static void pack_entries(struct span *s, const struct otel_rec_span *r,
			 size_t nr, char **p)
{
	const uint8_t *rec = (const uint8_t *)r, *key;
	size_t off = r->attrs_offset, i;
	struct otel_attr_entry e;
	struct attr *at;

	for (i = 0; i < nr; i++, off += e.size) {
		memcpy(&e, rec + off, sizeof(e));
		key = rec + off + entry_key_offset(&e);
		at = &s->attrs[i];
		entry_value(at, rec + off, &e, OTEL_ATTR_TARGET_SPAN);
		at->key = pack_str(p, key, e.key_len);
		if (e.value_type == OTEL_ATTR_STRING)
			at->str = pack_str(p, key + e.key_len, e.value_len);
		at->order = ORDER_INLINE;
		at->seq = i;
	}
	s->nr_attrs = nr;
}

/* A block of @size bytes: from the pool when it fits a pooled block. */
static struct span *block_alloc(struct assembler *a, size_t size)
{
	struct span *s;

	if (size > SPAN_BLOCK_BYTES) {
		s = malloc(size);
		if (s) {
			memset(s, 0, sizeof(*s));
			s->alloc = SPAN_BLOCK;
		}
		return s;
	}
	s = block_get(&a->blocks);
	if (s) {
		memset(s, 0, sizeof(*s));
		s->alloc = SPAN_POOLED;
	}
	return s;
}

static bool same_scope(const struct scope *sc, const struct otel_rec_span *r,
		       const uint8_t *str)
{
	return sc->name_len == r->scope_name_len &&
	       sc->version_len == r->scope_version_len &&
	       !memcmp(sc->name, str, sc->name_len) &&
	       !memcmp(sc->version, str + sc->name_len, sc->version_len);
}

/*
 * The scope of @r as kept apart (the last one found is tried first), kept
 * now if new; NULL once SCOPES_KEPT are (the span then has its own copy).
 */
static const struct scope *find_scope(struct assembler *a,
				      const struct otel_rec_span *r)
{
	const uint8_t *str = (const uint8_t *)(r + 1) + r->name_len;
	struct scope *sc;
	size_t i;

	if (a->nr_scopes && same_scope(&a->scopes[a->last_scope], r, str))
		return &a->scopes[a->last_scope];
	for (i = 0; i < a->nr_scopes; i++)
		if (same_scope(&a->scopes[i], r, str))
			goto found;
	if (a->nr_scopes == SCOPES_KEPT)
		return NULL;
	sc = &a->scopes[i];
	sc->name = dup_str(str, r->scope_name_len);
	sc->version = dup_str(str + r->scope_name_len, r->scope_version_len);
	if (!sc->name || !sc->version) {
		free(sc->name);
		free(sc->version);
		return NULL;
	}
	sc->name_len = r->scope_name_len;
	sc->version_len = r->scope_version_len;
	a->nr_scopes++;
found:
	a->last_scope = i;
	return &a->scopes[i];
}

/*
 * Decode a checked SPAN record of no other records into one block, or
 * NULL when out of memory.  Entries past SPAN_RAW_ATTRS are dropped and
 * counted, as make_room() drops them.
 */
static struct span *span_one_block(struct assembler *a,
				   const struct otel_rec_span *r)
{
	size_t nr = r->nr_attrs < SPAN_RAW_ATTRS ? r->nr_attrs : SPAN_RAW_ATTRS;
	const struct scope *scope = find_scope(a, r);
	struct span *s = block_alloc(a, one_block_size(r, nr, scope));
	char *p;

	if (!s)
		return NULL;
	s->attrs = (struct attr *)(s + 1);
	p = (char *)(s->attrs + nr);
	pack_names(s, r, scope, &p);
	pack_entries(s, r, nr, &p);
	take_span_fields(s, r);
	for (; nr < r->nr_attrs; nr++)
		drop_attr(s, OTEL_ATTR_TARGET_SPAN, true);
	return s;
}

/* ---- SPAN_BEGIN ---- */

static bool begin_rec_ok(const struct otel_rec_span_begin *r, size_t size)
{
	return sizeof(*r) + (size_t)r->name_len + r->scope_name_len +
	       r->scope_version_len <= size &&
	       memcmp(r->trace_id, zero_trace_id, sizeof(zero_trace_id));
}

/* The identity from a SPAN_BEGIN, unless the SPAN already gave it. */
static bool apply_begin(struct span *s, const struct otel_rec_span_begin *r)
{
	if (s->has_end)
		return true;
	if (s->has_begin)
		return false;	/* a second BEGIN */
	if (!set_names(s, (const uint8_t *)(r + 1), r->name_len,
		       r->scope_name_len, r->scope_version_len))
		return false;
	memcpy(s->trace_id, r->trace_id, sizeof(s->trace_id));
	memcpy(s->parent_span_id, r->parent_span_id,
	       sizeof(s->parent_span_id));
	s->trace_flags = r->trace_flags;
	s->kind = valid_kind(r->kind);
	s->begin_flags = r->begin_flags;
	s->begin_cpu = r->hdr.cpu;
	s->begin_context = r->hdr.flags & OTEL_RECF_CTX_MASK;
	s->pid = r->pid;
	s->tgid = r->tgid;
	s->start = r->hdr.time_ns;
	s->has_begin = true;
	return true;
}

/* ---- EVENT, LINK, ATTR ---- */

/* The attribute target naming event or link @index, or TARGET_NOWHERE. */
static uint16_t index_target(uint16_t index, uint16_t link_bit)
{
	if (!index || index > OTEL_ATTR_TARGET_INDEX)
		return TARGET_NOWHERE;
	return link_bit | index;
}

static bool has_event(const struct span *s, uint16_t index)
{
	size_t i;

	for (i = 0; i < s->nr_events; i++)
		if (s->events[i].index == index)
			return true;
	return false;
}

static bool has_link(const struct span *s, uint16_t index)
{
	size_t i;

	for (i = 0; i < s->nr_links; i++)
		if (s->links[i].index == index)
			return true;
	return false;
}

/*
 * An event's or link's own attributes; those of one that cannot be named
 * by an attribute target are dropped, counted on it (*@dropped).
 */
static bool add_item_entries(struct span *s, const uint8_t *rec, size_t off,
			     unsigned int nr, uint16_t target,
			     uint32_t *dropped)
{
	if (target == TARGET_NOWHERE) {
		sat_add(dropped, nr);
		return true;
	}
	return add_entries(s, rec, off, nr, target, ORDER_ITEM);
}

static bool event_rec_ok(const struct otel_rec_event *r, size_t size)
{
	size_t end = sizeof(*r) + r->name_len;

	return end <= size &&
	       attrs_offset_ok(r->attrs_offset, r->nr_attrs, end, size) &&
	       entries_ok((const uint8_t *)r, size, r->attrs_offset,
			  r->nr_attrs);
}

static bool apply_event(struct span *s, const struct otel_rec_event *r)
{
	uint16_t target = index_target(r->index, 0);
	struct event *n;

	if (target != TARGET_NOWHERE && has_event(s, r->index))
		return false;	/* the kernel numbers events once */
	if (s->nr_events >= SPAN_MAX_EVENTS) {
		/* its attributes go with it: not the span's (OTLP) */
		sat_add(&s->dropped_events, 1);
		atomic_fetch_add(&stats.span_items_dropped, 1);
		return true;
	}
	n = realloc(s->events, (s->nr_events + 1) * sizeof(*n));
	if (!n)
		return false;
	s->events = n;
	n = &s->events[s->nr_events];
	n->index = target;
	n->time = r->hdr.time_ns;
	n->dropped_attrs = r->dropped_attributes;
	n->name = dup_str((const uint8_t *)(r + 1), r->name_len);
	if (!n->name)
		return false;
	if (!add_item_entries(s, (const uint8_t *)r, r->attrs_offset,
			      r->nr_attrs, target, &n->dropped_attrs)) {
		free(n->name);
		return false;
	}
	s->nr_events++;
	return true;
}

static bool link_rec_ok(const struct otel_rec_link *r, size_t size)
{
	return entries_ok((const uint8_t *)r, size, sizeof(*r), r->nr_attrs);
}

static bool apply_link(struct span *s, const struct otel_rec_link *r)
{
	uint16_t target = index_target(r->index, OTEL_ATTR_TARGET_LINK);
	struct link *n;

	if (target != TARGET_NOWHERE && has_link(s, r->index))
		return false;	/* the kernel numbers links once */
	if (s->nr_links >= SPAN_MAX_LINKS) {
		/* its attributes go with it: not the span's (OTLP) */
		sat_add(&s->dropped_links, 1);
		atomic_fetch_add(&stats.span_items_dropped, 1);
		return true;
	}
	n = realloc(s->links, (s->nr_links + 1) * sizeof(*n));
	if (!n)
		return false;
	s->links = n;
	n = &s->links[s->nr_links];
	n->dropped_attrs = r->dropped_attributes;
	if (!add_item_entries(s, (const uint8_t *)r, sizeof(*r), r->nr_attrs,
			      target, &n->dropped_attrs))
		return false;
	s->nr_links++;
	/* index 0 stays 0: OTEL_ATTR_TARGET_LINK | 0 is nobody's target */
	n->index = target == TARGET_NOWHERE ? 0 : r->index;
	memcpy(n->trace_id, r->trace_id, sizeof(n->trace_id));
	memcpy(n->span_id, r->span_id, sizeof(n->span_id));
	n->trace_flags = r->trace_flags;
	return true;
}

static bool attr_rec_ok(const struct otel_rec_attr *r, size_t size)
{
	return entries_ok((const uint8_t *)r, size, sizeof(*r), r->nr_attrs);
}

/*
 * ATTR entries keep their target as it is: the event or link it names may
 * arrive later, so targets are checked when the span is finished.
 */
static bool apply_attr(struct span *s, const struct otel_rec_attr *r)
{
	if (r->target == OTEL_ATTR_TARGET_SPAN)
		sat_add(&s->dropped_attrs, r->dropped_attributes);
	else
		item_drop(s, r->target, r->dropped_attributes);
	return add_entries(s, (const uint8_t *)r, sizeof(*r), r->nr_attrs,
			   r->target, record_order(r->hdr.time_ns));
}

/* Is @target the span, or an event or link that @s has? */
static bool target_exists(const struct span *s, uint16_t target)
{
	uint16_t index = target & OTEL_ATTR_TARGET_INDEX;

	if (target == OTEL_ATTR_TARGET_SPAN)
		return true;
	if (!index)
		return false;	/* neither event 0 nor link 0 exists */
	if (target & OTEL_ATTR_TARGET_LINK)
		return has_link(s, index);
	return has_event(s, index);
}

/*
 * The counts kept for events and links go to them; those of an event or
 * link the span does not have count as the span's (they cannot be placed).
 */
static void place_item_drops(struct span *s)
{
	uint16_t index;
	size_t i, j;
	bool placed;

	for (i = 0; i < s->nr_item_drops; i++) {
		index = s->item_drops[i].target & OTEL_ATTR_TARGET_INDEX;
		placed = false;
		if (s->item_drops[i].target & OTEL_ATTR_TARGET_LINK) {
			for (j = 0; index && j < s->nr_links && !placed; j++)
				if (s->links[j].index == index) {
					sat_add(&s->links[j].dropped_attrs,
						s->item_drops[i].n);
					placed = true;
				}
		} else {
			for (j = 0; index && j < s->nr_events && !placed; j++)
				if (s->events[j].index == index) {
					sat_add(&s->events[j].dropped_attrs,
						s->item_drops[i].n);
					placed = true;
				}
		}
		/* the item is not there (dropped, counted, or lost) */
		if (!placed)
			atomic_fetch_add(&stats.item_attrs_lost, 1);
	}
	s->nr_item_drops = 0;
}

/* Drop, and count, the attributes aimed at an event or link not there. */
static void prune_attrs(struct span *s)
{
	size_t i, kept = 0;

	for (i = 0; i < s->nr_attrs; i++) {
		if (target_exists(s, s->attrs[i].target)) {
			s->attrs[kept++] = s->attrs[i];
			continue;
		}
		free_attr(s, &s->attrs[i]);
		atomic_fetch_add(&stats.item_attrs_lost, 1);
	}
	s->nr_attrs = kept;
}

/* ---- the table of open spans ---- */

/* A bijective 64-bit mixer (finalizer of a multiply-xorshift hash). */
static uint64_t mix64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ull;
	v ^= v >> 33;
	return v;
}

/*
 * Keyed with random bytes (seed_hash()): without the key, ids cannot be
 * chosen to share a bucket (or a slot of gone[]), which would make every
 * lookup walk one long chain.
 */
static uint64_t hash_id(const struct assembler *a, const uint8_t *id)
{
	uint64_t v;

	memcpy(&v, id, sizeof(v));
	return mix64(mix64(v ^ a->hash_key[0]) ^ a->hash_key[1]);
}

static size_t bucket_of(const struct assembler *a, const uint8_t *id)
{
	return hash_id(a, id) & a->mask;
}

static uint8_t *gone_slot(struct assembler *a, const uint8_t *id)
{
	return a->gone[(hash_id(a, id) >> 40) % GONE_SLOTS];
}

static void remember_gone(struct assembler *a, const uint8_t *id)
{
	memcpy(gone_slot(a, id), id, OTEL_SPAN_ID_SIZE);
}

static bool is_gone(struct assembler *a, const uint8_t *id)
{
	return !memcmp(gone_slot(a, id), id, OTEL_SPAN_ID_SIZE);
}

static void unlink_span(struct assembler *a, struct span *s)
{
	struct span **pp = &a->buckets[bucket_of(a, s->span_id)];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		a->oldest = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		a->newest = s->prev;
	s->prev = s->next = s->hnext = NULL;
	a->open--;
}

/*
 * Only a span of the table is exported incomplete, so @s is SPAN_PARTS:
 * its attributes may grow.
 */
static void add_marker(struct span *s, const char *key, uint8_t type,
		       int64_t v)
{
	struct attr *n = realloc(s->attrs, (s->nr_attrs + 1) * sizeof(*n));

	if (!n)
		return;
	s->attrs = n;
	n = &s->attrs[s->nr_attrs];
	memset(n, 0, sizeof(*n));
	n->key = strdup(key);
	if (!n->key)
		return;
	n->type = type;
	n->i = v;
	s->nr_attrs++;
}

/* Append @s to a list of spans waiting for a name. */
static void pend(struct span **list, struct span *s)
{
	s->next = *list;
	*list = s;
}

/*
 * Convert times with the anchor of the span's start, mark, count, hand to
 * the sink (or keep it until its task is named, see assembler_pass_end()).
 */
static void deliver(struct assembler *a, struct span *s, bool incomplete)
{
	const struct anchor *an = anchor_at(a, s->start);
	size_t i;

	s->start_mono = s->start;
	s->start = anchor_to_real(an, s->start);
	s->end = anchor_to_real(an, s->end);
	for (i = 0; i < s->nr_events; i++)
		s->events[i].time = anchor_to_real(an, s->events[i].time);
	if (incomplete) {
		s->incomplete = true;
		add_marker(s, "oteltrace.incomplete", OTEL_ATTR_BOOL, 1);
		if (s->has_end && s->nr_expected > s->nr_seen)
			add_marker(s, "oteltrace.missing_records", OTEL_ATTR_INT,
				   s->nr_expected - s->nr_seen);
		atomic_fetch_add(&stats.spans_incomplete, 1);
	} else {
		atomic_fetch_add(&stats.spans_complete, 1);
	}
	if (wants_name(s) && !resolve_name(a, s, true)) {
		pend(&a->pend_new, s);
		return;
	}
	a->sink(s, a->arg);
}

/* Hand the spans of @list to the sink, named if their task is known now. */
static void release_pending(struct assembler *a, struct span *list,
			    bool last)
{
	struct span *s, *next;

	for (s = list; s; s = next) {
		next = s->next;
		s->next = NULL;
		if (resolve_name(a, s, false) || last) {
			if (!s->named)
				atomic_fetch_add(&stats.names_unresolved, 1);
			a->sink(s, a->arg);
		} else {
			pend(&a->pend_old, s);
		}
	}
}

void assembler_pass_end(struct assembler *a)
{
	struct span *old = a->pend_old, *fresh = a->pend_new;

	a->pend_old = a->pend_new = NULL;
	release_pending(a, old, true);
	release_pending(a, fresh, false);
}

/* Leave the table, then deliver (or count and free a span with no id). */
static void finish(struct assembler *a, struct span *s, bool incomplete)
{
	unlink_span(a, s);
	if (incomplete)
		remember_gone(a, s->span_id);
	if (!s->has_begin) {
		/* Neither SPAN nor SPAN_BEGIN: no trace id, name or start. */
		atomic_fetch_add(&stats.spans_no_begin, 1);
		span_free(s);
		return;
	}
	if (!s->has_end && s->end < s->start)
		s->end = s->start;
	place_item_drops(s);
	prune_attrs(s);
	dedupe_attrs(s, false);
	bound_attrs(s);
	deliver(a, s, incomplete);
}

static void finish_if_complete(struct assembler *a, struct span *s)
{
	if (s->has_end && s->nr_seen >= s->nr_expected)
		finish(a, s, false);
}

/*
 * Now, for the timers: CLOCK_MONOTONIC live (or a later time given to
 * assembler_expire()), else the replay clock.
 */
static uint64_t clock_now(const struct assembler *a)
{
	uint64_t t = a->live ? mono_clock() : a->last_time;

	return a->now > t ? a->now : t;
}

static struct span *find(const struct assembler *a, const uint8_t *id)
{
	struct span *s = a->buckets[bucket_of(a, id)];

	while (s && memcmp(s->span_id, id, OTEL_SPAN_ID_SIZE))
		s = s->hnext;
	return s;
}

/* A new open span, after making room in the table. */
static struct span *open_span(struct assembler *a, const uint8_t *id)
{
	struct span *s;
	size_t b;

	if (a->open >= a->max_open) {
		atomic_fetch_add(&stats.spans_evicted, 1);
		finish(a, a->oldest, true);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->span_id, id, OTEL_SPAN_ID_SIZE);
	s->first_mono = clock_now(a);
	b = bucket_of(a, id);
	s->hnext = a->buckets[b];
	a->buckets[b] = s;
	s->prev = a->newest;
	if (a->newest)
		a->newest->next = s;
	else
		a->oldest = s;
	a->newest = s;
	a->open++;
	return s;
}

/* ---- decoding ---- */

static void count_corrupt(void)
{
	atomic_fetch_add(&stats.records_corrupt, 1);
}

/*
 * The fast path: a span that wrote nothing else, one block, out at once.
 * Its attributes are in write order already; a key set twice is rare, and
 * looking for one is cheap for the few attributes a record holds.
 */
static void span_whole(struct assembler *a, const struct otel_rec_span *r)
{
	struct span *s = span_one_block(a, r);

	if (!s) {
		count_corrupt();	/* out of memory */
		return;
	}
	if (has_dup_key(s))
		dedupe_attrs(s, false);
	bound_attrs(s);
	deliver(a, s, false);
}

static void span_part(struct assembler *a, const struct otel_rec_span *r)
{
	struct span *s = find(a, r->hdr.span_id);

	if (!s)
		s = open_span(a, r->hdr.span_id);
	if (!s || s->has_end || !apply_span(s, r)) {
		count_corrupt();	/* out of memory, or a second SPAN */
		return;
	}
	s->end_seen_mono = clock_now(a);
	finish_if_complete(a, s);
}

static void decode_span(struct assembler *a, size_t size)
{
	const struct otel_rec_span *r = &a->r->span;

	if (!span_rec_ok(r, size)) {
		count_corrupt();
		return;
	}
	advance_clock(a, r->hdr.time_ns);	/* the ring's: the span's end */
	if (!r->nr_records)
		span_whole(a, r);
	else
		span_part(a, r);
}

/* Is the record a well-formed EVENT, LINK, ATTR or SPAN_BEGIN? */
static bool part_ok(const struct assembler *a, size_t size)
{
	switch (a->r->hdr.type) {
	case OTEL_REC_SPAN_BEGIN:
		return begin_rec_ok(&a->r->begin, size);
	case OTEL_REC_ATTR:
		return attr_rec_ok(&a->r->attr, size);
	case OTEL_REC_EVENT:
		return event_rec_ok(&a->r->event, size);
	case OTEL_REC_LINK:
		return link_rec_ok(&a->r->link, size);
	}
	return false;
}

static bool apply_part(struct span *s, const struct assembler *a)
{
	switch (a->r->hdr.type) {
	case OTEL_REC_SPAN_BEGIN:
		return apply_begin(s, &a->r->begin);
	case OTEL_REC_ATTR:
		return apply_attr(s, &a->r->attr);
	case OTEL_REC_EVENT:
		return apply_event(s, &a->r->event);
	case OTEL_REC_LINK:
		return apply_link(s, &a->r->link);
	}
	return false;
}

/* A record a span wrote before its SPAN record. */
static void decode_part(struct assembler *a, size_t size)
{
	const struct otel_rec_hdr *h = &a->r->hdr;
	struct span *s;

	if (!part_ok(a, size)) {
		count_corrupt();
		return;
	}
	/* an EVENT's time may come from the driver, the others' from the ring */
	if (h->type != OTEL_REC_EVENT)
		advance_clock(a, h->time_ns);
	s = find(a, h->span_id);
	if (!s && is_gone(a, h->span_id)) {
		/* its span was exported without it: too late */
		atomic_fetch_add(&stats.records_late, 1);
		return;
	}
	if (!s)
		s = open_span(a, h->span_id);
	if (!s) {
		count_corrupt();
		return;
	}
	if (!s->has_end && h->type != OTEL_REC_SPAN_BEGIN &&
	    h->time_ns > s->end)
		s->end = h->time_ns;	/* best end time if SPAN is lost */
	if (!apply_part(s, a)) {
		count_corrupt();
		return;
	}
	s->nr_seen++;
	finish_if_complete(a, s);
}

static const size_t min_size[] = {
	[OTEL_REC_SPAN_BEGIN] = sizeof(struct otel_rec_span_begin),
	[OTEL_REC_ATTR] = sizeof(struct otel_rec_attr),
	[OTEL_REC_EVENT] = sizeof(struct otel_rec_event),
	[OTEL_REC_LINK] = sizeof(struct otel_rec_link),
	[OTEL_REC_SPAN] = sizeof(struct otel_rec_span),
};

static const uint8_t zero_id[OTEL_SPAN_ID_SIZE];

/* Decode the record at a->r; size already checked against the buffer. */
static void decode(struct assembler *a, size_t size)
{
	const struct otel_rec_hdr *h = &a->r->hdr;

	/* an EVENT's time may come from the driver, the others' from the ring */
	if (h->type != OTEL_REC_EVENT && h->time_ns > a->ring_seen[h->cpu])
		a->ring_seen[h->cpu] = h->time_ns;
	if (h->type == OTEL_REC_RAW) {
		atomic_fetch_add(&stats.records_raw, 1);
		return;
	}
	if (h->type == OTEL_REC_COMM) {
		decode_comm(a, size);
		return;
	}
	/* unknown, including ABI 1's SPAN_END (2) and STATUS (6) */
	if (h->type >= sizeof(min_size) / sizeof(min_size[0]) ||
	    !min_size[h->type]) {
		atomic_fetch_add(&stats.records_unknown, 1);
		return;
	}
	if (size < min_size[h->type] ||
	    !memcmp(h->span_id, zero_id, sizeof(zero_id))) {
		count_corrupt();
		return;
	}
	if (h->type == OTEL_REC_SPAN)
		decode_span(a, size);
	else
		decode_part(a, size);
}

/* Copy the record at @p into a->rec, aligned (ASan: nothing past it). */
static void load_record(struct assembler *a, const uint8_t *p, size_t size)
{
#ifdef OTELD_ASAN
	ASAN_UNPOISON_MEMORY_REGION(a->rec.bytes, size);
	if (a->rec_used > size)
		ASAN_POISON_MEMORY_REGION(a->rec.bytes + size,
					  a->rec_used - size);
#endif
	if (size > a->rec_used)
		a->rec_used = size;
	memcpy(a->rec.bytes, p, size);
}

/*
 * Records are whole in what the rings and capture frames give: a size that
 * does not step to the next record, or runs past the end, leaves no way to
 * find one, and the rest is skipped, counted once.
 */
size_t assembler_feed(struct assembler *a, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0, records = 0;
	uint16_t type, size;

	while (off < len) {
		if (len - off < 4)
			goto cut;
		memcpy(&type, p + off, sizeof(type));
		memcpy(&size, p + off + 2, sizeof(size));
		if (size < 8 || size % 8 || size > len - off)
			goto cut;
		if (type != OTEL_REC_PAD) {
			records++;
			/* the kernel never writes more than max_record bytes */
			if (size < sizeof(struct otel_rec_hdr) ||
			    size > a->max_record) {
				count_corrupt();
			} else {
				if (IN_PLACE && !((uintptr_t)(p + off) % 8)) {
					a->r = (const union any_rec *)(p + off);
				} else {
					load_record(a, p + off, size);
					a->r = &a->rec;
				}
				decode(a, size);
			}
		}
		off += size;
	}
	atomic_fetch_add(&stats.records, records);
	return len;
cut:
	atomic_fetch_add(&stats.records, records);
	count_corrupt();
	return len;
}

void assembler_expire(struct assembler *a, uint64_t now_mono)
{
	struct span *s, *next;
	uint64_t now;

	if (now_mono > a->now)
		a->now = now_mono;
	now = clock_now(a);	/* never behind any time stamped on a span */
	/* a scan is O(open spans): at most one per EXPIRE_EVERY_NS */
	if (now - a->last_scan < EXPIRE_EVERY_NS)
		return;
	a->last_scan = now;
	for (s = a->oldest; s; s = next) {
		next = s->next;
		if (s->has_end && now - s->end_seen_mono >= a->grace_ns)
			finish(a, s, true);
		else if (now - s->first_mono >= a->timeout_ns)
			finish(a, s, true);
	}
}

void assembler_flush(struct assembler *a)
{
	while (a->oldest)
		finish(a, a->oldest, true);
	/* the rings hold nothing more: no name comes any more */
	assembler_pass_end(a);
	assembler_pass_end(a);
}

void assembler_free(struct assembler *a)
{
	struct span *s, *next;
	size_t i;

	if (!a)
		return;
	for (s = a->oldest; s; s = next) {
		next = s->next;
		span_free(s);
	}
	for (s = a->pend_new; s; s = next) {
		next = s->next;
		span_free(s);
	}
	for (s = a->pend_old; s; s = next) {
		next = s->next;
		span_free(s);
	}
	block_cache_drain(&a->blocks);
	for (i = 0; i < a->nr_scopes; i++) {
		free(a->scopes[i].name);
		free(a->scopes[i].version);
	}
	free(a->comms);
	free(a->ring_seen);
	free(a->buckets);
#ifdef OTELD_ASAN
	ASAN_UNPOISON_MEMORY_REGION(a->rec.bytes, sizeof(a->rec.bytes));
#endif
	free(a);
}
