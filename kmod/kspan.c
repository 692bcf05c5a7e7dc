// SPDX-License-Identifier: GPL-2.0
/*
 * The span API behind oteltrace.h: begin, end, attributes, events, links,
 * status, errno, and the span limits.
 *
 * One record per span (docs/span-records.md): the handle keeps the span
 * until it ends, its attributes already encoded as struct otel_attr_entry
 * in its inline buffer, and otel_kspan_end() writes one OTEL_REC_SPAN
 * record.  Events and links are records of their own (with their
 * attributes inside), and attributes that do not fit the inline buffer are
 * flushed as ATTR records; the SPAN record counts them in nr_records.
 * Nothing is allocated or locked.  An unsampled span gets ids and takes
 * part in nesting (so its children know they are unsampled) but writes
 * nothing; the inline wrappers skip the calls entirely.
 *
 * A handle is trusted only while its cookie matches its address
 * (otel_kspan_valid()); misuse is counted and made harmless (span_stats.c,
 * context.c).
 *
 * Limits are OpenTelemetry's SpanLimits: attributes per span, events per
 * span, links per span, attributes per event or link, and the attribute
 * value length.  What a limit cuts is counted and carried in the record:
 * the span's in its SPAN record, an event's or link's in its EVENT or LINK
 * record (and in the ATTR record of attributes added to it later).
 * Attributes may only be added to the latest event or link; those aimed at
 * an older one (or at one the limits cut) cannot be placed and count as
 * the span's dropped attributes.
 *
 * Where a span began (CPU, context, pid and tgid of the task) is in its
 * SPAN record; the task's name is not (16 bytes a span would mostly repeat):
 * a COMM record names a task the first time a span begins in it on a CPU
 * (note_comm()), as perf's COMM records do, and the reader keeps a table.
 *
 * The usual begin and end (a current or async span, a numeric attribute
 * with a literal key) are written for what they cost where the benchmark
 * runs, QEMU's TCG, and on hardware alike: few memory accesses (whole
 * words, no spill across the ring reservation), few calls (each return is
 * a lookup under TCG), no jump out of their page, no atomic but the end's
 * claim of a recording span (docs/benchmarks.md, "The span's hot path").
 *
 * Everything on these paths is notrace: the function tracer must not
 * re-enter the tracer (the ring refuses same-context recursion anyway), and
 * our trace events do not fire from inside themselves (event_guard()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "compat.h"
#include "context.h"
#include "ids.h"
#include "internal.h"
#include "oteltrace.h"
#include "oteltrace_trace.h"
#include "ring.h"
#include "ring_write.h"
#include "sampler.h"

/*
 * Each of the span's two hot functions starts a page of its own, and
 * fits in it: QEMU's TCG chains a jump to the next translation block only
 * within the page the jump starts from, and every jump across a page
 * boundary costs a lookup of the target (as much as ten plain
 * instructions: docs/benchmarks.md).  On hardware it costs nothing
 * either: each is one page of instruction cache and TLB.
 */
#define __otel_hot(name)						\
	__attribute__((__section__(".text.otel_" name),		\
		       __aligned__(PAGE_SIZE)))

/* The two hot functions, each in a page of its own (see above). */
void __otel_kspan_begin(struct otel_kspan *span,
			const struct otel_kscope *scope, const char *name,
			u32 info, const void *parent) __otel_hot("begin");
void __otel_kspan_end(struct otel_kspan *span) __otel_hot("end");

#define OTEL_KSPAN_NAME_MAX	256
#define OTEL_KSPAN_SCOPE_MAX	64
#define OTEL_KSPAN_KEY_MAX	128
#define OTEL_KSPAN_MSG_MAX	OTEL_KSPAN_INLINE_BYTES
#define OTEL_ENTRY_HDR		sizeof(struct otel_attr_entry)
/*
 * A string value at OTEL_KSPAN_VALUE_MAX still fits an ATTR record with a
 * key at its limit.
 */
static_assert(sizeof(struct otel_rec_attr) + sizeof(struct otel_attr_entry) +
	      8 + OTEL_KSPAN_KEY_MAX + OTEL_KSPAN_VALUE_MAX <=
	      OTEL_REC_MAX_SIZE);
/* Indices stop below OTEL_KSPAN_NO_TARGET. */
#define OTEL_KSPAN_INDEX_MAX	(OTEL_ATTR_TARGET_INDEX - 1)

/*
 * otel_tracing_key: true while tracing is enabled (exported GPL).  Tested
 * by the inline wrappers in oteltrace.h: while false, beginning a span
 * costs one static branch.  Set through OTEL_IOC_SET_CONFIG.
 */
DEFINE_STATIC_KEY_FALSE(otel_tracing_key);
EXPORT_SYMBOL_GPL(otel_tracing_key);

static unsigned int attr_count_limit = 128;
module_param(attr_count_limit, uint, 0644);
MODULE_PARM_DESC(attr_count_limit, "attributes per span (default 128)");

static unsigned int event_count_limit = 128;
module_param(event_count_limit, uint, 0644);
MODULE_PARM_DESC(event_count_limit, "events per span (default 128)");

static unsigned int link_count_limit = 128;
module_param(link_count_limit, uint, 0644);
MODULE_PARM_DESC(link_count_limit, "links per span (default 128)");

static unsigned int attr_per_event_limit = 128;
module_param(attr_per_event_limit, uint, 0644);
MODULE_PARM_DESC(attr_per_event_limit,
		 "attributes per event and per link (default 128)");

static unsigned int attr_value_length_limit = 512;
module_param(attr_value_length_limit, uint, 0644);
MODULE_PARM_DESC(attr_value_length_limit,
		 "bytes of a string attribute value, at most 840 (default 512)");

static bool begin_records;
module_param(begin_records, bool, 0644);
MODULE_PARM_DESC(begin_records,
		 "also write a SPAN_BEGIN record when a span begins (flight recorder; default off)");

/*
 * Tasks each CPU has named in a COMM record (note_comm()), direct-mapped by
 * pid.  A slot counts only while its generation is the current one:
 * otel_kspan_forget_comms() bumps it when a reader opens the device or the
 * rings are cleared, so a reader that starts late learns every task again.
 * Only task context on its own CPU, preemption disabled, touches a CPU's
 * slots: no lock, no atomic.
 */
#define OTEL_COMM_SLOTS	16

struct otel_comm_slot {
	u32	pid;
	u32	gen;
	u64	comm[2];
};

static DEFINE_PER_CPU_ALIGNED(struct otel_comm_slot,
			      otel_comm_cache[OTEL_COMM_SLOTS]);
/* 0 is never current: the slots start zeroed. */
static u32 otel_comm_gen = 1;

/*
 * Mixed into every handle's cookie: a stray word rarely passes for one.
 * Exported for oteltrace.h's inline no-op begin (__otel_kspan_magic()).
 */
unsigned long __otel_cookie_secret __ro_after_init;
EXPORT_SYMBOL_GPL(__otel_cookie_secret);

/*
 * Recursion guard of our own trace events, per CPU and context (task,
 * softirq, hardirq, NMI): a probe attached to oteltrace:kspan_* that begins
 * a span gets its span, but that span fires no event, so the chain stops.
 */
static DEFINE_PER_CPU(u8, otel_in_event[4]);

static __always_inline unsigned long kspan_magic(const struct otel_kspan *span)
{
	return __otel_kspan_magic(span);
}

/**
 * otel_kspan_valid() - is @span a handle oteltrace began (or ended)?
 * @span:	any handle
 *
 * Return: true if its cookie matches its address.
 */
notrace bool otel_kspan_valid(const struct otel_kspan *span)
{
	return (READ_ONCE(span->cookie) & ~OTEL_KSPAN_STATE_MASK) ==
	       kspan_magic(span);
}

static notrace u8 *event_guard(void)
{
	int level = in_nmi() ? 3 : in_hardirq() ? 2 :
		    in_serving_softirq() ? 1 : 0;

	return this_cpu_ptr(&otel_in_event[level]);
}

/* The name's length, measured only once something needs it. */
static notrace u16 measure_name(struct otel_kspan *span)
{
	if (!span->name_len && span->name[0])
		span->name_len = strnlen(span->name, OTEL_KSPAN_NAME_MAX);
	return span->name_len;
}

