/* SPDX-License-Identifier: GPL-2.0 */
/*
 * oteltrace driver API: OpenTelemetry spans from kernel code.
 *
 * The one header a driver includes (build with -I<oteltrace>/kmod and
 * KBUILD_EXTRA_SYMBOLS=<oteltrace>/Module.symvers).  docs/driver-api.md has
 * a complete example, the context rules and what each call costs.
 *
 *	DEFINE_OTEL_KSPAN(span);
 *
 *	otel_kspan_begin(&span, "mydrv.read", OTEL_SPAN_KIND_INTERNAL);
 *	otel_kspan_set_int(&span, "mydrv.len", len);
 *	ret = do_read();
 *	otel_kspan_record_errno(&span, ret);
 *	otel_kspan_end(&span);
 *
 * The span handle lives in the caller's memory (stack or request struct);
 * oteltrace never allocates.  The span is written to the rings as one
 * record when it ends (docs/span-records.md).  Every call is safe in task, softirq, hardirq
 * and NMI context and never sleeps.  Calls on one span must not race with
 * each other (the handle is not locked, like any other driver object).
 *
 * Every span carries the including module's name (KBUILD_MODNAME) and the
 * optional OTEL_SCOPE_VERSION (define it before including this header) as
 * its OpenTelemetry instrumentation scope.
 */
#ifndef _OTELTRACE_H
#define _OTELTRACE_H

#include <linux/align.h>
#include <linux/build_bug.h>
#include <linux/jump_label.h>
#include <linux/kconfig.h>
#include <linux/minmax.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/current.h>

#include "../uapi/oteltrace.h"

/**
 * struct otel_kscope - instrumentation scope of a span (the module)
 * @name:	scope name, not NUL-terminated (KBUILD_MODNAME)
 * @version:	scope version (OTEL_SCOPE_VERSION or "")
 * @name_len:	bytes of @name
 * @version_len: bytes of @version
 */
struct otel_kscope {
	const char	*name;
	const char	*version;
	u16		name_len;
	u16		version_len;
};

#ifndef OTEL_SCOPE_VERSION
#define OTEL_SCOPE_VERSION ""
#endif

/* One per including module: the scope every span of this module carries. */
static const struct otel_kscope __otel_scope __maybe_unused = {
	.name		= KBUILD_MODNAME,
	.version	= OTEL_SCOPE_VERSION,
	.name_len	= sizeof(KBUILD_MODNAME) - 1,
	.version_len	= sizeof(OTEL_SCOPE_VERSION) - 1,
};

/**
 * struct otel_span_context - W3C trace context of a span (for propagation)
 * @trace_id:		W3C trace id, all zero when invalid
 * @span_id:		W3C span id (the parent, seen from the receiver)
 * @trace_flags:	W3C trace flags (OTEL_TRACE_FLAG_SAMPLED)
 */
struct otel_span_context {
	u8	trace_id[OTEL_TRACE_ID_SIZE];
	u8	span_id[OTEL_SPAN_ID_SIZE];
	u8	trace_flags;
};

/* Length of a version-00 traceparent string, without the NUL. */
#define OTEL_TRACEPARENT_LEN	55

/*
 * struct otel_kspan.cookie: the handle's own address mixed with a boot-time
 * secret, in the bits above OTEL_KSPAN_STATE_MASK, while the handle is
 * begun or ended; the state bits below.  Zero before begin (from
 * DEFINE_OTEL_KSPAN()) and while tracing is disabled.  Private.
 */
#define OTEL_KSPAN_ACTIVE	0x01	/* begun, not yet ended */
#define OTEL_KSPAN_RECORDING	0x02	/* sampled: writes a record at end */
#define OTEL_KSPAN_CURRENT	0x04	/* in a context's chain of current spans */
#define OTEL_KSPAN_ENDED	0x08	/* ended (a second end is counted) */
#define OTEL_KSPAN_NOOP		0x10	/* a no-op span (noop_spans=Y) */
#define OTEL_KSPAN_STATE_MASK	0x1fUL

/* Bytes of attributes (and status message) a handle keeps until the end. */
#define OTEL_KSPAN_INLINE_BYTES	128

/* Longest string attribute value kept (attr_value_length_limit's cap). */
#define OTEL_KSPAN_VALUE_MAX	840

/* An attribute target no event or link ever has (its attributes drop). */
#define OTEL_KSPAN_NO_TARGET	OTEL_ATTR_TARGET_INDEX

