// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of oteld's stages (ASan + UBSan): span assembly from records
 * in any order, limits and drops, OTLP protobuf and JSON encoding, capture
 * files, the queue, configuration parsing, gzip.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kselftest_harness.h"
#include "capture.h"
#include "synth.h"
#include "trace_service.pb-c.h"

#define T0 1000000000ull
#define MAX_OUT 64

struct sinkbuf {
	struct span *s[MAX_OUT];
	int n;
};

static void collect(struct span *s, void *arg)
{
	struct sinkbuf *o = arg;

	if (o->n < MAX_OUT)
		o->s[o->n++] = s;
	else
		span_free(s);
}

static void release(struct sinkbuf *o)
{
	while (o->n)
		span_free(o->s[--o->n]);
}

static struct assembler *mk(struct sinkbuf *o, size_t max_open)
{
	struct assembler *a = assembler_new(max_open, 60 * T0, T0, collect, o);
	struct anchor an = { T0, 1700000000ull * T0 };

	assembler_set_anchor(a, &an);
	return a;
}

static void sspan(struct synth_span *s, uint64_t trace, uint64_t id)
{
	memset(s, 0, sizeof(*s));
	synth_id(s->trace_id, sizeof(s->trace_id), trace);
	synth_id(s->span_id, sizeof(s->span_id), id);
}

static const struct attr *find_attr(const struct span *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->nr_attrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

TEST(complete_span_in_order)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sspan(&s, 1, 2);
	synth_begin(&b, &s, 0, T0 + 10, OTEL_SPAN_KIND_SERVER, "req", "mod",
		    "1.0");
	synth_attr(&b, &s, 0, 0, OTEL_ATTR_STRING, "k", "v", 0, 0);
	synth_end(&b, &s, 0, T0 + 30, 0, 0, 0);
	ASSERT_EQ(b.len, assembler_feed(a, b.data, b.len));
	ASSERT_EQ(1, o.n);
	EXPECT_FALSE(o.s[0]->incomplete);
	EXPECT_STREQ("req", o.s[0]->name);
	EXPECT_STREQ("mod", o.s[0]->scope_name);
	EXPECT_STREQ("1.0", o.s[0]->scope_version);
	EXPECT_EQ(1700000000ull * T0 + 10, o.s[0]->start);
	EXPECT_EQ(20, o.s[0]->end - o.s[0]->start);
	EXPECT_STREQ("v", find_attr(o.s[0], "k")->str);
	EXPECT_EQ(0, assembler_open(a));
	EXPECT_EQ(1, atomic_load(&stats.spans_complete));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* END first (another CPU), BEGIN last: complete only when all are in. */
TEST(split_across_cpus_out_of_order)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf c0 = { 0 }, c1 = { 0 };

	sspan(&s, 1, 2);
	synth_begin(&c0, &s, 0, T0, OTEL_SPAN_KIND_INTERNAL, "x", "m", "");
	synth_attr(&c1, &s, 1, 0, OTEL_ATTR_INT, "n", NULL, -5, 0);
	synth_event(&c1, &s, 1, T0 + 5, 1, "ev");
	synth_end(&c1, &s, 1, T0 + 9, 0, 0, 0);
	assembler_feed(a, c1.data, c1.len);
	ASSERT_EQ(0, o.n);
	ASSERT_EQ(1, assembler_open(a));
	assembler_feed(a, c0.data, c0.len);
	ASSERT_EQ(1, o.n);
	EXPECT_FALSE(o.s[0]->incomplete);
	EXPECT_EQ(-5, find_attr(o.s[0], "n")->i);
	ASSERT_EQ(1, o.s[0]->nr_events);
	EXPECT_EQ(5, o.s[0]->events[0].time - o.s[0]->start);
	release(&o);
	assembler_free(a);
	buf_free(&c0);
	buf_free(&c1);
}

