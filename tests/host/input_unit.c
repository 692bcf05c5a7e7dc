// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of oteld on bad input (ASan + UBSan): the endpoint checked
 * and joined with libcurl's URL API, numbers parsed whole, file options
 * opened at start-up, resource attributes trimmed, a span's encoded size
 * computed exactly (what batches are cut by), batches cut at the byte cap,
 * a capture cut short read up to the cut, a span id of zeros refused.  oteld_input_test.js runs the
 * same end to end.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "capture.h"
#include "otlp.h"
#include "synth.h"
#include "trace_service.pb-c.h"

/* config_load() on @args (NULL-terminated), the environment as it is. */
static int load(struct config *c, const char *const *args)
{
	char *argv[32] = { "oteld" };
	int argc = 1;

	while (args && *args && argc < 31)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return config_load(c, argc, argv);
}

static void expect_endpoint(struct __test_metadata *_metadata,
			    const char *env, const char *url,
			    const char *want)
{
	struct config c;

	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	setenv(env, url, 1);
	ASSERT_EQ(0, load(&c, NULL)) TH_LOG("%s=%s", env, url);
	EXPECT_STREQ(want, c.endpoint) TH_LOG("%s=%s", env, url);
	config_free(&c);
}

/*
 * The OTLP exporter spec, "Endpoint URLs for OTLP/HTTP": v1/traces after
 * the base URL's path; the per-signal URL as is ("/" for no path).
 */
TEST(endpoint_joined_by_the_url_api)
{
	static const char *const base[][2] = {
		{ "http://h/?a=b", "http://h/v1/traces?a=b" },
		{ "http://h:4318", "http://h:4318/v1/traces" },
		{ "http://h/otlp", "http://h/otlp/v1/traces" },
		{ "http://h/otlp/", "http://h/otlp/v1/traces" },
		{ "https://u:p@h/x?q=1&r=%20#frag",
		  "https://u:p@h/x/v1/traces?q=1&r=%20" },
		{ "http://[::1]:4318", "http://[::1]:4318/v1/traces" },
		{ "HTTP://h:80/", "http://h:80/v1/traces" },
	};
	static const char *const traces[][2] = {
		{ "http://h:4318", "http://h:4318/" },
		{ "http://h/x?a=b", "http://h/x?a=b" },
		{ "https://h/v1/traces/", "https://h/v1/traces/" },
	};
	size_t i;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		expect_endpoint(_metadata, "OTEL_EXPORTER_OTLP_ENDPOINT",
				base[i][0], base[i][1]);
	for (i = 0; i < sizeof(traces) / sizeof(traces[0]); i++)
		expect_endpoint(_metadata, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
				traces[i][0], traces[i][1]);
}

/* Bad URLs fail config_load(), for the base and the traces endpoint. */
TEST(endpoint_bad_urls_refused)
{
	static const char *const bad[] = {
		"http://[::1", "http://h:99999", "http://a b/", "http://h/a b",
		"http:///x", "http://", "http://h:0/", "http://h:-1/",
		"localhost:4318", "ftp://h/", "http://h\x01/",
	};
	const char *args[] = { "--endpoint", NULL, NULL };
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		args[1] = bad[i];
		EXPECT_EQ(-1, load(&c, args)) TH_LOG("%s", bad[i]);
		config_free(&c);
		setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", bad[i], 1);
		EXPECT_EQ(-1, load(&c, NULL)) TH_LOG("%s", bad[i]);
		config_free(&c);
		unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	}
}