/**
 * struct otel_kspan - a span; lives in the caller's memory
 * @cookie:	validity and state (see OTEL_KSPAN_ACTIVE); read by the
 *		inline wrappers, everything else only by oteltrace.ko
 * @span_id:	W3C span id, never zero
 * @trace_id:	W3C trace id
 * @parent_id:	parent span id, all zero for a root
 * @start_ns:	start time (CLOCK_MONOTONIC ns)
 * @trace_flags: W3C trace flags (sampled)
 * @kind:	enum otel_span_kind
 * @status:	enum otel_status_code set so far
 * @span_flags:	OTEL_SPANF_* of the record
 * @begin_cpu:	CPU it began on
 * @begin_ctx:	enum otel_context it began in
 * @zero0:	zero
 * @name_len:	bytes of @name
 * @nr_events:	events written (the last one's index)
 * @nr_links:	links written (the last one's index)
 * @target:	ATTR target of the last event or link
 * @nr_records:	records written before the final one (events, links...)
 * @target_attrs: attributes admitted on @target
 * @pad0:	unused
 * @dropped_attrs: attributes cut by the limits or with no target
 * @dropped_events: events cut by the limits
 * @dropped_links: links cut by the limits
 * @pid:	thread id at begin (task context), else 0
 * @tgid:	process id at begin (task context), else 0
 * @zero1:	zero
 * @name:	span name; must stay valid until the span ends
 * @scope:	instrumentation scope (the creating module)
 * @ctx_ref:	its entry in a chain of current spans (OTEL_KSPAN_CURRENT):
 *		the entry's generation, index, and the chain's owner (a task
 *		slot, or an interrupt level of a CPU), packed
 * @ibuf_used:	bytes of attribute entries at the start of @ibuf
 * @attr_room:	span attributes the count limit still admits
 * @nr_inline:	attribute entries in @ibuf
 * @msg_len:	bytes of the status message, kept at the end of @ibuf
 * @ibuf_state:	@ibuf_used, @attr_room, @nr_inline and @msg_len as one
 *		word (an inline attribute reads and writes it once)
 * @ibuf:	attribute entries (struct otel_attr_entry encoding) and the
 *		status message, copied into the span's record at end
 *
 * From @span_id to @zero1 the handle has the layout of struct
 * otel_rec_span from hdr.span_id on, but for the record's lengths and
 * counts (its words 6 and 7), which the end makes: the end copies the
 * other words as they are (kspan.c checks this at build time).  All
 * fields are private: use the functions below, and declare handles with
 * DEFINE_OTEL_KSPAN().  Read ids through otel_kspan_get_context().
 */
struct otel_kspan {
	unsigned long		cookie;
	/* the record's image */
	u8			span_id[OTEL_SPAN_ID_SIZE];
	u8			trace_id[OTEL_TRACE_ID_SIZE];
	u8			parent_id[OTEL_SPAN_ID_SIZE];
	u64			start_ns;
	u8			trace_flags;
	u8			kind;
	u8			status;
	u8			span_flags;
	u16			begin_cpu;
	u8			begin_ctx;
	u8			zero0;
	/* where the record has its lengths and counts */
	u16			name_len;
	u16			nr_events;
	u16			nr_links;
	u16			target;
	u32			nr_records;
	u16			target_attrs;
	u16			pad0;
	/* the record's image again */
	u32			dropped_attrs;
	u32			dropped_events;
	u32			dropped_links;
	u32			pid;
	u32			tgid;
	u32			zero1;
	/* private state */
	const char		*name;
	const struct otel_kscope *scope;
	u64			ctx_ref;
	union {
		struct {
			u16	ibuf_used;
			u16	attr_room;
			u16	nr_inline;
			u16	msg_len;
		};
		u64		ibuf_state;
	};
	u8			ibuf[OTEL_KSPAN_INLINE_BYTES] __aligned(8);
};

#if defined(__has_attribute)
#if __has_attribute(__uninitialized__)
#define __otel_noinit	__attribute__((__uninitialized__))
#endif
#endif
#ifndef __otel_noinit
#define __otel_noinit
#endif

/* Only the cookie needs a value before begin; see DEFINE_OTEL_KSPAN(). */
static __always_inline struct otel_kspan __otel_kspan_init(void)
{
	struct otel_kspan span __otel_noinit;

	span.cookie = 0;
	return span;
}

/**
 * DEFINE_OTEL_KSPAN() - declare a span handle, ready to begin or to end
 * @name:	the variable
 *
 * Ending a handle declared this way and never begun does nothing, so every
 * exit path of a function may end it.  Only its first word is written (one
 * store): kernels built with CONFIG_INIT_STACK_ALL_ZERO would otherwise
 * clear the whole handle on every call, which costs more than a disabled
 * span.  A handle inside a larger object needs no macro if the object is
 * zeroed (kzalloc()).
 */
