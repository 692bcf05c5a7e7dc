// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of oteld's OTLP/gRPC part without I/O (grpc_wire.c), ASan +
 * UBSan: message framing, the reply's headers and trailers, base64 and
 * google.rpc.Status -> RetryInfo (well-formed, other details, cut,
 * hostile), the HTTP -> gRPC code mapping, the OTLP retry rule for every
 * code, the endpoint rules and the configuration of the grpc protocol.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kselftest_harness.h"
#include "grpc.h"

/* ---- a protobuf writer for the test messages ---- */
struct msg {
	uint8_t b[512];
	size_t n;
};

static void put_varint(struct msg *m, uint64_t v)
{
	do {
		m->b[m->n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
}

static void put_int(struct msg *m, uint32_t field, int64_t v)
{
	put_varint(m, field << 3);
	put_varint(m, (uint64_t)v);
}

static void put_bytes(struct msg *m, uint32_t field, const void *p, size_t n)
{
	put_varint(m, field << 3 | 2);
	put_varint(m, n);
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put_str(struct msg *m, uint32_t field, const char *s)
{
	put_bytes(m, field, s, strlen(s));
}

/* google.rpc.Status with one Any detail of @type holding @value. */
static void status_with(struct msg *st, const char *type,
			const struct msg *value)
{
	struct msg any = { 0 };

	put_str(&any, 1, type);
	if (value)
		put_bytes(&any, 2, value->b, value->n);
	put_bytes(st, 3, any.b, any.n);
}

/* google.rpc.RetryInfo { Duration { seconds, nanos } } */
static void retry_info(struct msg *ri, int64_t sec, int32_t nanos)
{
	struct msg d = { 0 };

	if (sec)
		put_int(&d, 1, sec);
	if (nanos)
		put_int(&d, 2, nanos);
	put_bytes(ri, 1, d.b, d.n);
}

static const char *b64(const uint8_t *p, size_t n, bool pad)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static char out[1024];
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	while (!pad && o && out[o - 1] == '=')
		o--;
	out[o] = '\0';
	return out;
}

static void line(struct grpc_reply *r, const char *s)
{
	grpc_reply_line(r, s, strlen(s));
}

TEST(frame_prefix_and_parse)
{
	uint8_t body[5 + 300] = { 0 };
	const uint8_t *msg;
	bool compressed;
	size_t len;

	grpc_frame_prefix(body, false, 300);
	EXPECT_EQ(0, body[0]);
	EXPECT_EQ(0, body[1]);
	EXPECT_EQ(0, body[2]);
	EXPECT_EQ(1, body[3]);
	EXPECT_EQ(44, body[4]);
	ASSERT_EQ(0, grpc_frame_parse(body, sizeof(body), &compressed, &msg,
				      &len));
	EXPECT_FALSE(compressed);
	EXPECT_EQ(300, len);
	EXPECT_EQ(body + 5, msg);

	grpc_frame_prefix(body, true, 0x01020304);
	EXPECT_EQ(1, body[0]);
	EXPECT_EQ(1, body[1]);
	EXPECT_EQ(2, body[2]);
	EXPECT_EQ(3, body[3]);
	EXPECT_EQ(4, body[4]);
	/* longer than the body: cut */
	EXPECT_EQ(-1, grpc_frame_parse(body, sizeof(body), &compressed, &msg,
				       &len));
	grpc_frame_prefix(body, true, 0);
	ASSERT_EQ(0, grpc_frame_parse(body, 5, &compressed, &msg, &len));
	EXPECT_TRUE(compressed);
	EXPECT_EQ(0, len);
	EXPECT_EQ(1, grpc_frame_parse(body, 0, &compressed, &msg, &len));
	EXPECT_EQ(-1, grpc_frame_parse(body, 4, &compressed, &msg, &len));
	body[0] = 2;	/* flag bits other than 0 are reserved */
	EXPECT_EQ(-1, grpc_frame_parse(body, 5, &compressed, &msg, &len));
	/* the largest length does not overflow */
	memset(body, 0xff, 5);
	body[0] = 0;
	EXPECT_EQ(-1, grpc_frame_parse(body, sizeof(body), &compressed, &msg,
				       &len));
}

TEST(reply_trailers)
{
	struct grpc_reply r;

	grpc_reply_init(&r);
	EXPECT_EQ(-1, r.status);
	line(&r, "HTTP/2 200 \r\n");
	line(&r, "content-type: application/grpc\r\n");
	line(&r, "grpc-encoding: identity\r\n");
	line(&r, "\r\n");
	/* the trailers, after the body */
	line(&r, "grpc-status: 14\r\n");
	line(&r, "Grpc-Message: down%20for%20maintenance%0Atry later\r\n");
	EXPECT_EQ(200, r.http_status);
	EXPECT_TRUE(r.grpc_type);
	EXPECT_FALSE(r.gzip);
	EXPECT_EQ(14, r.status);
	EXPECT_STREQ("down for maintenance try later", r.message);
	EXPECT_EQ(GRPC_UNAVAILABLE, grpc_reply_code(&r));
	EXPECT_EQ(-1, r.retry_delay_ms);

	/* a new status line starts a new reply */
	line(&r, "HTTP/2 200\r\n");
	EXPECT_EQ(-1, r.status);
	EXPECT_STREQ("", r.message);
	/* trailers-only: the status comes with the headers */
	line(&r, "content-type: application/grpc+proto\r\n");
	line(&r, "grpc-status:0\r\n");
	line(&r, "grpc-encoding: gzip\r\n");
	EXPECT_TRUE(r.grpc_type);
	EXPECT_TRUE(r.gzip);
	EXPECT_EQ(GRPC_OK, grpc_reply_code(&r));

	line(&r, "HTTP/2 200\r\n");
	line(&r, "grpc-status: 1x\r\n");
	EXPECT_EQ(GRPC_UNKNOWN, grpc_reply_code(&r));
	line(&r, "grpc-status: \r\n");
	EXPECT_EQ(GRPC_UNKNOWN, grpc_reply_code(&r));
	line(&r, "grpc-status: 99999999999999999999\r\n");
	EXPECT_EQ(GRPC_UNKNOWN, grpc_reply_code(&r));
	line(&r, "grpc-status: 8");	/* no line end */
	EXPECT_EQ(GRPC_RESOURCE_EXHAUSTED, grpc_reply_code(&r));
	line(&r, "no colon at all\r\n");
	line(&r, ": empty name\r\n");
	EXPECT_EQ(GRPC_RESOURCE_EXHAUSTED, grpc_reply_code(&r));
	line(&r, "content-type: application/grpcx\r\n");
	EXPECT_FALSE(r.grpc_type);
	line(&r, "content-type: application/grpc; charset=x\r\n");
	EXPECT_TRUE(r.grpc_type);
}

TEST(reply_message_is_one_bounded_line)
{
	struct grpc_reply r;
	char big[1200];

	grpc_reply_init(&r);
	memcpy(big, "grpc-message: ", 14);
	memset(big + 14, 'a', sizeof(big) - 15);
	big[sizeof(big) - 1] = '\0';
	line(&r, big);
	EXPECT_EQ(sizeof(r.message) - 1, strlen(r.message));
	line(&r, "grpc-message: a%0D%0Ab%00c\r\n");
	EXPECT_STREQ("a  b", r.message);
}

TEST(http_status_without_grpc_status)
{
	static const struct { long http; int code; } map[] = {
		{ 400, GRPC_INTERNAL }, { 401, GRPC_UNAUTHENTICATED },
		{ 403, GRPC_PERMISSION_DENIED }, { 404, GRPC_UNIMPLEMENTED },
		{ 429, GRPC_UNAVAILABLE }, { 502, GRPC_UNAVAILABLE },
		{ 503, GRPC_UNAVAILABLE }, { 504, GRPC_UNAVAILABLE },
		{ 500, GRPC_UNKNOWN }, { 301, GRPC_UNKNOWN },
	};
	struct grpc_reply r;
	char s[32];
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		grpc_reply_init(&r);
		snprintf(s, sizeof(s), "HTTP/2 %ld\r\n", map[i].http);
		line(&r, s);
		EXPECT_EQ(map[i].code, grpc_reply_code(&r));
	}
	/* 200 without grpc-status: not gRPC at all, or a broken server */
	grpc_reply_init(&r);
	line(&r, "HTTP/2 200\r\n");
	line(&r, "content-type: text/html\r\n");
	EXPECT_EQ(GRPC_UNKNOWN, grpc_reply_code(&r));
	/*
	 * a gRPC reply cut before its trailers (RST_STREAM REFUSED_STREAM or
	 * CANCEL after the headers: libcurl 7.88 says CURLE_OK): UNAVAILABLE,
	 * retried, as gRPC maps those resets to retryable codes
	 */
	line(&r, "content-type: application/grpc\r\n");
	EXPECT_EQ(GRPC_UNAVAILABLE, grpc_reply_code(&r));
	EXPECT_EQ(SEND_RETRY, grpc_decide(grpc_reply_code(&r), false));
	/* the same reply with its grpc-status is what it says */
	line(&r, "grpc-status: 13\r\n");
	EXPECT_EQ(GRPC_INTERNAL, grpc_reply_code(&r));
	/* grpc-status wins over the HTTP status */
	grpc_reply_init(&r);
	line(&r, "HTTP/2 503\r\n");
	line(&r, "grpc-status: 3\r\n");
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, grpc_reply_code(&r));
}

