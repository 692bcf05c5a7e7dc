// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP/HTTP sender: one libcurl easy handle per exporter thread, reused for
 * every request it sends (so its connection is kept alive), with the
 * configured headers, TLS files and timeout.  It classifies the answer;
 * export.c decides on retries.
 *
 * Redirects are followed as HTTP says (the OTLP specification leaves the
 * answers it does not list to HTTP): up to HTTP_MAX_REDIRECTS of them, the
 * POST and its body sent again to the new location (301, 302 and 303 too:
 * OTLP has nothing to GET), never from https to http.  libcurl sends no
 * Authorization or Cookie header to another host, but it does send every
 * other configured header (--header, OTEL_EXPORTER_OTLP_HEADERS: API keys
 * as a rule): with headers configured, a redirect to another origin (scheme,
 * host name, port) is not followed; the request is stopped after the
 * connection and before anything is sent.  Every request starts from the
 * configured endpoint.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "oteld.h"

#define MAX_RESPONSE (4u << 20)	/* OTLP: read at most 4 MiB of answer */
#define HTTP_MAX_REDIRECTS 5

struct http {
	CURL *curl;
	struct curl_slist *headers;
	const struct config *c;
	struct buf resp;
	long timeout_ms;	/* as set on the handle */
	long retry_after_ms;
	bool redirect_logged;
	char location[512];	/* the last Location: answered */
	char *origin;		/* the endpoint's, when headers are configured */
	char refused[512];	/* a redirect to another origin, not followed */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	size_t len = size * n;

	if (h->resp.len + len <= MAX_RESPONSE)
		buf_put(&h->resp, p, len);
	return len;
}

/* Location: kept to say where a redirect not followed went. */
static void keep_location(struct http *h, const char *p, size_t len)
{
	while (len && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
		       p[len - 1] == ' '))
		len--;
	if (len >= sizeof(h->location))
		len = sizeof(h->location) - 1;
	memcpy(h->location, p, len);
	h->location[len] = '\0';
}

/* Retry-After: delay-seconds or an HTTP-date; Location. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	size_t len = size * n;
	char v[128];

	if (len > 9 && !strncasecmp(p, "Location:", 9))
		keep_location(h, p + 9, len - 9);

	if (len > 12 && len < sizeof(v) + 12 &&
	    !strncasecmp(p, "Retry-After:", 12)) {
		char *end;
		long s;

		memcpy(v, p + 12, len - 12);
		v[len - 12] = '\0';
		s = strtol(v, &end, 10);
		if (end != v && (*end == '\r' || *end == '\n' || !*end) &&
		    s >= 0) {
			h->retry_after_ms = s > 86400 ? 86400000 : s * 1000;
		} else {
			time_t t = curl_getdate(v, NULL);

			if (t > 0)
				h->retry_after_ms = t > time(NULL) ?
					(t - time(NULL)) * 1000 : 0;
		}
	}
	return len;
}

void http_easy_common(CURL *curl, const struct config *c,
		      curl_write_callback on_body, curl_write_callback on_header,
		      void *arg)
{
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, arg);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, arg);
	if (c->ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	if (c->client_cert)
		curl_easy_setopt(curl, CURLOPT_SSLCERT, c->client_cert);
	if (c->client_key)
		curl_easy_setopt(curl, CURLOPT_SSLKEY, c->client_key);
}

/* "scheme://host:port" of @url (its default port), or NULL. */
static char *origin_of(const char *url)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;
	CURLU *u = curl_url();
	size_t len;

	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
		len = strlen(scheme) + strlen(host) + strlen(port) + 5;
		o = malloc(len);
		if (o)
			snprintf(o, len, "%s://%s:%s", scheme, host, port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return o;
}

/*
 * Before each request, the first and every redirect's, once connected and
 * before anything is sent: only to the endpoint's origin.
 */
static int on_prereq(void *arg, char *ip, char *local_ip, int port,
		     int local_port)
{
	struct http *h = arg;
	char *url = NULL, *o;
	bool same;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	if (curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &url) || !url)
		url = "?";
	o = origin_of(url);
	same = o && !strcasecmp(o, h->origin);
	free(o);
	if (same)
		return CURL_PREREQFUNC_OK;
	snprintf(h->refused, sizeof(h->refused), "%s", url);
	return CURL_PREREQFUNC_ABORT;
}

struct http *http_new(const struct config *c)
{
	struct http *h = calloc(1, sizeof(*h));
	struct curl_slist *l;
	size_t i;