TEST(missing_record_waits_for_grace_then_incomplete)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sspan(&s, 1, 2);
	synth_begin(&b, &s, 0, T0, OTEL_SPAN_KIND_INTERNAL, "x", "m", "");
	s.nr += 2;	/* two records lost */
	synth_end(&b, &s, 0, T0 + 9, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	assembler_expire(a, T0 + 9 + T0 / 2);
	ASSERT_EQ(0, o.n);
	assembler_expire(a, T0 + 9 + T0);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	EXPECT_EQ(1, find_attr(o.s[0], "oteltrace.incomplete")->i);
	EXPECT_EQ(2, find_attr(o.s[0], "oteltrace.missing_records")->i);
	EXPECT_EQ(1, atomic_load(&stats.spans_incomplete));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(unended_span_times_out)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sspan(&s, 1, 2);
	synth_begin(&b, &s, 0, T0, OTEL_SPAN_KIND_INTERNAL, "x", "m", "");
	synth_event(&b, &s, 0, T0 + 100, 1, "e");
	assembler_feed(a, b.data, b.len);
	assembler_expire(a, T0 + 59 * T0);
	ASSERT_EQ(0, o.n);
	assembler_expire(a, T0 + 61 * T0);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	EXPECT_EQ(100, o.s[0]->end - o.s[0]->start);	/* last seen */
	EXPECT_EQ(NULL, find_attr(o.s[0], "oteltrace.missing_records"));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(full_table_evicts_oldest)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 2);
	struct synth_span s;
	struct buf b = { 0 };
	int i;

	for (i = 0; i < 3; i++) {
		sspan(&s, 1, 10 + i);
		synth_begin(&b, &s, 0, T0 + i, 1, "x", "m", "");
	}
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(o.s[0]->incomplete);
	EXPECT_EQ(1700000000ull * T0, o.s[0]->start);	/* the first */
	EXPECT_EQ(1, atomic_load(&stats.spans_evicted));
	EXPECT_EQ(2, assembler_open(a));
	assembler_flush(a);
	EXPECT_EQ(3, o.n);
	EXPECT_EQ(0, assembler_open(a));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(attribute_values)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };
	double d = -2.5e-3;
	int64_t bits;

	memcpy(&bits, &d, sizeof(d));
	sspan(&s, 1, 2);
	synth_begin(&b, &s, 0, T0, 1, "x", "m", "");
	synth_attr(&b, &s, 0, 0, OTEL_ATTR_DOUBLE, "frac", NULL, -7, 2);
	synth_attr(&b, &s, 0, 0, OTEL_ATTR_DOUBLE, "raw", NULL, bits, 0);
	synth_attr(&b, &s, 0, 0, OTEL_ATTR_BOOL, "b", NULL, 5, 0);
	synth_attr(&b, &s, 0, 0, OTEL_ATTR_INT, "min", NULL, INT64_MIN, 0);
	synth_attr(&b, &s, 0, 0, OTEL_ATTR_STRING, "empty", "", 0, 0);
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_TRUE(find_attr(o.s[0], "frac")->d == -3.5);
	EXPECT_TRUE(find_attr(o.s[0], "raw")->d == d);
	EXPECT_EQ(1, find_attr(o.s[0], "b")->i);
	EXPECT_EQ(INT64_MIN, find_attr(o.s[0], "min")->i);
	EXPECT_STREQ("", find_attr(o.s[0], "empty")->str);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(unknown_types_skipped_corrupt_counted)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };
	uint16_t bad = 12;

	sspan(&s, 1, 2);
	synth_unknown(&b, 200, 64);
	synth_unknown(&b, OTEL_REC_PAD, 8);
	synth_begin(&b, &s, 0, T0, 1, "x", "m", "");
	synth_end(&b, &s, 0, T0 + 1, 0, 0, 0);
	synth_unknown(&b, 201, 32);
	memcpy(b.data + b.len - 32 + 2, &bad, 2);	/* size 12: not x8 */
	EXPECT_EQ(b.len, assembler_feed(a, b.data, b.len));
	EXPECT_EQ(1, o.n);
	EXPECT_EQ(1, atomic_load(&stats.records_unknown));
	EXPECT_EQ(1, atomic_load(&stats.records_corrupt));
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(truncated_strings_are_corrupt)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };
	struct otel_rec_attr *r;

	sspan(&s, 1, 2);
	synth_attr(&b, &s, 0, 0, OTEL_ATTR_STRING, "key", "value", 0, 0);
	r = (struct otel_rec_attr *)b.data;
	r->value_len = 4000;	/* beyond the record */
	assembler_feed(a, b.data, b.len);
	EXPECT_EQ(1, atomic_load(&stats.records_corrupt));
	assembler_flush(a);
	EXPECT_EQ(0, o.n);
	EXPECT_EQ(1, atomic_load(&stats.spans_no_begin));
	assembler_free(a);
	buf_free(&b);
}