/* Fire oteltrace:kspan_begin, unless our own probe is running here. */
static noinline notrace void fire_begin(struct otel_kspan *span)
{
	u8 *guard;

	measure_name(span);
	preempt_disable_notrace();
	guard = event_guard();
	if (!*guard) {
		*guard = 1;
		trace_kspan_begin(span);
		*guard = 0;
	}
	preempt_enable_notrace();
}

/* The static key inline: a span whose event is off jumps nowhere. */
static __always_inline void trace_begin(struct otel_kspan *span)
{
	if (trace_kspan_begin_enabled())
		fire_begin(span);
}

/* Fire oteltrace:kspan_end, unless our own probe is running here. */
static noinline notrace void fire_end(struct otel_kspan *span)
{
	u8 *guard;

	measure_name(span);
	preempt_disable_notrace();
	guard = event_guard();
	if (!*guard) {
		*guard = 1;
		trace_kspan_end(span);
		*guard = 0;
	}
	preempt_enable_notrace();
}

/*
 * The static key inline: a span whose event is off jumps nowhere.  A
 * no-op span (noop.c) has no event: no ids to show.
 */
static __always_inline void trace_end(struct otel_kspan *span,
				      unsigned long cookie)
{
	if (trace_kspan_end_enabled() && !(cookie & OTEL_KSPAN_NOOP))
		fire_end(span);
}

static notrace unsigned int limit(const unsigned int *param, unsigned int max)
{
	return min(READ_ONCE(*param), max);
}

/*
 * Copy a short string into a record.  Inline word copies: a memcpy() call
 * with a variable length costs more than the copy itself for the few bytes
 * of names and keys (and is one emulated iteration per byte under QEMU).
 */
static __always_inline u8 *rec_copy(u8 *dst, const char *src, size_t n)
{
	for (; n >= 8; n -= 8, src += 8, dst += 8)
		put_unaligned(get_unaligned((const u64 *)src), (u64 *)dst);
	if (n & 4) {
		put_unaligned(get_unaligned((const u32 *)src), (u32 *)dst);
		src += 4;
		dst += 4;
	}
	if (n & 2) {
		put_unaligned(get_unaligned((const u16 *)src), (u16 *)dst);
		src += 2;
		dst += 2;
	}
	if (n & 1)
		*dst++ = *src;
	return dst;
}

/* Copy whole 8-byte words (entries are multiples of 8, 8-aligned). */
static __always_inline void word_copy(u8 *dst, const u8 *src, size_t n)
{
	for (; n >= 8; n -= 8, src += 8, dst += 8)
		*(u64 *)dst = *(const u64 *)src;
}

/*
 * Bytes of inline entries to copy out of the handle: never past its
 * buffer, never into the status message at its end (@msg_len), whole
 * words.  A handle a driver scribbled on must not make us read beyond it.
 */
static __always_inline u16 inline_used(const struct otel_kspan *span,
				       u16 msg_len)
{
	u16 used = READ_ONCE(span->ibuf_used);

	msg_len = min_t(u16, msg_len, OTEL_KSPAN_INLINE_BYTES);
	return min_t(u16, used, OTEL_KSPAN_INLINE_BYTES - msg_len) & ~7;
}

/* Reserve a record of @span: header filled, span id set, last word zero. */
static notrace void *rec_reserve(struct otel_kspan *span, u16 type,
				 size_t size)
{
	struct otel_rec_hdr *h = otel_ring_reserve(type, size);

	if (!h)
		return NULL;
	*(u64 *)((u8 *)h + h->size - sizeof(u64)) = 0;
	memcpy(h->span_id, span->span_id, OTEL_SPAN_ID_SIZE);
	return h;
}

/* --- attribute entries (struct otel_attr_entry) --- */

struct entry_shape {
	u16	klen;
	u16	vlen;
	u16	size;
	bool	den;
};

/* A known type and a non-empty key: anything else is dropped, counted. */
static notrace bool attr_ok(const struct otel_kattr *a)
{
	return a->type >= OTEL_ATTR_STRING && a->type <= OTEL_ATTR_DOUBLE &&
	       a->key && (a->key_len || a->key[0]);
}

/*
 * Lengths and size of @a's entry, after the key limit and the value limit
 * @vmax (read once per call by the caller: a module parameter may change
 * under us, and a record is reserved from these sizes).
 */
static notrace struct entry_shape entry_shape(const struct otel_kattr *a,
					      u16 vmax)
{
	struct entry_shape e;

	e.klen = a->key_len ? min_t(u16, a->key_len, OTEL_KSPAN_KEY_MAX) :
		 strnlen(a->key, OTEL_KSPAN_KEY_MAX);
	e.vlen = 0;
	if (a->type == OTEL_ATTR_STRING && a->str)
		e.vlen = min_t(size_t, a->str_len, vmax);
	e.den = a->type == OTEL_ATTR_DOUBLE && a->den;
	e.size = ALIGN(OTEL_ENTRY_HDR + (e.den ? 8 : 0) + e.klen + e.vlen, 8);
	return e;
}

/* Write @a as an entry of exactly @e's shape (measured before). */
static notrace void entry_write(u8 *dst, const struct otel_kattr *a,
				struct entry_shape e)
{
	struct otel_attr_entry *h = (struct otel_attr_entry *)dst;
	u8 *p = dst + OTEL_ENTRY_HDR;

	*(u64 *)(dst + e.size - 8) = 0;		/* the padding */
	h->value_type = a->type;
	h->entry_flags = e.den ? OTEL_ATTRF_DEN : 0;
	h->key_len = e.klen;
	h->value_len = e.vlen;
	h->size = e.size;
	h->value = a->type == OTEL_ATTR_BOOL ? !!a->i :
		   a->type == OTEL_ATTR_STRING ? 0 : a->i;
	if (e.den) {
		*(u64 *)p = a->den;
		p += 8;
	}
	rec_copy(rec_copy(p, a->key, e.klen), a->str, e.vlen);
}

/* Entries measured for one record, then written with those very shapes. */
#define OTEL_PACK_MAX	8	/* bounded: this lives on the stack, NMI too */

struct entry_pack {
	unsigned int		count;
	size_t			bytes;
	const struct otel_kattr	*attr[OTEL_PACK_MAX];
	struct entry_shape	shape[OTEL_PACK_MAX];
};

/*
 * Measure the next admitted attributes of @attrs from *@pos, as many as
 * *@left admits, @room bytes hold and one pack takes; advance *@pos and
 * *@left past them.  Attributes that are not attr_ok() are stepped over
 * (the caller's admission counted them).
 */
static notrace void pack_measure(struct entry_pack *pk,
				 const struct otel_kattr *attrs,
				 unsigned int n, unsigned int *pos,
				 unsigned int *left, size_t room, u16 vmax)
{
	pk->count = 0;
	pk->bytes = 0;
	for (; *pos < n && *left && pk->count < OTEL_PACK_MAX; (*pos)++) {
		struct entry_shape e;

		if (!attr_ok(&attrs[*pos]))
			continue;
		e = entry_shape(&attrs[*pos], vmax);
		if (pk->bytes + e.size > room)
			break;
		pk->attr[pk->count] = &attrs[*pos];
		pk->shape[pk->count++] = e;
		pk->bytes += e.size;
		(*left)--;
	}
}

static notrace void pack_write(u8 *dst, const struct entry_pack *pk)
{
	unsigned int i;

	for (i = 0; i < pk->count; i++) {
		entry_write(dst, pk->attr[i], pk->shape[i]);
		dst += pk->shape[i].size;
	}
}

/*
 * Admission by the limits: how many of @n attributes aimed at @target may
 * be written (the first valid ones).  The rest, and invalid ones, are
 * dropped: counted in *@dropped for the latest event or link (its record
 * carries the count), in the span's count for the span itself and for an
 * event or link that is not the latest (they cannot be placed).
 */
/* Dropped counts saturate: a count that wrapped would say "few". */
static __always_inline void sat_add(u32 *count, u32 n)
{
	*count = *count > U32_MAX - n ? U32_MAX : *count + n;
}

