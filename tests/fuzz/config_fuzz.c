// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target "config": oteld's configuration, from the environment and
 * the command line (config.c: endpoint URLs, headers with percent-decoding,
 * numbers, protocol and flags), then what is built from it: the resource
 * (resource.c: OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME), the exporter's
 * libcurl handle (http.c, or grpc.c and its endpoint rules), and one span
 * encoded with that resource (protobuf and JSON).
 *
 * Input: NUL-separated tokens.  A token whose first byte is N, 1 to
 * NR_ENV, sets environment variable env[N - 1] (below) to the rest of the
 * token; a first byte of ENV_RAW makes the rest a NAME=VALUE to set; any
 * other token is the next command-line argument.
 *
 * Promises checked: no memory error or undefined behaviour; config_load()
 * returns 0, 1 (help, version) or -1; on 0 the endpoint is an http:// or
 * https:// URL and the batch fits the queue; resource keys are unique;
 * the encoded requests decode (protobuf) and are valid JSON in UTF-8.
 */
#include <curl/curl.h>
#include <getopt.h>

#include "fuzz.h"
#include "grpc.h"
#include "oteld.h"
#include "trace_service.pb-c.h"

#define ENV_RAW	0x1f
#define MAX_ARGS 64

/* config.c's variables, as docs/oteld.md lists them */
static const char *const env[] = {
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
	"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_INSECURE",
	"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES", "OTEL_BSP_SCHEDULE_DELAY",
	"OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	"OTEL_BSP_EXPORT_TIMEOUT", "OTEL_SDK_DISABLED",
	"OTELD_EXPORT_CONCURRENCY",
};
#define NR_ENV (sizeof(env) / sizeof(env[0]))

/* Every OTEL_* and OTELD_* variable the machine that fuzzes has. */
static void clean_env(void)
{
	extern char **environ;
	size_t i;

	for (i = 0; environ && environ[i];) {
		char name[256];
		size_t len = strcspn(environ[i], "=");

		if (len < sizeof(name) &&
		    ((len > 5 && !strncmp(environ[i], "OTEL_", 5)) ||
		     (len > 6 && !strncmp(environ[i], "OTELD_", 6)))) {
			snprintf(name, sizeof(name), "%.*s", (int)len,
				 environ[i]);
			unsetenv(name);
			continue;
		}
		i++;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	clean_env();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static void check_resource(const struct resource *r)
{
	size_t i, j;

	for (i = 0; i < r->nr; i++) {
		if (!r->attrs[i].key || !r->attrs[i].str)
			fz_fail("resource attribute %zu without key or value",
				i);
		for (j = 0; j < i; j++)
			if (!strcmp(r->attrs[i].key, r->attrs[j].key))
				fz_fail("resource key '%s' twice",
					r->attrs[i].key);
	}
}

/* One span under resource @r, encoded both ways. */
static void encode_one(const struct resource *r)
{
	typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
		Request;
	struct span s = { .name = "s", .scope_name = "fz",
			  .scope_version = "", .alloc = SPAN_PARTS,
			  .start = 1, .end = 2 };
	struct span *v[1] = { &s };
	struct buf b = { 0 };
	Request *req;

	s.trace_id[0] = 1;
	s.span_id[0] = 1;
	if (otlp_proto_encode(v, 1, r, &b))
		fz_fail("otlp_proto_encode() failed");
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, b.len, b.data);
	if (!req)
		fz_fail("the protobuf request does not decode");
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		req, NULL);
	b.len = 0;
	if (otlp_json_encode(v, 1, r, &b))
		fz_fail("otlp_json_encode() failed");
	if (!fz_json_ok(b.data, b.len))
		fz_fail("the JSON request is not valid JSON in UTF-8");
	buf_free(&b);
}

static void built(const struct config *c)
{
	struct resource r;

	if (strncmp(c->endpoint, "http://", 7) &&
	    strncmp(c->endpoint, "https://", 8))
		fz_fail("endpoint '%s' is not an http(s) URL", c->endpoint);
	if (c->max_batch > c->max_queue)
		fz_fail("batch %ld > queue %ld", c->max_batch, c->max_queue);
	if (c->protocol == PROTO_GRPC) {
		struct grpc *g = grpc_new(c);

		grpc_free(g);
	} else {
		struct http *h = http_new(c);

		http_free(h);
	}
	if (resource_build(&r, c))
		return;
	check_resource(&r);
	encode_one(&r);
	resource_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	char *argv[MAX_ARGS + 2], *tok;
	char name[] = "oteld";
	struct config c;
	int argc = 1, ret;
	size_t i;

	argv[0] = name;
	while ((tok = fz_token(&in))) {
		unsigned char sel = (unsigned char)tok[0];

		if (sel && sel <= NR_ENV) {
			fz_env_set(env[sel - 1], tok + 1, 1);
			free(tok);
		} else if (sel == ENV_RAW) {
			char *eq = strchr(tok + 1, '=');

			if (eq && eq > tok + 1) {
				*eq = '\0';
				fz_env_set(tok + 1, eq + 1, 1);
			}
			free(tok);
		} else if (argc <= MAX_ARGS) {
			argv[argc++] = tok;
		} else {
			free(tok);
		}
	}
	argv[argc] = NULL;
	log_verbose = 0;
	fz_getopt_reset();
	ret = config_load(&c, argc, argv);
	if (ret != 0 && ret != 1 && ret != -1)
		fz_fail("config_load() returned %d", ret);
	if (!ret)
		built(&c);
	config_free(&c);
	for (i = 1; i < (size_t)argc; i++)
		free(argv[i]);
	fz_env_clear();
	return 0;
}
