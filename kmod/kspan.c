// SPDX-License-Identifier: GPL-2.0
/*
 * The span API behind oteltrace.h: begin, end, attributes, events, links,
 * status, errno, and the span limits.
 *
 * Each call writes at most one record straight into this CPU's ring
 * (otel_ring_reserve() / otel_ring_commit()) plus the attribute records it
 * carries; nothing is staged, allocated or locked.  An unsampled span gets
 * ids and takes part in nesting (so its children know they are unsampled)
 * but writes nothing; the inline wrappers skip the call entirely.
 *
 * Limits are OpenTelemetry's SpanLimits: attributes per span, events per
 * span, links per span, attributes per event or link, and the attribute
 * value length.  What a limit cuts is counted and carried in SPAN_END.
 * Attributes may only be added to the latest event or link; those aimed at
 * an older one, and those cut from an event or link, count as the span's
 * dropped attributes (the ABI has one count per span).
 *
 * SPAN_END.nr_records counts every record this span tried to write, so a
 * relay that received fewer knows the ring dropped some.
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
#include <linux/sched.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "internal.h"
#include "oteltrace.h"
#include "oteltrace_trace.h"
#include "ring.h"

#define OTEL_KSPAN_NAME_MAX	256
#define OTEL_KSPAN_SCOPE_MAX	64
#define OTEL_KSPAN_KEY_MAX	128
#define OTEL_KSPAN_MSG_MAX	256
#define OTEL_KSPAN_VALUE_MAX	(OTEL_REC_MAX_SIZE - \
				 sizeof(struct otel_rec_attr) - \
				 OTEL_KSPAN_KEY_MAX)
#define OTEL_KSPAN_INDEX_MAX	OTEL_ATTR_TARGET_INDEX

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
		 "bytes of a string attribute value, at most 848 (default 512)");

/*
 * Recursion guard of our own trace events, per CPU and context (task,
 * softirq, hardirq, NMI): a probe attached to oteltrace:kspan_* that begins
 * a span gets its span, but that span fires no event, so the chain stops.
 */
static DEFINE_PER_CPU(u8, otel_in_event[4]);

static notrace u8 *event_guard(void)
{
	int level = in_nmi() ? 3 : in_hardirq() ? 2 :
		    in_serving_softirq() ? 1 : 0;

	return this_cpu_ptr(&otel_in_event[level]);
}

/* The name's length, measured only once something needs it. */
static notrace u16 name_len(struct otel_kspan *span)
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
	name_len(span);
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
	name_len(span);
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
 * Reserve a record for @span and zero its last 8-byte word: the padding the
 * ring rounds up to is always inside it, and the payload written next
 * overwrites the rest.  One store instead of a memset() call.
 */
static notrace void *rec_reserve(struct otel_kspan *span, u16 type,
				 size_t size)
{
	struct otel_rec_hdr *h;

	span->nr_records++;
	h = otel_ring_reserve(type, size);
	if (!h)
		return NULL;
	*(u64 *)((u8 *)h + h->size - sizeof(u64)) = 0;
	memcpy(h->span_id, span->span_id, OTEL_SPAN_ID_SIZE);
	return h;
}

/*
 * Copy a short string into a record.  Inline word copies: a memcpy() call
 * with a variable length costs more than the copy itself for the few bytes
 * of names and keys (and is one emulated iteration per byte under QEMU).
 */
static __always_inline char *rec_copy(char *dst, const char *src, size_t n)
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