static notrace unsigned int attr_admit(struct otel_kspan *span, u16 target,
				       const struct otel_kattr *attrs,
				       unsigned int n, u32 *dropped)
{
	unsigned int i, valid = 0, room, take, lim;

	*dropped = 0;
	if (target != OTEL_ATTR_TARGET_SPAN && target != span->target) {
		/* no such event or link, or not the latest */
		sat_add(&span->dropped_attrs, n);
		return 0;
	}
	for (i = 0; i < n; i++)
		valid += attr_ok(&attrs[i]);
	if (target == OTEL_ATTR_TARGET_SPAN) {
		room = span->attr_room;
	} else {
		lim = limit(&attr_per_event_limit, U16_MAX);
		room = lim - min_t(unsigned int, span->target_attrs, lim);
	}
	take = min(valid, room);
	if (target == OTEL_ATTR_TARGET_SPAN) {
		sat_add(&span->dropped_attrs, n - take);
		span->attr_room -= take;
	} else {
		*dropped = n - take;
		span->target_attrs += take;
	}
	return take;
}

/* The string value limit, read once per call. */
static notrace u16 value_max(void)
{
	return limit(&attr_value_length_limit, OTEL_KSPAN_VALUE_MAX);
}

/*
 * Write the @left admitted attributes of @attrs from *@pos as ATTR records
 * aimed at @target, as many per record as fit; the first carries @dropped
 * (an event or link's attributes the limits cut), alone if need be.
 */
static notrace void write_attr_records(struct otel_kspan *span, u16 target,
				       const struct otel_kattr *attrs,
				       unsigned int n, unsigned int *pos,
				       unsigned int left, u16 vmax, u32 dropped)
{
	const size_t room = OTEL_REC_MAX_SIZE - sizeof(struct otel_rec_attr);
	struct otel_rec_attr *r;
	struct entry_pack pk;

	while (left || dropped) {
		pk.count = 0;
		pk.bytes = 0;
		if (left) {
			pack_measure(&pk, attrs, n, pos, &left, room, vmax);
			if (!pk.count && !dropped)
				break;	/* cannot happen: one entry always fits */
		}
		span->nr_records++;
		r = rec_reserve(span, OTEL_REC_ATTR, sizeof(*r) + pk.bytes);
		if (r) {
			r->target = target;
			r->nr_attrs = pk.count;
			r->dropped_attributes = dropped;
			pack_write((u8 *)(r + 1), &pk);
			otel_ring_commit(&r->hdr);
		}
		dropped = 0;	/* lost with the record if it was, counted there */
		if (!pk.count)
			break;
	}
}

/* The inline buffer is full: write its entries as one ATTR record. */
static notrace void flush_inline(struct otel_kspan *span)
{
	u16 used = inline_used(span, READ_ONCE(span->msg_len));
	struct otel_rec_attr *r;

	if (!span->nr_inline || !used)
		goto out;
	span->nr_records++;
	r = rec_reserve(span, OTEL_REC_ATTR, sizeof(*r) + used);
	if (r) {
		r->target = OTEL_ATTR_TARGET_SPAN;
		r->nr_attrs = span->nr_inline;
		r->dropped_attributes = 0;
		word_copy((u8 *)(r + 1), span->ibuf, used);
		otel_ring_commit(&r->hdr);
	}
out:
	span->ibuf_used = 0;
	span->nr_inline = 0;
}

/* Keep one admitted span attribute in the handle until the end. */
static notrace void attr_inline(struct otel_kspan *span,
				const struct otel_kattr *a, u16 vmax)
{
	struct entry_shape e = entry_shape(a, vmax);
	unsigned int pos = 0;

	if (e.size > OTEL_KSPAN_INLINE_BYTES - span->ibuf_used - span->msg_len) {
		flush_inline(span);
		if (e.size > OTEL_KSPAN_INLINE_BYTES - span->msg_len) {
			write_attr_records(span, OTEL_ATTR_TARGET_SPAN, a, 1,
					   &pos, 1, vmax, 0);
			return;
		}
	}
	entry_write(span->ibuf + span->ibuf_used, a, e);
	span->ibuf_used += e.size;
	span->nr_inline++;
}

/* --- records --- */

/*
 * The current task (@pid, @tgid, comm @c0 @c1) is not in this CPU's cache:
 * name it in a COMM record in this CPU's ring.  A COMM the ring has no
 * room for leaves the slot as it was: the next begin retries.
 */
static noinline notrace void comm_miss(u32 pid, u32 tgid, u64 c0, u64 c1,
				       u32 gen)
{
	struct otel_comm_slot *c;
	struct otel_rec_comm *r;

	preempt_disable_notrace();
	r = (struct otel_rec_comm *)__otel_ring_reserve(OTEL_REC_COMM,
							sizeof(*r));
	if (!r)
		goto out;
	r->pid = pid;
	r->tgid = tgid;
	put_unaligned(c0, (u64 *)r->comm);
	put_unaligned(c1, (u64 *)r->comm + 1);
	__otel_ring_commit(&r->hdr);
	c = this_cpu_ptr(&otel_comm_cache[pid % OTEL_COMM_SLOTS]);
	c->pid = pid;
	c->gen = gen;
	c->comm[0] = c0;
	c->comm[1] = c1;
out:
	preempt_enable_notrace();
}

/*
 * Name the current task (@pid, @tgid; task context, not the idle task)
 * in a COMM record unless this CPU already did, with this very name,
 * since the last reader came.  The comm is read unlocked, as perf does: a
 * rename racing with us may give a mixed name, which the next begin
 * corrects.  The check is one boolean and one branch, without disabling
 * preemption: should the task move to another CPU meanwhile, it compares
 * against that CPU's slot, which its owner may be rewriting; a mixed read
 * that still matches all four words names this task already (at worst a
 * COMM is written twice, or its name waits for the next begin).
 */
static __always_inline void note_comm(u32 pid, u32 tgid)
{
	u32 gen = READ_ONCE(otel_comm_gen);
	const u64 *comm = (const u64 *)current->comm;
	const struct otel_comm_slot *c;
	bool miss, nameable = pid;
	u64 c0, c1;

	BUILD_BUG_ON(sizeof(current->comm) != OTEL_COMM_LEN ||
		     2 * sizeof(u64) != OTEL_COMM_LEN);
	/* a rename may race with this read (see above): KCSAN, it is known */
	c0 = data_race(get_unaligned(comm));
	/* the comm's second word: the same */
	c1 = data_race(get_unaligned(comm + 1));
	c = raw_cpu_ptr(&otel_comm_cache[pid % OTEL_COMM_SLOTS]);
	/* another CPU's slot after a migration (see above): known */
	miss = data_race((c->pid ^ pid) | (c->gen ^ gen) |
			 (c->comm[0] ^ c0) | (c->comm[1] ^ c1)) != 0;
	if (unlikely(otel_all_in_one(miss & nameable)))
		comm_miss(pid, tgid, c0, c1, gen);
}

/**
 * otel_kspan_forget_comms() - every CPU names its tasks again
 *
 * Called when a reader opens the device and when the rings are cleared, so
 * that a reader learns the names of tasks named before it came.
 */
void otel_kspan_forget_comms(void)
{
	u32 gen = READ_ONCE(otel_comm_gen) + 1;

	WRITE_ONCE(otel_comm_gen, gen ? gen : 1);
}

static notrace void write_begin(struct otel_kspan *span)
{
	const struct otel_kscope *scope = span->scope;
	u16 sn = min_t(u16, scope->name_len, OTEL_KSPAN_SCOPE_MAX);
	u16 sv = min_t(u16, scope->version_len, OTEL_KSPAN_SCOPE_MAX);
	struct otel_rec_span_begin *r;
	u8 *p;

	span->nr_records++;
	span->span_flags |= OTEL_SPANF_BEGIN_RECORD;
	r = rec_reserve(span, OTEL_REC_SPAN_BEGIN,
			sizeof(*r) + span->name_len + sn + sv);
	if (!r)
		return;
	r->hdr.time_ns = span->start_ns;
	memcpy(r->trace_id, span->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(r->parent_span_id, span->parent_id, OTEL_SPAN_ID_SIZE);
	r->trace_flags = span->trace_flags;
	r->kind = span->kind;
	r->begin_flags = span->span_flags & OTEL_SPANF_REMOTE_PARENT;
	r->reserved0 = 0;
	r->name_len = span->name_len;
	r->scope_name_len = sn;
	r->scope_version_len = sv;
	r->reserved1 = 0;
	r->pid = span->pid;
	r->tgid = span->tgid;
	r->reserved2 = 0;
	p = rec_copy((u8 *)(r + 1), span->name, span->name_len);
	p = rec_copy(p, scope->name, sn);
	rec_copy(p, scope->version, sv);
	otel_ring_commit(&r->hdr);
}

/* Bytes of struct otel_kspan that mirror struct otel_rec_span. */
#define OTEL_KSPAN_IMAGE	(offsetofend(struct otel_kspan, zero1) - \
				 offsetof(struct otel_kspan, span_id))