/* Every number whole and in range; a retry start past its maximum. */
TEST(numbers_parsed_whole)
{
	static const char *const bad[][2] = {
		{ "--timeout", " 5" }, { "--timeout", "5 " },
		{ "--timeout", "+5" }, { "--timeout", "0x10" },
		{ "--timeout", "" }, { "--grace", "1e3" },
		{ "--max-queue-size", "99999999999999999999" },
		{ "--max-request-bytes", "4095" }, { "--exporters", "-1" },
	};
	const char *args[] = { NULL, NULL, NULL, NULL, NULL };
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		args[0] = bad[i][0];
		args[1] = bad[i][1];
		EXPECT_EQ(-1, load(&c, args)) TH_LOG("%s '%s'", bad[i][0],
						      bad[i][1]);
		config_free(&c);
	}
	args[0] = "--retry-initial";
	args[1] = "2000";
	args[2] = "--retry-max";
	args[3] = "1000";
	EXPECT_EQ(-1, load(&c, args));
	config_free(&c);
	args[1] = "1000";
	ASSERT_EQ(0, load(&c, args));
	EXPECT_EQ(1000, c.retry_initial_ms);
	config_free(&c);
}

/* TLS files are opened by config_load(), not at the first request. */
TEST(tls_files_opened_at_start)
{
	char path[] = "/tmp/oteld-input-XXXXXX";
	const char *args[] = { "--certificate", path, NULL };
	struct config c;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, load(&c, args));
	EXPECT_STREQ(path, c.ca_file);
	EXPECT_EQ(0, config_files_readable(&c, "test"));
	config_free(&c);
	unlink(path);
	EXPECT_EQ(-1, load(&c, args));
	config_free(&c);
	setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", path, 1);
	setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/hostname", 1);
	EXPECT_EQ(-1, load(&c, NULL));
	config_free(&c);
}

static const char *res_get(const struct resource *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->attrs[i].key, key))
			return r->attrs[i].str;
	return NULL;
}

/*
 * OTEL_RESOURCE_ATTRIBUTES is W3C Baggage without properties: spaces and
 * tabs around keys, values and commas are not part of them.
 */
TEST(resource_attributes_trimmed)
{
	struct config c = { 0 };
	struct resource r;
	size_t n;

	c.resource_attrs = " a = b ,\tteam\t=\tker%2Cnel\t, ,x=, sp%20ace = v%20 ";
	ASSERT_EQ(0, resource_build(&r, &c));
	EXPECT_STREQ("b", res_get(&r, "a"));
	EXPECT_STREQ("ker,nel", res_get(&r, "team"));
	EXPECT_STREQ("", res_get(&r, "x"));
	EXPECT_STREQ("v ", res_get(&r, "sp ace"));
	EXPECT_EQ(NULL, res_get(&r, "a "));
	for (n = 0; n < r.nr; n++)
		EXPECT_EQ(NULL, strchr(r.attrs[n].key, '\t'));
	resource_free(&r);
}

/* An empty key, a member without '=', a %00: config_load() fails. */
TEST(resource_attributes_refused)
{
	static const char *const bad[] = {
		"=x", " =x", "a=1, \t=2", "a=1,novalue", "k=a%00b", "k%00=v",
	};
	const char *args[] = { "--resource-attributes", NULL, NULL };
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		args[1] = bad[i];
		EXPECT_EQ(-1, load(&c, args)) TH_LOG("'%s'", bad[i]);
		config_free(&c);
	}
	args[1] = "a=1,,b=2,";
	EXPECT_EQ(0, load(&c, args));
	config_free(&c);
}

/* ---- invalid ids ---- */

static void count_span(struct span *s, void *arg)
{
	(*(int *)arg)++;
	span_free(s);
}

/*
 * OTLP: a span id of all zeros is invalid, as a trace id is (unit_test.c):
 * a SPAN or an earlier record with one is corrupt, counted, not exported.
 */
