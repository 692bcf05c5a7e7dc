// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration: defaults, then the OpenTelemetry environment variables
 * (signal-specific OTEL_EXPORTER_OTLP_TRACES_* over OTEL_EXPORTER_OTLP_*),
 * then command-line flags, which win.  Every value is checked; a bad one is
 * reported with where it came from, and oteld exits 2.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grpc.h"
#include "oteld.h"

enum setting {
	S_ENDPOINT, S_TRACES_ENDPOINT, S_PROTOCOL, S_HEADERS, S_COMPRESSION,
	S_TIMEOUT, S_CERTIFICATE, S_CLIENT_KEY, S_CLIENT_CERT, S_INSECURE, S_SERVICE,
	S_RESOURCE, S_DELAY, S_QUEUE, S_BATCH, S_EXPORT_TIMEOUT, S_DISABLED,
	S_DEVICE, S_INPUT, S_CAPTURE, S_USER, S_STATS_FILE, S_STATS_INTERVAL,
	S_MAX_OPEN, S_SPAN_TIMEOUT, S_GRACE, S_MAX_BYTES, S_RETRY_INITIAL,
	S_RETRY_MAX, S_EXPORTERS,
	S_QUEUE_DIR, S_QUEUE_MAX_BYTES, S_QUEUE_SYNC,
	NR_SETTINGS
};

struct setting_desc {
	const char *flag, *env, *traces_env, *def, *help;
};

static const struct setting_desc desc[NR_SETTINGS] = {
	[S_ENDPOINT] = { "endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", NULL,
		"http://localhost:4318", "base URL + /v1/traces (grpc: as is, "
		"http://localhost:4317)" },
	[S_TRACES_ENDPOINT] = { "traces-endpoint", NULL,
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", NULL,
		"full URL, used as is" },
	[S_PROTOCOL] = { "protocol", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf",
		"http/protobuf, http/json or grpc" },
	[S_HEADERS] = { "headers", "OTEL_EXPORTER_OTLP_HEADERS",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "",
		"k1=v1,k2=v2 (values percent-decoded)" },
	[S_COMPRESSION] = { "compression", "OTEL_EXPORTER_OTLP_COMPRESSION",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none",
		"gzip or none" },
	[S_TIMEOUT] = { "timeout", "OTEL_EXPORTER_OTLP_TIMEOUT",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10000",
		"ms per HTTP request or gRPC call" },
	[S_CERTIFICATE] = { "certificate", "OTEL_EXPORTER_OTLP_CERTIFICATE",
		"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", NULL,
		"CA bundle (PEM) to verify the server" },
	[S_CLIENT_KEY] = { "client-key", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
		"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", NULL,
		"client private key (PEM) for mTLS" },
	[S_CLIENT_CERT] = { "client-certificate",
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
		"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", NULL,
		"client certificate (PEM) for mTLS" },
	[S_INSECURE] = { "insecure", "OTEL_EXPORTER_OTLP_INSECURE",
		"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "false",
		"grpc, endpoint host:port without a scheme: true for "
		"plaintext (h2c), else TLS" },
	[S_SERVICE] = { "service-name", "OTEL_SERVICE_NAME", NULL, NULL,
		"service.name (default unknown_service:oteld)" },
	[S_RESOURCE] = { "resource-attributes", "OTEL_RESOURCE_ATTRIBUTES",
		NULL, "", "k1=v1,k2=v2 resource attributes" },
	[S_DELAY] = { "schedule-delay", "OTEL_BSP_SCHEDULE_DELAY", NULL,
		"5000", "ms between two exports" },
	[S_QUEUE] = { "max-queue-size", "OTEL_BSP_MAX_QUEUE_SIZE", NULL,
		"2048", "spans waiting for export; more are dropped" },
	[S_BATCH] = { "max-export-batch-size",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", NULL, "512",
		"spans per request (<= max queue size); unset: up to the "
		"queue's size when more wait" },
	[S_EXPORT_TIMEOUT] = { "export-timeout", "OTEL_BSP_EXPORT_TIMEOUT",
		NULL, "30000", "ms for one batch, retries included" },
	[S_DISABLED] = { "disabled", "OTEL_SDK_DISABLED", NULL, "false",
		"true: export nothing, exit at once" },
	[S_DEVICE] = { "device", NULL, NULL, "/dev/" OTEL_DEVICE_NAME,
		"the oteltrace device" },
	[S_INPUT] = { "input", NULL, NULL, NULL,
		"replay a capture file instead of the device" },
	[S_CAPTURE] = { "capture", NULL, NULL, NULL,
		"write the raw records read to a capture file" },
	[S_USER] = { "user", NULL, NULL, NULL,
		"drop to this user after opening the device" },
	[S_STATS_FILE] = { "stats-file", NULL, NULL, NULL,
		"write the counters as JSON here (periodic and at exit)" },
	[S_STATS_INTERVAL] = { "stats-interval", NULL, NULL, "60000",
		"ms between two counter reports" },
	[S_MAX_OPEN] = { "max-open-spans", NULL, NULL, "65536",
		"spans being assembled; the oldest is exported when full" },
	[S_SPAN_TIMEOUT] = { "span-timeout", NULL, NULL, "60000",
		"ms before an unended span is exported incomplete" },
	[S_GRACE] = { "grace", NULL, NULL, "1000",
		"ms to wait for records of an ended span from other CPUs" },
	[S_MAX_BYTES] = { "max-request-bytes", NULL, NULL, "4194304",
		"largest request body before compression; larger is split" },
	[S_RETRY_INITIAL] = { "retry-initial", NULL, NULL, "1000",
		"ms before the first retry" },
	[S_RETRY_MAX] = { "retry-max", NULL, NULL, "30000",
		"ms at most between two retries" },
	[S_EXPORTERS] = { "exporters", "OTELD_EXPORT_CONCURRENCY", NULL, "4",
		"export requests in flight at once (one thread each)" },
	[S_QUEUE_DIR] = { "queue-dir", "OTELD_QUEUE_DIR", NULL, NULL,
		"keep the export queue in this directory: kept across "
		"restarts, retried until delivered" },
	[S_QUEUE_MAX_BYTES] = { "queue-max-bytes", "OTELD_QUEUE_MAX_BYTES",
		NULL, "268435456", "bytes the queue dir may hold; more is "
		"dropped" },
	[S_QUEUE_SYNC] = { "queue-sync", "OTELD_QUEUE_SYNC", NULL, "file",
		"file: fsync each request written to the queue dir; none" },
};