#define OTEL_IMAGE_SAME(h, r)						\
	BUILD_BUG_ON(offsetof(struct otel_kspan, h) -			\
		     offsetof(struct otel_kspan, span_id) !=		\
		     offsetof(struct otel_rec_span, r) -		\
		     offsetof(struct otel_rec_span, hdr.span_id))

/* The handle's image and the record agree field by field. */
static inline void check_image_layout(void)
{
	OTEL_IMAGE_SAME(trace_id, trace_id);
	OTEL_IMAGE_SAME(parent_id, parent_span_id);
	OTEL_IMAGE_SAME(start_ns, start_ns);
	OTEL_IMAGE_SAME(trace_flags, trace_flags);
	OTEL_IMAGE_SAME(kind, kind);
	OTEL_IMAGE_SAME(status, status_code);
	OTEL_IMAGE_SAME(span_flags, span_flags);
	OTEL_IMAGE_SAME(begin_cpu, begin_cpu);
	OTEL_IMAGE_SAME(begin_ctx, begin_context);
	OTEL_IMAGE_SAME(zero0, reserved0);
	/* words 6 and 7 (lengths and counts) are made by write_span() */
	OTEL_IMAGE_SAME(name_len, name_len);
	OTEL_IMAGE_SAME(nr_records, nr_attrs);
	OTEL_IMAGE_SAME(dropped_attrs, dropped_attributes);
	OTEL_IMAGE_SAME(dropped_events, dropped_events);
	OTEL_IMAGE_SAME(dropped_links, dropped_links);
	OTEL_IMAGE_SAME(pid, pid);
	OTEL_IMAGE_SAME(tgid, tgid);
	OTEL_IMAGE_SAME(zero1, reserved1);
	BUILD_BUG_ON(sizeof(struct otel_rec_span) -
		     offsetof(struct otel_rec_span, hdr.span_id) !=
		     OTEL_KSPAN_IMAGE);
	BUILD_BUG_ON(OTEL_KSPAN_IMAGE != 11 * sizeof(u64));
	BUILD_BUG_ON(offsetof(struct otel_rec_span, name_len) -
		     offsetof(struct otel_rec_span, hdr.span_id) != 6 * 8);
	BUILD_BUG_ON(offsetof(struct otel_rec_span, nr_attrs) -
		     offsetof(struct otel_rec_span, hdr.span_id) != 7 * 8);
	BUILD_BUG_ON(offsetof(struct otel_kspan, span_id) % 8);
	BUILD_BUG_ON(offsetof(struct otel_kspan, ibuf) % 8);
}

/* Four u16 as the word that holds them in memory, in this order. */
static __always_inline u64 pack16(u16 a, u16 b, u16 c, u16 d)
{
#ifdef __LITTLE_ENDIAN
	return a | (u64)b << 16 | (u64)c << 32 | (u64)d << 48;
#else
	return (u64)a << 48 | (u64)b << 32 | (u64)c << 16 | d;
#endif
}

/* Two u16 and a u32 as the word that holds them in memory. */
static __always_inline u64 pack16_16_32(u16 a, u16 b, u32 c)
{
#ifdef __LITTLE_ENDIAN
	return a | (u64)b << 16 | (u64)c << 32;
#else
	return (u64)a << 48 | (u64)b << 32 | c;
#endif
}

/* Two u32 as the word that holds them in memory. */
static __always_inline u64 pack32(u32 a, u32 b)
{
#ifdef __LITTLE_ENDIAN
	return a | (u64)b << 32;
#else
	return (u64)a << 32 | b;
#endif
}

/* Two bytes as the u16 that holds them in memory. */
static __always_inline u16 pack8(u8 a, u8 b)
{
#ifdef __LITTLE_ENDIAN
	return a | b << 8;
#else
	return a << 8 | b;
#endif
}

/*
 * Words 0-5 and 8-10 of the image (ids, start, flags; counts and pid),
 * straight-line; words 6 and 7 are the record's own.  The reserved fields
 * (the last byte of word 5, the last half of word 10) are zeroed on the
 * way, whatever a driver wrote into its handle.
 */
static __always_inline void image_copy(u64 *d, const u64 *s)
{
	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
	d[3] = s[3];
	d[4] = s[4];
	d[5] = s[5] & ~pack16(0, 0, 0, pack8(0, 0xff));
	d[8] = s[8];
	d[9] = s[9];
	d[10] = s[10] & ~pack32(0, U32_MAX);
}

/*
 * Copy a string of @n bytes (at most OTEL_KSPAN_NAME_MAX) that the record
 * holds unpadded: whole words, the last one overlapping the one before
 * it; two branches for the usual names of 8 to 16 bytes.
 */
static __always_inline u8 *str_copy(u8 *dst, const char *src, size_t n)
{
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n && n > 16; i += 8)
			put_unaligned(get_unaligned((const u64 *)(src + i)),
				      (u64 *)(dst + i));
		if (n <= 16)
			put_unaligned(get_unaligned((const u64 *)src),
				      (u64 *)dst);
		put_unaligned(get_unaligned((const u64 *)(src + n - 8)),
			      (u64 *)(dst + n - 8));
	} else if (n >= 4) {
		put_unaligned(get_unaligned((const u32 *)src), (u32 *)dst);
		put_unaligned(get_unaligned((const u32 *)(src + n - 4)),
			      (u32 *)(dst + n - 4));
	} else if (n) {
		dst[0] = src[0];
		dst[n / 2] = src[n / 2];
		dst[n - 1] = src[n - 1];
	}
	return dst + n;
}

/* Copy two, four or eight words (@k), straight-line. */
static __always_inline void words_k(u64 *d, const u64 *s, unsigned int k)
{
	d[0] = s[0];
	if (k < 2)
		return;
	d[1] = s[1];
	if (k < 4)
		return;
	d[2] = s[2];
	d[3] = s[3];
	if (k < 8)
		return;
	d[4] = s[4];
	d[5] = s[5];
	d[6] = s[6];
	d[7] = s[7];
}

/*
 * Copy @n bytes of whole words, @n <= OTEL_KSPAN_INLINE_BYTES (128): one
 * branch per bit of @n / 8 rather than one per word.
 */
static __always_inline void words_copy(u64 *d, const u64 *s, size_t n)
{
	if (n & 128) {
		words_k(d, s, 8);
		words_k(d + 8, s + 8, 8);
		return;
	}
	if (n & 64) {
		words_k(d, s, 8);
		d += 8;
		s += 8;
	}
	if (n & 32) {
		words_k(d, s, 4);
		d += 4;
		s += 4;
	}
	if (n & 16) {
		words_k(d, s, 2);
		d += 2;
		s += 2;
	}
	if (n & 8)
		words_k(d, s, 1);
}

/*
 * The span's one record, timed @end_ns: the handle's image (ids, times,
 * counts) in one copy, the strings, and the inline attributes at the end.
 * Straight-line where it can be: under TCG a branch costs more than the
 * stores around it.
 */
