/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * oteltrace user-space ABI: the one header shared by oteltrace.ko, oteld,
 * otelctl and the tests.
 *
 * The kernel writes OpenTelemetry span data as records into one ring per
 * possible CPU.  User space reads them through /dev/oteltrace, either by
 * mmap() (zero copy, see "mmap layout" below) or by read() (records copied
 * out whole).
 *
 * One record per span: when a span ends, the kernel writes one OTEL_REC_SPAN
 * record with everything about it (ids, parent, times, kind, status, scope,
 * name and its attributes).  Only what does not fit the span handle's inline
 * budget is written earlier, as records of its own that share the span id:
 * OTEL_REC_EVENT and OTEL_REC_LINK (with their attributes), OTEL_REC_ATTR
 * (attributes past the budget, or added to an event or link later) and, in
 * the opt-in begin_records mode, OTEL_REC_SPAN_BEGIN.  SPAN.nr_records says
 * how many of those the span wrote, so a reader knows what to wait for (they
 * may sit in other CPUs' rings) and what went missing.  A span that never
 * ends writes nothing but its BEGIN, if that mode is on.
 *
 * Every field is a fixed-size __u type with no implicit padding; every
 * record is a multiple of 8 bytes and starts 8-byte aligned, so the layout
 * is the same for 32-bit and 64-bit user space.  Ids are in W3C byte order
 * (trace_id[0] is the first byte of the hex string).  Strings are not
 * NUL-terminated: their lengths are in the record and the bytes follow the
 * fixed part, in the order the record documents, then zero padding up to
 * the next multiple of 8 (or the record's end).
 *
 * Times are CLOCK_MONOTONIC nanoseconds (the kernel reads them with the
 * NMI-safe ktime_get_mono_fast_ns()).  OTEL_IOC_CLOCK returns a pair of
 * CLOCK_MONOTONIC and CLOCK_REALTIME readings taken together, so user space
 * converts to Unix epoch nanoseconds with one addition; durations stay exact.
 *
 * Versioning: OTEL_ABI_VERSION changes only on an incompatible change (2:
 * one record per span; 3: COMM records, per-event and per-link dropped
 * attribute counts, EVENT records 40 bytes).  New record types and new flags may appear without
 * a bump: readers skip record types they do not know (hdr.size always tells
 * how far).  ioctl structs carry reserved fields that must be zero, so
 * later versions can give them a meaning.
 */
#ifndef _UAPI_OTELTRACE_H
#define _UAPI_OTELTRACE_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define OTEL_ABI_VERSION	3
#define OTEL_DEVICE_NAME	"oteltrace"
/*
 * /dev/oteltrace-ctx: mode 0666, serves OTEL_IOC_SET_TASK_CONTEXT and
 * OTEL_IOC_GET_TASK_CONTEXT for the calling thread and nothing else, so
 * that an application running as any user can put the kernel spans of its
 * own threads into its own trace.
 */
#define OTEL_CTX_DEVICE_NAME	"oteltrace-ctx"

#define OTEL_TRACE_ID_SIZE	16
#define OTEL_SPAN_ID_SIZE	8

/* W3C trace-flags bits. */
#define OTEL_TRACE_FLAG_SAMPLED	0x01

/* Span kinds, numbered as OTLP's Span.SpanKind. */
enum otel_span_kind {
	OTEL_SPAN_KIND_UNSPECIFIED	= 0,
	OTEL_SPAN_KIND_INTERNAL		= 1,
	OTEL_SPAN_KIND_SERVER		= 2,
	OTEL_SPAN_KIND_CLIENT		= 3,
	OTEL_SPAN_KIND_PRODUCER		= 4,
	OTEL_SPAN_KIND_CONSUMER		= 5,
};

/* Status codes, numbered as OTLP's Status.StatusCode. */
enum otel_status_code {
	OTEL_STATUS_UNSET	= 0,
	OTEL_STATUS_OK		= 1,
	OTEL_STATUS_ERROR	= 2,
};

/* Execution context a record was written from (otel_rec_hdr.flags). */
enum otel_context {
	OTEL_CTX_TASK		= 0,
	OTEL_CTX_SOFTIRQ	= 1,
	OTEL_CTX_HARDIRQ	= 2,
	OTEL_CTX_NMI		= 3,
};

/*
 * Record types (otel_rec_hdr.type).  2 and 6 were ABI 1's SPAN_END and
 * STATUS; they are not reused.
 */
enum otel_rec_type {
	OTEL_REC_PAD		= 0,	/* filler up to the end of the ring */
	OTEL_REC_SPAN_BEGIN	= 1,	/* opt-in: a span began */
	OTEL_REC_ATTR		= 3,	/* attributes that did not fit */
	OTEL_REC_EVENT		= 4,
	OTEL_REC_LINK		= 5,
	OTEL_REC_RAW		= 7,	/* test/benchmark payload, no span */
	OTEL_REC_SPAN		= 8,	/* a span ended: the whole span */
	OTEL_REC_COMM		= 9,	/* a task's name, for the reader's table */
};

/* otel_rec_hdr.flags */
#define OTEL_RECF_CTX_MASK	0x0003	/* enum otel_context */

/**
 * struct otel_rec_hdr - common header of every record (24 bytes)
 * @type:	enum otel_rec_type
 * @size:	bytes in the record, this header and padding included; a
 *		multiple of 8, at least sizeof(struct otel_rec_hdr) except
 *		for OTEL_REC_PAD, which may be only 8 bytes: of a PAD only
 *		@type and @size are meaningful
 * @cpu:	CPU whose ring holds the record
 * @flags:	OTEL_RECF_*: the context the record was written from
 * @time_ns:	CLOCK_MONOTONIC ns when the record was written (for SPAN the
 *		span's end, for SPAN_BEGIN its start, for EVENT the event's
 *		time)
 * @span_id:	the span the record belongs to (zero for PAD and RAW)
 */
struct otel_rec_hdr {
	__u16	type;
	__u16	size;
	__u16	cpu;
	__u16	flags;
	__u64	time_ns;
	__u8	span_id[OTEL_SPAN_ID_SIZE];
};

/* Attribute value types (otel_attr_entry.value_type). */
enum otel_attr_type {
	OTEL_ATTR_STRING	= 1,
	OTEL_ATTR_BOOL		= 2,
	OTEL_ATTR_INT		= 3,
	OTEL_ATTR_DOUBLE	= 4,
};

/* otel_attr_entry.entry_flags */
#define OTEL_ATTRF_DEN		0x01	/* a __u64 denominator follows */

/**
 * struct otel_attr_entry - one attribute inside a record (16 bytes + more)
 * @value_type:	enum otel_attr_type
 * @entry_flags: OTEL_ATTRF_*
 * @key_len:	bytes of the key
 * @value_len:	bytes of a string value (0 for other types)
 * @size:	bytes of the whole entry, a multiple of 8: the next entry
 *		starts @size bytes after this one
 * @value:	INT: the value (two's complement); BOOL: 0 or 1; DOUBLE: the
 *		IEEE 754 binary64 bits, or with OTEL_ATTRF_DEN the numerator
 *		of @value / den (the kernel has no FPU; the reader divides);
 *		STRING: 0
 *
 * Followed by: with OTEL_ATTRF_DEN the __u64 denominator (never 0), then
 * the key, then the string value, then zero padding up to @size.
 */
struct otel_attr_entry {
	__u8	value_type;
	__u8	entry_flags;
	__u16	key_len;
	__u16	value_len;
	__u16	size;
	__s64	value;
};

/* otel_rec_span.span_flags and otel_rec_span_begin.begin_flags */
#define OTEL_SPANF_REMOTE_PARENT	0x01	/* parent came from a W3C context */
#define OTEL_SPANF_BEGIN_RECORD		0x02	/* a SPAN_BEGIN was written */
#define OTEL_BEGINF_REMOTE_PARENT	OTEL_SPANF_REMOTE_PARENT

/**
 * struct otel_rec_span - a span, written when it ends (104 bytes + more)
 * @hdr:		hdr.time_ns is the end time; hdr.cpu and hdr.flags
 *			say where it ended
 * @trace_id:		never all zero
 * @parent_span_id:	all zero for a root span
 * @start_ns:		CLOCK_MONOTONIC ns of the start
 * @trace_flags:	W3C trace flags (OTEL_TRACE_FLAG_SAMPLED)
 * @kind:		enum otel_span_kind
 * @status_code:	enum otel_status_code
 * @span_flags:		OTEL_SPANF_*
 * @begin_cpu:		CPU the span began on
 * @begin_context:	enum otel_context it began in
 * @reserved0:		zero
 * @name_len:		bytes of the span name
 * @scope_name_len:	bytes of the instrumentation scope (module) name
 * @scope_version_len:	bytes of the scope version (may be 0)
 * @status_message_len:	bytes of the status message (ERROR only)
 * @nr_attrs:		span attributes in this record
 * @attrs_offset:	offset of the first struct otel_attr_entry from the
 *			start of the record, a multiple of 8
 * @nr_records:		records this span wrote before this one (EVENT, LINK,
 *			ATTR, SPAN_BEGIN), in any CPU's ring
 * @dropped_attributes:	span attributes cut by the span limits or invalid,
 *			and event or link attributes aimed at one that is
 *			not the latest (not those of a dropped event or
 *			link: they go with it); saturates at U32_MAX
 * @dropped_events:	events cut by the span limits
 * @dropped_links:	links cut by the span limits
 * @pid:		thread id of the task that began it, 0 in interrupt
 *			context (initial pid namespace)
 * @tgid:		its process id, 0 in interrupt context
 * @reserved1:		zero
 *
 * Followed by: name, scope name, scope version, status message; zero
 * padding; at @attrs_offset, @nr_attrs struct otel_attr_entry.
 */
struct otel_rec_span {
	struct otel_rec_hdr hdr;
	__u8	trace_id[OTEL_TRACE_ID_SIZE];
	__u8	parent_span_id[OTEL_SPAN_ID_SIZE];
	__u64	start_ns;
	__u8	trace_flags;
	__u8	kind;
	__u8	status_code;
	__u8	span_flags;
	__u16	begin_cpu;
	__u8	begin_context;
	__u8	reserved0;
	__u16	name_len;
	__u16	scope_name_len;
	__u16	scope_version_len;
	__u16	status_message_len;
	__u16	nr_attrs;
	__u16	attrs_offset;
	__u32	nr_records;
	__u32	dropped_attributes;
	__u32	dropped_events;
	__u32	dropped_links;
	__u32	pid;
	__u32	tgid;
	__u32	reserved1;
	/* char strings[]; struct otel_attr_entry attrs[]; */
};

/**
 * struct otel_rec_span_begin - a span starts (72 bytes + strings)
 * @hdr:		hdr.time_ns is the start time
 * @trace_id:		never all zero
 * @parent_span_id:	all zero for a root span
 * @trace_flags:	W3C trace flags (OTEL_TRACE_FLAG_SAMPLED)
 * @kind:		enum otel_span_kind
 * @begin_flags:	OTEL_SPANF_REMOTE_PARENT
 * @reserved0:		zero
 * @name_len:		bytes of the span name
 * @scope_name_len:	bytes of the instrumentation scope (module) name
 * @scope_version_len:	bytes of the scope version (may be 0)
 * @reserved1:		zero
 * @pid:		thread id of the task that began it, 0 in interrupt
 *			context
 * @tgid:		its process id, 0 in interrupt context
 * @reserved2:		zero
 *
 * Written only in begin_records mode (flight recorder: a span that never
 * ends still shows).  Followed by: name, scope name, scope version.
 */
struct otel_rec_span_begin {
	struct otel_rec_hdr hdr;
	__u8	trace_id[OTEL_TRACE_ID_SIZE];
	__u8	parent_span_id[OTEL_SPAN_ID_SIZE];
	__u8	trace_flags;
	__u8	kind;
	__u8	begin_flags;
	__u8	reserved0;
	__u16	name_len;
	__u16	scope_name_len;
	__u16	scope_version_len;
	__u16	reserved1;
	__u32	pid;
	__u32	tgid;
	__u32	reserved2;
	/* char strings[]; */
};

/*
 * Attribute targets (otel_rec_attr.target): 0 is the span itself; an event
 * or a link is named by its index within the span (starting at 1), with
 * OTEL_ATTR_TARGET_LINK set for a link.
 */
#define OTEL_ATTR_TARGET_SPAN	0x0000
#define OTEL_ATTR_TARGET_LINK	0x8000
#define OTEL_ATTR_TARGET_INDEX	0x7fff

/**
 * struct otel_rec_attr - attributes that did not fit (32 bytes + entries)
 * @hdr:		common header
 * @target:		OTEL_ATTR_TARGET_*
 * @nr_attrs:		entries that follow (may be 0 when only
 *			@dropped_attributes has something to say)
 * @dropped_attributes:	an event or link target only: attributes aimed at
 *			it by the same call that the limits cut (or that
 *			were invalid); 0 for the span, whose count is in
 *			its SPAN record
 *
 * Followed by: @nr_attrs struct otel_attr_entry.
 */
struct otel_rec_attr {
	struct otel_rec_hdr hdr;
	__u16	target;
	__u16	nr_attrs;
	__u32	dropped_attributes;
	/* struct otel_attr_entry attrs[]; */
};

/**
 * struct otel_rec_event - a span event (40 bytes + name + entries)
 * @hdr:		hdr.time_ns is the event's time
 * @index:		the event's index within the span, from 1
 * @name_len:		bytes of the event name
 * @nr_attrs:		attribute entries in this record
 * @attrs_offset:	offset of the first entry from the record's start
 * @dropped_attributes:	the event's attributes that the limits cut (or
 *			that were invalid); later ones come in ATTR records
 * @reserved0:		zero
 *
 * Followed by: name, zero padding, @nr_attrs struct otel_attr_entry.
 * Attributes added later come as ATTR records whose target is @index.
 */
struct otel_rec_event {
	struct otel_rec_hdr hdr;
	__u16	index;
	__u16	name_len;
	__u16	nr_attrs;
	__u16	attrs_offset;
	__u32	dropped_attributes;
	__u32	reserved0;
	/* char name[]; struct otel_attr_entry attrs[]; */
};

/**
 * struct otel_rec_link - a link to another span (56 bytes + entries)
 * @hdr:		common header
 * @trace_id:		linked span's trace id
 * @span_id:		linked span's id
 * @trace_flags:	linked span's W3C trace flags
 * @reserved0:		zero
 * @index:		the link's index within the span, from 1
 * @nr_attrs:		attribute entries that follow
 * @dropped_attributes:	the link's attributes that the limits cut (or
 *			that were invalid); later ones come in ATTR records
 *
 * Carries no W3C is_remote bit: a reader must not claim one.
 *
 * Followed by: @nr_attrs struct otel_attr_entry.  Attributes added later
 * come as ATTR records whose target is OTEL_ATTR_TARGET_LINK | @index.
 */
struct otel_rec_link {
	struct otel_rec_hdr hdr;
	__u8	trace_id[OTEL_TRACE_ID_SIZE];
	__u8	span_id[OTEL_SPAN_ID_SIZE];
	__u8	trace_flags;
	__u8	reserved0;
	__u16	index;
	__u16	nr_attrs;
	__u16	dropped_attributes;
	/* struct otel_attr_entry attrs[]; */
};

#define OTEL_COMM_LEN		16	/* TASK_COMM_LEN */

/**
 * struct otel_rec_comm - the name of a task (48 bytes)
 * @hdr:	hdr.span_id is zero; hdr.flags is OTEL_CTX_TASK
 * @pid:	thread id (initial pid namespace), as otel_rec_span.pid
 * @tgid:	its process id, as otel_rec_span.tgid
 * @comm:	the task's comm, NUL-padded (not terminated when 16 long)
 *
 * Written in task context (never for an idle task, pid 0) when a span
 * begins and the CPU's small cache of tasks it has named (pid and comm)
 * misses: the task is new to it, or
 * exec() or prctl(PR_SET_NAME) renamed it, or a reader opened the device
 * or cleared the rings since (every cache is forgotten then).  It lands in
 * the ring of the CPU the span began on, before the span's SPAN record was
 * written (which may be in another CPU's ring): a reader keeps a table of
 * pid to name; one that read a SPAN before its task's COMM finds the COMM
 * by the end of its next pass over every ring.  A COMM the ring had no
 * room for is written again at the next begin.
 */
struct otel_rec_comm {
	struct otel_rec_hdr hdr;
	__u32	pid;
	__u32	tgid;
	char	comm[OTEL_COMM_LEN];
};

/* Largest record the kernel writes; longer strings are truncated. */
#define OTEL_REC_MAX_SIZE	1024

/*
 * mmap layout.  Ring n (n < otel_info.nr_cpus) is at file offset
 * n * otel_info.mmap_stride and is made of:
 *   page 0: struct otel_ring_consumer, mapped read-write
 *   page 1: struct otel_ring_producer, read-only
 *   pages 2..: otel_info.ring_size bytes of records, read-only
 * Map page 0 with PROT_READ|PROT_WRITE and the rest with PROT_READ (a
 * writable mapping of pages 1.. is refused).  Positions are free-running
 * byte counts; a record at position p sits at offset p & (ring_size - 1) of
 * the data area and never wraps: a PAD record fills the end of the ring
 * instead.
 *
 * Reader protocol (the kernel never writes into space between consumer_pos
 * and producer_pos, and publishes producer_pos only after every record below
 * it is completely written):
 *   prod = smp_load_acquire(&producer->producer_pos);
 *   while (cons < prod) { read record at cons; cons += hdr.size; }
 *   smp_store_release(&consumer->consumer_pos, cons);
 * skipping OTEL_REC_PAD records.  In discard mode (the default) the kernel
 * drops new records rather than write over [consumer_pos, producer_pos); a
 * consumer_pos user space corrupts only causes drops.  In overwrite mode
 * the kernel ignores consumer_pos: after OTEL_IOC_SNAPSHOT (which stops the
 * writers and waits for those in flight) the records from
 * max(consumer_pos, overwrite_tail) to producer_pos are stable until the
 * snapshot ends (OTEL_IOC_RESUME, or its file released).  Wake-ups:
 * poll() reports EPOLLIN when any ring has a record; a sleeping reader is
 * woken once otel_config.wakeup_bytes are waiting in a ring (at most about
 * 100 ms late), or by OTEL_IOC_FLUSH.
 */
struct otel_ring_consumer {
	__u64	consumer_pos;
};

/**
 * struct otel_ring_producer - producer page of one ring
 * @producer_pos:	end of the published records
 * @overwrite_tail:	overwrite mode only: position of the oldest record
 *			still in the ring
 * @ring_size:		bytes in the data area, a power of two
 * @cpu:		the CPU this ring belongs to
 * @online:		1 while the CPU is online
 */
struct otel_ring_producer {
	__u64	producer_pos;
	__u64	overwrite_tail;
	__u64	ring_size;
	__u32	cpu;
	__u32	online;
};

/* Ring modes (otel_config.mode). */
enum otel_ring_mode {
	OTEL_MODE_DISCARD	= 0,	/* full ring: drop the new record */
	OTEL_MODE_OVERWRITE	= 1,	/* flight recorder: drop the oldest */
};

/* Samplers (otel_config.sampler), as OTEL_TRACES_SAMPLER names them. */
enum otel_sampler {
	OTEL_SAMPLER_ALWAYS_ON			= 0,
	OTEL_SAMPLER_ALWAYS_OFF			= 1,
	OTEL_SAMPLER_TRACEIDRATIO		= 2,
	OTEL_SAMPLER_PARENTBASED_ALWAYS_ON	= 3,
	OTEL_SAMPLER_PARENTBASED_ALWAYS_OFF	= 4,
	OTEL_SAMPLER_PARENTBASED_TRACEIDRATIO	= 5,
};

/* Sampling ratios are fixed point: OTEL_RATIO_ONE means 1.0. */
#define OTEL_RATIO_ONE		1000000U

/**
 * struct otel_info - OTEL_IOC_INFO
 * @size:		out: sizeof(struct otel_info) as the kernel knows it
 * @abi_version:	OTEL_ABI_VERSION
 * @nr_cpus:		number of rings (nr_cpu_ids)
 * @page_size:		PAGE_SIZE
 * @ring_size:		bytes in each ring's data area
 * @mmap_stride:	file offset between two rings' mappings
 * @max_record:		OTEL_REC_MAX_SIZE
 * @reserved:		zero
 */
struct otel_info {
	__u32	size;
	__u32	abi_version;
	__u32	nr_cpus;
	__u32	page_size;
	__u64	ring_size;
	__u64	mmap_stride;
	__u32	max_record;
	__u32	reserved[7];
};

#define OTEL_INFO_SIZE_VER0	64	/* the first published struct otel_info */

/**
 * struct otel_cpu_stats - counters of one ring
 * @records:		records written
 * @bytes:		bytes written
 * @dropped_full:	records dropped because the ring was full
 * @dropped_too_big:	records refused for their size
 * @dropped_nested:	records dropped for nesting too deep (recursion)
 * @dropped_disabled:	records dropped while the ring was paused/cleared
 * @overwritten:	overwrite mode: records overwritten by newer ones
 * @wakeups:		reader wakeups sent
 * @discarded:		records written but thrown away unread when a resize
 *			or a mode change emptied the ring (OTEL_IOC_CLEAR
 *			zeroes every counter instead)
 * @reserved:		zero
 *
 * Every record tried is counted once: records + dropped_full +
 * dropped_too_big + dropped_nested + dropped_disabled.  Of those written
 * (records), each is read, overwritten, discarded, or still in the ring.
 */
struct otel_cpu_stats {
	__u64	records;
	__u64	bytes;
	__u64	dropped_full;
	__u64	dropped_too_big;
	__u64	dropped_nested;
	__u64	dropped_disabled;
	__u64	overwritten;
	__u64	wakeups;
	__u64	discarded;
	__u64	reserved[7];
};

/* otel_stats_req.cpu value meaning "sum over all CPUs". */
#define OTEL_STATS_ALL_CPUS	0xffffffffU

/**
 * struct otel_stats_req - OTEL_IOC_STATS
 * @cpu:	in: a CPU number or OTEL_STATS_ALL_CPUS
 * @reserved:	zero
 * @stats:	out
 */
struct otel_stats_req {
	__u32	cpu;
	__u32	reserved;
	struct otel_cpu_stats stats;
};

/**
 * struct otel_config - OTEL_IOC_GET_CONFIG / OTEL_IOC_SET_CONFIG
 * @size:		SET: in, sizeof(struct otel_config) as the caller
 *			knows it; GET: out, as the kernel knows it
 * @enabled:		1 records spans, 0 makes every span a no-op
 * @mode:		enum otel_ring_mode
 * @sampler:		enum otel_sampler
 * @ratio:		sampling ratio for the ratio samplers, in units of
 *			1/OTEL_RATIO_ONE
 * @wakeup_bytes:	wake a reader once this many bytes are waiting
 *			(0: on every commit's irq_work, batched per tick); at
 *			most OTEL_WAKEUP_BYTES_MAX(@ring_size), so that a
 *			sleeping reader is woken before a ring is too full
 *			for the largest record (-EINVAL above)
 * @ring_size:		bytes per ring; a change reallocates the rings and
 *			needs them unmapped (-EBUSY otherwise)
 * @begin_records:	1 also writes a SPAN_BEGIN record when a span begins
 *			(flight recorder: spans that never end still show)
 * @noop_spans:		1: while the sampler drops every span, a span begun
 *			with otel_kspan_begin() is a no-op span (no ids; its
 *			parent's context passes through) instead of an
 *			unsampled one; the module parameter of the same name.
 *			SET sets every field: a caller that does not GET
 *			first turns it off with a zero.
 * @reserved:		zero
 */
struct otel_config {
	__u32	size;
	__u32	enabled;
	__u32	mode;
	__u32	sampler;
	__u32	ratio;
	__u32	wakeup_bytes;
	__u64	ring_size;
	__u32	begin_records;
	__u32	noop_spans;
	__u32	reserved[6];
};

#define OTEL_CONFIG_SIZE_VER0	64	/* the first published struct otel_config */

/*
 * The largest otel_config.wakeup_bytes for rings of @ring_size bytes: a
 * record and the PAD before it take at most 2 * OTEL_REC_MAX_SIZE - 8, so
 * a ring with fewer bytes waiting than this still has room for any record.
 */
#define OTEL_WAKEUP_BYTES_MAX(ring_size) \
	((ring_size) - 2 * OTEL_REC_MAX_SIZE)

/**
 * struct otel_clock - OTEL_IOC_CLOCK
 * @mono_ns:	CLOCK_MONOTONIC ns
 * @real_ns:	CLOCK_REALTIME ns read at the same moment (to within
 *		@window_ns)
 * @window_ns:	how far apart the two readings may be
 * @reserved:	zero
 */
struct otel_clock {
	__u64	mono_ns;
	__u64	real_ns;
	__u64	window_ns;
	__u64	reserved[5];
};

/**
 * struct otel_context_req - OTEL_IOC_SET_TASK_CONTEXT / GET_TASK_CONTEXT
 * @trace_id:		W3C trace id (all zero: clear the context)
 * @span_id:		W3C parent span id
 * @trace_flags:	W3C trace flags
 * @reserved:		zero
 *
 * SET makes the calling thread's next kernel spans children of this remote
 * parent (for example the span a user-space request is in); GET returns the
 * calling thread's current kernel span, or the remote context set before.
 * Both act on the calling thread only, through /dev/oteltrace or, for any
 * user, /dev/oteltrace-ctx.  Threads and processes the thread creates
 * afterwards inherit the remote context; an exec that raises privileges
 * (AT_SECURE) drops it; it goes when the thread exits.  SET fails with
 * EINVAL (reserved bytes set, or a zero span id with a trace id), ENOSPC
 * (context table full, or all users' remote contexts at context_remote_max)
 * or EDQUOT (the caller's real uid holds its limit of
 * remote contexts, module parameter context_per_user).
 */
struct otel_context_req {
	__u8	trace_id[OTEL_TRACE_ID_SIZE];
	__u8	span_id[OTEL_SPAN_ID_SIZE];
	__u8	trace_flags;
	__u8	reserved[15];
};

/**
 * struct otel_span_stats - OTEL_IOC_SPAN_STATS: span API counters (136 bytes)
 * @size:		out: sizeof(struct otel_span_stats) as the kernel knows it
 * @reserved0:		zero
 * @begin_active:	a handle begun again while still active (the first
 *			span is abandoned: it writes nothing)
 * @end_twice:		a span ended again (ignored)
 * @end_foreign:	a current span ended from another task or CPU (its
 *			owner drops it from its chain of current spans)
 * @stale_current:	a current span whose stack frame had returned,
 *			dropped without being read
 * @misnested:		a current span ended out of order
 * @bad_handle:		a handle that fails validation (not begun, or
 *			overwritten), ignored
 * @context_full:	spans that could not become current: the task
 *			context table was full
 * @depth_full:		spans that could not become current: the context's
 *			chain of current spans was full
 * @context_used:	now: task context table slots in use
 * @context_remote:	now: slots holding a remote context (set by user
 *			space or inherited at fork)
 * @context_user_limit:	remote contexts refused (SET: EDQUOT; fork: not
 *			inherited) because their uid held context_per_user
 * @context_inherited:	new threads and processes that inherited a remote
 *			context
 * @context_inherit_lost: new threads and processes that could not inherit
 *			their parent's remote context (per-user limit or
 *			table full)
 * @reserved:		zero
 *
 * Each misuse (@begin_active to @depth_full) is also reported once in the
 * kernel log.  The context_* fields came in place of reserved fields: a
 * kernel without them returns zero there.
 */
struct otel_span_stats {
	__u32	size;
	__u32	reserved0;
	__u64	begin_active;
	__u64	end_twice;
	__u64	end_foreign;
	__u64	stale_current;
	__u64	misnested;
	__u64	bad_handle;
	__u64	context_full;
	__u64	depth_full;
	__u64	context_used;
	__u64	context_remote;
	__u64	context_user_limit;
	__u64	context_inherited;
	__u64	context_inherit_lost;
	__u64	reserved[3];
};

#define OTEL_SPAN_STATS_SIZE_VER0 136	/* the first published otel_span_stats */

/* Bridges: spans from existing kernel tracepoints (docs/bridges.md). */
enum otel_bridge_mode {
	OTEL_BRIDGE_OFF		= 0,	/* probes detached */
	OTEL_BRIDGE_TRACED	= 1,	/* only tasks that carry a trace context */
	OTEL_BRIDGE_ALL		= 2,	/* everything the tracepoints see */
};

#define OTEL_BRIDGE_NAME_MAX	32	/* bytes of a bridge name, with the NUL */

/**
 * struct otel_bridge_req - OTEL_IOC_GET_BRIDGE / OTEL_IOC_SET_BRIDGE
 * @size:	in: sizeof(struct otel_bridge_req) as the caller knows it;
 *		GET: out, as the kernel knows it
 * @index:	GET: in, the bridge's index from 0 (-ENOENT past the last)
 * @mode:	GET: out; SET: in, enum otel_bridge_mode
 * @modes:	GET: out, the modes it supports (bit 1 << OTEL_BRIDGE_*)
 * @name:	GET: out; SET: in, NUL-terminated
 * @spans:	GET: out, spans begun since the module loaded
 * @dropped:	GET: out, spans not made for want of room (a full table),
 *		and spans abandoned when the bridge was switched off
 * @reserved:	zero
 *
 * SET switches one bridge, by name (a control ioctl: see "Who may call
 * what" below).
 */
struct otel_bridge_req {
	__u32	size;
	__u32	index;
	__u32	mode;
	__u32	modes;
	char	name[OTEL_BRIDGE_NAME_MAX];
	__u64	spans;
	__u64	dropped;
	__u64	reserved[6];
};

#define OTEL_BRIDGE_REQ_SIZE_VER0 112	/* the first published otel_bridge_req */

/*
 * Who may call what.  Opening /dev/oteltrace needs CAP_SYS_ADMIN,
 * CAP_PERFMON or membership of the module parameter group's gid (and the
 * file mode).  Whoever opened it may read: INFO, STATS, FLUSH, GET_CONFIG,
 * CLOCK, SPAN_STATS, GET_BRIDGE, the task context ioctls (the calling
 * thread's own context), read(), poll() and mmap() (the consumer page
 * included).  The control ioctls, SET_CONFIG, CLEAR, SNAPSHOT, RESUME and
 * SET_BRIDGE, need CAP_PERFMON or CAP_SYS_ADMIN in the credentials of
 * whoever opened the file (not of the caller): -EPERM otherwise.
 *
 * Snapshots belong to the open file that took them.  While one holds a
 * snapshot, SNAPSHOT and RESUME through any other open file fail with
 * -EBUSY; SNAPSHOT again through the same file does nothing; RESUME with
 * no snapshot held does nothing.  The snapshot ends with RESUME or when
 * its file is released: closed by every process that shares it and no
 * longer mapped (a process that dies, even by SIGKILL, closes its files).
 *
 * Structs that start with a size field may grow at their end.  The ioctl
 * numbers of INFO, GET_CONFIG, SET_CONFIG, SPAN_STATS, GET_BRIDGE and
 * SET_BRIDGE are matched without their size bits, so a program built
 * against a later header (a larger struct, a larger number) still finds
 * them; a number whose size is below the struct's *_SIZE_VER0 is not an
 * ioctl (-ENOTTY).
 *  - In (SET_CONFIG, GET_BRIDGE, SET_BRIDGE): the kernel reads the @size
 *    bytes the caller gives.  Less than *_SIZE_VER0: -EINVAL; more than a
 *    page: -E2BIG; more than the kernel knows: accepted if every byte past
 *    its struct is zero, -E2BIG otherwise (copy_struct_from_user()); less
 *    than the kernel knows (a caller built against an older header, once
 *    the struct has grown): the fields it does not know are zero.
 *  - Out (INFO, GET_CONFIG, SPAN_STATS, GET_BRIDGE): the kernel writes
 *    min(caller's size, its own) bytes, zeroes the caller's bytes past its
 *    own struct, and sets @size to its own size.  The caller's size is the
 *    ioctl number's for INFO, GET_CONFIG and SPAN_STATS, @size for
 *    GET_BRIDGE.
 * Every struct so far is still its *_SIZE_VER0.
 */
#define OTEL_IOC_MAGIC		0xB7

#define OTEL_IOC_INFO		_IOR(OTEL_IOC_MAGIC, 0x00, struct otel_info)
#define OTEL_IOC_STATS		_IOWR(OTEL_IOC_MAGIC, 0x01, struct otel_stats_req)
#define OTEL_IOC_FLUSH		_IO(OTEL_IOC_MAGIC, 0x02)
#define OTEL_IOC_GET_CONFIG	_IOR(OTEL_IOC_MAGIC, 0x03, struct otel_config)
#define OTEL_IOC_SET_CONFIG	_IOW(OTEL_IOC_MAGIC, 0x04, struct otel_config)
#define OTEL_IOC_CLEAR		_IO(OTEL_IOC_MAGIC, 0x05)
#define OTEL_IOC_CLOCK		_IOR(OTEL_IOC_MAGIC, 0x06, struct otel_clock)
#define OTEL_IOC_SNAPSHOT	_IO(OTEL_IOC_MAGIC, 0x07)
#define OTEL_IOC_RESUME		_IO(OTEL_IOC_MAGIC, 0x08)
#define OTEL_IOC_SET_TASK_CONTEXT _IOW(OTEL_IOC_MAGIC, 0x09, struct otel_context_req)
#define OTEL_IOC_GET_TASK_CONTEXT _IOR(OTEL_IOC_MAGIC, 0x0a, struct otel_context_req)
#define OTEL_IOC_SPAN_STATS	_IOR(OTEL_IOC_MAGIC, 0x0b, struct otel_span_stats)
/* 0x0c-0x0f: kept for the task context ioctls. */
#define OTEL_IOC_GET_BRIDGE	_IOWR(OTEL_IOC_MAGIC, 0x10, struct otel_bridge_req)
#define OTEL_IOC_SET_BRIDGE	_IOW(OTEL_IOC_MAGIC, 0x11, struct otel_bridge_req)

#endif /* _UAPI_OTELTRACE_H */