#define DEFINE_OTEL_KSPAN(name) \
	struct otel_kspan name = __otel_kspan_init()

/**
 * struct otel_kattr - one attribute, for the array forms
 * @key:	attribute key (NUL-terminated, cut at 128 bytes)
 * @key_len:	bytes of @key, or 0 to have it measured
 * @type:	enum otel_attr_type
 * @str_len:	STRING: bytes of @str
 * @str:	STRING value (need not be NUL-terminated)
 * @i:		INT value; BOOL: 0 or 1; DOUBLE: numerator or IEEE bits
 * @den:	DOUBLE: denominator, 0 when @i holds the IEEE 754 bits
 *
 * Build them with OTEL_KATTR_STR() and friends.
 */
struct otel_kattr {
	const char	*key;
	u16		key_len;
	u8		type;
	u16		str_len;
	const char	*str;
	s64		i;
	u64		den;
};

/*
 * Length of a string literal, folded at compile time; 0 (measure at run
 * time, only if the span records) for anything else.
 */
static __always_inline u16 otel_const_strlen(const char *s)
{
	return __builtin_constant_p(__builtin_strlen(s)) &&
	       __builtin_strlen(s) <= 0xffff ? __builtin_strlen(s) : 0;
}

static __always_inline struct otel_kattr otel_kattr_str(const char *k,
							const char *s)
{
	return (struct otel_kattr){ .key = k, .key_len = otel_const_strlen(k),
				    .type = OTEL_ATTR_STRING, .str = s,
				    .str_len = s ? strnlen(s, OTEL_KSPAN_VALUE_MAX) : 0 };
}

static __always_inline struct otel_kattr otel_kattr_num(const char *k,
							u8 type, s64 i,
							u64 den)
{
	return (struct otel_kattr){ .key = k, .key_len = otel_const_strlen(k),
				    .type = type, .i = i, .den = den };
}

/* A fraction's denominator: 0 means 1, as otel_kspan_set_double() says. */
static __always_inline u64 otel_kattr_den(u64 den)
{
	return den ? den : 1;
}

#define OTEL_KATTR_STR(k, s)	otel_kattr_str((k), (s))
#define OTEL_KATTR_BOOL(k, b)	otel_kattr_num((k), OTEL_ATTR_BOOL, !!(b), 0)
#define OTEL_KATTR_INT(k, v)	otel_kattr_num((k), OTEL_ATTR_INT, (v), 0)
#define OTEL_KATTR_DOUBLE(k, num, d) \
	otel_kattr_num((k), OTEL_ATTR_DOUBLE, (num), otel_kattr_den(d))
#define OTEL_KATTR_DOUBLE_BITS(k, bits) \
	otel_kattr_num((k), OTEL_ATTR_DOUBLE, (s64)(bits), 0)

/* Flags of __otel_kspan_begin(). */
#define OTEL_BEGIN_CURRENT	0x01	/* install as this context's current */
#define OTEL_BEGIN_EXPLICIT	0x02	/* parent given: do not look it up */
#define OTEL_BEGIN_ASYNC	0x04	/* parent: this context's current; not installed */
#define OTEL_BEGIN_LOCAL	0x08	/* CTX: the context holds a kernel span's ids */
#define OTEL_BEGIN_CTX		0x10	/* EXPLICIT: the parent is a W3C context */

/*
 * __otel_kspan_begin()'s @info: the name's length, the kind and the flags
 * in one argument (five arguments travel in registers).
 */
#define OTEL_BEGIN_INFO(name_len, kind, flags)				\
	((u32)(u16)(name_len) | (u32)(u8)(kind) << 16 | (u32)(u8)(flags) << 24)

DECLARE_STATIC_KEY_FALSE(otel_tracing_key);
DECLARE_STATIC_KEY_FALSE(otel_noop_key);
extern unsigned long __otel_cookie_secret;

/* A cookie's high bits: the handle's address mixed with the secret. */
static __always_inline unsigned long
__otel_kspan_magic(const struct otel_kspan *span)
{
	return (((unsigned long)span ^ __otel_cookie_secret) |
		(OTEL_KSPAN_STATE_MASK + 1)) & ~OTEL_KSPAN_STATE_MASK;
}

/*
 * With noop_spans=Y, while the sampler drops every span (noop.c),
 * otel_kspan_begin() makes a no-op span, as an OpenTelemetry SDK that is
 * disabled does: two stores, no call, no ids, never current.  It keeps the
 * task it began in: its context (its parent's) is read only there
 * (kspan.c, noop_context()).  A handle still active takes the call (the
 * misuse is counted).
 */