static notrace void write_begin(struct otel_kspan *span, bool remote)
{
	const struct otel_kscope *scope = span->scope;
	u16 sn = min_t(u16, scope->name_len, OTEL_KSPAN_SCOPE_MAX);
	u16 sv = min_t(u16, scope->version_len, OTEL_KSPAN_SCOPE_MAX);
	size_t used = sizeof(struct otel_rec_span_begin) + name_len(span) +
		      sn + sv;
	struct otel_rec_span_begin *r;
	char *p;

	r = rec_reserve(span, OTEL_REC_SPAN_BEGIN, used);
	if (!r)
		return;
	memcpy(r->trace_id, span->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(r->parent_span_id, span->parent_id, OTEL_SPAN_ID_SIZE);
	r->trace_flags = span->trace_flags;
	r->kind = span->kind;
	r->begin_flags = remote ? OTEL_BEGINF_REMOTE_PARENT : 0;
	r->reserved0 = 0;
	r->name_len = span->name_len;
	r->scope_name_len = sn;
	r->scope_version_len = sv;
	r->reserved1 = 0;
	if (in_task()) {
		r->pid = task_pid_nr(current);
		r->tgid = task_tgid_nr(current);
	} else {
		r->pid = 0;
		r->tgid = 0;
	}
	p = rec_copy((char *)(r + 1), span->name, span->name_len);
	p = rec_copy(p, scope->name, sn);
	rec_copy(p, scope->version, sv);
	otel_ring_commit(&r->hdr);
}

static notrace bool context_valid(const struct otel_span_context *ctx)
{
	return ctx && memchr_inv(ctx->trace_id, 0, OTEL_TRACE_ID_SIZE) &&
	       memchr_inv(ctx->span_id, 0, OTEL_SPAN_ID_SIZE);
}

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
 *		@parent, else @remote, else none
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
	struct otel_kspan **cell = NULL;
	int pstate = OTEL_PARENT_NONE;
	bool from_remote = false;
	bool sampled;

	/* Field by field: cheaper than a memset() of the whole handle. */
	span->status = OTEL_STATUS_UNSET;
	span->kind = kind;
	span->nr_attrs = 0;
	span->nr_events = 0;
	span->nr_links = 0;
	span->target = 0;
	span->target_attrs = 0;
	span->name_len = min_t(u16, name_len, OTEL_KSPAN_NAME_MAX);
	span->dropped_attrs = 0;
	span->dropped_events = 0;
	span->dropped_links = 0;
	span->nr_records = 0;
	span->name = name ? name : "";
	span->scope = scope;
	span->prev = NULL;
	span->cell = NULL;

	if (flags & OTEL_BEGIN_CURRENT) {
		cell = otel_context_cell(true, &remote);
		parent = cell ? READ_ONCE(*cell) : NULL;
	}
	if (parent && (parent->state & OTEL_KSPAN_ACTIVE)) {
		memcpy(span->trace_id, parent->trace_id, OTEL_TRACE_ID_SIZE);
		memcpy(span->parent_id, parent->span_id, OTEL_SPAN_ID_SIZE);
		pstate = parent->trace_flags & OTEL_TRACE_FLAG_SAMPLED ?
			 OTEL_PARENT_SAMPLED : OTEL_PARENT_UNSAMPLED;
	} else if (context_valid(remote)) {
		memcpy(span->trace_id, remote->trace_id, OTEL_TRACE_ID_SIZE);
		memcpy(span->parent_id, remote->span_id, OTEL_SPAN_ID_SIZE);
		pstate = remote->trace_flags & OTEL_TRACE_FLAG_SAMPLED ?
			 OTEL_PARENT_SAMPLED : OTEL_PARENT_UNSAMPLED;
		from_remote = true;
	} else {
		otel_new_trace_id(span->trace_id);
		memset(span->parent_id, 0, OTEL_SPAN_ID_SIZE);
	}
	otel_new_span_id(span->span_id);

	sampled = otel_sample(span->trace_id, pstate);
	span->trace_flags = sampled ? OTEL_TRACE_FLAG_SAMPLED : 0;
	span->state = OTEL_KSPAN_ACTIVE | (sampled ? OTEL_KSPAN_RECORDING : 0);
	if (cell)
		otel_context_push(span, cell);

	trace_begin(span);
	if (sampled)
		write_begin(span, from_remote);
}
EXPORT_SYMBOL_GPL(__otel_kspan_begin);

/**
 * __otel_kspan_end() - end a span (use otel_kspan_end())
 * @span:	the span; ending an ended span does nothing
 *
 * Context: any.
 */
notrace void __otel_kspan_end(struct otel_kspan *span)
{
	struct otel_rec_span_end *r;
	u32 nr;

	if (!(span->state & OTEL_KSPAN_ACTIVE))
		return;
	if (span->state & OTEL_KSPAN_CURRENT)
		otel_context_pop(span);
	trace_end(span);

	if (span->state & OTEL_KSPAN_RECORDING) {
		nr = span->nr_records;
		r = rec_reserve(span, OTEL_REC_SPAN_END, sizeof(*r));
		if (r) {
			r->dropped_attributes = span->dropped_attrs;
			r->dropped_events = span->dropped_events;
			r->dropped_links = span->dropped_links;
			r->nr_records = nr;
			otel_ring_commit(&r->hdr);
		}
	}
	span->state = 0;
}
EXPORT_SYMBOL_GPL(__otel_kspan_end);

/* May one more attribute go to @target?  Counts it either way. */
static notrace bool attr_admit(struct otel_kspan *span, u16 target)
{
	if (target == OTEL_ATTR_TARGET_SPAN) {
		if (span->nr_attrs >= limit(&attr_count_limit, U16_MAX))
			goto drop;
		span->nr_attrs++;
		return true;
	}
	if (target != span->target ||
	    span->target_attrs >= limit(&attr_per_event_limit, U16_MAX))
		goto drop;
	span->target_attrs++;
	return true;
drop:
	span->dropped_attrs++;
	return false;
}

static notrace void write_attr(struct otel_kspan *span, u16 target,
			       const struct otel_kattr *a)
{
	const char *key = a->key ? a->key : "";
	u16 klen = a->key_len ? min_t(u16, a->key_len, OTEL_KSPAN_KEY_MAX) :
		   strnlen(key, OTEL_KSPAN_KEY_MAX);
	u16 vlen = 0;
	struct otel_rec_attr *r;
	size_t used;

	if (a->type == OTEL_ATTR_STRING && a->str)
		vlen = min_t(size_t, a->str_len,
			     limit(&attr_value_length_limit,
				   OTEL_KSPAN_VALUE_MAX));
	used = sizeof(*r) + klen + vlen;
	r = rec_reserve(span, OTEL_REC_ATTR, used);
	if (!r)
		return;
	r->value_type = a->type;
	r->reserved0 = 0;
	r->target = target;
	r->key_len = klen;
	r->value_len = vlen;
	r->value = 0;
	r->den = 0;
	switch (a->type) {
	case OTEL_ATTR_BOOL:
		r->value = !!a->i;
		break;
	case OTEL_ATTR_INT:
		r->value = a->i;
		break;
	case OTEL_ATTR_DOUBLE:
		r->value = a->i;
		r->den = a->den;
		break;
	}
	rec_copy(rec_copy((char *)(r + 1), key, klen), a->str, vlen);
	otel_ring_commit(&r->hdr);
}

