// SPDX-License-Identifier: GPL-2.0
/*
 * What protobuf-c (code generated from userspace/proto/) does for oteld:
 * decode the ExportTraceServiceResponse's partial success.  Requests are
 * written by otlp_wire.c; the unit tests decode them with protobuf-c.
 */
#include <stdio.h>

#include "oteld.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse
	Response;

long long otlp_proto_rejected(const void *body, size_t len, char *msg,
			      size_t msglen)
{
	Response *r;
	long long n = -1;

	r = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, len, body);
	if (!r)
		return -1;
	if (msglen)
		msg[0] = '\0';
	if (r->partial_success) {
		n = r->partial_success->rejected_spans < 0 ? 0 :
		    r->partial_success->rejected_spans;
		snprintf(msg, msglen, "%s",
			 r->partial_success->error_message ?
			 r->partial_success->error_message : "");
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r, NULL);
	return n;
}
