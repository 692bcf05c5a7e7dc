// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target "records": oteld's record decoder and span assembler
 * (assemble.c) fed the way oteld's two readers feed it, and every span it
 * finishes pushed through the OTLP protobuf and JSON encoders and the
 * console exporter.
 *
 * Input: struct head, then frames laid out as in a capture file
 * (struct capture_frame, len bytes, zero padding to 8; a frame cut by the
 * end of the input is taken as far as it goes):
 *
 *   CAPTURE_RECORDS  bytes from one ring, as ring_drain() or a capture
 *                    hands them to assembler_feed()
 *   CAPTURE_ANCHOR   a struct anchor (assembler_set_anchor())
 *   CAPTURE_PASS     the end of a pass over every ring
 *   FZ_EXPIRE        a u64: assembler_expire() at that CLOCK_MONOTONIC time
 *   FZ_FLUSH         assembler_flush(), as oteld does when it stops
 *
 * As a replay (run_replay() in main.c): after each frame, the timers run
 * on the replay clock, and without HEAD_PASSES a RECORDS frame ends a
 * pass.  HEAD_LIVE: the live reader's assembler (assembler_set_live()),
 * timers only at FZ_EXPIRE frames.
 *
 * Promises checked: no memory error or undefined behaviour (ASan, UBSan);
 * a span never holds more attributes, events or links than the bounds of
 * oteld.h; the protobuf request decodes (protobuf-c) with every span in
 * it and every string valid UTF-8; the JSON request is one valid JSON
 * value in valid UTF-8; the console output is valid UTF-8 with no
 * control character but newlines (no terminal escape gets through).
 */
#include <stdatomic.h>

#include "capture.h"
#include "fuzz.h"
#include "oteld.h"
#include "trace_service.pb-c.h"

#define HEAD_LIVE	0x1
#define HEAD_ENCODE	0x2	/* encode what is finished */
#define HEAD_PASSES	0x4	/* PASS frames mark every pass */

#define FZ_EXPIRE	0x100
#define FZ_FLUSH	0x101

#define BATCH		64	/* spans encoded together */
#define NS		1000000000ull

struct head {
	uint8_t flags;
	uint8_t open_log2;	/* max open spans: 1 << (open_log2 % 17) */
	uint8_t max_record;	/* 0: OTEL_REC_MAX_SIZE, else 8 * value */
	uint8_t timers;		/* timeout (low nibble), grace (high) */
	uint32_t reserved;
};

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
	Request;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

struct run {
	bool encode;
	struct span *batch[BATCH];
	size_t n;
};

static struct resource resource;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct attr attrs[2] = {
		{ .key = "service.name", .type = OTEL_ATTR_STRING,
		  .str = "fuzz" },
		{ .key = "host.name", .type = OTEL_ATTR_STRING,
		  .str = "h\xc3\xa9" },
	};

	(void)argc;
	(void)argv;
	resource.attrs = attrs;
	resource.nr = 2;
	return 0;
}

static void check_str(const char *what, const char *s)
{
	if (s && !fz_utf8_ok((const uint8_t *)s, strlen(s)))
		fz_fail("protobuf %s is not valid UTF-8", what);
}

static void check_kvs(KeyValue **kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		check_str("attribute key", kv[i]->key);
		if (kv[i]->value && kv[i]->value->value_case ==
		    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
			check_str("attribute value",
				  kv[i]->value->string_value);
	}
}

/* The protobuf request decodes, holds @n spans, its strings UTF-8. */
static void check_proto(const struct buf *b, size_t n)
{
	Request *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, b->len, b->data);
	size_t i, j, k, e, spans = 0;

	if (!r)
		fz_fail("the protobuf request of %zu spans does not decode", n);
	for (i = 0; i < r->n_resource_spans; i++) {
		const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs =
			r->resource_spans[i];

		if (rs->resource)
			check_kvs(rs->resource->attributes,
				  rs->resource->n_attributes);
		for (j = 0; j < rs->n_scope_spans; j++) {
			const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
				rs->scope_spans[j];

			if (ss->scope) {
				check_str("scope name", ss->scope->name);
				check_str("scope version", ss->scope->version);
			}
			for (k = 0; k < ss->n_spans; k++) {
				const Opentelemetry__Proto__Trace__V1__Span *s =
					ss->spans[k];

				check_str("span name", s->name);
				check_kvs(s->attributes, s->n_attributes);
				for (e = 0; e < s->n_events; e++) {
					check_str("event name",
						  s->events[e]->name);
					check_kvs(s->events[e]->attributes,
						  s->events[e]->n_attributes);
				}
				for (e = 0; e < s->n_links; e++)
					check_kvs(s->links[e]->attributes,
						  s->links[e]->n_attributes);
				if (s->status)
					check_str("status message",
						  s->status->message);
			}
			spans += ss->n_spans;
		}
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		r, NULL);
	if (spans != n)
		fz_fail("a request of %zu spans holds %zu", n, spans);
}

