/* SPDX-License-Identifier: GPL-2.0 */
/*
 * oteld: the user-space relay of oteltrace.
 *
 * Pipeline, one file per stage, with the data passed between stages defined
 * here once:
 *
 *   ring.c / capture.c   records (raw bytes, as the kernel wrote them)
 *        -> assemble.c   struct span (complete or marked incomplete;
 *                        pool.c keeps span blocks for reuse)
 *        -> queue.c      bounded queue, batches (BatchSpanProcessor)
 *        -> export.c     exporter threads: encode.c (otlp_wire.c or
 *                        otlp_json.c, gzip) -> http.c, or console.c
 *
 * config.c holds the configuration (OTEL_* environment and flags),
 * resource.c the resource attributes, stats.c the counters of every drop.
 */
#ifndef OTELD_H
#define OTELD_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kmod/version.h"
#include "uapi/oteltrace.h"

#define OTELD_VERSION OTELTRACE_VERSION

/* Per-span bounds: a corrupt or hostile stream cannot grow a span forever. */
#define SPAN_MAX_ATTRS	256
#define SPAN_MAX_EVENTS	128
#define SPAN_MAX_LINKS	128

/* Exit statuses (docs/oteld.md, oteld --help). */
enum {
	OTELD_EXIT_FAILURE = 1,		/* run-time: device, input, capture */
	OTELD_EXIT_USAGE = 2,		/* bad configuration */
	OTELD_EXIT_INTERNAL = 3,	/* out of memory, a thread not started */
};

/* ---- log.c ---- */
extern int log_verbose;
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- spans (assemble.c builds them, the exporters read them) ---- */
struct attr {
	char *key;
	uint16_t target;	/* OTEL_ATTR_TARGET_* */
	uint8_t type;		/* enum otel_attr_type */
	char *str;
	int64_t i;		/* INT, BOOL */
	double d;
	/* assembly only: its place in the order written (assemble.c) */
	uint64_t order, seq;
};

struct event {
	uint16_t index;
	uint64_t time;		/* Unix epoch ns */
	char *name;
	uint32_t dropped_attrs;
};

struct link {
	uint16_t index;
	uint8_t trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t span_id[OTEL_SPAN_ID_SIZE];
	uint8_t trace_flags;
	uint32_t dropped_attrs;
};

/* Attributes dropped for an event or link, before it is known to exist. */
struct item_drop {
	uint16_t target;	/* OTEL_ATTR_TARGET_* of an event or link */
	uint32_t n;
};

struct span {
	uint8_t trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t span_id[OTEL_SPAN_ID_SIZE];
	uint8_t parent_span_id[OTEL_SPAN_ID_SIZE];
	/* begin_flags: OTEL_SPANF_* */
	uint8_t trace_flags, kind, begin_flags, status_code;
	char *name, *scope_name, *scope_version, *status_message;
	uint64_t start, end;	/* Unix epoch ns */
	uint32_t pid, tgid;	/* task it began in (initial pid namespace) */
	uint16_t begin_cpu;	/* CPU the span began on */
	uint8_t begin_context;	/* enum otel_context it began in */
	char thread_name[OTEL_COMM_LEN + 1];	/* its comm; "" if unknown */
	bool named;		/* thread_name is its task's ("" may be) */
	struct attr *attrs;
	struct event *events;
	struct link *links;
	size_t nr_attrs, nr_events, nr_links;
	uint32_t dropped_attrs, dropped_events, dropped_links;
	bool incomplete;
	/*
	 * SPAN_PARTS: every string and array is an allocation of its own.
	 * Otherwise (a span of one SPAN record, assemble.c) the span, its
	 * attributes and every string it points to are one block, which
	 * span_free() frees, or gives back to pool.c when SPAN_POOLED; no
	 * string or array in it is freed or grown alone.  Its scope's name
	 * and version may be the assembler's, shared by the spans of that
	 * scope and freed with the assembler.
	 */
	enum span_alloc { SPAN_PARTS, SPAN_BLOCK, SPAN_POOLED } alloc;