TEST(retry_rule_of_the_otlp_spec)
{
	int code;

	for (code = 0; code <= 17; code++) {
		enum send_result want;

		switch (code) {
		case GRPC_OK:
			want = SEND_OK;
			break;
		case GRPC_CANCELLED:
		case GRPC_DEADLINE_EXCEEDED:
		case GRPC_ABORTED:
		case GRPC_OUT_OF_RANGE:
		case GRPC_UNAVAILABLE:
		case GRPC_DATA_LOSS:
			want = SEND_RETRY;
			break;
		default:
			want = SEND_FAIL;
		}
		EXPECT_EQ(want, grpc_decide(code, false));
		if (code == GRPC_RESOURCE_EXHAUSTED)
			want = SEND_RETRY;
		EXPECT_EQ(want, grpc_decide(code, true));
	}
	EXPECT_EQ(SEND_FAIL, grpc_decide(-1, true));
	EXPECT_STREQ("UNAVAILABLE", grpc_code_name(14));
	EXPECT_STREQ("UNAUTHENTICATED", grpc_code_name(16));
	EXPECT_STREQ("CODE_17", grpc_code_name(17));
	EXPECT_STREQ("CODE_-1", grpc_code_name(-1));
}

TEST(base64_padded_or_not)
{
	uint8_t out[16];

	EXPECT_EQ(5, grpc_base64_decode("aGVsbG8=", 8, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, "hello", 5));
	EXPECT_EQ(5, grpc_base64_decode("aGVsbG8", 7, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, "hello", 5));
	EXPECT_EQ(3, grpc_base64_decode("/+/+", 4, out, sizeof(out)));
	EXPECT_EQ(0xff, out[0]);
	EXPECT_EQ(0xef, out[1]);
	EXPECT_EQ(0xfe, out[2]);
	EXPECT_EQ(0, grpc_base64_decode("", 0, out, sizeof(out)));
	EXPECT_EQ(-1, grpc_base64_decode("aGV sbG8", 8, out, sizeof(out)));
	EXPECT_EQ(-1, grpc_base64_decode("aGVsb", 5, out, sizeof(out)));
	EXPECT_EQ(-1, grpc_base64_decode("-_-_", 4, out, sizeof(out)));
	/* bounded by the output */
	EXPECT_EQ(-1, grpc_base64_decode("aGVsbG8=", 8, out, 4));
}

