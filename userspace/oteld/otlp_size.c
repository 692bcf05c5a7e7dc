// SPDX-License-Identifier: GPL-2.0
/*
 * How many bytes one span takes in an OTLP protobuf request, computed from
 * struct span without writing anything: the exporter cuts its batches at
 * --max-request-bytes with it (export.c), measuring each span once, instead
 * of encoding a batch that is too big to find out and encoding its halves
 * again.  It follows otlp_wire.c field by field (the same fields left out
 * when zero or empty, the same UTF-8 repair); the unit tests hold the two
 * to the same byte counts.
 */
#include <string.h>

#include "otlp.h"
#include "utf8.h"

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* A length-delimited field of @len bytes, field number 1..15. */
static size_t len_field(size_t len)
{
	return 1 + varint_size(len) + len;
}

/* A varint field 1..15, left out when 0. */
static size_t uint_field(uint64_t v)
{
	return v ? 1 + varint_size(v) : 0;
}

/* The bytes of @s once repaired to valid UTF-8 (utf8.c). */
static size_t str_len(const char *s)
{
	size_t n;

	if (!s)
		return 0;
	n = strlen(s);
	return utf8_valid_prefix(s, n) == n ? n : utf8_repaired_len(s, n);
}

/* A string field, left out when empty. */
static size_t str_field(const char *s)
{
	size_t n = str_len(s);

	return n ? len_field(n) : 0;
}

/* KeyValue { 1 key, 2 AnyValue }: the oneof member is always written. */
static size_t kv_field(const struct attr *a)
{
	size_t value;

	switch (a->type) {
	case OTEL_ATTR_STRING:
		value = len_field(str_len(a->str));
		break;
	case OTEL_ATTR_BOOL:
		value = 2;
		break;
	case OTEL_ATTR_INT:
		value = 1 + varint_size((uint64_t)a->i);
		break;
	default:
		value = 9;
		break;
	}
	return len_field(str_field(a->key) + len_field(value));
}

static size_t attrs_of(const struct span *s, uint16_t target)
{
	size_t i, n = 0;

	for (i = 0; i < s->nr_attrs; i++)
		if (s->attrs[i].target == target)
			n += kv_field(&s->attrs[i]);
	return n;
}

/* Span.Event { 1 time, 2 name, 3 attributes, 4 dropped } */
static size_t event_field(const struct span *s, const struct event *e)
{
	return len_field((e->time ? 9 : 0) + str_field(e->name) +
			 attrs_of(s, e->index) + uint_field(e->dropped_attrs));
}

/* Span.Link { 1 trace_id, 2 span_id, 4 attributes, 5 dropped, 6 flags } */
static size_t link_field(const struct span *s, const struct link *l)
{
	return len_field(len_field(sizeof(l->trace_id)) +
			 len_field(sizeof(l->span_id)) +
			 attrs_of(s, OTEL_ATTR_TARGET_LINK | l->index) +
			 uint_field(l->dropped_attrs) +
			 (l->trace_flags ? 5 : 0));
}

size_t wire_span_size(const struct span *s)
{
	static const uint8_t zero[OTEL_SPAN_ID_SIZE];
	struct attr where[SPAN_WHERE_MAX];
	size_t i, nw, n;

	n = len_field(sizeof(s->trace_id)) + len_field(sizeof(s->span_id));
	if (memcmp(s->parent_span_id, zero, sizeof(zero)))
		n += len_field(sizeof(s->parent_span_id));
	n += str_field(s->name) + (s->kind ? 2 : 0) + (s->start ? 9 : 0) +
	     (s->end ? 9 : 0);
	n += attrs_of(s, OTEL_ATTR_TARGET_SPAN);
	nw = span_where_attrs(s, where);
	for (i = 0; i < nw; i++)
		n += kv_field(&where[i]);
	n += uint_field(s->dropped_attrs);
	for (i = 0; i < s->nr_events; i++)
		n += event_field(s, &s->events[i]);
	n += uint_field(s->dropped_events);
	for (i = 0; i < s->nr_links; i++)
		n += link_field(s, &s->links[i]);
	n += uint_field(s->dropped_links);
	/* Status { 2 message, 3 code }, always written */
	n += len_field(str_field(s->status_message) +
		       uint_field(s->status_code));
	n += 2 + 4;		/* flags: fixed32 field 16, a 2-byte key */
	return len_field(n);
}

size_t wire_scope_size(const struct span *s)
{
	size_t scope = str_field(s->scope_name) + str_field(s->scope_version);

	/* ScopeSpans { 1 scope, 2 spans }: its own tag and length at most */
	return 1 + 5 + len_field(scope);
}