TEST(latest_status_wins)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };

	sspan(&s, 1, 2);
	synth_begin(&b, &s, 0, T0, 1, "x", "m", "");
	synth_status(&b, &s, 1, T0 + 50, OTEL_STATUS_ERROR, "late");
	synth_status(&b, &s, 0, T0 + 10, OTEL_STATUS_OK, "");
	synth_end(&b, &s, 0, T0 + 60, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(OTEL_STATUS_ERROR, o.s[0]->status_code);
	EXPECT_STREQ("late", o.s[0]->status_message);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(attribute_limit_counts_drops)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s;
	struct buf b = { 0 };
	int i;

	sspan(&s, 1, 2);
	synth_begin(&b, &s, 0, T0, 1, "x", "m", "");
	for (i = 0; i < SPAN_MAX_ATTRS + 3; i++)
		synth_attr(&b, &s, 0, 0, OTEL_ATTR_INT, "k", NULL, i, 0);
	synth_end(&b, &s, 0, T0 + 1, 4, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(1, o.n);
	EXPECT_EQ(SPAN_MAX_ATTRS, o.s[0]->nr_attrs);
	EXPECT_EQ(3 + 4, o.s[0]->dropped_attrs);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* Two scopes, a parent and child, all fields: pack, unpack, compare. */
TEST(protobuf_round_trip)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
	Opentelemetry__Proto__Trace__V1__ResourceSpans *rs;
	Opentelemetry__Proto__Trace__V1__Span *sp;
	struct config cfg = { 0 };
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o, 16);
	struct synth_span s1, s2;
	struct resource res;
	struct buf b = { 0 }, out = { 0 };

	sspan(&s1, 1, 2);
	sspan(&s2, 1, 3);
	memcpy(s2.parent, s1.span_id, 8);
	synth_begin(&b, &s1, 0, T0, OTEL_SPAN_KIND_SERVER, "a", "m1", "1");
	synth_event(&b, &s1, 0, T0 + 2, 1, "ev");
	synth_attr(&b, &s1, 0, 1, OTEL_ATTR_BOOL, "eb", NULL, 1, 0);
	synth_link(&b, &s1, 0, 1, &s2);
	synth_attr(&b, &s1, 0, OTEL_ATTR_TARGET_LINK | 1, OTEL_ATTR_INT,
		   "li", NULL, 9, 0);
	synth_end(&b, &s1, 0, T0 + 5, 1, 2, 3);
	synth_begin(&b, &s2, 1, T0 + 1, OTEL_SPAN_KIND_CLIENT, "b", "m2", "");
	synth_end(&b, &s2, 1, T0 + 4, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(2, o.n);
	ASSERT_EQ(0, resource_build(&res, &cfg));
	ASSERT_EQ(0, otlp_proto_encode(o.s, 2, &res, &out));
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, out.len, out.data);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(1, req->n_resource_spans);
	rs = req->resource_spans[0];
	EXPECT_EQ(res.nr, rs->resource->n_attributes);
	EXPECT_STREQ("service.name", rs->resource->attributes[0]->key);
	EXPECT_STREQ("unknown_service:oteld",
		     rs->resource->attributes[0]->value->string_value);
	ASSERT_EQ(2, rs->n_scope_spans);
	EXPECT_STREQ("m1", rs->scope_spans[0]->scope->name);
	EXPECT_STREQ("1", rs->scope_spans[0]->scope->version);
	EXPECT_STREQ("m2", rs->scope_spans[1]->scope->name);
	sp = rs->scope_spans[0]->spans[0];
	EXPECT_EQ(0, memcmp(sp->trace_id.data, s1.trace_id, 16));
	EXPECT_EQ(0, memcmp(sp->span_id.data, s1.span_id, 8));
	EXPECT_EQ(0, sp->parent_span_id.len);
	EXPECT_EQ(2, sp->kind);
	EXPECT_EQ(5, sp->end_time_unix_nano - sp->start_time_unix_nano);
	EXPECT_EQ(1, sp->dropped_attributes_count);
	EXPECT_EQ(2, sp->dropped_events_count);
	EXPECT_EQ(3, sp->dropped_links_count);
	EXPECT_EQ(0x101, sp->flags);
	ASSERT_EQ(1, sp->n_events);
	ASSERT_EQ(1, sp->events[0]->n_attributes);
	EXPECT_TRUE(sp->events[0]->attributes[0]->value->bool_value);
	ASSERT_EQ(1, sp->n_links);
	EXPECT_EQ(0, memcmp(sp->links[0]->span_id.data, s2.span_id, 8));
	EXPECT_EQ(9, sp->links[0]->attributes[0]->value->int_value);
	sp = rs->scope_spans[1]->spans[0];
	EXPECT_EQ(0, memcmp(sp->parent_span_id.data, s1.span_id, 8));
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req, NULL);

	out.len = 0;
	ASSERT_EQ(0, otlp_json_encode(o.s, 2, &res, &out));
	buf_put(&out, "", 1);
	EXPECT_NE(NULL, strstr((char *)out.data, "\"droppedLinksCount\":3"));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"scope\":{\"name\":\"m2\"},"));
	EXPECT_NE(NULL, strstr((char *)out.data, "{\"key\":\"li\",\"value\":{\"intValue\":\"9\"}}"));
	resource_free(&res);
	buf_free(&out);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