TEST(retry_info_from_status_details)
{
	struct msg st = { 0 }, ri = { 0 }, other = { 0 };

	put_int(&st, 1, GRPC_RESOURCE_EXHAUSTED);
	put_str(&st, 2, "slow down");
	EXPECT_EQ(-1, grpc_retry_delay(st.b, st.n));
	/* another detail first, then the RetryInfo */
	put_str(&other, 1, "QUOTA");
	status_with(&st, "type.googleapis.com/google.rpc.ErrorInfo", &other);
	EXPECT_EQ(-1, grpc_retry_delay(st.b, st.n));
	retry_info(&ri, 1, 500000000);
	status_with(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
	EXPECT_EQ(1500, grpc_retry_delay(st.b, st.n));
	/* an unknown field of a later version is skipped: fixed64, fixed32 */
	st.b[st.n++] = 4 << 3 | 1;
	memset(st.b + st.n, 0, 8);
	st.n += 8;
	st.b[st.n++] = 5 << 3 | 5;
	memset(st.b + st.n, 0, 4);
	st.n += 4;
	EXPECT_EQ(1500, grpc_retry_delay(st.b, st.n));
	/* cut anywhere: no crash; a delay only if the detail was whole */
	for (size_t n = 0; n < st.n; n++) {
		long ms = grpc_retry_delay(st.b, n);

		EXPECT_TRUE(ms == -1 || ms == 1500);
	}
}

TEST(retry_info_edge_cases)
{
	struct msg st, ri;

	/* the type name after the URL's last slash, exactly */
	memset(&st, 0, sizeof(st));
	memset(&ri, 0, sizeof(ri));
	retry_info(&ri, 2, 0);
	status_with(&st, "example.com/x/google.rpc.RetryInfo", &ri);
	EXPECT_EQ(2000, grpc_retry_delay(st.b, st.n));
	memset(&st, 0, sizeof(st));
	status_with(&st, "type.googleapis.com/google.rpc.RetryInfoX", &ri);
	EXPECT_EQ(-1, grpc_retry_delay(st.b, st.n));
	memset(&st, 0, sizeof(st));
	status_with(&st, "google.rpc.RetryInfo", &ri);
	EXPECT_EQ(2000, grpc_retry_delay(st.b, st.n));
	/* no delay in it: retry at once (the backoff applies) */
	memset(&st, 0, sizeof(st));
	status_with(&st, "type.googleapis.com/google.rpc.RetryInfo", NULL);
	EXPECT_EQ(0, grpc_retry_delay(st.b, st.n));
	/* negative: 0; huge: a day */
	memset(&st, 0, sizeof(st));
	memset(&ri, 0, sizeof(ri));
	retry_info(&ri, -5, 0);
	status_with(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
	EXPECT_EQ(0, grpc_retry_delay(st.b, st.n));
	memset(&st, 0, sizeof(st));
	memset(&ri, 0, sizeof(ri));
	retry_info(&ri, INT64_MAX, 999999999);
	status_with(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
	EXPECT_EQ(86400000, grpc_retry_delay(st.b, st.n));
}

TEST(retry_info_malformed)
{
	/* a varint that never ends, a length past the end, a group */
	static const uint8_t bad1[] = { 0x1a, 0x80, 0x80, 0x80 };
	static const uint8_t bad2[] = { 0x1a, 0x7f, 0x0a };
	static const uint8_t bad3[] = { 0x1b, 0x1c };
	uint8_t ff[16];

	memset(ff, 0xff, sizeof(ff));
	EXPECT_EQ(-1, grpc_retry_delay(bad1, sizeof(bad1)));
	EXPECT_EQ(-1, grpc_retry_delay(bad2, sizeof(bad2)));
	EXPECT_EQ(-1, grpc_retry_delay(bad3, sizeof(bad3)));
	EXPECT_EQ(-1, grpc_retry_delay(ff, sizeof(ff)));
	EXPECT_EQ(-1, grpc_retry_delay(NULL, 0));
}

TEST(status_details_bin_trailer)
{
	struct msg st = { 0 }, ri = { 0 };
	struct grpc_reply r;
	char l[1200];

	put_int(&st, 1, GRPC_RESOURCE_EXHAUSTED);
	retry_info(&ri, 3, 250000000);
	status_with(&st, "type.googleapis.com/google.rpc.RetryInfo", &ri);
	for (int pad = 0; pad < 2; pad++) {
		grpc_reply_init(&r);
		line(&r, "HTTP/2 200\r\n");
		line(&r, "grpc-status: 8\r\n");
		snprintf(l, sizeof(l), "grpc-status-details-bin: %s\r\n",
			 b64(st.b, st.n, pad));
		line(&r, l);
		EXPECT_EQ(3250, r.retry_delay_ms);
		EXPECT_EQ(SEND_RETRY, grpc_decide(grpc_reply_code(&r),
						  r.retry_delay_ms >= 0));
	}
	grpc_reply_init(&r);
	line(&r, "grpc-status: 8\r\n");
	line(&r, "grpc-status-details-bin: !!!not base64\r\n");
	EXPECT_EQ(-1, r.retry_delay_ms);
	EXPECT_EQ(SEND_FAIL, grpc_decide(grpc_reply_code(&r),
					 r.retry_delay_ms >= 0));
}

/* base64 of @n bytes, malloc'd */
static char *b64_alloc(const uint8_t *p, size_t n)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(n / 3 * 4 + 8);
	size_t i, o = 0;

	for (i = 0; out && i < n; i += 3) {
		uint32_t v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	if (out)
		out[o] = '\0';
	return out;
}

/*
 * grpc-status-details-bin: google.rpc.Status { code 8, message of @mlen
 * bytes, details [RetryInfo 0.1 s] } as a trailer line (malloc'd).
 */
static char *big_details_line(size_t mlen)
{
	struct msg ri = { 0 }, any = { 0 };
	size_t cap = mlen + 64 + sizeof(any.b), n = 0;
	uint8_t *st = malloc(cap);
	char *enc, *l;
	size_t v;

	retry_info(&ri, 0, 100000000);
	put_str(&any, 1, "type.googleapis.com/google.rpc.RetryInfo");
	put_bytes(&any, 2, ri.b, ri.n);
	st[n++] = 1 << 3;
	st[n++] = GRPC_RESOURCE_EXHAUSTED;
	st[n++] = 2 << 3 | 2;
	for (v = mlen; v > 0x7f; v >>= 7)
		st[n++] = (v & 0x7f) | 0x80;
	st[n++] = v;
	memset(st + n, 'm', mlen);
	n += mlen;
	st[n++] = 3 << 3 | 2;
	st[n++] = any.n;
	memcpy(st + n, any.b, any.n);
	n += any.n;
	enc = b64_alloc(st, n);
	free(st);
	l = malloc(strlen(enc) + 64);
	sprintf(l, "grpc-status-details-bin: %s\r\n", enc);
	free(enc);
	return l;
}

TEST(status_details_bin_large)
{
	struct grpc_reply r;
	char *l;

	/* over the old 4 KiB stack buffer: still read */
	l = big_details_line(5000);
	grpc_reply_init(&r);
	line(&r, "grpc-status: 8\r\n");
	line(&r, l);
	free(l);
	EXPECT_EQ(100, r.retry_delay_ms);
	EXPECT_FALSE(r.details_too_big);
	EXPECT_EQ(SEND_RETRY, grpc_decide(grpc_reply_code(&r),
					  r.retry_delay_ms >= 0));
	/* just under the cap */
	l = big_details_line(GRPC_MAX_DETAILS - 100);
	grpc_reply_init(&r);
	line(&r, l);
	free(l);
	EXPECT_EQ(100, r.retry_delay_ms);
	EXPECT_FALSE(r.details_too_big);
	/* over it: not read, and said (grpc.c counts and logs it) */
	l = big_details_line(GRPC_MAX_DETAILS + 10);
	grpc_reply_init(&r);
	line(&r, l);
	free(l);
	EXPECT_EQ(-1, r.retry_delay_ms);
	EXPECT_TRUE(r.details_too_big);
}

TEST(libcurl_requirements)
{
	char why[160];

	EXPECT_EQ(0, libcurl_check(PROTO_GRPC, 0x075801, CURL_VERSION_HTTP2,
				   "7.88.1", why, sizeof(why)));
	EXPECT_EQ(-1, libcurl_check(PROTO_GRPC, 0x075801, 0, "7.88.1", why,
				    sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "HTTP/2"));
	/* HTTP/1.1 protocols do not need HTTP/2 */
	EXPECT_EQ(0, libcurl_check(PROTO_HTTP_PROTOBUF, 0x075801, 0, "7.88.1",
				   why, sizeof(why)));
	/* CURLOPT_PROTOCOLS_STR: 7.85 */
	EXPECT_EQ(-1, libcurl_check(PROTO_HTTP_JSON, 0x075400,
				    CURL_VERSION_HTTP2, "7.84.0", why,
				    sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "7.85"));
	EXPECT_EQ(0, libcurl_check(PROTO_GRPC, 0x075500, CURL_VERSION_HTTP2,
				   "7.85.0", why, sizeof(why)));
}

TEST(endpoint_rules)
{
	static const struct {
		const char *ep;
		bool insecure;
		const char *url;	/* NULL: refused */
	} t[] = {
		{ "http://localhost:4317", false, "http://localhost:4317" },
		{ "http://localhost:4317/", false, "http://localhost:4317" },
		{ "https://otel.example", false, "https://otel.example" },
		{ "HTTPS://otel.example:443", true, "https://otel.example:443" },
		{ "http://[::1]:4317", false, "http://[::1]:4317" },
		{ "collector:4317", false, "https://collector:4317" },
		{ "collector:4317", true, "http://collector:4317" },
		{ "127.0.0.1:4317/", true, "http://127.0.0.1:4317" },
		{ "collector", true, NULL },
		{ "http://collector:4317/v1/traces", false, NULL },
		{ "http://collector:4317?x=1", false, NULL },
		{ "http://collector:4317#f", false, NULL },
		{ "http://collector:0", false, NULL },
		{ "http://collector:65536", false, NULL },
		{ "http://collector:43x7", false, NULL },
		{ "http://collector:", false, NULL },
		{ "http://:4317", false, NULL },
		{ "http://", false, NULL },
		{ "http://user@collector:4317", false, NULL },
		{ "http://coll ector:4317", false, NULL },
		{ "http://[::1:4317", false, NULL },
		{ "http://[::1]x", false, NULL },
		{ "http://::1:4317", false, NULL },
		{ "ftp://collector:4317", false, NULL },
		{ "unix:///tmp/sock", false, NULL },
		{ "", false, NULL },
	};
	char why[128], want[256];
	char *url;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int ret = grpc_endpoint(t[i].ep, t[i].insecure, &url, why,
					sizeof(why));

		if (!t[i].url) {
			EXPECT_EQ(-1, ret) TH_LOG("%s accepted", t[i].ep);
			EXPECT_NE(0, why[0]);
			EXPECT_EQ(NULL, url);
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", t[i].ep, why);
		snprintf(want, sizeof(want), "%s%s", t[i].url, GRPC_EXPORT_PATH);
		EXPECT_STREQ(want, url);
		free(url);
	}
}

TEST(metadata_keys_lowercase)
{
	char *m = grpc_metadata("X-Api-Key: Value With CAPS");

	ASSERT_NE(NULL, m);
	EXPECT_STREQ("x-api-key: Value With CAPS", m);
	free(m);
}

TEST(metadata_validated)
{
	static const struct {
		const char *h;
		bool grpc_ok, http_ok;
	} t[] = {
		{ "X-Api-Key=abc%20def, x-team = kernel", true, true },
		{ "a.b_c-9=v", true, true },
		{ "te=foo", false, true },
		{ "TE=trailers", false, true },
		{ "content-type=text/plain", false, true },
		{ "Content-Type=text/plain", false, true },
		{ "user-agent=me", false, true },
		{ "host=h", false, true },
		{ "grpc-timeout=1S", false, true },
		{ "Grpc-Encoding=identity", false, true },
		{ "connection=close", false, true },
		{ "x-key=a%00b", false, false },
		{ "x-key=a%0Db", false, false },
		{ "x-key=a%0Ab", false, false },
		{ "x-key=caf%C3%A9", false, true },
		{ "x-key=a%09b", false, true },
		{ "x-bin=aGVsbG8=", true, true },
		{ "x-bin=aGVsbG8", true, true },
		{ "x-bin=!!", false, true },
		{ "x-bin=a", false, true },
		{ "x/key=v", false, false },
		{ "x@key=v", false, false },
		{ "x key=v", false, false },
		{ "=v", false, false },
		{ "novalue", false, false },
	};
	char **h, why[256];
	size_t i, n, k;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (int grpc = 0; grpc < 2; grpc++) {
			bool ok = grpc ? t[i].grpc_ok : t[i].http_ok;
			int ret;

			h = NULL;
			n = 0;
			why[0] = '\0';
			ret = parse_headers(t[i].h, grpc, &h, &n, why,
					    sizeof(why));
			EXPECT_EQ(ok ? 0 : -1, ret)
				TH_LOG("%s (%s): %s", t[i].h,
				       grpc ? "grpc" : "http", why);
			if (!ok)
				EXPECT_NE(0, why[0]);
			for (k = 0; k < n; k++)
				free(h[k]);
			free(h);
		}
	}
}

static void clear_env(void)
{
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
	unsetenv("OTEL_EXPORTER_OTLP_INSECURE");
	unsetenv("OTEL_EXPORTER_OTLP_TRACES_INSECURE");
}

TEST(config_grpc)
{
	char *argv[] = { "oteld", "--protocol", "grpc", "--endpoint",
			 "collector:4317", "--insecure", "true", NULL };
	struct config c;

	clear_env();
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_EQ(PROTO_GRPC, c.protocol);
	EXPECT_STREQ("http://localhost:4317" GRPC_EXPORT_PATH, c.endpoint);
	config_free(&c);

	/* the traces variables win; host:port is TLS unless insecure */
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "c:1", 1);
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_EQ(PROTO_GRPC, c.protocol);
	EXPECT_STREQ("https://c:1" GRPC_EXPORT_PATH, c.endpoint);
	config_free(&c);
	setenv("OTEL_EXPORTER_OTLP_INSECURE", "false", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "TRUE", 1);
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_STREQ("http://c:1" GRPC_EXPORT_PATH, c.endpoint);
	config_free(&c);

	/* flags win over both */
	clear_env();
	ASSERT_EQ(0, config_load(&c, 7, argv));
	EXPECT_EQ(PROTO_GRPC, c.protocol);
	EXPECT_STREQ("http://collector:4317" GRPC_EXPORT_PATH, c.endpoint);
	config_free(&c);

	/* http/protobuf is as it was: /v1/traces appended, 4318 */
	ASSERT_EQ(0, config_load(&c, 1, argv));
	EXPECT_EQ(PROTO_HTTP_PROTOBUF, c.protocol);
	EXPECT_STREQ("http://localhost:4318/v1/traces", c.endpoint);
	config_free(&c);
	/* ... and a scheme-less endpoint is still refused there */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", 1);
	EXPECT_EQ(-1, config_load(&c, 1, argv));
	config_free(&c);

	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317/v1/traces", 1);
	EXPECT_EQ(-1, config_load(&c, 1, argv));
	config_free(&c);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc/json", 1);
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	EXPECT_EQ(-1, config_load(&c, 1, argv));
	config_free(&c);
	clear_env();
}

TEST_HARNESS_MAIN