static void usage(FILE *f)
{
	int i;

	fprintf(f,
		"usage: oteld [OPTIONS]\n"
		"Relay oteltrace kernel spans to an OTLP/HTTP or OTLP/gRPC "
		"endpoint.\n\n"
		"Each option overrides its environment variable.\n");
	for (i = 0; i < NR_SETTINGS; i++) {
		const struct setting_desc *d = &desc[i];

		fprintf(f, "  --%-24s %s", d->flag, d->help);
		if (d->def && *d->def)
			fprintf(f, " [%s]", d->def);
		fputc('\n', f);
		if (d->traces_env)
			fprintf(f, "  %28s%s\n", "", d->traces_env);
		if (d->env)
			fprintf(f, "  %28s%s\n", "", d->env);
	}
	fprintf(f,
		"  --%-24s console exporter: one tree per trace on stdout\n"
		"  --%-24s read and assemble, export nothing\n"
		"  --%-24s with --input, drop spans when the queue is full, as\n"
		"  %-26s live reading does (default: the replay waits)\n"
		"  --%-24s more log\n"
		"  --%-24s this help\n"
		"  --%-24s the version\n"
		"Exit status: 0 success (drops are counted), 1 run-time "
		"failure (device,\n  input or capture file), 2 bad usage or "
		"configuration, 3 internal error\n  (out of memory, a thread "
		"that cannot start).\n",
		"stdout", "no-export", "replay-drop", "", "verbose", "help",
		"version");
}

static int bad(const char *src, const char *val, const char *why)
{
	fprintf(stderr, "oteld: %s: invalid value '%s': %s\n", src, val, why);
	return -1;
}