	/*
	 * assembly state: has_begin once the span's identity (ids, name,
	 * start) is known, from its SPAN or SPAN_BEGIN record; has_end once
	 * its SPAN record is in.  item_drops: counts for events and links
	 * that may not have arrived yet (SPAN_PARTS only).
	 */
	bool has_begin, has_end;
	struct item_drop *item_drops;
	size_t nr_item_drops;
	uint32_t nr_seen, nr_expected;
	uint64_t first_mono, end_seen_mono;
	uint64_t start_mono;		/* start, CLOCK_MONOTONIC */
	struct span *hnext;		/* hash chain */
	struct span *prev, *next;	/* age list, then queue */
};

void span_free(struct span *s);
/* Free the @n spans of @v; @v's order is lost. */
void span_free_batch(struct span **v, size_t n);

/*
 * ---- pool.c: span blocks of SPAN_BLOCK_BYTES kept for reuse ----
 * The pool keeps at most pool_init()'s number of blocks (none before);
 * a block_cache holds a few more for the one thread that takes blocks, so
 * that it seldom takes the pool's lock.
 */
#define SPAN_BLOCK_BYTES	512
#define BLOCK_CACHE_SIZE	32

struct block_cache {
	struct span *blocks[BLOCK_CACHE_SIZE];
	size_t n;
};

/* Keep up to @max_blocks blocks (capped) from now on; -1: no memory. */
int pool_init(size_t max_blocks);
/* Free what the pool keeps, and keep nothing more. */
void pool_free(void);
size_t pool_len(void);
/* A block of SPAN_BLOCK_BYTES (not zeroed), or NULL. */
struct span *block_get(struct block_cache *c);
/* Give back the @n blocks of @v (to the pool while it has room). */
void blocks_put(struct span *const *v, size_t n);
/* Give back what @c holds. */
void block_cache_drain(struct block_cache *c);

/* ---- clock anchor: CLOCK_MONOTONIC -> Unix epoch ---- */
struct anchor {
	uint64_t mono_ns, real_ns;
};

static inline uint64_t anchor_to_real(const struct anchor *a, uint64_t mono)
{
	return mono - a->mono_ns + a->real_ns;
}

/* ---- config.c ---- */
/* A default batch size grows to the queue's size, this many at most. */
#define DEEP_BATCH_MAX	8192

enum protocol { PROTO_HTTP_PROTOBUF, PROTO_HTTP_JSON, PROTO_GRPC };

struct config {
	char *endpoint;		/* full URL: /v1/traces or the gRPC method */
	enum protocol protocol;
	bool gzip;
	long timeout_ms;
	char *ca_file, *client_cert, *client_key;
	char **headers;		/* "Name: value" */
	size_t nr_headers;
	char *service_name;
	char *resource_attrs;	/* OTEL_RESOURCE_ATTRIBUTES, raw */
	long schedule_delay_ms, max_queue, max_batch, export_timeout_ms;
	/* the largest batch taken when more than max_batch spans wait */
	long max_batch_deep;
	bool disabled;

	char *device, *input, *capture, *user, *stats_file;
	bool console, no_export, replay_drop;
	long max_open_spans, span_timeout_ms, grace_ms, stats_interval_ms;
	long max_request_bytes;
	long retry_initial_ms, retry_max_ms;
	long exporters;		/* export threads (requests in flight) */
	char *queue_dir;	/* --queue-dir: the queue on disk (spool.c) */
	long queue_max_bytes;
	bool queue_sync;	/* fsync each file written there */
};

/* Returns 0, or 1 when it printed --help/--version, or -1 after an error. */
int config_load(struct config *c, int argc, char **argv);
/* The TLS files can still be read (by @who, after --user): 0, or -1. */
int config_files_readable(const struct config *c, const char *who);
void config_free(struct config *c);
int parse_headers(const char *s, bool grpc, char ***out, size_t *n,
		  char *why, size_t whylen);
char *percent_decode(const char *s, size_t len);
/* As percent_decode(), *outlen the decoded length (a %00 shows in it). */
char *percent_decode_n(const char *s, size_t len, size_t *outlen);

/*
 * ---- endpoint.c ----
 * The OTLP/HTTP URL to post to, in *@out (malloc'd): @url checked with
 * libcurl's URL API, "v1/traces" appended to its path if @append_signal
 * (OTEL_EXPORTER_OTLP_ENDPOINT), its query kept.  0, or -1 with @why.
 */