TEST(zero_span_id_is_corrupt)
{
	struct synth_attrs one = { 0 };
	struct assembler *a;
	struct synth_span s;
	struct buf b = { 0 };
	int out = 0;

	a = assembler_new(16, 60000000000ull, 1000000000ull, count_span, &out);
	ASSERT_NE(NULL, a);
	memset(&s, 0, sizeof(s));
	synth_id(s.trace_id, sizeof(s.trace_id), 1);
	synth_start(&s, 1000000000ull, OTEL_SPAN_KIND_INTERNAL, "x", "m", "");
	synth_end(&b, &s, 0, 1000000100ull, 0, 0, 0);
	synth_int(&one, "k", 1);
	synth_attr(&b, &s, 0, OTEL_ATTR_TARGET_SPAN, &one);
	s.nr = 1;
	synth_end(&b, &s, 0, 1000000200ull, 0, 0, 0);
	assembler_feed(a, b.data, b.len);
	assembler_flush(a);
	EXPECT_EQ(3, atomic_load(&stats.records_corrupt));
	EXPECT_EQ(0, assembler_open(a));
	EXPECT_EQ(0, out);
	assembler_free(a);
	buf_free(&b);
}

/* ---- sizes: what batches are cut by ---- */

static struct attr mkattr(const char *key, uint8_t type, const char *str,
			  int64_t i, uint16_t target)
{
	struct attr a = { .key = (char *)key, .type = type,
			  .str = (char *)str, .i = i, .target = target };

	if (type == OTEL_ATTR_DOUBLE)
		a.d = 0.25;
	return a;
}

static char big_str[20000];

/*
 * Spans that use every field the encoder writes or leaves out: empty
 * and invalid UTF-8 strings, every attribute type, events and links with
 * their own attributes, lengths of 1, 2 and 3 varint bytes, the attributes
 * of where a span began.
 */
static void fill_spans(struct span *s, struct attr attrs[][8],
		       struct event ev[][2], struct link *lk, size_t n)
{
	size_t i;

	memset(big_str, 'x', sizeof(big_str) - 1);
	memset(s, 0, n * sizeof(*s));
	for (i = 0; i < n; i++) {
		synth_id(s[i].trace_id, sizeof(s[i].trace_id), i + 1);
		synth_id(s[i].span_id, sizeof(s[i].span_id), 100 + i);
		s[i].name = i % 3 ? "name" : "caf\xc3";
		s[i].scope_name = i % 2 ? "mod" : "other";
		s[i].scope_version = i % 2 ? "1.0" : "";
		s[i].start = 1700000000000000000ull + i;
		s[i].end = s[i].start + 1000 * i;
		s[i].alloc = SPAN_PARTS;
		s[i].named = true;
	}
	/* 0: bare; 1: attributes of every kind; 2: events and links */
	attrs[1][0] = mkattr("s", OTEL_ATTR_STRING, "val\xed\xa0\x80", 0,
			     OTEL_ATTR_TARGET_SPAN);
	attrs[1][1] = mkattr("", OTEL_ATTR_STRING, "", 0,
			     OTEL_ATTR_TARGET_SPAN);
	attrs[1][2] = mkattr("i", OTEL_ATTR_INT, NULL, -1,
			     OTEL_ATTR_TARGET_SPAN);
	attrs[1][3] = mkattr("b", OTEL_ATTR_BOOL, NULL, 1,
			     OTEL_ATTR_TARGET_SPAN);
	attrs[1][4] = mkattr("d", OTEL_ATTR_DOUBLE, NULL, 0,
			     OTEL_ATTR_TARGET_SPAN);
	attrs[1][5] = mkattr("big", OTEL_ATTR_STRING, big_str, 0,
			     OTEL_ATTR_TARGET_SPAN);
	attrs[1][6] = mkattr("mid", OTEL_ATTR_STRING, big_str + 19000, 0,
			     OTEL_ATTR_TARGET_SPAN);
	s[1].attrs = attrs[1];
	s[1].nr_attrs = 7;
	s[1].kind = OTEL_SPAN_KIND_SERVER;
	s[1].status_code = OTEL_STATUS_ERROR;
	s[1].status_message = "timeout \xe2\x82";
	s[1].dropped_attrs = 300;
	s[1].pid = 42;
	s[1].tgid = 40;
	strcpy(s[1].thread_name, "sh");
	memset(s[1].parent_span_id, 7, sizeof(s[1].parent_span_id));
	ev[2][0] = (struct event){ .index = 1, .time = s[2].start + 5,
				   .name = "ev", .dropped_attrs = 2 };
	ev[2][1] = (struct event){ .index = 2, .name = "" };
	attrs[2][0] = mkattr("on-ev", OTEL_ATTR_INT, NULL, 1 << 20, 1);
	attrs[2][1] = mkattr("on-link", OTEL_ATTR_STRING, "y", 0,
			     OTEL_ATTR_TARGET_LINK | 1);
	*lk = (struct link){ .index = 1, .trace_flags = 1,
			     .dropped_attrs = 1 };
	memset(lk->trace_id, 3, sizeof(lk->trace_id));
	memset(lk->span_id, 4, sizeof(lk->span_id));
	s[2].attrs = attrs[2];
	s[2].nr_attrs = 2;
	s[2].events = ev[2];
	s[2].nr_events = 2;
	s[2].links = lk;
	s[2].nr_links = 1;
	s[2].dropped_events = 1;
	s[2].dropped_links = 128;
	s[2].begin_context = OTEL_CTX_HARDIRQ;
	s[2].begin_cpu = 3;
}

