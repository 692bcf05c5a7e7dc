// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP/gRPC, the part without I/O: message framing, the reply's headers and
 * trailers, google.rpc.Status -> RetryInfo, status code -> retry decision,
 * endpoint rules.  Written from the gRPC over HTTP/2 protocol spec
 * (PROTOCOL-HTTP2.md), its HTTP to gRPC status mapping, the public
 * definitions of google.rpc.Status, google.rpc.RetryInfo,
 * google.protobuf.Any and google.protobuf.Duration, and the OTLP spec.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grpc.h"

static const char *const code_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc_code_name(int code)
{
	static __thread char other[24];

	if (code >= 0 && code < (int)(sizeof(code_names) / sizeof(*code_names)))
		return code_names[code];
	snprintf(other, sizeof(other), "CODE_%d", code);
	return other;
}

void grpc_frame_prefix(uint8_t out[GRPC_PREFIX_LEN], bool compressed,
		       uint32_t len)
{
	out[0] = compressed;
	out[1] = len >> 24;
	out[2] = len >> 16;
	out[3] = len >> 8;
	out[4] = len;
}

int grpc_frame_parse(const uint8_t *body, size_t len, bool *compressed,
		     const uint8_t **msg, size_t *msglen)
{
	uint32_t n;

	if (!len)
		return 1;
	if (len < GRPC_PREFIX_LEN || body[0] > 1)
		return -1;
	n = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 |
	    (uint32_t)body[3] << 8 | body[4];
	if (n > len - GRPC_PREFIX_LEN)
		return -1;
	*compressed = body[0];
	*msg = body + GRPC_PREFIX_LEN;
	*msglen = n;
	return 0;
}

/* ---- a protobuf reader, for the few fields of google.rpc.Status ---- */
struct pb {
	const uint8_t *p, *end;
};