static void check_span(const struct span *s)
{
	if (s->nr_attrs > SPAN_MAX_ATTRS || s->nr_events > SPAN_MAX_EVENTS ||
	    s->nr_links > SPAN_MAX_LINKS)
		fz_fail("a span with %zu attributes, %zu events, %zu links",
			s->nr_attrs, s->nr_events, s->nr_links);
	if (!s->name)
		fz_fail("a span without a name");
}

/* What console_print() wrote: UTF-8, no C0, DEL or C1 control but '\n'. */
static void check_console(const char *text, size_t len)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t i;

	if (!fz_utf8_ok(p, len))
		fz_fail("the console output is not valid UTF-8");
	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		     p[i + 1] <= 0x9f))
			fz_fail("the console output has control byte 0x%02x",
				p[i] == 0xc2 ? p[i + 1] : p[i]);
}

static void print_batch(struct run *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	console_print(f, r->batch, r->n);
	if (fclose(f))
		abort();
	check_console(text, len);
	free(text);
}

static void encode_batch(struct run *r)
{
	struct buf b = { 0 };

	if (!r->n)
		return;
	if (r->encode) {
		if (otlp_proto_encode(r->batch, r->n, &resource, &b))
			fz_fail("otlp_proto_encode() failed");
		check_proto(&b, r->n);
		b.len = 0;
		if (otlp_json_encode(r->batch, r->n, &resource, &b))
			fz_fail("otlp_json_encode() failed");
		if (!fz_json_ok(b.data, b.len))
			fz_fail("the JSON request is not valid JSON in UTF-8");
		buf_free(&b);
		print_batch(r);
	}
	span_free_batch(r->batch, r->n);
	r->n = 0;
}

static void sink(struct span *s, void *arg)
{
	struct run *r = arg;

	check_span(s);
	r->batch[r->n++] = s;
	if (r->n == BATCH)
		encode_batch(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct run run = { 0 };
	struct assembler *a;
	struct head h;
	bool live, passes;

	fz_take(&in, &h, sizeof(h));
	live = h.flags & HEAD_LIVE;
	passes = h.flags & HEAD_PASSES;
	run.encode = h.flags & HEAD_ENCODE;
	a = assembler_new((size_t)1 << (h.open_log2 % 17),
			  (1 + (h.timers & 15)) * NS / 4,
			  (h.timers >> 4) * NS / 8, sink, &run);
	if (!a)
		return 0;
	if (live)
		assembler_set_live(a);
	if (h.max_record)
		assembler_set_max_record(a, 8u * h.max_record);
	while (in.n) {
		struct capture_frame fr;
		size_t len, padded;
		uint64_t t;

		fz_take(&in, &fr, sizeof(fr));
		len = fr.len < in.n ? fr.len : in.n;
		switch (fr.type) {
		case CAPTURE_RECORDS:
			assembler_feed(a, in.p, len);
			if (!live && !passes)
				assembler_pass_end(a);
			break;
		case CAPTURE_ANCHOR:
			if (len == sizeof(struct anchor)) {
				struct anchor an;

				memcpy(&an, in.p, sizeof(an));
				assembler_set_anchor(a, &an);
			}
			break;
		case CAPTURE_PASS:
			passes = true;
			assembler_pass_end(a);
			break;
		case FZ_EXPIRE:
			if (len >= sizeof(t)) {
				memcpy(&t, in.p, sizeof(t));
				assembler_expire(a, t);
			}
			break;
		case FZ_FLUSH:
			assembler_flush(a);
			break;
		default:
			break;
		}
		if (!live)
			assembler_expire(a, assembler_last_time(a));
		padded = (len + 7) & ~(size_t)7;
		len = padded < in.n ? padded : in.n;
		in.p += len;
		in.n -= len;
	}
	assembler_flush(a);
	encode_batch(&run);
	if (assembler_open(a) || assembler_held(a))
		fz_fail("spans left after assembler_flush()");
	assembler_free(a);
	return 0;
}