static __always_inline bool __otel_kspan_noop(struct otel_kspan *span,
					      unsigned int flags)
{
	if (!(flags & OTEL_BEGIN_CURRENT) ||
	    !static_branch_unlikely(&otel_noop_key) ||
	    (span->cookie & OTEL_KSPAN_ACTIVE))
		return false;
	span->ctx_ref = (unsigned long)current;
	span->cookie = __otel_kspan_magic(span) | OTEL_KSPAN_ACTIVE |
		       OTEL_KSPAN_NOOP;
	return true;
}

void __otel_kspan_begin(struct otel_kspan *span,
			const struct otel_kscope *scope, const char *name,
			u32 info, const void *parent);
void __otel_kspan_end(struct otel_kspan *span);
void __otel_kspan_reset(struct otel_kspan *span);
bool otel_kspan_get_context(const struct otel_kspan *span,
			    struct otel_span_context *ctx);
void __otel_kspan_attrs(struct otel_kspan *span, u16 target,
			const struct otel_kattr *attrs, unsigned int n);
u16 __otel_kspan_add_event(struct otel_kspan *span, const char *name,
			   u64 time_ns, const struct otel_kattr *attrs,
			   unsigned int n);
u16 __otel_kspan_add_link(struct otel_kspan *span,
			  const struct otel_span_context *ctx,
			  const struct otel_kattr *attrs, unsigned int n);
void __otel_kspan_set_status(struct otel_kspan *span,
			     enum otel_status_code code, const char *message);
void __otel_kspan_record_errno(struct otel_kspan *span, int err);
void otel_kspan_enter(struct otel_kspan *span);
void otel_kspan_leave(struct otel_kspan *span);
struct otel_kspan *otel_kspan_current(void);
bool otel_current_context(struct otel_span_context *ctx);
int otel_traceparent_parse(const char *s, size_t len,
			   struct otel_span_context *ctx);
int otel_traceparent_format(const struct otel_span_context *ctx,
			    char *buf, size_t size);
const char *otel_errno_name(int err);
u64 otel_kspan_now_ns(void);

/* Every begin wrapper: the static key, the no-op span, the call. */
static __always_inline void
__otel_kspan_begin_inline(struct otel_kspan *span, const char *name,
			  enum otel_span_kind kind, unsigned int flags,
			  const void *parent)
{
	if (static_branch_unlikely(&otel_tracing_key)) {
		if (!__otel_kspan_noop(span, flags))
			__otel_kspan_begin(span, &__otel_scope, name,
					   OTEL_BEGIN_INFO(otel_const_strlen(name),
							   kind, flags),
					   parent);
	} else if (span->cookie) {
		__otel_kspan_reset(span);
	}
}

/**
 * otel_kspan_begin() - begin a span as the current span of this context
 * @span:	handle in the caller's memory; overwritten
 * @name:	span name; must stay valid until otel_kspan_end()
 * @kind:	enum otel_span_kind
 *
 * The span becomes a child of this context's current span (or of the
 * remote context user space set with OTEL_IOC_SET_TASK_CONTEXT), or a new
 * root, and then becomes the current span itself until it ends.  End it in
 * the same context (same task, before it returns to user space; or, in
 * interrupt context, the same handler run), in the reverse order of
 * begins.  For a span that ends elsewhere use otel_kspan_begin_async(),
 * otel_kspan_begin_child() or otel_kspan_begin_remote().
 *
 * Beginning a handle that is still active abandons the first span (it
 * writes nothing; counted in otelctl stats).  With noop_spans=Y while the
 * sampler drops every span, the span is a no-op span instead: never
 * current, no ids (docs/driver-api.md, "Sampling").
 *
 * Context: any.  Costs one static branch while tracing is disabled.
 */
static __always_inline void otel_kspan_begin(struct otel_kspan *span,
					     const char *name,
					     enum otel_span_kind kind)
{
	__otel_kspan_begin_inline(span, name, kind, OTEL_BEGIN_CURRENT, NULL);
}

/**
 * otel_kspan_begin_child() - begin a span with an explicit parent span
 * @span:	handle in the caller's memory; overwritten
 * @parent:	parent span, or NULL for a new root (new trace)
 * @name:	span name; must stay valid until otel_kspan_end()
 * @kind:	enum otel_span_kind
 *
 * The span does not become current, so it may be ended in any context, on
 * any CPU (for example a request begun in process context and completed in
 * an interrupt).  A parent whose begin was skipped (tracing disabled) makes
 * this span a root.
 *
 * Context: any.
 */
static __always_inline void otel_kspan_begin_child(struct otel_kspan *span,
						   const struct otel_kspan *parent,
						   const char *name,
						   enum otel_span_kind kind)
{
	__otel_kspan_begin_inline(span, name, kind, OTEL_BEGIN_EXPLICIT, parent);
}