static __always_inline void write_span(struct otel_kspan *span, u64 end_ns)
{
	const struct otel_kscope *scope = span->scope;
	/*
	 * Every length once, bounded: the record is reserved from these, and
	 * a racing set_status() or a scribbled handle must not make the
	 * copies below differ from the reservation or read past the handle.
	 * They travel packed as the record stores them (one register across
	 * the reservation, not four).
	 */
	u16 nl = min_t(u16, READ_ONCE(span->name_len), OTEL_KSPAN_NAME_MAX);
	u16 sn = min_t(u16, READ_ONCE(scope->name_len), OTEL_KSPAN_SCOPE_MAX);
	u16 sv = min_t(u16, READ_ONCE(scope->version_len),
		       OTEL_KSPAN_SCOPE_MAX);
	u16 ml = min_t(u16, READ_ONCE(span->msg_len), OTEL_KSPAN_MSG_MAX);
	u16 used = inline_used(span, ml);
	size_t off = ALIGN(sizeof(struct otel_rec_span) + nl + sn + sv + ml, 8);
	u64 lens = pack16(nl, sn, sv, ml);
	struct otel_rec_span *r;
	u8 *p;

	r = (struct otel_rec_span *)
		__otel_ring_reserve_at(OTEL_REC_SPAN, off + used, end_ns);
	if (!r)
		return;
	/* Padding after the strings; the fixed part is written after it. */
	*(u64 *)((u8 *)r + off - 8) = 0;
	image_copy((u64 *)r->hdr.span_id, (const u64 *)span->span_id);
	/* The record describes itself with the lengths it was sized from. */
	BUILD_BUG_ON(offsetof(struct otel_rec_span, status_message_len) !=
		     offsetof(struct otel_rec_span, name_len) + 6 ||
		     offsetof(struct otel_rec_span, nr_records) !=
		     offsetof(struct otel_rec_span, nr_attrs) + 4);
	*(u64 *)&r->name_len = lens;
	*(u64 *)&r->nr_attrs = pack16_16_32(used ? span->nr_inline : 0, off,
					    span->nr_records);
	p = str_copy((u8 *)(r + 1), span->name, r->name_len);
	p = str_copy(p, scope->name, r->scope_name_len);
	if (unlikely(r->scope_version_len | r->status_message_len)) {
		p = str_copy(p, scope->version, r->scope_version_len);
		str_copy(p, (const char *)span->ibuf +
			 OTEL_KSPAN_INLINE_BYTES - r->status_message_len,
			 r->status_message_len);
	}
	words_copy((u64 *)((u8 *)r + off), (const u64 *)span->ibuf, used);
	__otel_ring_commit(&r->hdr);
}

static notrace bool context_valid(const struct otel_span_context *ctx)
{
	return ctx && memchr_inv(ctx->trace_id, 0, OTEL_TRACE_ID_SIZE) &&
	       memchr_inv(ctx->span_id, 0, OTEL_SPAN_ID_SIZE);
}

/*
 * A handle about to be begun or reset: if it still holds an active span
 * (a driver bug), abandon that span (it writes nothing) and take it out of
 * its chain of current spans.  A stray cookie is just overwritten.
 */
static notrace void drop_active(struct otel_kspan *span)
{
	if (!otel_kspan_valid(span) || !(span->cookie & OTEL_KSPAN_ACTIVE))
		return;
	/* The old span may be a dead frame's: report without reading it. */
	otel_misuse(OTEL_MISUSE_BEGIN_ACTIVE, NULL);
	if (span->cookie & OTEL_KSPAN_CURRENT)
		otel_context_pop(span);
}

/**
 * __otel_kspan_reset() - begin with tracing disabled, on a used handle
 * @span:	a handle whose cookie is not zero
 *
 * Called by the oteltrace.h wrappers instead of __otel_kspan_begin() while
 * tracing is disabled: leaves the handle inactive (and an active span it
 * held abandoned, see __otel_kspan_begin()).
 *
 * Context: any.
 */
notrace void __otel_kspan_reset(struct otel_kspan *span)
{
	drop_active(span);
	span->cookie = 0;
}
EXPORT_SYMBOL_GPL(__otel_kspan_reset);

/*
 * The span's ids and sampling decision.  A child copies its parent's
 * trace id and takes the parent's span id as its parent id; a root makes
 * a trace id from its own id input.  Each id is stored as the 64-bit word
 * it is (big-endian in memory), no byte loop.
 */
static __always_inline bool set_ids(struct otel_kspan *span, const u8 *ptrace,
				    const u8 *pspan, u8 pflags)
{
	u64 in = otel_id_input(), r;
	__be64 hi, lo;
	int pstate;

	if (ptrace) {
		hi = get_unaligned((const __be64 *)ptrace);
		lo = get_unaligned((const __be64 *)(ptrace + 8));
		put_unaligned(get_unaligned((const u64 *)pspan),
			      (u64 *)span->parent_id);
		r = be64_to_cpu(lo);
		pstate = pflags & OTEL_TRACE_FLAG_SAMPLED ?
			 OTEL_PARENT_SAMPLED : OTEL_PARENT_UNSAMPLED;
	} else {
		hi = cpu_to_be64(otel_trace_id_of(in, &r));
		lo = cpu_to_be64(r);
		put_unaligned(0, (u64 *)span->parent_id);
		pstate = OTEL_PARENT_NONE;
	}
	put_unaligned(hi, (__be64 *)span->trace_id);
	put_unaligned(lo, (__be64 *)(span->trace_id + 8));
	put_unaligned(cpu_to_be64(otel_span_id_of(in)),
		      (__be64 *)span->span_id);
	return otel_sample(r, pstate);
}

/*
 * What only a recording span needs, all of it plain stores but for the
 * task's COMM check and the clock, read last (the start is the moment
 * the span is ready).
 */
static __always_inline void begin_recording(struct otel_kspan *span, int ctx)
{
	bool task = ctx == OTEL_CTX_TASK;
	/* ids in the initial pid namespace, as perf's */
	u32 pid = task ? task_pid_nr(current) : 0;
	u32 tgid = task ? task_tgid_nr(current) : 0;

	/* Whole words: nr_records and target_attrs; the dropped counts. */
	BUILD_BUG_ON(offsetof(struct otel_kspan, target_attrs) !=
		     offsetof(struct otel_kspan, nr_records) + 4 ||
		     offsetof(struct otel_kspan, pid) !=
		     offsetof(struct otel_kspan, dropped_links) + 4 ||
		     offsetof(struct otel_kspan, zero1) !=
		     offsetof(struct otel_kspan, tgid) + 4 ||
		     offsetof(struct otel_kspan, dropped_events) !=
		     offsetof(struct otel_kspan, dropped_attrs) + 4);
	*(u64 *)&span->nr_records = 0;
	*(u64 *)&span->dropped_attrs = 0;
	*(u64 *)&span->dropped_links = pack32(0, pid);
	*(u64 *)&span->tgid = pack32(tgid, 0);
	span->ibuf_state = pack16(0, limit(&attr_count_limit, U16_MAX), 0, 0);
	/* an idle task (pid 0) has no thread to name */
	if (task)
		note_comm(pid, tgid);
	if (unlikely(!span->name_len))
		measure_name(span);
	span->start_ns = otel_clock_ns();
	if (unlikely(READ_ONCE(begin_records)))
		write_begin(span);
}

/*
 * The second half of every begin, once the parent is known: ids from
 * @ptrace, @pspan and @pflags (NULL: a root), from a remote context if
 * @from_remote; @st, @slot: the chain to push a current span on, or NULL.
 */
static __always_inline void
begin_finish(struct otel_kspan *span, const struct otel_kscope *scope,
	     const char *name, u32 info, int ctx, const u8 *ptrace,
	     const u8 *pspan, u8 pflags, bool from_remote,
	     struct otel_ctx_stack *st, u32 slot)
{
	u16 name_len = info;
	enum otel_span_kind kind = (info >> 16) & 0xff;
	unsigned int flags = info >> 24;
	bool sampled = set_ids(span, ptrace, pspan, pflags);
	unsigned long cookie;

	/* Two words: flags, kind, status and where; the name's length. */
	BUILD_BUG_ON(offsetof(struct otel_kspan, zero0) !=
		     offsetof(struct otel_kspan, trace_flags) + 7 ||
		     offsetof(struct otel_kspan, target) !=
		     offsetof(struct otel_kspan, name_len) + 6);
	*(u64 *)&span->trace_flags =
		pack16(pack8(sampled ? OTEL_TRACE_FLAG_SAMPLED : 0, kind),
		       pack8(OTEL_STATUS_UNSET,
			     from_remote && !(flags & OTEL_BEGIN_LOCAL) ?
			     OTEL_SPANF_REMOTE_PARENT : 0),
		       raw_smp_processor_id(), pack8(ctx, 0));
	*(u64 *)&span->name_len =
		pack16(min_t(u16, name_len, OTEL_KSPAN_NAME_MAX), 0, 0, 0);
	span->name = name ? name : "";
	span->scope = scope;
	if (sampled)
		begin_recording(span, ctx);
	cookie = kspan_magic(span) | OTEL_KSPAN_ACTIVE |
		 (sampled ? OTEL_KSPAN_RECORDING : 0);
	if ((flags & OTEL_BEGIN_CURRENT) && st &&
	    otel_context_push(span, st, slot, ctx))
		cookie |= OTEL_KSPAN_CURRENT;
	/* Valid from here on (a racing end of a reused handle is a bug). */
	smp_store_release(&span->cookie, cookie);
	trace_begin(span);
}