static int parse_long(const char *src, const char *val, long min, long max,
		      long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	/* the whole value: no space or sign before, nothing after */
	if (errno || end == val || *end || v < min || v > max ||
	    !(isdigit((unsigned char)*val) || *val == '-')) {
		char why[96];

		snprintf(why, sizeof(why), "expected an integer %ld..%ld",
			 min, max);
		return bad(src, val, why);
	}
	*out = v;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

char *percent_decode_n(const char *s, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	if (outlen)
		*outlen = o - out;
	return out;
}

char *percent_decode(const char *s, size_t len)
{
	return percent_decode_n(s, len, NULL);
}

/* RFC 9110 token characters: a header name */
static bool tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * One header, @key and its percent-decoded @val (@vlen bytes, a NUL in it
 * counts): 0, or -1 with @why.  Every protocol: the name is a token, the
 * value has no CR, LF or NUL (libcurl would cut it or split the request).
 * gRPC (metadata, PROTOCOL-HTTP2.md): the lowercased name is
 * [0-9a-z_.-]+, not one the transport sets (te, content-type, user-agent,
 * host, grpc-*, HTTP/2's connection-specific ones); a value is printable
 * ASCII, or, for a name ending in -bin, base64.
 */
static int check_header(const char *key, const char *val, size_t vlen,
			bool grpc, char *why, size_t whylen)
{
	static const char *const reserved[] = {
		"te", "content-type", "user-agent", "host", "content-length",
		"connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "upgrade",
	};
	size_t i, klen = strlen(key);

	if (!klen) {
		snprintf(why, whylen, "a header without a name");
		return -1;
	}
	for (i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)key[i]);

		if (grpc ? !(isdigit(c) || (c >= 'a' && c <= 'z') ||
			     c == '_' || c == '.' || c == '-') : !tchar(c)) {
			snprintf(why, whylen, "header name '%.64s': character "
				 "0x%02x not allowed%s", key, c, grpc ?
				 " (gRPC metadata names are [0-9a-z_.-])" :
				 "");
			return -1;
		}
	}
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c == '\0' || c == '\r' || c == '\n') {
			snprintf(why, whylen, "header '%.64s': the value has "
				 "a %s (after percent-decoding)", key,
				 c ? "CR or LF" : "NUL (%00)");
			return -1;
		}
	}
	if (!grpc)
		return 0;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcasecmp(key, reserved[i]))
			break;
	if (i < sizeof(reserved) / sizeof(reserved[0]) ||
	    !strncasecmp(key, "grpc-", 5)) {
		snprintf(why, whylen, "header '%.64s': reserved, oteld's gRPC "
			 "transport sets it (te, content-type, user-agent, "
			 "host, grpc-*)", key);
		return -1;
	}
	if (klen > 4 && !strcasecmp(key + klen - 4, "-bin")) {
		uint8_t *bin = malloc(vlen + 1);
		long n = bin ? grpc_base64_decode(val, vlen, bin, vlen + 1) : -1;

		free(bin);
		if (n < 0) {
			snprintf(why, whylen, "header '%.64s': a -bin value "
				 "must be base64", key);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < vlen; i++)
		if ((unsigned char)val[i] < 0x20 ||
		    (unsigned char)val[i] > 0x7e) {
			snprintf(why, whylen, "header '%.64s': byte 0x%02x in "
				 "the value (gRPC metadata values are printable "
				 "ASCII; binary ones go in a -bin header)", key,
				 (unsigned char)val[i]);
			return -1;
		}
	return 0;
}

/*
 * "k1=v1,k2=v2" to an array of "k1: v1" (for libcurl), each header checked
 * for @grpc or HTTP (check_header()).  0, or -1 with @why (which names the
 * header, never its value: it may be a credential).
 */
int parse_headers(const char *s, bool grpc, char ***out, size_t *n,
		  char *why, size_t whylen)
{
	char *copy = strdup(s), *save = NULL, *tok;
	char **v = NULL;
	size_t k = 0;

	snprintf(why, whylen, "out of memory");
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *key, *val, **nv;
		size_t len, vlen;

		if (!eq) {
			snprintf(why, whylen, "expected key=value,key=value");
			goto err;
		}
		*eq = '\0';
		key = trim(tok);
		val = percent_decode_n(trim(eq + 1), strlen(trim(eq + 1)),
				       &vlen);
		if (!val) {
			snprintf(why, whylen, "out of memory");
			goto err;
		}
		if (check_header(key, val, vlen, grpc, why, whylen)) {
			free(val);
			goto err;
		}
		nv = realloc(v, (k + 1) * sizeof(*v));
		len = strlen(key) + vlen + 3;
		if (!nv) {
			free(val);
			goto err;
		}
		v = nv;
		v[k] = malloc(len);
		if (!v[k]) {
			free(val);
			goto err;
		}
		snprintf(v[k++], len, "%s: %s", key, val);
		free(val);
	}
	free(copy);
	*out = v;
	*n = k;
	return 0;