TEST(json_escapes_and_utf8)
{
	struct span s = { 0 };
	struct attr at[2] = {
		{ .key = "q\"\\", .type = OTEL_ATTR_STRING, .str = "\x01\xff\xc3\xa9" },
		{ .key = "nan", .type = OTEL_ATTR_DOUBLE, .d = 0.0 / 0.0 },
	};
	struct span *v[1] = { &s };
	struct resource r = { 0 };
	struct buf out = { 0 };

	s.name = "n";
	s.scope_name = "m";
	s.scope_version = "";
	s.attrs = at;
	s.nr_attrs = 2;
	s.start = 18446744073709551615ull;
	ASSERT_EQ(0, otlp_json_encode(v, 1, &r, &out));
	buf_put(&out, "", 1);
	EXPECT_NE(NULL, strstr((char *)out.data,
		"{\"key\":\"q\\\"\\\\\",\"value\":{\"stringValue\":\"\\u0001\\ufffd\xc3\xa9\"}}"));
	EXPECT_NE(NULL, strstr((char *)out.data, "{\"doubleValue\":\"NaN\"}"));
	EXPECT_NE(NULL, strstr((char *)out.data,
			       "\"startTimeUnixNano\":\"18446744073709551615\""));
	buf_free(&out);
}

TEST(capture_round_trip)
{
	char path[] = "/tmp/oteld-unit-XXXXXX";
	struct anchor a1 = { 11, 22 }, a2 = { 33, 44 }, got;
	struct buf f = { 0 };
	struct capture *c;
	uint32_t type;
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	close(fd);
	c = capture_create(path, &a1, 4);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, capture_write(c, CAPTURE_RECORDS, "abcdefghij", 10));
	ASSERT_EQ(0, capture_write(c, CAPTURE_ANCHOR, &a2, sizeof(a2)));
	ASSERT_EQ(0, capture_close(c));
	c = capture_open(path, &got);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(11, got.mono_ns);
	EXPECT_EQ(22, got.real_ns);
	ASSERT_EQ(1, capture_next(c, &type, &f));
	EXPECT_EQ(CAPTURE_RECORDS, type);
	ASSERT_EQ(10, f.len);
	EXPECT_EQ(0, memcmp(f.data, "abcdefghij", 10));
	ASSERT_EQ(1, capture_next(c, &type, &f));
	EXPECT_EQ(CAPTURE_ANCHOR, type);
	EXPECT_EQ(0, memcmp(f.data, &a2, sizeof(a2)));
	EXPECT_EQ(0, capture_next(c, &type, &f));
	capture_close(c);
	/* not a capture */
	c = capture_create(path, &a1, 4);
	capture_close(c);
	truncate(path, 10);
	EXPECT_EQ(NULL, capture_open(path, &got));
	unlink(path);
	buf_free(&f);
}

