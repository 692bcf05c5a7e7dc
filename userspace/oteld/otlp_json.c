// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP JSON encoding, per the OTLP/JSON mapping: lowerCamelCase keys, trace
 * and span ids as hex, 64-bit integers as decimal strings, enums as
 * integers.  Strings are escaped and repaired to valid UTF-8 (utf8.c: an
 * ill-formed sequence becomes U+FFFD, a character cut by the end of the
 * string is dropped).
 */
#include <math.h>
#include <string.h>

#include "otlp.h"
#include "utf8.h"

/* A JSON string: escaped, repaired to valid UTF-8 (utf8.c). */
static int put_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t left = strlen((const char *)p), n;
	int ret = buf_put(b, "\"", 1);

	while (left && !ret) {
		n = 1;
		if (*p == '"' || *p == '\\') {
			ret = buf_printf(b, "\\%c", *p);
		} else if (*p < 0x20) {
			ret = buf_printf(b, "\\u%04x", *p);
		} else if (*p < 0x80) {
			ret = buf_put(b, p, 1);
		} else {
			switch (utf8_next(p, left, &n)) {
			case UTF8_OK:
				ret = buf_put(b, p, n);
				break;
			case UTF8_BAD:
				ret = buf_put(b, "\\ufffd", 6);
				break;
			case UTF8_CUT:	/* cut by the end: dropped */
				break;
			}
		}
		p += n;
		left -= n;
	}
	return ret ? ret : buf_put(b, "\"", 1);
}

static int put_hex(struct buf *b, const uint8_t *id, size_t n)
{
	size_t i;
	int ret = buf_put(b, "\"", 1);

	for (i = 0; i < n && !ret; i++)
		ret = buf_printf(b, "%02x", id[i]);
	return ret ? ret : buf_put(b, "\"", 1);
}

static int put_value(struct buf *b, const struct attr *a)
{
	switch (a->type) {
	case OTEL_ATTR_STRING:
		return buf_printf(b, "{\"stringValue\":") ||
		       put_str(b, a->str) || buf_put(b, "}", 1);
	case OTEL_ATTR_BOOL:
		return buf_printf(b, "{\"boolValue\":%s}",
				  a->i ? "true" : "false");
	case OTEL_ATTR_INT:
		return buf_printf(b, "{\"intValue\":\"%lld\"}",
				  (long long)a->i);
	default:
		if (isnan(a->d))
			return buf_printf(b, "{\"doubleValue\":\"NaN\"}");
		if (isinf(a->d))
			return buf_printf(b, "{\"doubleValue\":\"%sInfinity\"}",
					  a->d < 0 ? "-" : "");
		return buf_printf(b, "{\"doubleValue\":%.17g}", a->d);
	}
}

static int put_kv(struct buf *b, const struct attr *a, bool *first)
{
	int ret = buf_printf(b, "%s{\"key\":", *first ? "" : ",");

	*first = false;
	return ret || put_str(b, a->key) || buf_put(b, ",\"value\":", 9) ||
	       put_value(b, a) || buf_put(b, "}", 1);
}

/*
 * ,"attributes":[...] for the attributes of @s aimed at @target, nothing
 * when there are none: like protobuf, JSON leaves out empty and zero fields.
 */
static int put_attrs_more(struct buf *b, const struct span *s,
			  uint16_t target, const struct attr *more,
			  size_t nr_more)
{
	bool first = true;
	size_t i;

	for (i = 0; i < s->nr_attrs + nr_more; i++) {
		const struct attr *a = i < s->nr_attrs ? &s->attrs[i] :
				       &more[i - s->nr_attrs];

		if (i < s->nr_attrs && a->target != target)
			continue;
		if (first && buf_printf(b, ",\"attributes\":["))
			return -1;
		if (put_kv(b, a, &first))
			return -1;
	}
	return first ? 0 : buf_put(b, "]", 1);
}

static int put_attrs(struct buf *b, const struct span *s, uint16_t target)
{
	return put_attrs_more(b, s, target, NULL, 0);
}

static int put_count(struct buf *b, const char *key, uint32_t n)
{
	return n ? buf_printf(b, ",\"%s\":%u", key, n) : 0;
}

static int put_event(struct buf *b, const struct span *s,
		     const struct event *e, bool first)
{
	return buf_printf(b, "%s{\"timeUnixNano\":\"%llu\",\"name\":",
			  first ? "" : ",", (unsigned long long)e->time) ||
	       put_str(b, e->name) || put_attrs(b, s, e->index) ||
	       put_count(b, "droppedAttributesCount", e->dropped_attrs) ||
	       buf_put(b, "}", 1);
}