err:
	while (k)
		free(v[--k]);
	free(v);
	free(copy);
	return -1;
}

/* OTEL_RESOURCE_ATTRIBUTES parses (resource.c says how). */
static int check_resource(const char *src, const char *val)
{
	struct resource r = { 0 };
	char why[128];
	int ret = 0;

	if (val && *val && resource_parse(&r, val, why, sizeof(why)))
		ret = bad(src, val, why);
	resource_free(&r);
	return ret;
}

/* A file option names a file oteld can read, now (libcurl reads it later). */
static int check_readable(const char *src, const char *path)
{
	FILE *f;

	if (!path || !*path)
		return 0;
	f = fopen(path, "r");
	if (!f)
		return bad(src, path, strerror(errno));
	fclose(f);
	return 0;
}

int config_files_readable(const struct config *c, const char *who)
{
	const char *files[] = { c->ca_file, c->client_key, c->client_cert };
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = files[i] ? fopen(files[i], "r") : NULL;

		if (files[i] && !f) {
			fprintf(stderr, "oteld: %s cannot read %s: %s\n", who,
				files[i], strerror(errno));
			return -1;
		}
		if (f)
			fclose(f);
	}
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* --queue-dir and its settings (spool.c): an OTLP exporter's queue. */
static int apply_queue_dir(struct config *c, const char **val,
			   const char **src)
{
	const char *sync = val[S_QUEUE_SYNC];

	if (parse_long(src[S_QUEUE_MAX_BYTES], val[S_QUEUE_MAX_BYTES], 4096,
		       LONG_MAX, &c->queue_max_bytes))
		return -1;
	if (!strcmp(sync, "file"))
		c->queue_sync = true;
	else if (strcmp(sync, "none"))
		return bad(src[S_QUEUE_SYNC], sync, "expected file or none");
	c->queue_dir = dup_or_null(val[S_QUEUE_DIR]);
	if (c->queue_dir && (c->console || c->no_export))
		return bad(src[S_QUEUE_DIR], c->queue_dir, c->console ?
			   "--stdout has no export queue" :
			   "--no-export has no export queue");
	return 0;
}