/*
 * The context of a no-op span (oteltrace.h, __otel_kspan_noop()), for
 * propagation and for an explicit child: its parent's, which is the
 * current context of the task that began it, read in that task; anywhere
 * else none (an answer from another context could be another trace's).
 */
static notrace bool noop_context(const struct otel_kspan *span,
				 struct otel_span_context *ctx, bool *local)
{
	unsigned long c = READ_ONCE(span->cookie);

	if ((c & ~OTEL_KSPAN_STATE_MASK) == kspan_magic(span) &&
	    (c & OTEL_KSPAN_ACTIVE) && in_task() &&
	    READ_ONCE(span->ctx_ref) == (unsigned long)current)
		return otel_context_capture(ctx, local);
	memset(ctx, 0, sizeof(*ctx));
	*local = false;
	return false;
}

/*
 * Every begin the usual one (see __otel_kspan_begin()) is not: a handle
 * still active, an explicit parent, a task with no slot yet or not at its
 * first probe.
 */
static noinline notrace void begin_general(struct otel_kspan *span,
					   const struct otel_kscope *scope,
					   const char *name, u32 info,
					   const void *parent)
{
	unsigned int flags = info >> 24;
	const struct otel_span_context *remote =
		flags & OTEL_BEGIN_CTX ? parent : NULL;
	const struct otel_span_context *pctx = NULL;
	const u8 *ptrace = NULL, *pspan = NULL;
	struct otel_ctx_stack *st = NULL;
	int ctx = otel_context_index();
	bool from_remote = false;
	u8 pflags = 0;
	u32 slot = 0;
	const struct otel_kspan *p = remote ? NULL : parent;
	struct otel_span_context noop_pctx;
	bool local;

	if (unlikely(span->cookie))
		drop_active(span);

	if (flags & (OTEL_BEGIN_CURRENT | OTEL_BEGIN_ASYNC)) {
		const struct otel_span_context *tremote;
		const struct otel_ctx_entry *top = NULL;

		st = otel_context_stack(ctx, flags & OTEL_BEGIN_CURRENT,
					&tremote, &slot);
		if (st)
			top = otel_context_top(st, span);
		pctx = top ? &top->ctx : st ? tremote : NULL;
		from_remote = !top && pctx;
	} else if (p && (READ_ONCE(p->cookie) & OTEL_KSPAN_NOOP)) {
		/* a no-op parent's context is its own parent's */
		if (noop_context(p, &noop_pctx, &local)) {
			pctx = &noop_pctx;
			from_remote = !local;
		}
	} else if (p) {
		if (otel_kspan_valid(p) && (p->cookie & OTEL_KSPAN_ACTIVE)) {
			ptrace = p->trace_id;
			pspan = p->span_id;
			pflags = p->trace_flags;
		}
	} else if (context_valid(remote)) {
		pctx = remote;
		from_remote = true;
	}
	if (pctx) {
		ptrace = pctx->trace_id;
		pspan = pctx->span_id;
		pflags = pctx->trace_flags;
	}
	begin_finish(span, scope, name, info, ctx, ptrace, pspan, pflags,
		     from_remote, st, slot);
}

/**
 * __otel_kspan_begin() - begin a span (use the oteltrace.h wrappers)
 * @span:	handle; overwritten
 * @scope:	the calling module's scope
 * @name:	span name, valid until the end
 * @info:	OTEL_BEGIN_INFO(name_len, kind, flags): the bytes of @name if
 *		known (a literal's), else 0; enum otel_span_kind; and
 *		OTEL_BEGIN_CURRENT: parent is this context's current span and
 *		the new span becomes current; OTEL_BEGIN_ASYNC: parent is this
 *		context's current span; OTEL_BEGIN_EXPLICIT: parent is
 *		@parent (a span, or with OTEL_BEGIN_CTX a W3C context), or
 *		none if NULL; OTEL_BEGIN_LOCAL: that context is a copy of a
 *		kernel span's ids (no remote-parent flag)
 * @parent:	explicit parent (OTEL_BEGIN_EXPLICIT), or NULL
 *
 * A handle that still holds an active span has that span abandoned first
 * (counted as begin_active).  The usual begin (a current or async span on
 * a fresh handle, in an interrupt or in a task whose slot is at its first
 * probe) is inline here and makes no call but the clock's, for a
 * recording span (an unsampled one reads no clock); anything else takes
 * begin_general().
 *
 * Context: any.
 */
notrace void __otel_kspan_begin(struct otel_kspan *span,
				const struct otel_kscope *scope,
				const char *name, u32 info, const void *parent)
{
	const struct otel_span_context *pctx, *tremote = NULL;
	const struct otel_ctx_entry *top;
	struct otel_ctx_stack *st;
	u32 slot = 0, idx;
	int ctx;

	if (unlikely(span->cookie ||
		     !((info >> 24) & (OTEL_BEGIN_CURRENT | OTEL_BEGIN_ASYNC))))
		goto general;
	ctx = otel_context_index();
	if (likely(ctx == OTEL_CTX_TASK)) {
		idx = otel_slot_window(current, 0);
		if (unlikely(READ_ONCE(otel_slot_key[idx]) != current))
			goto general;
		st = &otel_slots[idx].stack;
		if (otel_slots[idx].has_remote)
			tremote = &otel_slots[idx].remote;
		slot = idx + 1;
	} else {
		st = this_cpu_ptr(&otel_irq_stacks[ctx - 1]);
	}
	top = otel_context_top(st, span);
	pctx = top ? &top->ctx : tremote;
	begin_finish(span, scope, name, info, ctx,
		     pctx ? pctx->trace_id : NULL, pctx ? pctx->span_id : NULL,
		     pctx ? pctx->trace_flags : 0, !top && tremote, st, slot);
	return;
general:
	begin_general(span, scope, name, info, parent);
}
EXPORT_SYMBOL_GPL(__otel_kspan_begin);

/* An end that is not a valid end of an active span: count what it is. */
static noinline notrace void end_refused(struct otel_kspan *span)
{
	if (!otel_kspan_valid(span))
		otel_misuse(OTEL_MISUSE_BAD_HANDLE, NULL);
	else if (READ_ONCE(span->cookie) & OTEL_KSPAN_ENDED)
		otel_misuse(OTEL_MISUSE_END_TWICE, NULL);
}

/**
 * __otel_kspan_end() - end a span (use otel_kspan_end())
 * @span:	the span; ending an ended span only counts it
 *
 * One test says whether the handle is valid and active; a recording span
 * reads the clock once (its end, also its record's time) and writes its
 * record.
 *
 * Context: any.
 */
notrace void __otel_kspan_end(struct otel_kspan *span)
{
	unsigned long c = READ_ONCE(span->cookie);
	unsigned long magic = kspan_magic(span);
	u64 end_ns = 0;

	if (unlikely((c & ~(OTEL_KSPAN_RECORDING | OTEL_KSPAN_CURRENT |
			    OTEL_KSPAN_NOOP)) != (magic | OTEL_KSPAN_ACTIVE))) {
		end_refused(span);
		return;
	}
	if (c & OTEL_KSPAN_RECORDING)
		end_ns = otel_clock_ns();
	/*
	 * Claim the end: of two racing ends (a driver bug, e.g. a timeout
	 * and a completion) exactly one writes the record.
	 */
	if (unlikely(!try_cmpxchg(&span->cookie, &c,
				  magic | OTEL_KSPAN_ENDED))) {
		end_refused(span);
		return;
	}
	if (c & OTEL_KSPAN_CURRENT)
		otel_context_pop(span);
	trace_end(span, c);
	if (c & OTEL_KSPAN_RECORDING)
		write_span(span, end_ns);
}
EXPORT_SYMBOL_GPL(__otel_kspan_end);

/**
 * otel_kspan_abandon() - drop an active span without a record
 * @span:	a handle in oteltrace's own memory (a bridge's)
 *
 * Claims the end like otel_kspan_end(), so of an abandon racing an end
 * exactly one wins; a current span's entry is marked gone in its chain.
 *
 * Return: true if this call dropped the span.
 *
 * Context: any.
 */
notrace bool otel_kspan_abandon(struct otel_kspan *span)
{
	unsigned long c = READ_ONCE(span->cookie);

	if (!(c & OTEL_KSPAN_ACTIVE) || !otel_kspan_valid(span) ||
	    !try_cmpxchg(&span->cookie, &c, 0))
		return false;
	if (c & OTEL_KSPAN_CURRENT)
		otel_context_abandon(span);
	return true;
}

