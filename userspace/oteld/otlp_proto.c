// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP protobuf encoding: build an ExportTraceServiceRequest with the
 * protobuf-c structures generated from userspace/proto/, pack it.  Every
 * structure of one request comes from one arena.
 */
#include <string.h>

#include "otlp.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event Event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link Link;
typedef Opentelemetry__Proto__Trace__V1__Status Status;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
	Request;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse
	Response;

static KeyValue *make_kv(struct arena *ar, const struct attr *a)
{
	KeyValue *kv = ARENA_NEW(ar, KeyValue);
	AnyValue *v = ARENA_NEW(ar, AnyValue);

	if (!kv || !v)
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = a->key;
	kv->value = v;
	switch (a->type) {
	case OTEL_ATTR_STRING:
		v->value_case =
			OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = a->str;
		break;
	case OTEL_ATTR_BOOL:
		v->value_case =
			OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = !!a->i;
		break;
	case OTEL_ATTR_INT:
		v->value_case =
			OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = a->i;
		break;
	default:
		v->value_case =
			OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		v->double_value = a->d;
		break;
	}
	return kv;
}

/* The attributes of @s aimed at @target (span, event index or link). */
static int make_attrs(struct arena *ar, const struct span *s,
		      uint16_t target, KeyValue ***out, size_t *n)
{
	size_t i, k = 0;

	*out = ARENA_ARRAY(ar, KeyValue *, s->nr_attrs + 1);
	if (!*out)
		return -1;
	for (i = 0; i < s->nr_attrs; i++) {
		if (s->attrs[i].target != target)
			continue;
		(*out)[k] = make_kv(ar, &s->attrs[i]);
		if (!(*out)[k++])
			return -1;
	}
	*n = k;
	return 0;
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b = { n, (uint8_t *)p };

	return b;
}

static Span *make_span(struct arena *ar, const struct span *s)
{
	static const uint8_t zero[OTEL_SPAN_ID_SIZE];
	Span *m = ARENA_NEW(ar, Span);
	Status *st = ARENA_NEW(ar, Status);
	size_t i;

	if (!m || !st)
		return NULL;
	opentelemetry__proto__trace__v1__span__init(m);
	opentelemetry__proto__trace__v1__status__init(st);
	m->trace_id = bin(s->trace_id, sizeof(s->trace_id));
	m->span_id = bin(s->span_id, sizeof(s->span_id));
	if (memcmp(s->parent_span_id, zero, sizeof(zero)))
		m->parent_span_id = bin(s->parent_span_id,
					sizeof(s->parent_span_id));
	m->flags = span_flags(s);
	m->name = s->name;
	m->kind = s->kind;
	m->start_time_unix_nano = s->start;
	m->end_time_unix_nano = s->end;
	if (make_attrs(ar, s, OTEL_ATTR_TARGET_SPAN, &m->attributes,
		       &m->n_attributes))
		return NULL;
	m->dropped_attributes_count = s->dropped_attrs;
	m->dropped_events_count = s->dropped_events;
	m->dropped_links_count = s->dropped_links;
	if (s->status_message)
		st->message = s->status_message;
	st->code = s->status_code;
	m->status = st;

	m->events = ARENA_ARRAY(ar, Event *, s->nr_events + 1);
	m->links = ARENA_ARRAY(ar, Link *, s->nr_links + 1);
	if (!m->events || !m->links)
		return NULL;
	for (i = 0; i < s->nr_events; i++) {
		Event *e = ARENA_NEW(ar, Event);

		if (!e)
			return NULL;
		opentelemetry__proto__trace__v1__span__event__init(e);
		e->time_unix_nano = s->events[i].time;
		e->name = s->events[i].name;
		if (make_attrs(ar, s, s->events[i].index, &e->attributes,
			       &e->n_attributes))
			return NULL;
		m->events[m->n_events++] = e;
	}
	for (i = 0; i < s->nr_links; i++) {
		Link *l = ARENA_NEW(ar, Link);

		if (!l)
			return NULL;
		opentelemetry__proto__trace__v1__span__link__init(l);
		l->trace_id = bin(s->links[i].trace_id, OTEL_TRACE_ID_SIZE);
		l->span_id = bin(s->links[i].span_id, OTEL_SPAN_ID_SIZE);
		l->flags = s->links[i].trace_flags | 0x100;
		if (make_attrs(ar, s,
			       OTEL_ATTR_TARGET_LINK | s->links[i].index,
			       &l->attributes, &l->n_attributes))
			return NULL;
		m->links[m->n_links++] = l;
	}
	return m;
}

static Resource *make_resource(struct arena *ar, const struct resource *r)
{
	Resource *m = ARENA_NEW(ar, Resource);
	size_t i;

	if (!m)
		return NULL;
	opentelemetry__proto__resource__v1__resource__init(m);
	m->attributes = ARENA_ARRAY(ar, KeyValue *, r->nr + 1);
	if (!m->attributes)
		return NULL;
	for (i = 0; i < r->nr; i++) {
		m->attributes[i] = make_kv(ar, &r->attrs[i]);
		if (!m->attributes[i])
			return NULL;
	}
	m->n_attributes = r->nr;
	return m;
}

static int build(struct arena *ar, struct span *const *spans, size_t n,
		 const struct resource *r, Request *req)
{
	ResourceSpans *rs = ARENA_NEW(ar, ResourceSpans);
	struct scope_group *g;
	size_t ng, i, j;

	if (!rs || group_by_scope(spans, n, ar, &g, &ng))
		return -1;
	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	rs->resource = make_resource(ar, r);
	rs->scope_spans = ARENA_ARRAY(ar, ScopeSpans *, ng + 1);
	if (!rs->resource || !rs->scope_spans)
		return -1;
	for (i = 0; i < ng; i++) {
		ScopeSpans *ss = ARENA_NEW(ar, ScopeSpans);
		Scope *sc = ARENA_NEW(ar, Scope);

		if (!ss || !sc)
			return -1;
		opentelemetry__proto__trace__v1__scope_spans__init(ss);
		opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
		sc->name = (char *)g[i].name;
		sc->version = (char *)g[i].version;
		ss->scope = sc;
		ss->spans = ARENA_ARRAY(ar, Span *, g[i].n);
		if (!ss->spans)
			return -1;
		for (j = 0; j < g[i].n; j++) {
			ss->spans[j] = make_span(ar, g[i].spans[j]);
			if (!ss->spans[j])
				return -1;
		}
		ss->n_spans = g[i].n;
		rs->scope_spans[rs->n_scope_spans++] = ss;
	}
	req->resource_spans = ARENA_ARRAY(ar, ResourceSpans *, 1);
	if (!req->resource_spans)
		return -1;
	req->resource_spans[0] = rs;
	req->n_resource_spans = 1;
	return 0;
}

int otlp_proto_encode(struct span *const *spans, size_t n,
		      const struct resource *r, struct buf *out)
{
	Request req =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	struct arena ar = { 0 };
	size_t len;
	int ret = -1;

	if (build(&ar, spans, n, r, &req))
		goto out;
	len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
	if (buf_reserve(out, len))
		goto out;
	out->len += opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, out->data + out->len);
	ret = 0;
out:
	arena_free(&ar);
	return ret;
}

long long otlp_proto_rejected(const void *body, size_t len, char *msg,
			      size_t msglen)
{
	Response *r;
	long long n = -1;

	r = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, len, body);
	if (!r)
		return -1;
	if (r->partial_success) {
		n = r->partial_success->rejected_spans;
		snprintf(msg, msglen, "%s", r->partial_success->error_message);
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r, NULL);
	return n;
}
