// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP/gRPC sender: TraceService/Export as a unary gRPC call carried by
 * libcurl's HTTP/2 (nghttp2): h2c with prior knowledge for http://, TLS
 * with ALPN h2 for https://.  One easy handle per exporter thread, reused,
 * so its connection stays open between calls, as http.c does.
 *
 * libcurl 7.88.0 and 7.88.1 (Debian 12's) fail any request that would reuse
 * an h2c connection made with prior knowledge ("Error in the HTTP2 framing
 * layer", curl issue 10634, fixed in 8.0.0): with those, a plaintext call
 * has a connection of its own.  TLS connections are reused.
 *
 * The request is POST GRPC_EXPORT_PATH, content-type application/grpc,
 * te: trailers, grpc-timeout (what is left of this try's timeout), the
 * configured headers as metadata (keys lowercased), grpc-encoding gzip
 * when compressing; the body is the 5-byte prefix and the encoder's body,
 * read by libcurl from both without a copy.  The outcome is grpc-status in
 * the trailers (or in the headers of a trailers-only reply); an answer
 * without one is mapped from its HTTP status as the gRPC spec says.
 * grpc_wire.c parses and decides; export.c retries.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "grpc.h"

#define MAX_RESPONSE ((4u << 20) + GRPC_PREFIX_LEN)

struct grpc {
	CURL *curl;
	struct curl_slist *headers;	/* the fixed ones and metadata */
	struct curl_slist timeout;	/* linked at the end, ours */
	char timeout_hdr[32];
	const struct config *c;
	struct buf resp, inflated;
	struct grpc_reply reply;
	uint8_t prefix[GRPC_PREFIX_LEN];
	const uint8_t *body;
	size_t len, pos;		/* pos in prefix + body */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct grpc *g = arg;
	size_t len = size * n;

	if (g->resp.len + len <= MAX_RESPONSE)
		buf_put(&g->resp, p, len);
	return len;
}

/* Headers, then (HTTP/2) the trailers, one line at a time. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct grpc *g = arg;

	grpc_reply_line(&g->reply, p, size * n);
	return size * n;
}

/* The request body: the prefix, then the message, not copied. */
static size_t on_read(char *out, size_t size, size_t n, void *arg)
{
	struct grpc *g = arg;
	size_t room = size * n, done = 0, k;

	if (g->pos < GRPC_PREFIX_LEN) {
		k = GRPC_PREFIX_LEN - g->pos;
		k = k < room ? k : room;
		memcpy(out, g->prefix + g->pos, k);
		g->pos += k;
		done = k;
	}
	if (g->pos >= GRPC_PREFIX_LEN && done < room) {
		size_t at = g->pos - GRPC_PREFIX_LEN;

		k = g->len - at;
		k = k < room - done ? k : room - done;
		memcpy(out + done, g->body + at, k);
		g->pos += k;
		done += k;
	}
	return done;
}

/* libcurl rewinds the body when it must send it again. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct grpc *g = arg;

	if (origin != SEEK_SET || offset < 0 ||
	    (size_t)offset > GRPC_PREFIX_LEN + g->len)
		return CURL_SEEKFUNC_FAIL;
	g->pos = offset;
	return CURL_SEEKFUNC_OK;
}

static bool h2c_reuse_broken(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v->version_num >= 0x075800 && v->version_num < 0x080000;
}

static struct curl_slist *add(struct curl_slist *l, const char *h)
{
	struct curl_slist *n = curl_slist_append(l, h);

	if (!n)
		curl_slist_free_all(l);
	return n;
}

struct grpc *grpc_new(const struct config *c)
{
	struct grpc *g = calloc(1, sizeof(*g));
	struct curl_slist *l = NULL;
	bool tls = !strncasecmp(c->endpoint, "https:", 6);
	CURLcode rc;
	size_t i;

	if (!g)
		return NULL;
	g->c = c;
	g->curl = curl_easy_init();
	if (!g->curl)
		goto err;
	/* no Accept, no Expect: gRPC servers want neither */
	l = add(l, "Content-Type: application/grpc");
	if (l)
		l = add(l, "TE: trailers");
	if (l && c->gzip)
		l = add(l, "grpc-encoding: gzip");
	if (l)
		l = add(l, "Accept:");
	if (l)
		l = add(l, "Expect:");
	if (l)
		l = add(l, "User-Agent: oteld/" OTELD_VERSION);
	for (i = 0; l && i < c->nr_headers; i++) {
		char *m = grpc_metadata(c->headers[i]);

		l = m ? add(l, m) : (curl_slist_free_all(l), NULL);
		free(m);
	}
	if (!l)
		goto err;
	g->headers = l;
	while (l->next)
		l = l->next;
	l->next = &g->timeout;		/* unlinked before freeing */
	g->timeout.data = g->timeout_hdr;
	g->timeout.next = NULL;
	/* what gRPC cannot do without: refused, said, no exporter */
	rc = curl_easy_setopt(g->curl, CURLOPT_HTTP_VERSION, tls ?
			      (long)CURL_HTTP_VERSION_2TLS :
			      (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(g->curl, CURLOPT_PROTOCOLS_STR,
				      "http,https");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(g->curl, CURLOPT_URL, c->endpoint);
	if (rc != CURLE_OK) {
		log_msg("gRPC: libcurl %s: %s", curl_version_info(
			CURLVERSION_NOW)->version, curl_easy_strerror(rc));
		goto err;
	}
	curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, g->headers);
	curl_easy_setopt(g->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(g->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(g->curl, CURLOPT_READDATA, g);
	curl_easy_setopt(g->curl, CURLOPT_SEEKFUNCTION, on_seek);
	curl_easy_setopt(g->curl, CURLOPT_SEEKDATA, g);
	http_easy_common(g->curl, c, on_body, on_header, g);
	if (!tls && h2c_reuse_broken()) {
		static atomic_flag said = ATOMIC_FLAG_INIT;

		curl_easy_setopt(g->curl, CURLOPT_FORBID_REUSE, 1L);
		if (!atomic_flag_test_and_set(&said))
			log_msg("gRPC over plaintext with libcurl %s: one "
				"connection per call (that libcurl cannot "
				"reuse h2c connections; https:// or libcurl "
				">= 8.0 can)", curl_version_info(
				CURLVERSION_NOW)->version);
	}
	return g;
err:
	grpc_free(g);
	return NULL;
}

void grpc_free(struct grpc *g)
{
	struct curl_slist *l;

	if (!g)
		return;
	if (g->curl)
		curl_easy_cleanup(g->curl);
	for (l = g->headers; l; l = l->next)
		if (l->next == &g->timeout)
			l->next = NULL;
	curl_slist_free_all(g->headers);
	buf_free(&g->resp);
	buf_free(&g->inflated);
	free(g);
}

/* A gzip message of the reply, inflated into g->inflated (bounded). */
static int inflate_reply(struct grpc *g, const uint8_t *msg, size_t len)
{
	z_stream zs;
	int ret;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	g->inflated.len = 0;
	zs.next_in = (Bytef *)msg;
	zs.avail_in = len;
	do {
		if (buf_reserve(&g->inflated, 64 << 10)) {
			ret = Z_MEM_ERROR;
			break;
		}
		zs.next_out = g->inflated.data + g->inflated.len;
		zs.avail_out = g->inflated.cap - g->inflated.len;
		ret = inflate(&zs, Z_NO_FLUSH);
		g->inflated.len = g->inflated.cap - zs.avail_out;
	} while (ret == Z_OK && g->inflated.len < MAX_RESPONSE);
	inflateEnd(&zs);
	return ret == Z_STREAM_END ? 0 : -1;
}

/* An OK reply may still carry a partial success: log it, never retry it. */
static void check_partial(struct grpc *g)
{
	const uint8_t *msg;
	bool compressed;
	size_t len;
	int ret;

	ret = grpc_frame_parse(g->resp.data, g->resp.len, &compressed, &msg,
			       &len);
	if (ret) {
		if (ret < 0)
			log_debug("gRPC: malformed reply message (%zu bytes)",
				  g->resp.len);
		return;
	}
	if (compressed) {
		if (!g->reply.gzip || inflate_reply(g, msg, len)) {
			log_debug("gRPC: reply message in an encoding not sent");
			return;
		}
		msg = g->inflated.data;
		len = g->inflated.len;
	}
	partial_success_check(false, msg, len);
}

enum send_result grpc_post(struct grpc *g, const void *body, size_t len,
			   long timeout_ms, long *retry_after_ms, char *why,
			   size_t whylen)
{
	long version = 0;
	enum send_result r;
	CURLcode rc;
	int code;

	*retry_after_ms = -1;
	if (len > UINT32_MAX) {
		snprintf(why, whylen, "message over 4 GiB");
		return SEND_TOO_BIG;
	}
	g->resp.len = 0;
	grpc_reply_init(&g->reply);
	grpc_frame_prefix(g->prefix, g->c->gzip, (uint32_t)len);
	g->body = body;
	g->len = len;
	g->pos = 0;
	/* the server's deadline: this try's timeout (at most 8 digits) */
	snprintf(g->timeout_hdr, sizeof(g->timeout_hdr), "grpc-timeout: %ldm",
		 timeout_ms);
	curl_easy_setopt(g->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)(len + GRPC_PREFIX_LEN));
	curl_easy_setopt(g->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(g->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	rc = curl_easy_perform(g->curl);
	atomic_fetch_add(&stats.export_requests, 1);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		switch (rc) {
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			return SEND_FAIL;
		default:	/* UNAVAILABLE or DEADLINE_EXCEEDED */
			return SEND_RETRY;
		}
	}
	curl_easy_getinfo(g->curl, CURLINFO_HTTP_VERSION, &version);
	if (version != CURL_HTTP_VERSION_2_0) {
		snprintf(why, whylen, "the server does not speak HTTP/2 "
			 "(gRPC needs it)");
		return SEND_FAIL;
	}
	if (g->reply.details_too_big) {
		atomic_fetch_add(&stats.grpc_details_too_big, 1);
		log_msg("gRPC: grpc-status-details-bin over %u bytes: not read "
			"(a RetryInfo in it is ignored)", GRPC_MAX_DETAILS);
	}
	code = grpc_reply_code(&g->reply);
	r = grpc_decide(code, g->reply.retry_delay_ms >= 0);
	if (r == SEND_OK) {
		snprintf(why, whylen, "gRPC OK");
		check_partial(g);
		return r;
	}
	*retry_after_ms = g->reply.retry_delay_ms;
	if (g->reply.status < 0)
		snprintf(why, whylen, "gRPC %s (HTTP %ld, no grpc-status)",
			 grpc_code_name(code), g->reply.http_status);
	else
		snprintf(why, whylen, "gRPC %s%s%s%s", grpc_code_name(code),
			 g->reply.message[0] ? ": " : "", g->reply.message,
			 g->reply.retry_delay_ms >= 0 ? " (RetryInfo)" : "");
	return r;
}
