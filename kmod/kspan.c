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

#define OTEL_KSPAN_NAME_MAX	256
#define OTEL_KSPAN_SCOPE_MAX	64
#define OTEL_KSPAN_KEY_MAX	128
#define OTEL_KSPAN_MSG_MAX	OTEL_KSPAN_INLINE_BYTES
#define OTEL_ENTRY_HDR		sizeof(struct otel_attr_entry)
/* A string value that still fits an ATTR record with a key at its limit. */
/* A string value at OTEL_KSPAN_VALUE_MAX still fits an ATTR record. */
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

/* Mixed into every handle's cookie: a stray word rarely passes for one. */
static unsigned long otel_cookie_secret __read_mostly;

/*
 * Recursion guard of our own trace events, per CPU and context (task,
 * softirq, hardirq, NMI): a probe attached to oteltrace:kspan_* that begins
 * a span gets its span, but that span fires no event, so the chain stops.
 */
static DEFINE_PER_CPU(u8, otel_in_event[4]);

static __always_inline unsigned long kspan_magic(const struct otel_kspan *span)
{
	return (((unsigned long)span ^ otel_cookie_secret) |
		(OTEL_KSPAN_STATE_MASK + 1)) & ~OTEL_KSPAN_STATE_MASK;
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

static notrace void trace_begin(struct otel_kspan *span)
{
	u8 *guard;

	if (!trace_kspan_begin_enabled())
		return;
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

static notrace void trace_end(struct otel_kspan *span)
{
	u8 *guard;

	if (!trace_kspan_end_enabled())
		return;
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
 * Name the current task in a COMM record in this CPU's ring unless this
 * CPU already did, with this very name, since the last reader came.  Task
 * context only (comm is read unlocked, as perf does: a rename racing with
 * us may give a mixed name, which the next begin corrects).  A COMM the
 * ring has no room for leaves the slot as it was: the next begin retries.
 */
static notrace void note_comm(const struct otel_kspan *span)
{
	u32 gen = READ_ONCE(otel_comm_gen);
	struct otel_comm_slot *c;
	struct otel_rec_comm *r;
	u64 comm[2];

	BUILD_BUG_ON(sizeof(comm) != OTEL_COMM_LEN ||
		     sizeof(current->comm) != OTEL_COMM_LEN);
	/* a rename may race with this copy (see above): KCSAN, it is known */
	data_race(memcpy(comm, current->comm, sizeof(comm)));
	preempt_disable_notrace();
	c = this_cpu_ptr(&otel_comm_cache[span->pid % OTEL_COMM_SLOTS]);
	if (likely(c->pid == span->pid && c->gen == gen &&
		   c->comm[0] == comm[0] && c->comm[1] == comm[1]))
		goto out;
	r = (struct otel_rec_comm *)__otel_ring_reserve(OTEL_REC_COMM,
							sizeof(*r));
	if (!r)
		goto out;
	r->pid = span->pid;
	r->tgid = span->tgid;
	memcpy(r->comm, comm, sizeof(comm));
	__otel_ring_commit(&r->hdr);
	c->pid = span->pid;
	c->gen = gen;
	c->comm[0] = comm[0];
	c->comm[1] = comm[1];
out:
	preempt_enable_notrace();
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
	u16 sn = span->scope_name_len, sv = span->scope_version_len;
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
	OTEL_IMAGE_SAME(name_len, name_len);
	OTEL_IMAGE_SAME(scope_name_len, scope_name_len);
	OTEL_IMAGE_SAME(scope_version_len, scope_version_len);
	OTEL_IMAGE_SAME(msg_len, status_message_len);
	OTEL_IMAGE_SAME(nr_inline, nr_attrs);
	OTEL_IMAGE_SAME(attrs_offset, attrs_offset);
	OTEL_IMAGE_SAME(nr_records, nr_records);
	OTEL_IMAGE_SAME(dropped_attrs, dropped_attributes);
	OTEL_IMAGE_SAME(dropped_events, dropped_events);
	OTEL_IMAGE_SAME(dropped_links, dropped_links);
	OTEL_IMAGE_SAME(pid, pid);
	OTEL_IMAGE_SAME(tgid, tgid);
	OTEL_IMAGE_SAME(zero1, reserved1);
	BUILD_BUG_ON(sizeof(struct otel_rec_span) -
		     offsetof(struct otel_rec_span, hdr.span_id) !=
		     OTEL_KSPAN_IMAGE);
	BUILD_BUG_ON(offsetof(struct otel_kspan, span_id) % 8);
}

/*
 * The span's one record: the handle's image (ids, times, counts) in one
 * copy, the strings, and the inline attributes at the end.
 */
static __always_inline void write_span(struct otel_kspan *span)
{
	const struct otel_kscope *scope = span->scope;
	/*
	 * Every length once, bounded: the record is reserved from these, and
	 * a racing set_status() or a scribbled handle must not make the
	 * copies below differ from the reservation or read past the handle.
	 */
	u16 nl = min_t(u16, READ_ONCE(span->name_len), OTEL_KSPAN_NAME_MAX);
	u16 sn = min_t(u16, READ_ONCE(span->scope_name_len),
		       OTEL_KSPAN_SCOPE_MAX);
	u16 sv = min_t(u16, READ_ONCE(span->scope_version_len),
		       OTEL_KSPAN_SCOPE_MAX);
	u16 ml = min_t(u16, READ_ONCE(span->msg_len), OTEL_KSPAN_MSG_MAX);
	u16 used = inline_used(span, ml);
	size_t off = ALIGN(sizeof(struct otel_rec_span) + nl + sn + sv + ml, 8);
	struct otel_rec_span *r;
	u8 *p;

	r = (struct otel_rec_span *)__otel_ring_reserve(OTEL_REC_SPAN,
							 off + used);
	if (!r)
		return;
	/* Padding after the strings; the fixed part is written after it. */
	*(u64 *)((u8 *)r + off - 8) = 0;
	word_copy(r->hdr.span_id, span->span_id, OTEL_KSPAN_IMAGE);
	/* The record describes itself with the lengths it was sized from. */
	r->reserved0 = 0;
	r->name_len = nl;
	r->scope_name_len = sn;
	r->scope_version_len = sv;
	r->status_message_len = ml;
	r->nr_attrs = used ? span->nr_inline : 0;
	r->attrs_offset = off;
	r->reserved1 = 0;
	p = rec_copy((u8 *)(r + 1), span->name, nl);
	p = rec_copy(p, scope->name, sn);
	p = rec_copy(p, scope->version, sv);
	rec_copy(p, (const char *)span->ibuf + OTEL_KSPAN_INLINE_BYTES - ml,
		 ml);
	word_copy((u8 *)r + off, span->ibuf, used);
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

/**
 * __otel_kspan_begin() - begin a span (use the oteltrace.h wrappers)
 * @span:	handle; overwritten
 * @scope:	the calling module's scope
 * @name:	span name, valid until the end
 * @name_len:	bytes of @name if known (a literal's), else 0
 * @kind:	enum otel_span_kind
 * @parent:	explicit parent span (OTEL_BEGIN_EXPLICIT), or NULL
 * @remote:	explicit W3C parent (OTEL_BEGIN_EXPLICIT), or NULL
 * @flags:	OTEL_BEGIN_CURRENT: parent is this context's current span and
 *		the new span becomes current; OTEL_BEGIN_EXPLICIT: parent is
 *		@parent, else @remote, else none; OTEL_BEGIN_LOCAL: @remote
 *		is a copy of a kernel span's ids (no remote-parent flag)
 *
 * A handle that still holds an active span has that span abandoned first
 * (counted as begin_active).
 *
 * Context: any.
 */
notrace void __otel_kspan_begin(struct otel_kspan *span,
				const struct otel_kscope *scope,
				const char *name, u16 name_len,
				enum otel_span_kind kind,
				const struct otel_kspan *parent,
				const struct otel_span_context *remote,
				unsigned int flags)
{
	const struct otel_ctx_entry *top = NULL;
	struct otel_ctx_stack *st = NULL;
	int pstate = OTEL_PARENT_NONE;
	u32 slot = 0;
	int ctx = otel_context_index();
	const u8 *ptrace = NULL, *pspan = NULL;
	u8 pflags = 0;
	bool sampled;

	if (unlikely(span->cookie))
		drop_active(span);

	if (flags & (OTEL_BEGIN_CURRENT | OTEL_BEGIN_ASYNC)) {
		st = otel_context_stack(ctx, flags & OTEL_BEGIN_CURRENT,
					&remote, &slot);
		if (st)
			top = otel_context_top(st, span);
		if (top) {
			ptrace = top->trace_id;
			pspan = top->span_id;
			pflags = top->trace_flags;
		}
	} else if (parent && otel_kspan_valid(parent) &&
		   (parent->cookie & OTEL_KSPAN_ACTIVE)) {
		ptrace = parent->trace_id;
		pspan = parent->span_id;
		pflags = parent->trace_flags;
	}

	span->span_flags = 0;
	if (ptrace) {
		memcpy(span->trace_id, ptrace, OTEL_TRACE_ID_SIZE);
		memcpy(span->parent_id, pspan, OTEL_SPAN_ID_SIZE);
	} else if (context_valid(remote)) {
		memcpy(span->trace_id, remote->trace_id, OTEL_TRACE_ID_SIZE);
		memcpy(span->parent_id, remote->span_id, OTEL_SPAN_ID_SIZE);
		pflags = remote->trace_flags;
		if (!(flags & OTEL_BEGIN_LOCAL))
			span->span_flags = OTEL_SPANF_REMOTE_PARENT;
		ptrace = span->trace_id;
	} else {
		otel_new_trace_id(span->trace_id);
		memset(span->parent_id, 0, OTEL_SPAN_ID_SIZE);
	}
	if (ptrace)
		pstate = pflags & OTEL_TRACE_FLAG_SAMPLED ?
			 OTEL_PARENT_SAMPLED : OTEL_PARENT_UNSAMPLED;
	otel_new_span_id(span->span_id);
	sampled = otel_sample(span->trace_id, pstate);

	span->trace_flags = sampled ? OTEL_TRACE_FLAG_SAMPLED : 0;
	span->kind = kind;
	span->status = OTEL_STATUS_UNSET;
	span->name = name ? name : "";
	span->name_len = min_t(u16, name_len, OTEL_KSPAN_NAME_MAX);
	span->scope = scope;
	/* What only a recording span needs, set before the cookie says so. */
	if (sampled) {
		span->begin_cpu = raw_smp_processor_id();
		span->begin_ctx = ctx;
		span->zero0 = 0;
		span->scope_name_len = min_t(u16, scope->name_len,
					     OTEL_KSPAN_SCOPE_MAX);
		span->scope_version_len = min_t(u16, scope->version_len,
						OTEL_KSPAN_SCOPE_MAX);
		span->msg_len = 0;
		span->nr_inline = 0;
		span->nr_records = 0;
		span->dropped_attrs = 0;
		span->dropped_events = 0;
		span->dropped_links = 0;
		span->zero1 = 0;
		span->ibuf_used = 0;
		span->attr_room = limit(&attr_count_limit, U16_MAX);
		span->nr_events = 0;
		span->nr_links = 0;
		span->target = 0;
		span->target_attrs = 0;
		if (ctx == OTEL_CTX_TASK) {
			/* ids in the initial pid namespace, as perf's */
			span->pid = task_pid_nr(current);
			span->tgid = task_tgid_nr(current);
			/* an idle task (pid 0) has no thread to name */
			if (!is_idle_task(current))
				note_comm(span);
		} else {
			span->pid = 0;
			span->tgid = 0;
		}
		measure_name(span);
		span->start_ns = otel_clock_ns();
		if (READ_ONCE(begin_records))
			write_begin(span);
	}
	/* Valid from here on (a racing end of a reused handle is a bug). */
	smp_store_release(&span->cookie, kspan_magic(span) | OTEL_KSPAN_ACTIVE |
			  (sampled ? OTEL_KSPAN_RECORDING : 0));
	if (st && (flags & OTEL_BEGIN_CURRENT))
		otel_context_push(span, st, slot);
	trace_begin(span);
}
EXPORT_SYMBOL_GPL(__otel_kspan_begin);

/**
 * __otel_kspan_end() - end a span (use otel_kspan_end())
 * @span:	the span; ending an ended span only counts it
 *
 * Context: any.
 */
notrace void __otel_kspan_end(struct otel_kspan *span)
{
	unsigned long c = READ_ONCE(span->cookie);

	if (!otel_kspan_valid(span)) {
		otel_misuse(OTEL_MISUSE_BAD_HANDLE, NULL);
		return;
	}
	/*
	 * Claim the end: of two racing ends (a driver bug, e.g. a timeout
	 * and a completion) exactly one writes the record.
	 */
	if (!(c & OTEL_KSPAN_ACTIVE) ||
	    !try_cmpxchg(&span->cookie, &c,
			 (c & OTEL_KSPAN_CURRENT) | kspan_magic(span) |
			 OTEL_KSPAN_ENDED)) {
		if (READ_ONCE(span->cookie) & OTEL_KSPAN_ENDED)
			otel_misuse(OTEL_MISUSE_END_TWICE, NULL);
		return;
	}
	if (c & OTEL_KSPAN_CURRENT)
		otel_context_pop(span);
	trace_end(span);
	if (c & OTEL_KSPAN_RECORDING)
		write_span(span);
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
 * Return: true if @span is active (recording or not).
 *
 * Context: any.
 */
notrace bool otel_kspan_get_context(const struct otel_kspan *span,
				    struct otel_span_context *ctx)
{
	if (!(span->cookie & OTEL_KSPAN_ACTIVE) || !otel_kspan_valid(span)) {
		memset(ctx, 0, sizeof(*ctx));
		return false;
	}
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
	otel_cookie_secret = get_random_long();
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