static int pb_varint(struct pb *b, uint64_t *v)
{
	unsigned int shift;

	*v = 0;
	for (shift = 0; shift < 64 && b->p < b->end; shift += 7) {
		uint8_t c = *b->p++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

/*
 * The next field: its number, wire type, and its value (varint in *num,
 * length-delimited in *val and *vlen).  0, 1 at the end, -1 malformed.
 */
static int pb_next(struct pb *b, uint32_t *field, unsigned int *wt,
		   uint64_t *num, const uint8_t **val, size_t *vlen)
{
	uint64_t key, n;

	if (b->p == b->end)
		return 1;
	if (pb_varint(b, &key) || key >> 32 || !(key >> 3))
		return -1;
	*field = key >> 3;
	*wt = key & 7;
	switch (*wt) {
	case 0:
		return pb_varint(b, num);
	case 1:
	case 5:
		n = *wt == 1 ? 8 : 4;
		break;
	case 2:
		if (pb_varint(b, &n))
			return -1;
		break;
	default:	/* groups: not in these messages */
		return -1;
	}
	if (n > (uint64_t)(b->end - b->p))
		return -1;
	*val = b->p;
	*vlen = n;
	b->p += n;
	return 0;
}

#define DAY_MS 86400000L

/* google.protobuf.Duration { int64 seconds = 1; int32 nanos = 2; } */
static long duration_ms(const uint8_t *p, size_t len)
{
	struct pb b = { p, p + len };
	int64_t sec = 0, nanos = 0;
	const uint8_t *val;
	unsigned int wt;
	uint32_t field;
	size_t vlen;
	uint64_t num;
	int ret;

	while (!(ret = pb_next(&b, &field, &wt, &num, &val, &vlen))) {
		if (field == 1 && wt == 0)
			sec = (int64_t)num;
		else if (field == 2 && wt == 0)
			nanos = (int32_t)num;
	}
	if (ret < 0)
		return -1;
	if (sec < 0 || nanos < 0)
		return 0;
	if (sec >= DAY_MS / 1000)
		return DAY_MS;
	return (long)(sec * 1000 + nanos / 1000000);
}

/* google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1; } */
static long retry_info_ms(const uint8_t *p, size_t len)
{
	struct pb b = { p, p + len };
	const uint8_t *val;
	unsigned int wt;
	uint32_t field;
	size_t vlen;
	uint64_t num;
	long ms = 0;	/* RetryInfo without a delay: retry, no minimum */
	int ret;

	while (!(ret = pb_next(&b, &field, &wt, &num, &val, &vlen))) {
		if (field == 1 && wt == 2)
			ms = duration_ms(val, vlen);
	}
	return ret < 0 ? -1 : ms;
}

/* google.protobuf.Any { string type_url = 1; bytes value = 2; } */
static long any_retry_ms(const uint8_t *p, size_t len)
{
	static const char name[] = "google.rpc.RetryInfo";
	const uint8_t *val, *type = NULL, *value = NULL;
	struct pb b = { p, p + len };
	size_t vlen, tlen = 0, value_len = 0;
	unsigned int wt;
	uint32_t field;
	uint64_t num;
	int ret;

	while (!(ret = pb_next(&b, &field, &wt, &num, &val, &vlen))) {
		if (field == 1 && wt == 2) {
			type = val;
			tlen = vlen;
		} else if (field == 2 && wt == 2) {
			value = val;
			value_len = vlen;
		}
	}
	if (ret < 0 || !type)
		return -1;
	/* the type's full name is what follows the URL's last '/' */
	while (tlen && memchr(type, '/', tlen)) {
		const uint8_t *slash = memchr(type, '/', tlen);

		tlen -= slash + 1 - type;
		type = slash + 1;
	}
	if (tlen != sizeof(name) - 1 || memcmp(type, name, tlen))
		return -1;
	return value ? retry_info_ms(value, value_len) : 0;
}

/*
 * google.rpc.Status { int32 code = 1; string message = 2;
 *                     repeated google.protobuf.Any details = 3; }
 */
long grpc_retry_delay(const uint8_t *status, size_t len)
{
	struct pb b = { status, status + len };
	const uint8_t *val;
	unsigned int wt;
	uint32_t field;
	size_t vlen;
	uint64_t num;
	long ms;

	while (!pb_next(&b, &field, &wt, &num, &val, &vlen)) {
		if (field == 3 && wt == 2) {
			ms = any_retry_ms(val, vlen);
			if (ms >= 0)
				return ms;
		}
	}
	return -1;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long grpc_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0;

	while (len && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		int v = b64_value(s[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* one leftover character (6 bits) cannot end a valid encoding */
	return bits >= 6 ? -1 : (long)n;
}

void grpc_reply_init(struct grpc_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->status = -1;
	r->retry_delay_ms = -1;
}

/* grpc-message: percent-encoded UTF-8 (and anything else kept as is) */
static void set_message(struct grpc_reply *r, const char *v, size_t len)
{
	char *m = percent_decode(v, len);
	size_t i;

	if (!m)
		return;
	snprintf(r->message, sizeof(r->message), "%s", m);
	free(m);
	for (i = 0; r->message[i]; i++)	/* it goes to the log on one line */
		if ((unsigned char)r->message[i] < 0x20)
			r->message[i] = ' ';
}

/*
 * A google.rpc.Status can be large (a long message, many details, a
 * RetryInfo last): it is decoded into a buffer sized from the value, up to
 * GRPC_MAX_DETAILS; a larger one is not read (details_too_big says so, the
 * caller counts and logs it).
 */
static void set_details(struct grpc_reply *r, const char *v, size_t len)
{
	size_t cap = len / 4 * 3 + 3;
	uint8_t *bin;
	long n;

	if (cap > GRPC_MAX_DETAILS) {
		r->details_too_big = true;
		return;
	}
	bin = malloc(cap);
	if (!bin)
		return;
	n = grpc_base64_decode(v, len, bin, cap);
	if (n >= 0)
		r->retry_delay_ms = grpc_retry_delay(bin, n);
	free(bin);
}

static bool name_is(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && !strncasecmp(p, name, n);
}

void grpc_reply_line(struct grpc_reply *r, const char *line, size_t len)
{
	const char *colon, *v;
	size_t nlen, vlen;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
		       line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', len);

		grpc_reply_init(r);
		if (sp)
			r->http_status = strtol(sp + 1, NULL, 10);
		return;
	}
	colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return;
	nlen = colon - line;
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	if (name_is(line, nlen, "grpc-status")) {
		char num[16];
		char *end;
		long c;

		if (vlen && vlen < sizeof(num)) {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			c = strtol(num, &end, 10);
			r->status = !*end && isdigit((unsigned char)num[0]) &&
				    c <= 0x7fffffff ? (int)c : GRPC_UNKNOWN;
		} else {
			r->status = GRPC_UNKNOWN;
		}
	} else if (name_is(line, nlen, "grpc-message")) {
		set_message(r, v, vlen);
	} else if (name_is(line, nlen, "grpc-status-details-bin")) {
		set_details(r, v, vlen);
	} else if (name_is(line, nlen, "content-type")) {
		static const char t[] = "application/grpc";
		size_t tl = sizeof(t) - 1;

		r->grpc_type = vlen >= tl && !strncasecmp(v, t, tl) &&
			       (vlen == tl || v[tl] == '+' || v[tl] == ';');
	} else if (name_is(line, nlen, "grpc-encoding")) {
		r->gzip = name_is(v, vlen, "gzip");
	}
}

int grpc_reply_code(const struct grpc_reply *r)
{
	if (r->status >= 0)
		return r->status;
	switch (r->http_status) {
	case 200:
		/*
		 * A gRPC reply (200, application/grpc) that never got to its
		 * grpc-status: the stream ended without trailers.  That is what
		 * a RST_STREAM after the headers looks like through libcurl
		 * (7.88 returns CURLE_OK), and gRPC maps REFUSED_STREAM to
		 * UNAVAILABLE and CANCEL to CANCELLED, both retried by OTLP: a
		 * call cut short is UNAVAILABLE, retried within the export
		 * timeout, not INTERNAL (dropped).  A 200 that is not gRPC at
		 * all stays UNKNOWN.
		 */
		return r->grpc_type ? GRPC_UNAVAILABLE : GRPC_UNKNOWN;
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_UNKNOWN;
	}
}

enum send_result grpc_decide(int code, bool retry_info)
{
	switch (code) {
	case GRPC_OK:
		return SEND_OK;
	case GRPC_CANCELLED:
	case GRPC_DEADLINE_EXCEEDED:
	case GRPC_ABORTED:
	case GRPC_OUT_OF_RANGE:
	case GRPC_UNAVAILABLE:
	case GRPC_DATA_LOSS:
		return SEND_RETRY;
	case GRPC_RESOURCE_EXHAUSTED:
		return retry_info ? SEND_RETRY : SEND_FAIL;
	default:
		return SEND_FAIL;
	}
}

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* host, [v6] or host:port, [v6]:port; 0, or -1 with @why */
static int check_authority(const char *a, size_t len, bool need_port,
			   char *why, size_t whylen)
{
	const char *port = NULL;
	size_t i, hlen = len;

	if (!len) {
		snprintf(why, whylen, "no host");
		return -1;
	}
	if (a[0] == '[') {
		const char *close = memchr(a, ']', len);

		if (!close || close == a + 1) {
			snprintf(why, whylen, "unterminated [IPv6] address");
			return -1;
		}
		for (i = 1; a + i < close; i++)
			if (!isxdigit((unsigned char)a[i]) && a[i] != ':' &&
			    a[i] != '.') {
				snprintf(why, whylen, "bad IPv6 address");
				return -1;
			}
		hlen = close + 1 - a;
		if (hlen < len) {
			if (a[hlen] != ':') {
				snprintf(why, whylen, "expected :port after ]");
				return -1;
			}
			port = a + hlen + 1;
		}
	} else {
		const char *c = memchr(a, ':', len);

		if (c) {
			hlen = c - a;
			port = c + 1;
		}
		if (!hlen) {
			snprintf(why, whylen, "no host");
			return -1;
		}
		for (i = 0; i < hlen; i++)
			if (!host_char(a[i])) {
				snprintf(why, whylen, "'%c' in the host name",
					 a[i]);
				return -1;
			}
	}
	if (port) {
		size_t plen = a + len - port;
		long v = 0;

		for (i = 0; i < plen && i < 6; i++) {
			if (!isdigit((unsigned char)port[i]))
				break;
			v = v * 10 + (port[i] - '0');
		}
		if (!plen || i != plen || v < 1 || v > 65535) {
			snprintf(why, whylen, "expected a port 1..65535");
			return -1;
		}
	} else if (need_port) {
		snprintf(why, whylen, "expected host:port (or a URL)");
		return -1;
	}
	return 0;
}

int grpc_endpoint(const char *ep, bool insecure, char **url, char *why,
		  size_t whylen)
{
	const char *scheme, *auth, *rest;
	bool need_port = false;
	size_t alen, len;

	*url = NULL;
	if (!strncasecmp(ep, "http://", 7)) {
		scheme = "http";
		auth = ep + 7;
	} else if (!strncasecmp(ep, "https://", 8)) {
		scheme = "https";
		auth = ep + 8;
	} else if (strstr(ep, "://")) {
		snprintf(why, whylen,
			 "expected http://, https:// or host:port");
		return -1;
	} else {
		/* the spec's scheme-less form: OTEL_EXPORTER_OTLP_INSECURE */
		scheme = insecure ? "http" : "https";
		auth = ep;
		need_port = true;
	}
	alen = strcspn(auth, "/?#");
	rest = auth + alen;
	if (*rest && strcmp(rest, "/")) {
		snprintf(why, whylen, "a gRPC endpoint has no path, query or "
			 "fragment (the method is the path)");
		return -1;
	}
	if (check_authority(auth, alen, need_port, why, whylen))
		return -1;
	len = strlen(scheme) + 3 + alen + sizeof(GRPC_EXPORT_PATH);
	*url = malloc(len);
	if (!*url) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	snprintf(*url, len, "%s://%.*s%s", scheme, (int)alen, auth,
		 GRPC_EXPORT_PATH);
	return 0;
}

char *grpc_metadata(const char *header)
{
	char *m = strdup(header), *p;

	if (!m)
		return NULL;
	for (p = m; *p && *p != ':'; p++)
		*p = (char)tolower((unsigned char)*p);
	return m;
}

int libcurl_check(enum protocol protocol, unsigned int version_num,
		  int features, const char *version, char *why, size_t whylen)
{
	if (version_num < 0x075500) {
		snprintf(why, whylen, "libcurl %s is too old: oteld needs "
			 "7.85.0 or later", version);
		return -1;
	}
	if (protocol == PROTO_GRPC && !(features & CURL_VERSION_HTTP2)) {
		snprintf(why, whylen, "libcurl %s was built without HTTP/2 "
			 "(nghttp2): the grpc protocol needs it; use "
			 "http/protobuf or a libcurl with HTTP/2", version);
		return -1;
	}
	return 0;
}