#define NR_SPANS 3

TEST(span_size_is_what_the_encoder_writes)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
	struct attr attrs[NR_SPANS][8];
	struct event ev[NR_SPANS][2];
	struct span s[NR_SPANS], *one;
	struct config cfg = { 0 };
	struct resource res;
	struct buf out = { 0 };
	struct link lk;
	size_t i, packed;

	fill_spans(s, attrs, ev, &lk, NR_SPANS);
	ASSERT_EQ(0, resource_build(&res, &cfg));
	for (i = 0; i < NR_SPANS; i++) {
		one = &s[i];
		out.len = 0;
		ASSERT_EQ(0, otlp_proto_encode(&one, 1, &res, &out));
		req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, out.len, out.data);
		ASSERT_NE(NULL, req);
		/* otlp_wire.c writes what protobuf-c packs (unit_test.c) */
		packed = opentelemetry__proto__trace__v1__span__get_packed_size(
			req->resource_spans[0]->scope_spans[0]->spans[0]);
		EXPECT_EQ(1 + (packed < 128 ? 1 : packed < 16384 ? 2 : 3) +
			  packed, wire_span_size(one)) TH_LOG("span %zu", i);
		opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req, NULL);
	}
	resource_free(&res);
	buf_free(&out);
}

/*
 * encoder_span_size() bounds what each span adds to a request, protobuf
 * or JSON: requests cut by it stay under the limit; JSON never measures
 * smaller than protobuf (what encoder_run() assumes).
 */
TEST(cut_requests_stay_under_the_limit)
{
	struct attr attrs[NR_SPANS][8];
	struct event ev[NR_SPANS][2];
	struct span s[NR_SPANS], *v[12];
	struct config cfg = { .max_request_bytes = 1 << 20 };
	size_t sizes[12], i, k, n, limit;
	struct resource res;
	struct encoder e;
	struct link lk;
	int proto;

	fill_spans(s, attrs, ev, &lk, NR_SPANS);
	ASSERT_EQ(0, resource_build(&res, &cfg));
	for (i = 0; i < 12; i++)
		v[i] = &s[i % NR_SPANS];
	for (proto = PROTO_HTTP_PROTOBUF; proto <= PROTO_HTTP_JSON; proto++) {
		cfg.protocol = proto;
		encoder_init(&e, &cfg, &res);
		for (i = 0; i < NR_SPANS; i++)
			EXPECT_LE(wire_span_size(&s[i]),
				  encoder_span_size(&e, &s[i]));
		for (limit = 2000; limit < 200000; limit = limit * 3 / 2) {
			memset(sizes, 0, sizeof(sizes));
			for (i = 0; i < 12; i += k) {
				k = encoder_cut(&e, v + i, sizes + i, 12 - i,
						limit);
				ASSERT_LE(1, k);
				n = encoder_base_size(&e);
				for (size_t j = i; j < i + k; j++)
					n += sizes[j];
				encoder_set_limit(&e, 0);
				ASSERT_EQ(0, encoder_run(&e, v + i, k));
				/* under the limit, or one span alone */
				EXPECT_TRUE(e.raw_len <= limit || k == 1)
					TH_LOG("%zu spans, %zu bytes > %zu",
					       k, e.raw_len, limit);
				EXPECT_LE(e.raw_len, n);
				/* and no room for the next one */
				if (i + k < 12)
					EXPECT_LT(limit, n + sizes[i + k]);
			}
		}
		encoder_free(&e);
	}
	resource_free(&res);
}