static int apply(struct config *c, const char **val, const char **src)
{
	bool traces_ep = val[S_TRACES_ENDPOINT] != NULL;
	const char *ep = traces_ep ? val[S_TRACES_ENDPOINT] : val[S_ENDPOINT];
	const char *ep_src = traces_ep ? src[S_TRACES_ENDPOINT] :
					 src[S_ENDPOINT];
	const char *p = val[S_PROTOCOL], *z = val[S_COMPRESSION];
	const char *d = val[S_DISABLED], *ins = val[S_INSECURE];
	char why[256];

	if (!strcmp(p, "http/protobuf"))
		c->protocol = PROTO_HTTP_PROTOBUF;
	else if (!strcmp(p, "http/json"))
		c->protocol = PROTO_HTTP_JSON;
	else if (!strcmp(p, "grpc"))
		c->protocol = PROTO_GRPC;
	else
		return bad(src[S_PROTOCOL], p,
			   "expected http/protobuf, http/json or grpc");
	if (*ins && strcasecmp(ins, "true") && strcasecmp(ins, "false"))
		fprintf(stderr, "oteld: %s: '%s' is not true or false; "
			"taken as false\n", src[S_INSECURE], ins);
	if (c->protocol == PROTO_GRPC) {
		/* the endpoint as is, the method's path added; port 4317 */
		if (!strcmp(ep_src, "default"))
			ep = GRPC_DEFAULT_ENDPOINT;
		if (grpc_endpoint(ep, !strcasecmp(ins, "true"), &c->endpoint,
				  why, sizeof(why)))
			return bad(ep_src, ep, why);
	} else if (http_endpoint(ep, !traces_ep, &c->endpoint, why,
				 sizeof(why))) {
		/* base URL + v1/traces, query kept (endpoint.c) */
		return bad(ep_src, ep, why);
	}
	if (!strcmp(z, "gzip"))
		c->gzip = true;
	else if (strcmp(z, "none") && *z)
		return bad(src[S_COMPRESSION], z, "expected gzip or none");
	if (parse_headers(val[S_HEADERS], c->protocol == PROTO_GRPC,
			  &c->headers, &c->nr_headers, why, sizeof(why))) {
		/* the value is not echoed: it may hold a credential */
		fprintf(stderr, "oteld: %s: invalid value: %s\n",
			src[S_HEADERS], why);
		return -1;
	}
	if (!strcasecmp(d, "true"))
		c->disabled = true;
	else if (*d && strcasecmp(d, "false"))
		fprintf(stderr, "oteld: %s: '%s' is not true or false; "
			"taken as false\n", src[S_DISABLED], d);
	if (parse_long(src[S_TIMEOUT], val[S_TIMEOUT], 1, 3600000,
		       &c->timeout_ms) ||
	    parse_long(src[S_DELAY], val[S_DELAY], 0, 3600000,
		       &c->schedule_delay_ms) ||
	    parse_long(src[S_QUEUE], val[S_QUEUE], 1, 10000000,
		       &c->max_queue) ||
	    parse_long(src[S_BATCH], val[S_BATCH], 1, 10000000,
		       &c->max_batch) ||
	    parse_long(src[S_EXPORT_TIMEOUT], val[S_EXPORT_TIMEOUT], 1,
		       3600000, &c->export_timeout_ms) ||
	    parse_long(src[S_STATS_INTERVAL], val[S_STATS_INTERVAL], 100,
		       86400000, &c->stats_interval_ms) ||
	    parse_long(src[S_MAX_OPEN], val[S_MAX_OPEN], 1, 10000000,
		       &c->max_open_spans) ||
	    parse_long(src[S_SPAN_TIMEOUT], val[S_SPAN_TIMEOUT], 1, 86400000,
		       &c->span_timeout_ms) ||
	    parse_long(src[S_GRACE], val[S_GRACE], 0, 3600000,
		       &c->grace_ms) ||
	    parse_long(src[S_MAX_BYTES], val[S_MAX_BYTES], 4096,
		       64L << 20, &c->max_request_bytes) ||
	    parse_long(src[S_RETRY_INITIAL], val[S_RETRY_INITIAL], 1,
		       3600000, &c->retry_initial_ms) ||
	    parse_long(src[S_RETRY_MAX], val[S_RETRY_MAX], 1, 3600000,
		       &c->retry_max_ms) ||
	    parse_long(src[S_EXPORTERS], val[S_EXPORTERS], 1, 64,
		       &c->exporters))
		return -1;
	/* a default batch size follows a smaller configured queue */
	if (c->max_batch > c->max_queue && !strcmp(src[S_BATCH], "default"))
		c->max_batch = c->max_queue;
	if (c->max_batch > c->max_queue) {
		char v[32];

		snprintf(v, sizeof(v), "%ld", c->max_batch);
		return bad(src[S_BATCH], v,
			   "must not exceed the max queue size");
	}
	if (c->retry_initial_ms > c->retry_max_ms) {
		char v[32];

		snprintf(v, sizeof(v), "%ld", c->retry_initial_ms);
		return bad(src[S_RETRY_INITIAL], v,
			   "must not exceed --retry-max");
	}
	if (check_resource(src[S_RESOURCE], val[S_RESOURCE]) ||
	    check_readable(src[S_CERTIFICATE], val[S_CERTIFICATE]) ||
	    check_readable(src[S_CLIENT_KEY], val[S_CLIENT_KEY]) ||
	    check_readable(src[S_CLIENT_CERT], val[S_CLIENT_CERT]))
		return -1;
	/*
	 * Under load, fewer and larger requests: by default a batch takes
	 * whatever waits, up to the queue's size (DEEP_BATCH_MAX at most);
	 * a configured batch size is a hard maximum.
	 */
	c->max_batch_deep = c->max_batch;
	if (!strcmp(src[S_BATCH], "default"))
		c->max_batch_deep = c->max_queue < DEEP_BATCH_MAX ?
				    c->max_queue : DEEP_BATCH_MAX;
	if (c->max_batch_deep < c->max_batch)
		c->max_batch_deep = c->max_batch;
	if (!!val[S_CLIENT_KEY] != !!val[S_CLIENT_CERT])
		return bad(val[S_CLIENT_KEY] ? src[S_CLIENT_KEY] :
		src[S_CLIENT_CERT], val[S_CLIENT_KEY] ? val[S_CLIENT_KEY] :
		val[S_CLIENT_CERT],
			   "client key and certificate go together");
	c->ca_file = dup_or_null(val[S_CERTIFICATE]);
	c->client_key = dup_or_null(val[S_CLIENT_KEY]);
	c->client_cert = dup_or_null(val[S_CLIENT_CERT]);
	c->service_name = dup_or_null(val[S_SERVICE]);
	c->resource_attrs = dup_or_null(val[S_RESOURCE]);
	c->device = dup_or_null(val[S_DEVICE]);
	c->input = dup_or_null(val[S_INPUT]);
	c->capture = dup_or_null(val[S_CAPTURE]);
	c->user = dup_or_null(val[S_USER]);
	c->stats_file = dup_or_null(val[S_STATS_FILE]);
	if (apply_queue_dir(c, val, src))
		return -1;
	return c->endpoint ? 0 : -1;
}

