/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OTLP/gRPC: TraceService/Export as one unary call over HTTP/2 (libcurl
 * with nghttp2), no RPC framework.
 *
 * grpc_wire.c is the pure part, unit-tested alone: the 5-byte message
 * prefix, the reply's headers and trailers (grpc-status, grpc-message,
 * grpc-status-details-bin with its google.rpc.RetryInfo), the mapping of a
 * non-gRPC HTTP answer to a gRPC code, the retry decision of the OTLP spec,
 * the endpoint rules.  grpc.c is the transport (one libcurl handle per
 * exporter thread, as http.c).
 */
#ifndef OTELD_GRPC_H
#define OTELD_GRPC_H

#include "oteld.h"

#define GRPC_EXPORT_PATH \
	"/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define GRPC_PREFIX_LEN 5
#define GRPC_DEFAULT_ENDPOINT "http://localhost:4317"
/* The largest grpc-status-details-bin read (decoded google.rpc.Status). */
#define GRPC_MAX_DETAILS (64u << 10)

/* The status codes of gRPC (grpc/doc/statuscodes.md). */
enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

/* "UNAVAILABLE", ...; "CODE_n" past the known ones. */
const char *grpc_code_name(int code);

/* The length prefix: compressed flag, then @len big-endian. */
void grpc_frame_prefix(uint8_t out[GRPC_PREFIX_LEN], bool compressed,
		       uint32_t len);
/*
 * The first message of a reply body: 0 and *msg, *msglen, *compressed;
 * 1 when the body is empty; -1 when it is cut or malformed.
 */
int grpc_frame_parse(const uint8_t *body, size_t len, bool *compressed,
		     const uint8_t **msg, size_t *msglen);

/* What one reply's headers and trailers said. */
struct grpc_reply {
	long http_status;	/* 0: no status line */
	int status;		/* grpc-status, -1: none */
	bool grpc_type;		/* content-type application/grpc[+...] */
	bool gzip;		/* grpc-encoding: gzip */
	long retry_delay_ms;	/* RetryInfo's retry_delay, -1: none */
	bool details_too_big;	/* grpc-status-details-bin over the cap */
	char message[256];	/* grpc-message, percent-decoded */
};

void grpc_reply_init(struct grpc_reply *r);
/*
 * One header or trailer line as libcurl's header callback passes it
 * ("HTTP/2 200\r\n", "grpc-status: 14\r\n", ...); a status line starts a
 * new reply.
 */
void grpc_reply_line(struct grpc_reply *r, const char *line, size_t len);
/*
 * The call's outcome: grpc-status, or, without one, the code the gRPC spec
 * maps the HTTP answer to (HTTP 200 without grpc-status: UNKNOWN for a body
 * that is not gRPC; UNAVAILABLE, retried, for a gRPC reply cut short, e.g.
 * by RST_STREAM REFUSED_STREAM or CANCEL after the headers).
 */
int grpc_reply_code(const struct grpc_reply *r);

/*
 * The OTLP spec's rule: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 * UNAVAILABLE, DATA_LOSS are retried, RESOURCE_EXHAUSTED only when the
 * server sent RetryInfo; everything else is not.
 */
enum send_result grpc_decide(int code, bool retry_info);

/*
 * google.rpc.Status (grpc-status-details-bin, base64 already decoded): the
 * delay of its google.rpc.RetryInfo detail in ms (capped at a day), or -1.
 */
long grpc_retry_delay(const uint8_t *status, size_t len);

/* Base64, padded or not (gRPC's -bin values): bytes written, or -1. */
long grpc_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap);

/*
 * The endpoint rules for gRPC: "http[s]://host[:port][/]" as is (no path:
 * the path is the method's), or "host:port" without a scheme, plaintext
 * when @insecure (OTEL_EXPORTER_OTLP_INSECURE), TLS otherwise.  *url is the
 * method's full URL (malloc'd).  0, or -1 with @why.
 */
int grpc_endpoint(const char *ep, bool insecure, char **url, char *why,
		  size_t whylen);

/* Metadata: "Key: value" headers with the key lowercased (malloc'd). */
char *grpc_metadata(const char *header);

/*
 * What oteld needs of the libcurl it runs with (version_num, features and
 * version of curl_version_info()): 7.85 or later (CURLOPT_PROTOCOLS_STR),
 * and HTTP/2 (nghttp2) for @protocol grpc.  0, or -1 with @why.
 */
int libcurl_check(enum protocol protocol, unsigned int version_num,
		  int features, const char *version, char *why, size_t whylen);

/* ---- grpc.c: the transport ---- */
struct grpc;

struct grpc *grpc_new(const struct config *c);
void grpc_free(struct grpc *g);
/* As http_post(): one Export call; *retry_after_ms from RetryInfo (or -1). */
enum send_result grpc_post(struct grpc *g, const void *body, size_t len,
			   long timeout_ms, long *retry_after_ms, char *why,
			   size_t whylen);

#endif