/* ---- captures cut short ---- */

static const char *write_capture(char *path, size_t *frame2, size_t *len)
{
	static const struct anchor an = { 1000000000ull, 1700000000ull };
	struct capture *c;
	struct synth_span s;
	struct buf b = { 0 };
	int fd = mkstemp(path);
	size_t i;

	if (fd < 0)
		return NULL;
	close(fd);
	c = capture_create(path, &an, 1, 0);
	for (i = 0; c && i < 2; i++) {
		b.len = 0;
		memset(&s, 0, sizeof(s));
		synth_id(s.trace_id, sizeof(s.trace_id), 1);
		synth_id(s.span_id, sizeof(s.span_id), 2 + i);
		synth_start(&s, 1000000000ull, 1, "span", "m", "");
		synth_end(&b, &s, 0, 1000000100ull, 0, 0, 0);
		synth_end(&b, &s, 0, 1000000100ull, 0, 0, 0);
		capture_write(c, CAPTURE_RECORDS, b.data, b.len);
		*len = b.len;
	}
	*frame2 = sizeof(struct capture_header) + 8 + *len;
	buf_free(&b);
	return capture_close(c) ? NULL : path;
}

/*
 * capture_next() on a two-frame capture cut @at_frame2 bytes after the
 * second frame starts (SIZE_MAX: not cut): what the second call returns.
 */
static void next_after_cut(struct __test_metadata *_metadata,
			   size_t at_frame2, int second, size_t second_len)
{
	char path[] = "/tmp/oteld-input-XXXXXX";
	struct buf frame = { 0 };
	struct capture *c;
	size_t f2, len;
	struct anchor a;
	uint32_t type;

	ASSERT_NE(NULL, write_capture(path, &f2, &len));
	if (at_frame2 == SIZE_MAX)	/* whole */
		at_frame2 = 8 + len;
	ASSERT_EQ(0, truncate(path, f2 + at_frame2));
	c = capture_open(path, &a);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(1, capture_next(c, &type, &frame));
	EXPECT_EQ(second, capture_next(c, &type, &frame))
		TH_LOG("cut %zu bytes into frame 2", at_frame2);
	if (second == CAPTURE_CUT)
		EXPECT_EQ(second_len, frame.len);
	if (second == 1)
		EXPECT_EQ(0, capture_next(c, &type, &frame));
	capture_close(c);
	buf_free(&frame);
	unlink(path);
}

TEST(capture_cut_short_is_an_error_with_what_there_is)
{
	/* whole: two frames, then the end */
	next_after_cut(_metadata, SIZE_MAX, 1, 0);
	/* the second frame's header cut: not the end of a file */
	next_after_cut(_metadata, 3, -1, 0);
	/* the second frame cut 20 bytes in: those 20 bytes handed on */
	next_after_cut(_metadata, 8 + 20, CAPTURE_CUT, 20);
	/* not a byte of its records: cut all the same */
	next_after_cut(_metadata, 8, CAPTURE_CUT, 0);
}

TEST_HARNESS_MAIN