/**
 * __otel_kspan_attrs() - add attributes (use the oteltrace.h wrappers)
 * @span:	a span
 * @target:	OTEL_ATTR_TARGET_SPAN, an event index, or
 *		OTEL_ATTR_TARGET_LINK | a link index
 * @attrs:	attributes
 * @n:		how many
 *
 * Attributes of an unknown type are dropped and counted.
 *
 * Context: any.
 */
notrace void __otel_kspan_attrs(struct otel_kspan *span, u16 target,
				const struct otel_kattr *attrs, unsigned int n)
{
	unsigned int i;

	if (!(span->state & OTEL_KSPAN_RECORDING))
		return;
	for (i = 0; i < n; i++) {
		if (attrs[i].type < OTEL_ATTR_STRING ||
		    attrs[i].type > OTEL_ATTR_DOUBLE) {
			span->dropped_attrs++;
			continue;
		}
		if (attr_admit(span, target))
			write_attr(span, target, &attrs[i]);
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
	struct otel_rec_event *r;
	u16 nlen, idx;
	size_t used;

	if (!(span->state & OTEL_KSPAN_RECORDING))
		return 0;
	if (span->nr_events >= limit(&event_count_limit, OTEL_KSPAN_INDEX_MAX)) {
		span->dropped_events++;
		return 0;
	}
	idx = ++span->nr_events;
	span->target = idx;
	span->target_attrs = 0;

	name = name ? name : "";
	nlen = strnlen(name, OTEL_KSPAN_NAME_MAX);
	used = sizeof(*r) + nlen;
	r = rec_reserve(span, OTEL_REC_EVENT, used);
	if (r) {
		if (time_ns)
			r->hdr.time_ns = time_ns;
		r->index = idx;
		r->name_len = nlen;
		r->reserved0 = 0;
		rec_copy((char *)(r + 1), name, nlen);
		otel_ring_commit(&r->hdr);
	}
	if (attrs && n)
		__otel_kspan_attrs(span, idx, attrs, n);
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
	struct otel_rec_link *r;
	u16 idx;

	if (!(span->state & OTEL_KSPAN_RECORDING) || !context_valid(ctx))
		return 0;
	if (span->nr_links >= limit(&link_count_limit, OTEL_KSPAN_INDEX_MAX)) {
		span->dropped_links++;
		return 0;
	}
	idx = ++span->nr_links;
	span->target = OTEL_ATTR_TARGET_LINK | idx;
	span->target_attrs = 0;

	r = rec_reserve(span, OTEL_REC_LINK, sizeof(*r));
	if (r) {
		memcpy(r->trace_id, ctx->trace_id, OTEL_TRACE_ID_SIZE);
		memcpy(r->span_id, ctx->span_id, OTEL_SPAN_ID_SIZE);
		r->trace_flags = ctx->trace_flags;
		r->reserved0 = 0;
		r->index = idx;
		r->reserved1 = 0;
		otel_ring_commit(&r->hdr);
	}
	if (attrs && n)
		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_LINK | idx, attrs, n);
	return idx;
}
EXPORT_SYMBOL_GPL(__otel_kspan_add_link);

/**
 * __otel_kspan_set_status() - set the status (use otel_kspan_set_status())
 * @span:	a span
 * @code:	OTEL_STATUS_OK or OTEL_STATUS_ERROR; others are ignored
 * @message:	ERROR only, or NULL
 *
 * Context: any.
 */
notrace void __otel_kspan_set_status(struct otel_kspan *span,
				     enum otel_status_code code,
				     const char *message)
{
	struct otel_rec_status *r;
	u16 mlen = 0;
	size_t used;

	if (!(span->state & OTEL_KSPAN_RECORDING) ||
	    (code != OTEL_STATUS_OK && code != OTEL_STATUS_ERROR) ||
	    span->status == OTEL_STATUS_OK)
		return;
	span->status = code;
	if (code == OTEL_STATUS_ERROR && message)
		mlen = strnlen(message, OTEL_KSPAN_MSG_MAX);
	used = sizeof(*r) + mlen;
	r = rec_reserve(span, OTEL_REC_STATUS, used);
	if (!r)
		return;
	r->code = code;
	r->reserved0 = 0;
	r->message_len = mlen;
	r->reserved1 = 0;
	rec_copy((char *)(r + 1), message, mlen);
	otel_ring_commit(&r->hdr);
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

	if (err >= 0 || !(span->state & OTEL_KSPAN_RECORDING))
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

	otel_ids_init();
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
}
