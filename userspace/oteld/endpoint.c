// SPDX-License-Identifier: GPL-2.0
/*
 * The OTLP/HTTP endpoint, checked and joined with libcurl's URL API, once,
 * at start-up: a URL libcurl would refuse at every request (a bad IPv6
 * address, a port past 65535, a space) is a configuration error, not a
 * stream of dropped batches.
 *
 * The OTLP exporter specification, "Endpoint URLs for OTLP/HTTP": the
 * per-signal OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is (an empty
 * path being "/"); OTEL_EXPORTER_OTLP_ENDPOINT is a base URL whose path
 * gets "v1/traces" appended, after a "/" unless it ends with one.  Only the
 * path changes: the query is kept, user info too; the fragment, which is
 * never sent, is dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oteld.h"

#define SIGNAL_PATH "v1/traces"

/* The path with v1/traces appended, or NULL. */
static char *join_path(const char *path)
{
	size_t len = strlen(path);
	bool slash = len && path[len - 1] == '/';
	char *p = malloc(len + sizeof("/" SIGNAL_PATH));

	if (p)
		sprintf(p, "%s%s" SIGNAL_PATH, path, slash ? "" : "/");
	return p;
}

static int check_parts(CURLU *u, char *why, size_t whylen)
{
	char *host = NULL, *port = NULL;
	int ret = -1;

	if (curl_url_get(u, CURLUPART_HOST, &host, 0) || !host || !*host) {
		snprintf(why, whylen, "no host");
		goto out;
	}
	/* libcurl takes 0..65535; a port of 0 reaches nothing */
	if (!curl_url_get(u, CURLUPART_PORT, &port, 0) && port &&
	    !strcmp(port, "0")) {
		snprintf(why, whylen, "port 0: expected a port 1..65535");
		goto out;
	}
	ret = 0;
out:
	curl_free(host);
	curl_free(port);
	return ret;
}

int http_endpoint(const char *url, bool append_signal, char **out,
		  char *why, size_t whylen)
{
	char *path = NULL, *joined = NULL, *full = NULL;
	const char *rest;
	CURLUcode rc;
	CURLU *u;
	int ret = -1;

	*out = NULL;
	if (!strncasecmp(url, "http://", 7))
		rest = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		rest = url + 8;
	else {
		snprintf(why, whylen, "expected an http:// or https:// URL");
		return -1;
	}
	/* libcurl would take "http:///x" as host x */
	if (*rest == '/' || !*rest) {
		snprintf(why, whylen, "no host");
		return -1;
	}
	u = curl_url();
	if (!u) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc) {
		snprintf(why, whylen, "%s", curl_url_strerror(rc));
		goto out;
	}
	if (check_parts(u, why, whylen))
		goto out;
	rc = curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (!rc && append_signal) {
		rc = curl_url_get(u, CURLUPART_PATH, &path, 0);
		joined = rc ? NULL : join_path(path);
		rc = joined ? curl_url_set(u, CURLUPART_PATH, joined, 0) :
			      CURLUE_OUT_OF_MEMORY;
	}
	if (!rc)
		rc = curl_url_get(u, CURLUPART_URL, &full, 0);
	if (rc) {
		snprintf(why, whylen, "%s", curl_url_strerror(rc));
		goto out;
	}
	*out = strdup(full);
	if (!*out) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	curl_free(path);
	curl_free(full);
	free(joined);
	curl_url_cleanup(u);
	return ret;
}