/**
 * otel_kspan_begin_remote() - begin a span whose parent is a W3C context
 * @span:	handle in the caller's memory; overwritten
 * @ctx:	parent context (from otel_traceparent_parse(), a device, user
 *		space...), or NULL; an invalid one makes a root
 * @name:	span name; must stay valid until otel_kspan_end()
 * @kind:	enum otel_span_kind
 *
 * Like otel_kspan_begin_child(): the span does not become current.  Its
 * record carries OTEL_SPANF_REMOTE_PARENT.
 *
 * Context: any.
 */
static __always_inline void otel_kspan_begin_remote(struct otel_kspan *span,
						    const struct otel_span_context *ctx,
						    const char *name,
						    enum otel_span_kind kind)
{
	__otel_kspan_begin_inline(span, name, kind,
				  OTEL_BEGIN_EXPLICIT | OTEL_BEGIN_CTX, ctx);
}

/**
 * otel_kspan_begin_async() - begin a child of the current span that ends
 * elsewhere
 * @span:	handle in the caller's memory (a request structure); overwritten
 * @name:	span name; must stay valid until otel_kspan_end()
 * @kind:	enum otel_span_kind
 *
 * The parent is this context's current span (or the task's remote
 * context), taken from oteltrace's own copy of its ids, as
 * otel_kspan_begin() does; but the span does not become current, so it
 * may end in any context, on any CPU: the usual shape of a request that an
 * interrupt or a work item completes.  Prefer this to
 * otel_kspan_begin_child(span, otel_kspan_current(), ...), which reads the
 * current span's handle.
 *
 * Context: any.
 */
static __always_inline void otel_kspan_begin_async(struct otel_kspan *span,
						   const char *name,
						   enum otel_span_kind kind)
{
	__otel_kspan_begin_inline(span, name, kind, OTEL_BEGIN_ASYNC, NULL);
}

/**
 * otel_kspan_end() - end a span
 * @span:	a begun span; ending it twice is harmless
 *
 * Writes the span's record (one, with its attributes) and, for a current
 * span, restores the span it replaced.  @span's memory may be reused after
 * this.  Ending a handle from DEFINE_OTEL_KSPAN() that was never begun, or
 * one that already ended, does nothing (the second end is counted).
 *
 * Context: any (a current span: the context that began or entered it).
 */
static __always_inline void otel_kspan_end(struct otel_kspan *span)
{
	unsigned long c = span->cookie;

	/*
	 * A no-op span (see __otel_kspan_noop()) ends with one store; its
	 * cookie is exactly this, which stray bytes do not match.
	 */
	if (unlikely(c & OTEL_KSPAN_NOOP) &&
	    c == (__otel_kspan_magic(span) | OTEL_KSPAN_ACTIVE |
		  OTEL_KSPAN_NOOP))
		span->cookie = c ^ (OTEL_KSPAN_ACTIVE | OTEL_KSPAN_NOOP |
				    OTEL_KSPAN_ENDED);
	else if (c)
		__otel_kspan_end(span);
}

/* Cleanup handler of OTEL_KSPAN_SCOPED(): a span ended earlier stays so. */
static __always_inline void __otel_kspan_scope_exit(struct otel_kspan *span)
{
	if (span->cookie & OTEL_KSPAN_ACTIVE)
		otel_kspan_end(span);
}

/* Begins the span of OTEL_KSPAN_SCOPED(); returns it for the declaration. */
static __always_inline struct otel_kspan *
__otel_kspan_scope_enter(struct otel_kspan *span, const char *name,
			 enum otel_span_kind kind)
{
	otel_kspan_begin(span, name, kind);
	return span;
}

/**
 * OTEL_KSPAN_SCOPED() - declare and begin a span that ends with its scope
 * @var:	the handle's variable name
 * @name:	span name (see otel_kspan_begin())
 * @kind:	enum otel_span_kind
 *
 * Begins @var as the current span, like otel_kspan_begin(), and ends it
 * when the enclosing scope exits, by any return, break or goto out of it
 * (never jump into the scope past this declaration), the way
 * linux/cleanup.h guards work (it uses the compiler's cleanup attribute,
 * so it works on kernels older than cleanup.h).  An early return can then
 * never leave the span current::
 *
 *	static int mydrv_read(struct mydrv *d)
 *	{
 *		OTEL_KSPAN_SCOPED(span, "mydrv.read", OTEL_SPAN_KIND_INTERNAL);
 *
 *		if (!d->ready)
 *			return -EAGAIN;		// span ends here
 *		...
 *	}
 *
 * Calling otel_kspan_end(&@var) earlier is allowed: the scope's end then
 * does nothing.  Context: any.
 */