/* Is @span recording?  Counts a handle that only looks like it. */
static notrace bool recording(const struct otel_kspan *span)
{
	if (!(span->cookie & OTEL_KSPAN_RECORDING))
		return false;
	if (likely(otel_kspan_valid(span)))
		return true;
	otel_misuse(OTEL_MISUSE_BAD_HANDLE, NULL);
	return false;
}

/**
 * otel_kspan_get_context() - the W3C context of a span, for propagation
 * @span:	a span
 * @ctx:	out; all zero if @span is not active
 *
 * A no-op span (noop_spans=Y, docs/driver-api.md "Sampling") has no ids of
 * its own: as the OpenTelemetry API's, its context is its parent's, the
 * current context of the task that began it, given only in that task
 * (elsewhere @ctx is all zero).
 *
 * Return: true if @ctx is valid.
 *
 * Context: any.
 */
notrace bool otel_kspan_get_context(const struct otel_kspan *span,
				    struct otel_span_context *ctx)
{
	unsigned long c = READ_ONCE(span->cookie);
	bool local;

	if (!(c & OTEL_KSPAN_ACTIVE) ||
	    (c & ~OTEL_KSPAN_STATE_MASK) != kspan_magic(span)) {
		memset(ctx, 0, sizeof(*ctx));
		return false;
	}
	if (c & OTEL_KSPAN_NOOP)
		return noop_context(span, ctx, &local);
	memcpy(ctx->trace_id, span->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(ctx->span_id, span->span_id, OTEL_SPAN_ID_SIZE);
	ctx->trace_flags = span->trace_flags;
	return true;
}
EXPORT_SYMBOL_GPL(otel_kspan_get_context);

/**
 * __otel_kspan_attrs() - add attributes (use the oteltrace.h wrappers)
 * @span:	a span
 * @target:	OTEL_ATTR_TARGET_SPAN, an event index, or
 *		OTEL_ATTR_TARGET_LINK | a link index
 * @attrs:	attributes
 * @n:		how many
 *
 * Span attributes are kept in the handle (flushed as an ATTR record when
 * it is full); event and link attributes are written at once.  Attributes
 * of an unknown type are dropped and counted.
 *
 * Context: any.
 */
notrace void __otel_kspan_attrs(struct otel_kspan *span, u16 target,
				const struct otel_kattr *attrs, unsigned int n)
{
	unsigned int i, take, pos = 0;
	u16 vmax = value_max();
	u32 dropped;

	if (!recording(span))
		return;
	take = attr_admit(span, target, attrs, n, &dropped);
	if (target != OTEL_ATTR_TARGET_SPAN) {
		write_attr_records(span, target, attrs, n, &pos, take, vmax,
				   dropped);
		return;
	}
	for (i = 0; i < n && take; i++) {
		if (!attr_ok(&attrs[i]))
			continue;
		attr_inline(span, &attrs[i], vmax);
		take--;
	}
}
EXPORT_SYMBOL_GPL(__otel_kspan_attrs);

/**
 * __otel_kspan_add_event() - add an event (use otel_kspan_add_event*())
 * @span:	a span
 * @name:	event name
 * @time_ns:	CLOCK_MONOTONIC ns, or 0 for now
 * @attrs:	its attributes, or NULL
 * @n:		how many
 *
 * Return: the event's index from 1, or 0 if it was not recorded.
 *
 * Context: any.
 */
notrace u16 __otel_kspan_add_event(struct otel_kspan *span, const char *name,
				   u64 time_ns, const struct otel_kattr *attrs,
				   unsigned int n)
{
	const size_t fixed = sizeof(struct otel_rec_event);
	unsigned int left, pos = 0;
	struct otel_rec_event *r;
	struct entry_pack pk;
	u16 nlen, idx, vmax = value_max();
	u32 dropped;
	size_t off;

	if (!recording(span))
		return 0;
	if (span->nr_events >= limit(&event_count_limit, OTEL_KSPAN_INDEX_MAX)) {
		/* its attributes go with it: not the span's (OTLP) */
		sat_add(&span->dropped_events, 1);
		return 0;
	}
	idx = ++span->nr_events;
	span->target = idx;
	span->target_attrs = 0;
	if (!attrs)
		n = 0;
	left = attr_admit(span, idx, attrs, n, &dropped);

	name = name ? name : "";
	nlen = strnlen(name, OTEL_KSPAN_NAME_MAX);
	off = ALIGN(fixed + nlen, 8);
	pack_measure(&pk, attrs, n, &pos, &left, OTEL_REC_MAX_SIZE - off, vmax);
	span->nr_records++;
	r = rec_reserve(span, OTEL_REC_EVENT, off + pk.bytes);
	if (r) {
		if (time_ns)
			r->hdr.time_ns = time_ns;
		*(u64 *)((u8 *)r + off - 8) = 0;
		r->index = idx;
		r->name_len = nlen;
		r->nr_attrs = pk.count;
		r->attrs_offset = off;
		r->dropped_attributes = dropped;
		r->reserved0 = 0;
		rec_copy((u8 *)(r + 1), name, nlen);
		pack_write((u8 *)r + off, &pk);
		otel_ring_commit(&r->hdr);
	}
	/* What did not fit in the event's record. */
	write_attr_records(span, idx, attrs, n, &pos, left, vmax, 0);
	return idx;
}
EXPORT_SYMBOL_GPL(__otel_kspan_add_event);

/**
 * __otel_kspan_add_link() - add a link (use otel_kspan_add_link())
 * @span:	a span
 * @ctx:	the linked span's context; an invalid one is ignored
 * @attrs:	the link's attributes, or NULL
 * @n:		how many
 *
 * Return: the link's index from 1, or 0 if it was not recorded.
 *
 * Context: any.
 */
notrace u16 __otel_kspan_add_link(struct otel_kspan *span,
				  const struct otel_span_context *ctx,
				  const struct otel_kattr *attrs,
				  unsigned int n)
{
	const size_t off = sizeof(struct otel_rec_link);
	unsigned int left, pos = 0;
	struct otel_rec_link *r;
	struct entry_pack pk;
	u16 idx, vmax = value_max();
	u32 dropped;

	if (!recording(span) || !context_valid(ctx))
		return 0;
	if (span->nr_links >= limit(&link_count_limit, OTEL_KSPAN_INDEX_MAX)) {
		/* its attributes go with it: not the span's (OTLP) */
		sat_add(&span->dropped_links, 1);
		return 0;
	}
	idx = ++span->nr_links;
	span->target = OTEL_ATTR_TARGET_LINK | idx;
	span->target_attrs = 0;
	if (!attrs)
		n = 0;
	left = attr_admit(span, span->target, attrs, n, &dropped);
	pack_measure(&pk, attrs, n, &pos, &left, OTEL_REC_MAX_SIZE - off, vmax);

	span->nr_records++;
	r = rec_reserve(span, OTEL_REC_LINK, off + pk.bytes);
	if (r) {
		memcpy(r->trace_id, ctx->trace_id, OTEL_TRACE_ID_SIZE);
		memcpy(r->span_id, ctx->span_id, OTEL_SPAN_ID_SIZE);
		r->trace_flags = ctx->trace_flags;
		r->reserved0 = 0;
		r->index = idx;
		r->nr_attrs = pk.count;
		r->dropped_attributes = min_t(u32, dropped, U16_MAX);
		/* what a u16 cannot hold goes in an ATTR record (u32) */
		dropped -= r->dropped_attributes;
		pack_write((u8 *)r + off, &pk);
		otel_ring_commit(&r->hdr);
	}
	write_attr_records(span, span->target, attrs, n, &pos, left, vmax,
			   r ? dropped : 0);
	return idx;
}
EXPORT_SYMBOL_GPL(__otel_kspan_add_link);

/**
 * __otel_kspan_set_status() - set the status (use otel_kspan_set_status())
 * @span:	a span
 * @code:	OTEL_STATUS_OK or OTEL_STATUS_ERROR; others are ignored
 * @message:	ERROR only, or NULL; copied (cut at 128 bytes)
 *
 * The message is kept at the end of the handle's inline buffer (the
 * attributes there are flushed first if it does not fit).
 *
 * Context: any.
 */
notrace void __otel_kspan_set_status(struct otel_kspan *span,
				     enum otel_status_code code,
				     const char *message)
{
	u16 mlen = 0;

	if (!recording(span) ||
	    (code != OTEL_STATUS_OK && code != OTEL_STATUS_ERROR) ||
	    span->status == OTEL_STATUS_OK)
		return;
	span->status = code;
	span->msg_len = 0;
	if (code == OTEL_STATUS_ERROR && message)
		mlen = strnlen(message, OTEL_KSPAN_MSG_MAX);
	if (!mlen)
		return;
	if (mlen > OTEL_KSPAN_INLINE_BYTES - span->ibuf_used)
		flush_inline(span);
	rec_copy(span->ibuf + OTEL_KSPAN_INLINE_BYTES - mlen, message, mlen);
	span->msg_len = mlen;
}
EXPORT_SYMBOL_GPL(__otel_kspan_set_status);

struct otel_errno_entry {
	u16		err;
	const char	*name;
};

#define OTEL_ERRNO(e)	{ e, #e }
/* Common errnos, kernel-internal ones included; looked up on error only. */
static const struct otel_errno_entry otel_errno_names[] = {
	OTEL_ERRNO(EPERM), OTEL_ERRNO(ENOENT), OTEL_ERRNO(ESRCH),
	OTEL_ERRNO(EINTR), OTEL_ERRNO(EIO), OTEL_ERRNO(ENXIO),
	OTEL_ERRNO(E2BIG), OTEL_ERRNO(ENOEXEC), OTEL_ERRNO(EBADF),
	OTEL_ERRNO(ECHILD), OTEL_ERRNO(EAGAIN), OTEL_ERRNO(ENOMEM),
	OTEL_ERRNO(EACCES), OTEL_ERRNO(EFAULT), OTEL_ERRNO(EBUSY),
	OTEL_ERRNO(EEXIST), OTEL_ERRNO(EXDEV), OTEL_ERRNO(ENODEV),
	OTEL_ERRNO(ENOTDIR), OTEL_ERRNO(EISDIR), OTEL_ERRNO(EINVAL),
	OTEL_ERRNO(ENFILE), OTEL_ERRNO(EMFILE), OTEL_ERRNO(ENOTTY),
	OTEL_ERRNO(EFBIG), OTEL_ERRNO(ENOSPC), OTEL_ERRNO(ESPIPE),
	OTEL_ERRNO(EROFS), OTEL_ERRNO(EMLINK), OTEL_ERRNO(EPIPE),
	OTEL_ERRNO(EDOM), OTEL_ERRNO(ERANGE), OTEL_ERRNO(EDEADLK),
	OTEL_ERRNO(ENAMETOOLONG), OTEL_ERRNO(ENOLCK),
	OTEL_ERRNO(ENOTEMPTY), OTEL_ERRNO(ELOOP), OTEL_ERRNO(ENOMSG),
	OTEL_ERRNO(ENODATA), OTEL_ERRNO(ETIME), OTEL_ERRNO(ENOLINK),
	OTEL_ERRNO(EPROTO), OTEL_ERRNO(EBADMSG), OTEL_ERRNO(EOVERFLOW),
	OTEL_ERRNO(EILSEQ), OTEL_ERRNO(ENOTSOCK), OTEL_ERRNO(EMSGSIZE),
	OTEL_ERRNO(EPROTONOSUPPORT), OTEL_ERRNO(EOPNOTSUPP),
	OTEL_ERRNO(EAFNOSUPPORT), OTEL_ERRNO(EADDRINUSE),
	OTEL_ERRNO(EADDRNOTAVAIL), OTEL_ERRNO(ENETDOWN),
	OTEL_ERRNO(ENETUNREACH), OTEL_ERRNO(ECONNABORTED),
	OTEL_ERRNO(ECONNRESET), OTEL_ERRNO(ENOBUFS), OTEL_ERRNO(EISCONN),
	OTEL_ERRNO(ENOTCONN), OTEL_ERRNO(ETIMEDOUT), OTEL_ERRNO(ECONNREFUSED),
	OTEL_ERRNO(EHOSTUNREACH), OTEL_ERRNO(EALREADY),
	OTEL_ERRNO(EINPROGRESS), OTEL_ERRNO(ESTALE), OTEL_ERRNO(EREMOTEIO),
	OTEL_ERRNO(EDQUOT), OTEL_ERRNO(ENOMEDIUM), OTEL_ERRNO(ECANCELED),
	OTEL_ERRNO(EKEYEXPIRED), OTEL_ERRNO(EOWNERDEAD),
	OTEL_ERRNO(ERESTARTSYS), OTEL_ERRNO(ENOIOCTLCMD),
	OTEL_ERRNO(EPROBE_DEFER), OTEL_ERRNO(ENOTSUPP),
};

/**
 * otel_errno_name() - the symbolic name of an errno
 * @err:	errno, negative or positive
 *
 * Return: "EIO" for -EIO, or NULL if not in oteltrace's table of common
 * errnos (which also knows the kernel-internal ERESTARTSYS, ENOTSUPP,
 * EPROBE_DEFER and ENOIOCTLCMD).
 *
 * Context: any.
 */
notrace const char *otel_errno_name(int err)
{
	unsigned int e = err < 0 ? -(unsigned int)err : err;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(otel_errno_names); i++) {
		if (otel_errno_names[i].err == e)
			return otel_errno_names[i].name;
	}
	return NULL;
}
EXPORT_SYMBOL_GPL(otel_errno_name);