int http_endpoint(const char *url, bool append_signal, char **out,
		  char *why, size_t whylen);

/* ---- resource.c ---- */
struct resource {
	struct attr *attrs;
	size_t nr;
};

int resource_build(struct resource *r, const struct config *c);
/*
 * Add "k=v,k=v" (OTEL_RESOURCE_ATTRIBUTES: trimmed, percent-decoded) to
 * @r; 0, or -1 with @why (an empty key, no '=', a %00).
 */
int resource_parse(struct resource *r, const char *s, char *why,
		   size_t whylen);
void resource_free(struct resource *r);

/* ---- stats.c ---- */
struct stats {
	atomic_ullong records, records_raw, records_unknown, records_corrupt;
	atomic_ullong records_late;
	atomic_ullong spans_complete, spans_incomplete, spans_no_begin;
	atomic_ullong spans_evicted, span_items_dropped;
	atomic_ullong spans_queued, dropped_queue_full;
	atomic_ullong spans_exported, dropped_export_failed, dropped_too_big;
	atomic_ullong export_requests, export_retries, partial_rejected;
	atomic_ullong kernel_dropped, kernel_overwritten;
	atomic_ullong clock_jumps, clock_steps;
	atomic_ullong records_comm, names_unresolved, partial_warnings;
	atomic_ullong grpc_details_too_big;
	atomic_ullong names_evicted, item_attrs_lost, clock_too_old;
	/* --queue-dir (spool.c) */
	atomic_ullong spans_spooled, spool_loaded, spool_left, spool_corrupt;
	atomic_ullong dropped_spool_full, spool_write_errors, spool_bytes_max;
};

extern struct stats stats;
void stats_log(const char *when);
int stats_write(const char *path);

/* ---- assemble.c ---- */
struct assembler;
typedef void (*span_sink)(struct span *s, void *arg);

struct assembler *assembler_new(size_t max_open, uint64_t timeout_ns,
				uint64_t grace_ns, span_sink sink, void *arg);
void assembler_free(struct assembler *a);
/*
 * The timers (grace, span timeout) run on the replay clock: the anchors and
 * the latest times the ring stamped; for live rings, assembler_set_live()
 * makes them run on CLOCK_MONOTONIC as oteld reads it.
 */
void assembler_set_live(struct assembler *a);
/* Records longer than this are corrupt (default OTEL_REC_MAX_SIZE). */
void assembler_set_max_record(struct assembler *a, size_t max);
/*
 * A new clock anchor, read at an.mono_ns: records stamped from then on are
 * converted with it, earlier ones with the anchor that was current then
 * (a history of the last ANCHOR_HISTORY anchors is kept).
 */
#define ANCHOR_HISTORY	64
void assembler_set_anchor(struct assembler *a, const struct anchor *an);
/*
 * The end of one pass over every ring: spans read in the pass before this
 * one whose task still has no name (no COMM record) go out without it.
 */
void assembler_pass_end(struct assembler *a);
/*
 * Feed a buffer of whole records; returns bytes consumed (all: a record cut
 * short at the end is counted corrupt).
 */
size_t assembler_feed(struct assembler *a, const void *buf, size_t len);
/* Export what timed out by @now_mono (CLOCK_MONOTONIC ns). */
void assembler_expire(struct assembler *a, uint64_t now_mono);
/* Export everything still open, marked incomplete. */
void assembler_flush(struct assembler *a);
/* The replay clock: latest ring-stamped record time or anchor. */
uint64_t assembler_last_time(const struct assembler *a);
size_t assembler_open(const struct assembler *a);
/* Spans finished but held for their task's name (assembler_pass_end()). */
bool assembler_held(const struct assembler *a);

/* ---- queue.c ---- */
struct queue;

/* @batch: max export batch size; @delay_ms: the schedule delay. */
struct queue *queue_new(size_t max_spans, size_t batch, long delay_ms);
void queue_free(struct queue *q);
/* Full queue: push waits for room instead of dropping (for replays). */
void queue_set_blocking(struct queue *q, bool blocking);
/*
 * When more than a batch waits, a consumer takes up to @deep spans at once
 * (at least the batch size; the default is the batch size).
 */