#define OTEL_KSPAN_SCOPED(var, name, kind)				\
	struct otel_kspan var						\
		__attribute__((__cleanup__(__otel_kspan_scope_exit))) =	\
		__otel_kspan_init(),					\
		*__UNIQUE_ID(otel_scope) __maybe_unused =		\
		__otel_kspan_scope_enter(&var, name, kind)

/**
 * otel_kspan_is_recording() - does this span write records?
 * @span:	a span
 *
 * False when tracing was disabled at begin or the sampler dropped the span;
 * use it to skip computing expensive attributes.
 *
 * Return: true if the span is sampled and not yet ended.
 */
static __always_inline bool otel_kspan_is_recording(const struct otel_kspan *span)
{
	return span->cookie & OTEL_KSPAN_RECORDING;
}

/* struct otel_kspan's ibuf_state, in a variable of its own. */
union __otel_ibuf_state {
	struct {
		u16	ibuf_used;
		u16	attr_room;
		u16	nr_inline;
		u16	msg_len;
	};
	u64		word;
};

static __always_inline void __otel_ibuf_state_check(void)
{
#define __OTEL_ISTATE_SAME(f)						\
	BUILD_BUG_ON(offsetof(struct otel_kspan, f) -			\
		     offsetof(struct otel_kspan, ibuf_state) !=		\
		     offsetof(union __otel_ibuf_state, f))
	__OTEL_ISTATE_SAME(ibuf_used);
	__OTEL_ISTATE_SAME(attr_room);
	__OTEL_ISTATE_SAME(nr_inline);
	__OTEL_ISTATE_SAME(msg_len);
#undef __OTEL_ISTATE_SAME
}

/* Keys up to this long take the inline fast path below. */
#define OTEL_KSPAN_FAST_KEY_MAX	40

/* Where byte @i of a word lies in the u64 that stores it (CPU order). */
#define __OTEL_KEY_SHIFT(i)						\
	(8 * (IS_ENABLED(CONFIG_CPU_BIG_ENDIAN) ? 7 - (i) % 8 : (i) % 8))

/* Byte @i of a literal key @key of @klen bytes, or 0 past its end. */
#define __OTEL_KEY_BYTE(key, klen, i)					\
	((klen) > (i) ?							\
	 (u64)(u8)(key)[(klen) > (i) ? (i) : 0] << __OTEL_KEY_SHIFT(i) : 0)

/* Word @j of a literal key, zero-padded: a constant, stored at once. */
#define __OTEL_KEY_WORD(p, key, klen, j)				\
	do {								\
		if ((klen) > 8 * (j))					\
			*((u64 *)(p) + (j)) =				\
				__OTEL_KEY_BYTE(key, klen, 8 * (j)) |	\
				__OTEL_KEY_BYTE(key, klen, 8 * (j) + 1) |	\
				__OTEL_KEY_BYTE(key, klen, 8 * (j) + 2) |	\
				__OTEL_KEY_BYTE(key, klen, 8 * (j) + 3) |	\
				__OTEL_KEY_BYTE(key, klen, 8 * (j) + 4) |	\
				__OTEL_KEY_BYTE(key, klen, 8 * (j) + 5) |	\
				__OTEL_KEY_BYTE(key, klen, 8 * (j) + 6) |	\
				__OTEL_KEY_BYTE(key, klen, 8 * (j) + 7);	\
	} while (0)

/*
 * A numeric attribute whose key is a string literal is encoded straight
 * into the handle's inline buffer, with no call: its entry's layout is a
 * compile-time constant, the key included (each word of it one store of a
 * constant, its padding zeroed with it), and one branch says whether it
 * fits.  Anything else, or a full buffer, takes the out-of-line path.
 * Return: true if done here.
 */
