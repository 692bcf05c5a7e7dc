/* SPDX-License-Identifier: GPL-2.0 */
/* The encoders' interfaces, and what the protobuf and JSON encoders share. */
#ifndef OTELD_OTLP_H
#define OTELD_OTLP_H

#include <zlib.h>

#include "arena.h"
#include "oteld.h"

/* The spans of one instrumentation scope (one module) in a request. */
struct scope_group {
	const char *name, *version;
	struct span **spans;
	size_t n;
};

/*
 * The attributes oteld adds to a span (span_where_attrs()) as otlp_wire.c
 * encoded them for the last span: every span of one task begun on one CPU
 * has the same, so the next such span copies these bytes.
 */
struct where_cache {
	uint32_t pid, tgid;
	uint16_t cpu;
	uint8_t context, set;	/* set: span_where_set() */
	char name[OTEL_COMM_LEN + 1];
	bool valid;
	size_t len;
	uint8_t bytes[256];
};

/*
 * otlp_wire.c: an ExportTraceServiceRequest written back to front into
 * @data; the request is data[start, cap).  Kept between batches.
 */
struct wire {
	uint8_t *data;
	size_t cap, start;
	size_t limit;		/* stop past this many bytes; 0: no limit */
	bool failed;		/* out of memory */
	uint32_t *scratch, *order, *bounds;	/* grouping by scope */
	size_t scratch_n;
	struct where_cache where;
};

static inline size_t wire_len(const struct wire *w)
{
	return w->cap - w->start;
}

static inline const uint8_t *wire_body(const struct wire *w)
{
	return w->data + w->start;
}

/* 0, 1 when the request passes w->limit, -1 out of memory. */
int wire_encode(struct wire *w, struct span *const *spans, size_t n,
		const struct resource *r);
void wire_free(struct wire *w);

/*
 * otlp_size.c: the bytes wire_encode() writes for @s (its ScopeSpans.spans
 * field), exactly, without encoding it; and at most what the ScopeSpans
 * around a span of @s's scope adds.
 */
size_t wire_span_size(const struct span *s);
size_t wire_scope_size(const struct span *s);

/*
 * encode.c: one exporter thread's request bodies, buffers kept between
 * batches (released after a batch that grew one past ENCODER_KEEP_BYTES).
 */
#define ENCODER_KEEP_BYTES	(1u << 20)

struct encoder {
	const struct config *c;
	const struct resource *r;
	size_t limit;		/* body bytes at most (encoder_set_limit()) */
	size_t base;		/* a request of no span; 0: not known yet */
	struct wire wire;	/* protobuf */
	struct buf json, gz;
	z_stream zs;
	bool gzip_ready;
	const uint8_t *body;	/* encoder_run()'s result */
	size_t len;
	size_t raw_len;		/* its length before compression */
};

void encoder_init(struct encoder *e, const struct config *c,
		  const struct resource *r);
/*
 * Encode @spans (protocol, byte cap, gzip) into e->body, e->len: 0, 1 when
 * the body before compression passes the limit (--max-request-bytes, or
 * encoder_set_limit()'s), -1 out of memory.
 */
int encoder_run(struct encoder *e, struct span *const *spans, size_t n);
void encoder_set_limit(struct encoder *e, size_t limit);
/*
 * Bytes, before compression, of a request of no span (0: out of memory),
 * and at most what @s adds to a request: measured once per span, the sum
 * bounds a batch's body.  Protobuf: computed (otlp_size.c); JSON: @s
 * encoded alone.  Either leaves e->body undefined.
 */
size_t encoder_base_size(struct encoder *e);
size_t encoder_span_size(struct encoder *e, struct span *s);
/*
 * How many of the @n spans, from the first, make a request of at most
 * @limit bytes by their sizes in @sizes (encoder_span_size(), measured
 * here where 0 and kept there): at least one, even one too large.
 */
size_t encoder_cut(struct encoder *e, struct span *const *spans,
		   size_t *sizes, size_t n, size_t limit);
/* After a batch: give back what grew past ENCODER_KEEP_BYTES. */
void encoder_trim(struct encoder *e);
void encoder_free(struct encoder *e);

int group_by_scope(struct span *const *spans, size_t n, struct arena *ar,
		   struct scope_group **out, size_t *nr_groups);

/*
 * OTLP Span.flags: W3C flags plus "is_remote known" and "is remote": a
 * SPAN record knows whether its parent came from a W3C context.
 */
static inline uint32_t span_flags(const struct span *s)
{
	uint32_t f = s->trace_flags | 0x100;

	if (s->begin_flags & OTEL_BEGINF_REMOTE_PARENT)
		f |= 0x200;
	return f;
}

#endif