enum { OPT_STDOUT = 1000, OPT_NO_EXPORT, OPT_REPLAY_DROP, OPT_HELP, OPT_VERSION };

int config_load(struct config *c, int argc, char **argv)
{
	static char flag_src[NR_SETTINGS][40];
	struct option opts[NR_SETTINGS + 7];
	const char *val[NR_SETTINGS], *src[NR_SETTINGS];
	int i, o;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NR_SETTINGS; i++) {
		const char *e;

		val[i] = desc[i].def;
		src[i] = "default";
		if (desc[i].env) {
			e = getenv(desc[i].env);
			if (e && *e) {
				val[i] = e;
				src[i] = desc[i].env;
			}
		}
		if (desc[i].traces_env) {
			e = getenv(desc[i].traces_env);
			if (e && *e) {
				val[i] = e;
				src[i] = desc[i].traces_env;
			}
		}
		opts[i] = (struct option){ desc[i].flag, required_argument,
					   NULL, i };
	}
	opts[i++] = (struct option){ "stdout", no_argument, NULL, OPT_STDOUT };
	opts[i++] = (struct option){ "no-export", no_argument, NULL,
				     OPT_NO_EXPORT };
	opts[i++] = (struct option){ "replay-drop", no_argument, NULL,
				     OPT_REPLAY_DROP };
	opts[i++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	opts[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[i++] = (struct option){ "version", no_argument, NULL,
				     OPT_VERSION };
	opts[i] = (struct option){ 0 };
	optind = 1;
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (o >= 0 && o < NR_SETTINGS) {
			val[o] = optarg;
			snprintf(flag_src[o], sizeof(flag_src[o]), "--%s",
				 desc[o].flag);
			src[o] = flag_src[o];
			/* --endpoint beats OTEL_EXPORTER_OTLP_TRACES_ENDPOINT */
			if (o == S_ENDPOINT && src[S_TRACES_ENDPOINT][0] != '-')
				val[S_TRACES_ENDPOINT] = NULL;
			continue;
		}
		switch (o) {
		case OPT_STDOUT:
			c->console = true;
			break;
		case OPT_NO_EXPORT:
			c->no_export = true;
			break;
		case OPT_REPLAY_DROP:
			c->replay_drop = true;
			break;
		case 'v':
			log_verbose++;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("oteld %s (ABI %d)\n", OTELD_VERSION,
			       OTEL_ABI_VERSION);
			return 1;
		default:
			fprintf(stderr, "Try 'oteld --help'.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "oteld: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	return apply(c, val, src);
}

void config_free(struct config *c)
{
	size_t i;

	for (i = 0; i < c->nr_headers; i++)
		free(c->headers[i]);
	free(c->headers);
	free(c->endpoint);
	free(c->ca_file);
	free(c->client_key);
	free(c->client_cert);
	free(c->service_name);
	free(c->resource_attrs);
	free(c->device);
	free(c->input);
	free(c->capture);
	free(c->user);
	free(c->stats_file);
	free(c->queue_dir);
	memset(c, 0, sizeof(*c));
}