void queue_set_deep_batch(struct queue *q, size_t deep);
/* Takes @s; drops it (counted) when full or closed, or waits if blocking. */
void queue_push(struct queue *q, struct span *s);
/* queue_push() of the @n spans of @v in order, taking the lock once. */
void queue_push_batch(struct queue *q, struct span **v, size_t n);
/*
 * Waits until a full batch is queued, the schedule delay passed with spans
 * queued, or the queue is closed; moves at most a batch of spans (a deep
 * batch when more than a batch waits) to @out (room for the deep batch)
 * and returns how many: 0 once closed and empty.  Any number of threads
 * may wait.
 */
size_t queue_pop_batch(struct queue *q, struct span **out);
void queue_close(struct queue *q);
size_t queue_len(struct queue *q);
/* Spans that can be pushed before the queue is full (0 once closed). */
size_t queue_room(struct queue *q);
/* Waits up to @timeout_ms until @room spans fit: whether they do. */
bool queue_wait_room(struct queue *q, size_t room, long timeout_ms);
bool queue_closed(struct queue *q);

/* ---- encoding (otlp_proto.c, otlp_json.c) ---- */
struct buf {
	uint8_t *data;
	size_t len, cap;
};

int buf_reserve(struct buf *b, size_t more);
int buf_put(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/*
 * Append one ExportTraceServiceRequest of @n spans to @out (otlp_wire.c;
 * the exporter uses its struct wire directly, see otlp.h).
 */
int otlp_proto_encode(struct span *const *spans, size_t n,
		      const struct resource *r, struct buf *out);
int otlp_json_encode(struct span *const *spans, size_t n,
		     const struct resource *r, struct buf *out);
/*
 * Partial success from a response body: rejected spans (0 with a message:
 * a warning), the message in @msg; -1 when there is none or the body does
 * not parse.
 */
long long otlp_proto_rejected(const void *body, size_t len, char *msg,
			      size_t msglen);
/* ---- partial.c ---- */
long long otlp_json_rejected(const void *body, size_t len, char *msg,
			     size_t msglen);
/*
 * Count and log the partial success of a 2xx answer's body (OTLP/JSON or
 * protobuf), if any; rejected spans count up to the spans of the request
 * this thread sent last, set before sending with partial_set_sent().
 */
void partial_success_check(bool json, const void *body, size_t len);
void partial_set_sent(size_t n);

/* ---- http.c ---- */
struct http;

enum send_result {
	SEND_OK,
	SEND_RETRY,		/* 429/502/503/504 or transport error */
	SEND_TOO_BIG,		/* 413 */
	SEND_FAIL,		/* anything else: not retryable */
};

struct http *http_new(const struct config *c);
/*
 * What the HTTP and gRPC exporters set alike on their libcurl handle: no
 * signals, TCP keep-alive, the body and header callbacks, the TLS files.
 */
void http_easy_common(CURL *curl, const struct config *c,
		      curl_write_callback on_body, curl_write_callback on_header,
		      void *arg);
void http_free(struct http *h);
/* One POST; *retry_after_ms is set from Retry-After (or -1). */
enum send_result http_post(struct http *h, const void *body, size_t len,
			   long timeout_ms, long *retry_after_ms, char *why,
			   size_t whylen);
int gzip_buf(const void *in, size_t len, struct buf *out);

/* ---- export.c: the exporter threads ---- */
struct exporter;

struct exporter *exporter_start(const struct config *c,
				const struct resource *r, struct queue *q);
/* Closes the queue, waits for every thread's last batch, up to the deadline. */
void exporter_stop(struct exporter *e);

/*
 * ---- group.c: the attributes oteld adds to every span ----
 * Where the span began: cpu.logical_number, linux.context and, for a task,
 * thread.id, process.pid and thread.name (when known).  A key the driver
 * set on the span itself wins: oteld's is left out.  Returns how many it
 * wrote to @out; they point into @s and static strings.
 */
#define SPAN_WHERE_MAX	5
size_t span_where_attrs(const struct span *s, struct attr *out);
/* Bit i set: the driver set the i-th of those keys itself. */
unsigned int span_where_set(const struct span *s);

/* ---- console.c ---- */
void console_print(FILE *out, struct span *const *spans, size_t n);

#endif /* OTELD_H */