static int put_link(struct buf *b, const struct span *s,
		    const struct link *l, bool first)
{
	return buf_printf(b, "%s{\"traceId\":", first ? "" : ",") ||
	       put_hex(b, l->trace_id, sizeof(l->trace_id)) ||
	       buf_printf(b, ",\"spanId\":") ||
	       put_hex(b, l->span_id, sizeof(l->span_id)) ||
	       put_count(b, "flags", l->trace_flags) ||
	       put_attrs(b, s, OTEL_ATTR_TARGET_LINK | l->index) ||
	       put_count(b, "droppedAttributesCount", l->dropped_attrs) ||
	       buf_put(b, "}", 1);
}

static int put_status(struct buf *b, const struct span *s)
{
	bool msg = s->status_message && *s->status_message;

	if (buf_printf(b, ",\"status\":{") ||
	    (msg && (buf_printf(b, "\"message\":") ||
		     put_str(b, s->status_message))) ||
	    (s->status_code && buf_printf(b, "%s\"code\":%u", msg ? "," : "",
					  s->status_code)))
		return -1;
	return buf_put(b, "}", 1);
}

static int put_span(struct buf *b, const struct span *s, bool first)
{
	static const uint8_t zero[OTEL_SPAN_ID_SIZE];
	struct attr where[SPAN_WHERE_MAX];
	size_t i, nw = span_where_attrs(s, where);

	if (buf_printf(b, "%s{\"traceId\":", first ? "" : ",") ||
	    put_hex(b, s->trace_id, sizeof(s->trace_id)) ||
	    buf_printf(b, ",\"spanId\":") ||
	    put_hex(b, s->span_id, sizeof(s->span_id)))
		return -1;
	if (memcmp(s->parent_span_id, zero, sizeof(zero)) &&
	    (buf_printf(b, ",\"parentSpanId\":") ||
	     put_hex(b, s->parent_span_id, sizeof(s->parent_span_id))))
		return -1;
	if (buf_printf(b, ",\"flags\":%u,\"name\":", span_flags(s)) ||
	    put_str(b, s->name) || put_count(b, "kind", s->kind) ||
	    buf_printf(b, ",\"startTimeUnixNano\":\"%llu\","
		       "\"endTimeUnixNano\":\"%llu\"",
		       (unsigned long long)s->start,
		       (unsigned long long)s->end) ||
	    put_attrs_more(b, s, OTEL_ATTR_TARGET_SPAN, where, nw) ||
	    put_count(b, "droppedAttributesCount", s->dropped_attrs))
		return -1;
	for (i = 0; i < s->nr_events; i++)
		if (buf_printf(b, i ? "" : ",\"events\":[") ||
		    put_event(b, s, &s->events[i], i == 0))
			return -1;
	if ((s->nr_events && buf_put(b, "]", 1)) ||
	    put_count(b, "droppedEventsCount", s->dropped_events))
		return -1;
	for (i = 0; i < s->nr_links; i++)
		if (buf_printf(b, i ? "" : ",\"links\":[") ||
		    put_link(b, s, &s->links[i], i == 0))
			return -1;
	if ((s->nr_links && buf_put(b, "]", 1)) ||
	    put_count(b, "droppedLinksCount", s->dropped_links) ||
	    put_status(b, s))
		return -1;
	return buf_put(b, "}", 1);
}

int otlp_json_encode(struct span *const *spans, size_t n,
		     const struct resource *r, struct buf *out)
{
	struct arena ar = { 0 };
	struct scope_group *g;
	bool first = true;
	size_t ng, i, j;
	int ret = -1;

	if (group_by_scope(spans, n, &ar, &g, &ng) ||
	    buf_printf(out, "{\"resourceSpans\":[{\"resource\":"
		       "{\"attributes\":["))
		goto out;
	for (i = 0; i < r->nr; i++)
		if (put_kv(out, &r->attrs[i], &first))
			goto out;
	if (buf_printf(out, "]},\"scopeSpans\":["))
		goto out;
	for (i = 0; i < ng; i++) {
		if (buf_printf(out, "%s{\"scope\":{\"name\":", i ? "," : "") ||
		    put_str(out, g[i].name) ||
		    (*g[i].version && (buf_printf(out, ",\"version\":") ||
				       put_str(out, g[i].version))) ||
		    buf_printf(out, "},\"spans\":["))
			goto out;
		for (j = 0; j < g[i].n; j++)
			if (put_span(out, g[i].spans[j], j == 0))
				goto out;
		if (buf_printf(out, "]}"))
			goto out;
	}
	ret = buf_printf(out, "]}]}");
out:
	arena_free(&ar);
	return ret;
}