static __always_inline bool __otel_kspan_fast_num(struct otel_kspan *span,
						  const char *key, u8 type,
						  s64 value, u64 den)
{
	const u16 klen = otel_const_strlen(key);
	const u16 size = ALIGN(sizeof(struct otel_attr_entry) +
			       (den ? 8 : 0) + klen, 8);
	union __otel_ibuf_state st;
	struct otel_attr_entry *e;
	u32 nofit;
	u8 *p;

	BUILD_BUG_ON(OTEL_KSPAN_FAST_KEY_MAX > 5 * 8);
	__otel_ibuf_state_check();
	if (!__builtin_constant_p(klen) || !__builtin_constant_p(den != 0) ||
	    !klen || klen > OTEL_KSPAN_FAST_KEY_MAX)
		return false;
	st.word = READ_ONCE(span->ibuf_state);
	/* One test: no room left, or no space (the sign bit of either). */
	nofit = ((u32)st.attr_room - 1) |
		(u32)(OTEL_KSPAN_INLINE_BYTES - st.ibuf_used - st.msg_len -
		      size);
	OPTIMIZER_HIDE_VAR(nofit);
	if ((s32)nofit < 0)
		return false;
	e = (struct otel_attr_entry *)(span->ibuf + st.ibuf_used);
	p = (u8 *)(e + 1);
	e->value_type = type;
	e->entry_flags = den ? OTEL_ATTRF_DEN : 0;
	e->key_len = klen;
	e->value_len = 0;
	e->size = size;
	e->value = value;
	if (den) {
		*(u64 *)p = den;
		p += sizeof(u64);
	}
	__OTEL_KEY_WORD(p, key, klen, 0);
	__OTEL_KEY_WORD(p, key, klen, 1);
	__OTEL_KEY_WORD(p, key, klen, 2);
	__OTEL_KEY_WORD(p, key, klen, 3);
	__OTEL_KEY_WORD(p, key, klen, 4);
	st.ibuf_used += size;
	st.attr_room--;
	st.nr_inline++;
	WRITE_ONCE(span->ibuf_state, st.word);
	return true;
}

/**
 * otel_kspan_set_attrs() - add span attributes from an array
 * @span:	a span
 * @attrs:	attributes (OTEL_KATTR_*())
 * @n:		how many
 *
 * Past the attribute count limit attributes are dropped and counted; string
 * values are cut at the attribute value length limit.  A key set twice is
 * written twice; the relay keeps the last.
 */
static __always_inline void otel_kspan_set_attrs(struct otel_kspan *span,
						 const struct otel_kattr *attrs,
						 unsigned int n)
{
	if (otel_kspan_is_recording(span))
		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, attrs, n);
}

/**
 * otel_kspan_set_str() - add a string attribute
 * @span:	a span
 * @key:	attribute key
 * @value:	NUL-terminated value
 */
static __always_inline void otel_kspan_set_str(struct otel_kspan *span,
					       const char *key,
					       const char *value)
{
	if (otel_kspan_is_recording(span)) {
		struct otel_kattr a = OTEL_KATTR_STR(key, value);

		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, &a, 1);
	}
}

/**
 * otel_kspan_set_strn() - add a string attribute of known length
 * @span:	a span
 * @key:	attribute key
 * @value:	value bytes (no NUL needed)
 * @len:	bytes of @value
 */
static __always_inline void otel_kspan_set_strn(struct otel_kspan *span,
						const char *key,
						const char *value, size_t len)
{
	if (otel_kspan_is_recording(span)) {
		struct otel_kattr a = { .key = key,
					.key_len = otel_const_strlen(key),
					.type = OTEL_ATTR_STRING, .str = value,
					.str_len = min_t(size_t, len, 0xffff) };

		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, &a, 1);
	}
}

/**
 * otel_kspan_set_bool() - add a boolean attribute
 * @span:	a span
 * @key:	attribute key
 * @value:	value
 */
static __always_inline void otel_kspan_set_bool(struct otel_kspan *span,
						const char *key, bool value)
{
	if (otel_kspan_is_recording(span) &&
	    !__otel_kspan_fast_num(span, key, OTEL_ATTR_BOOL, !!value, 0)) {
		struct otel_kattr a = OTEL_KATTR_BOOL(key, value);

		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, &a, 1);
	}
}

/**
 * otel_kspan_set_int() - add a 64-bit integer attribute
 * @span:	a span
 * @key:	attribute key
 * @value:	value
 */
static __always_inline void otel_kspan_set_int(struct otel_kspan *span,
					       const char *key, s64 value)
{
	if (otel_kspan_is_recording(span) &&
	    !__otel_kspan_fast_num(span, key, OTEL_ATTR_INT, value, 0)) {
		struct otel_kattr a = OTEL_KATTR_INT(key, value);

		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, &a, 1);
	}
}

/**
 * otel_kspan_set_double() - add a double attribute as a fraction
 * @span:	a span
 * @key:	attribute key
 * @num:	numerator
 * @den:	denominator, not 0 (the relay computes @num / @den)
 *
 * The kernel has no FPU: 0.5 is (1, 2), 12.25 ms is (12250, 1000).
 */
static __always_inline void otel_kspan_set_double(struct otel_kspan *span,
						  const char *key, s64 num,
						  u64 den)
{
	if (otel_kspan_is_recording(span) &&
	    !__otel_kspan_fast_num(span, key, OTEL_ATTR_DOUBLE, num,
				   den ? den : 1)) {
		struct otel_kattr a = OTEL_KATTR_DOUBLE(key, num, den ? den : 1);

		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, &a, 1);
	}
}