TEST(queue_bounds_and_batches)
{
	struct queue *q = queue_new(3);
	struct span *l, *s;
	size_t n;
	int i;

	for (i = 0; i < 5; i++)
		queue_push(q, calloc(1, sizeof(struct span)));
	EXPECT_EQ(3, queue_len(q));
	EXPECT_EQ(2, atomic_load(&stats.dropped_queue_full));
	EXPECT_EQ(3, atomic_load(&stats.spans_queued));
	l = queue_pop_batch(q, 2, 0, &n);
	EXPECT_EQ(2, n);
	while (l) {
		s = l->next;
		span_free(l);
		l = s;
	}
	queue_close(q);
	l = queue_pop_batch(q, 2, 10000, &n);	/* closed: no wait */
	EXPECT_EQ(1, n);
	span_free(l);
	EXPECT_EQ(NULL, queue_pop_batch(q, 2, 10000, &n));
	EXPECT_TRUE(queue_closed(q));
	queue_free(q);
}

TEST(headers_and_percent_decoding)
{
	char **h = NULL, *d;
	size_t n = 0;

	ASSERT_EQ(0, parse_headers(" a = b%2Cc ,x-k=%3D%zz", &h, &n));
	ASSERT_EQ(2, n);
	EXPECT_STREQ("a: b,c", h[0]);
	EXPECT_STREQ("x-k: =%zz", h[1]);
	free(h[0]);
	free(h[1]);
	free(h);
	EXPECT_EQ(-1, parse_headers("novalue", &h, &n));
	EXPECT_EQ(-1, parse_headers("a b=c", &h, &n));
	d = percent_decode("100%", 4);
	EXPECT_STREQ("100%", d);
	free(d);
}

TEST(config_precedence)
{
	char *argv[] = { "oteld", "--protocol", "http/json", "--timeout", "7",
			 NULL };
	struct config c;

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:1/", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "9", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "8", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
	ASSERT_EQ(0, config_load(&c, 5, argv));
	EXPECT_STREQ("http://h:1/v1/traces", c.endpoint);
	EXPECT_EQ(PROTO_HTTP_JSON, c.protocol);
	EXPECT_EQ(7, c.timeout_ms);
	EXPECT_EQ(100, c.max_queue);
	EXPECT_EQ(100, c.max_batch);	/* default 512 follows the queue */
	config_free(&c);
	argv[1] = NULL;
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://t/x", 1);
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_STREQ("https://t/x", c.endpoint);
	EXPECT_EQ(9, c.timeout_ms);
	config_free(&c);
}

TEST(gzip_inflates_back)
{
	static char in[100000];
	struct buf out = { 0 };
	uLongf len = sizeof(in);
	static char back[100000];
	z_stream zs = { 0 };
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = "oteltrace"[i % 9];
	ASSERT_EQ(0, gzip_buf(in, sizeof(in), &out));
	EXPECT_LT(out.len, sizeof(in) / 10);
	EXPECT_EQ(0x1f, out.data[0]);
	EXPECT_EQ(0x8b, out.data[1]);
	ASSERT_EQ(Z_OK, inflateInit2(&zs, 16 + 15));
	zs.next_in = out.data;
	zs.avail_in = out.len;
	zs.next_out = (Bytef *)back;
	zs.avail_out = len;
	EXPECT_EQ(Z_STREAM_END, inflate(&zs, Z_FINISH));
	EXPECT_EQ(sizeof(in), zs.total_out);
	inflateEnd(&zs);
	EXPECT_EQ(0, memcmp(in, back, sizeof(in)));
	buf_free(&out);
}

TEST_HARNESS_MAIN