/**
 * __otel_kspan_record_errno() - use otel_kspan_record_errno()
 * @span:	a span
 * @err:	negative errno
 *
 * Context: any.
 */
notrace void __otel_kspan_record_errno(struct otel_kspan *span, int err)
{
	struct otel_kattr attrs[2];
	const char *name;
	char buf[24];

	if (err >= 0 || !recording(span))
		return;
	name = otel_errno_name(err);
	if (!name) {
		snprintf(buf, sizeof(buf), "errno %u", -(unsigned int)err);
		name = buf;
	}
	__otel_kspan_set_status(span, OTEL_STATUS_ERROR, name);
	attrs[0] = OTEL_KATTR_STR("error.type", name);
	attrs[1] = OTEL_KATTR_INT("oteltrace.errno", -(s64)err);
	__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, attrs, 2);
}
EXPORT_SYMBOL_GPL(__otel_kspan_record_errno);

/**
 * otel_kspan_now_ns() - the clock of span and event times
 *
 * Return: CLOCK_MONOTONIC ns, NMI-safe; pass it to
 * otel_kspan_add_event_attrs() to time an event earlier than its record.
 *
 * Context: any.
 */
notrace u64 otel_kspan_now_ns(void)
{
	return otel_clock_ns();
}
EXPORT_SYMBOL_GPL(otel_kspan_now_ns);

/**
 * otel_kspan_set_enabled() - switch the span API on or off
 * @on:	true to trace
 *
 * Spans begun while off are no-ops until they end, even if tracing comes
 * back on in between.
 *
 * Context: process (changes a static key).
 */
void otel_kspan_set_enabled(bool on)
{
	if (on)
		static_branch_enable(&otel_tracing_key);
	else
		static_branch_disable(&otel_tracing_key);
}

/**
 * otel_kspan_begin_records() - are SPAN_BEGIN records written?
 *
 * Return: the begin_records setting.
 */
bool otel_kspan_begin_records(void)
{
	return READ_ONCE(begin_records);
}

/**
 * otel_kspan_set_begin_records() - write SPAN_BEGIN records, or not
 * @on:	true to write them
 */
void otel_kspan_set_begin_records(bool on)
{
	WRITE_ONCE(begin_records, on);
}

/**
 * otel_kspan_enabled() - is the span API on?
 *
 * Return: true while spans record.
 */
bool otel_kspan_enabled(void)
{
	return static_key_enabled(&otel_tracing_key);
}

/**
 * otel_kspan_init() - bring the span API up (from main.c)
 *
 * Return: 0 or a negative errno.
 */
int otel_kspan_init(void)
{
	int ret;

	check_image_layout();
	otel_ids_init();
	__otel_cookie_secret = get_random_long();
	ret = otel_context_init();
	if (ret)
		return ret;
	otel_kspan_set_enabled(true);
	return 0;
}

/**
 * otel_kspan_exit() - take the span API down (from main.c)
 *
 * Every module using the API has been unloaded (they depend on us).
 */
void otel_kspan_exit(void)
{
	otel_kspan_set_enabled(false);
	otel_context_exit();
	otel_span_stats_exit();
}