/**
 * otel_kspan_set_double_bits() - add a double attribute from IEEE 754 bits
 * @span:	a span
 * @key:	attribute key
 * @bits:	the binary64 representation (for example from a device)
 */
static __always_inline void otel_kspan_set_double_bits(struct otel_kspan *span,
						       const char *key, u64 bits)
{
	if (otel_kspan_is_recording(span) &&
	    !__otel_kspan_fast_num(span, key, OTEL_ATTR_DOUBLE, bits, 0)) {
		struct otel_kattr a = OTEL_KATTR_DOUBLE_BITS(key, bits);

		__otel_kspan_attrs(span, OTEL_ATTR_TARGET_SPAN, &a, 1);
	}
}

/**
 * otel_kspan_add_event() - add an event, timestamped now
 * @span:	a span
 * @name:	event name
 *
 * Return: the event's index (for otel_kspan_event_attrs()), 0 if the span
 * is not recording or the event was dropped by the limit.
 */
static __always_inline u16 otel_kspan_add_event(struct otel_kspan *span,
						const char *name)
{
	if (!otel_kspan_is_recording(span))
		return 0;
	return __otel_kspan_add_event(span, name, 0, NULL, 0);
}

/**
 * otel_kspan_add_event_attrs() - add an event with a time and attributes
 * @span:	a span
 * @name:	event name
 * @time_ns:	CLOCK_MONOTONIC ns (otel_kspan_now_ns()), or 0 for now
 * @attrs:	the event's attributes, or NULL
 * @n:		how many
 *
 * Return: the event's index, 0 if not recorded.
 */
static __always_inline u16 otel_kspan_add_event_attrs(struct otel_kspan *span,
						      const char *name,
						      u64 time_ns,
						      const struct otel_kattr *attrs,
						      unsigned int n)
{
	if (!otel_kspan_is_recording(span))
		return 0;
	return __otel_kspan_add_event(span, name, time_ns, attrs, n);
}

/**
 * otel_kspan_event_attrs() - add attributes to the span's latest event
 * @span:	a span
 * @event:	index returned by otel_kspan_add_event(); must be the latest
 *		event (attributes for an older one are dropped and counted)
 * @attrs:	attributes
 * @n:		how many
 */
static __always_inline void otel_kspan_event_attrs(struct otel_kspan *span,
						   u16 event,
						   const struct otel_kattr *attrs,
						   unsigned int n)
{
	/* Not an event index (0, or a link's flag): no target, dropped. */
	if (event & OTEL_ATTR_TARGET_LINK)
		event = OTEL_KSPAN_NO_TARGET;
	if (otel_kspan_is_recording(span) && event)
		__otel_kspan_attrs(span, event, attrs, n);
}

/**
 * otel_kspan_add_link() - link the span to another span's context
 * @span:	a span
 * @ctx:	the linked span's context (otel_kspan_get_context())
 * @attrs:	the link's attributes, or NULL
 * @n:		how many
 *
 * Return: the link's index, 0 if not recorded.
 */
static __always_inline u16 otel_kspan_add_link(struct otel_kspan *span,
					       const struct otel_span_context *ctx,
					       const struct otel_kattr *attrs,
					       unsigned int n)
{
	if (!otel_kspan_is_recording(span))
		return 0;
	return __otel_kspan_add_link(span, ctx, attrs, n);
}

/**
 * otel_kspan_set_status() - set the span's status
 * @span:	a span
 * @code:	OTEL_STATUS_OK or OTEL_STATUS_ERROR (UNSET is ignored)
 * @message:	ERROR only: description, or NULL
 *
 * As in OpenTelemetry: once OK, the status is final; the last ERROR wins.
 */
static __always_inline void otel_kspan_set_status(struct otel_kspan *span,
						  enum otel_status_code code,
						  const char *message)
{
	if (otel_kspan_is_recording(span))
		__otel_kspan_set_status(span, code, message);
}

/**
 * otel_kspan_record_errno() - record a failure given as a negative errno
 * @span:	a span
 * @err:	a kernel return value; >= 0 records nothing
 *
 * Sets status ERROR with the errno's name as message ("EIO"), and the
 * attributes error.type (the name, or "errno <n>" if unknown) and
 * oteltrace.errno (the positive errno number).
 */
static __always_inline void otel_kspan_record_errno(struct otel_kspan *span,
						    int err)
{
	if (err < 0 && otel_kspan_is_recording(span))
		__otel_kspan_record_errno(span, err);
}

#endif /* _OTELTRACE_H */