	if (!h)
		return NULL;
	h->c = c;
	h->curl = curl_easy_init();
	if (!h->curl)
		goto err;
	l = curl_slist_append(NULL, c->protocol == PROTO_HTTP_JSON ?
			      "Content-Type: application/json" :
			      "Content-Type: application/x-protobuf");
	if (l && c->gzip)
		l = curl_slist_append(l, "Content-Encoding: gzip");
	if (l)
		l = curl_slist_append(l, "Expect:");
	if (l)
		l = curl_slist_append(l, "User-Agent: oteld/" OTELD_VERSION);
	for (i = 0; l && i < c->nr_headers; i++)
		l = curl_slist_append(l, c->headers[i]);
	if (!l)
		goto err;
	h->headers = l;
	if (curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(h->curl, CURLOPT_URL, c->endpoint)) {
		log_msg("libcurl %s refuses the URL or CURLOPT_PROTOCOLS_STR "
			"(7.85 or later needed)",
			curl_version_info(CURLVERSION_NOW)->version);
		goto err;
	}
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h->curl, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS);
	curl_easy_setopt(h->curl, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
	curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS_STR,
			 strncasecmp(c->endpoint, "https:", 6) ? "http,https" :
			 "https");
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
	h->timeout_ms = c->timeout_ms;
	http_easy_common(h->curl, c, on_body, on_header, h);
	if (c->nr_headers) {
		h->origin = origin_of(c->endpoint);
		if (!h->origin)
			goto err;
		curl_easy_setopt(h->curl, CURLOPT_PREREQFUNCTION, on_prereq);
		curl_easy_setopt(h->curl, CURLOPT_PREREQDATA, h);
	}
	return h;
err:
	http_free(h);
	return NULL;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	buf_free(&h->resp);
	free(h->origin);
	free(h);
}

/* The endpoint answered with a redirect that was followed: say so once. */
static void redirected(struct http *h)
{
	char *url = NULL;
	long n = 0;

	if (curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_COUNT, &n) || !n)
		return;
	curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &url);
	if (!h->redirect_logged)
		log_msg("%s redirects to %s (%ld redirect%s followed; set the "
			"endpoint there to save a round trip)", h->c->endpoint,
			url ? url : "?", n, n > 1 ? "s" : "");
	else
		log_debug("redirected to %s", url ? url : "?");
	h->redirect_logged = true;
}

/* Why a request failed, with the redirect it failed on, if any. */
static void redirect_failed(struct http *h, CURLcode rc, char *why,
			    size_t whylen)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK && h->refused[0])
		snprintf(why, whylen, "a redirect to %s not followed (another "
			 "host: the configured headers go to the endpoint's "
			 "only)", h->refused);
	else if (rc == CURLE_UNSUPPORTED_PROTOCOL && h->location[0])
		snprintf(why, whylen, "a redirect to %s not followed (%s: "
			 "http or https, never https to http)", h->location,
			 curl_easy_strerror(rc));
	else if (rc == CURLE_TOO_MANY_REDIRECTS)
		snprintf(why, whylen, "more than %d redirects from %s",
			 HTTP_MAX_REDIRECTS, h->c->endpoint);
	else
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
}

enum send_result http_post(struct http *h, const void *body, size_t len,
			   long timeout_ms, long *retry_after_ms, char *why,
			   size_t whylen)
{
	CURLcode rc;
	long code = 0;

	h->resp.len = 0;
	h->retry_after_ms = -1;
	h->location[0] = '\0';
	h->refused[0] = '\0';
	/* what changes between requests, and only that */
	if (timeout_ms != h->timeout_ms) {
		curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
				 timeout_ms);
		h->timeout_ms = timeout_ms;
	}
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)len);
	rc = curl_easy_perform(h->curl);
	atomic_fetch_add(&stats.export_requests, 1);
	*retry_after_ms = h->retry_after_ms;
	if (rc != CURLE_OK) {
		redirect_failed(h, rc, why, whylen);
		/*
		 * TLS setup and URL errors, a redirect loop or one to a
		 * scheme not allowed, will not heal by retrying.
		 */
		switch (rc) {
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_TOO_MANY_REDIRECTS:
		case CURLE_ABORTED_BY_CALLBACK:	/* on_prereq() */
			return SEND_FAIL;
		default:
			return SEND_RETRY;
		}
	}
	redirected(h);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
	snprintf(why, whylen, "HTTP %ld", code);
	if (code >= 200 && code < 300) {
		/* a partial success: logged, never retried (partial.c) */
		partial_success_check(h->c->protocol == PROTO_HTTP_JSON,
				      h->resp.data, h->resp.len);
		return SEND_OK;
	}
	if (code == 429 || code == 502 || code == 503 || code == 504)
		return SEND_RETRY;
	if (code == 413)
		return SEND_TOO_BIG;
	return SEND_FAIL;
}
