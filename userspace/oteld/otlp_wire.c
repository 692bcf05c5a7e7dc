// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP protobuf encoding written straight from struct span into bytes: the
 * wire format of ExportTraceServiceRequest (varints, fixed32/fixed64,
 * length-delimited strings, bytes and messages), with no message objects in
 * between.  Field numbers: the .proto files in userspace/proto/.
 *
 * The request is written back to front, from the end of the buffer toward
 * its start.  A nested message's fields go in first, so when its tag and
 * length are written in front of them its length is known: one pass, no
 * size pass, no moves.  Fields are written in reverse field-number order and
 * repeated fields in reverse, so the bytes read front to back in the order
 * protobuf's own encoders use.  As protobuf does for proto3 fields, zero
 * numbers, empty strings and empty messages are left out, but for the value
 * of an AnyValue (a oneof member is always written) and Span.status (always
 * written, as the JSON encoder does).
 *
 * Every string goes through utf8.c: a protobuf string must be valid UTF-8.
 * unit_test.c decodes this encoder's output with protobuf-c's generated
 * unpack and compares every field, so the two cannot drift apart.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"
#include "utf8.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

#define WIRE_MIN_CAP	65536

/* Make room for @need more bytes in front of what is written. */
static int grow(struct wire *w, size_t need)
{
	size_t used = wire_len(w), cap = w->cap ? w->cap : WIRE_MIN_CAP;
	uint8_t *n;

	while (cap - used < need)
		cap *= 2;
	n = malloc(cap);
	if (!n) {
		w->failed = true;
		return -1;
	}
	if (used)
		memcpy(n + cap - used, w->data + w->start, used);
	free(w->data);
	w->data = n;
	w->cap = cap;
	w->start = cap - used;
	return 0;
}

/* The @n bytes in front of what is written, now taken; NULL: no memory. */
static inline uint8_t *claim(struct wire *w, size_t n)
{
	if (__builtin_expect(w->start < n, 0) && grow(w, n))
		return NULL;
	w->start -= n;
	return w->data + w->start;
}

static inline size_t varint_size(uint64_t v)
{
	if (v < 0x80)		/* tags, most lengths */
		return 1;
	/* 7 bits a byte: (significant bits + 6) / 7 */
	return ((64 - __builtin_clzll(v)) + 6) / 7;
}

static inline uint8_t *write_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Tags of fields 1..15 are one byte. */
static inline uint8_t tag(uint32_t field, unsigned int type)
{
	return (uint8_t)(field << 3 | type);
}

/* Tag and length of a length-delimited field of @len bytes. */
static inline void put_len_header(struct wire *w, uint32_t field,
				  size_t len)
{
	uint8_t *p = claim(w, 1 + varint_size(len));

	if (p) {
		*p = tag(field, WT_LEN);
		write_varint(p + 1, len);
	}
}

/* Fields 1..15: a varint; 0 is left out (proto3). */
static inline void put_uint(struct wire *w, uint32_t field, uint64_t v)
{
	uint8_t *p;

	if (!v)
		return;
	p = claim(w, 1 + varint_size(v));
	if (p) {
		*p = tag(field, WT_VARINT);
		write_varint(p + 1, v);
	}
}

/* Fields 1..15: a fixed64, little endian; 0 is left out (proto3). */
static inline void put_fixed64(struct wire *w, uint32_t field, uint64_t v)
{
	uint8_t *p;

	if (!v)
		return;
	p = claim(w, 9);
	if (p) {
		*p = tag(field, WT_I64);
		v = htole64(v);
		memcpy(p + 1, &v, 8);
	}
}

/* A fixed32 of any field number, always written. */
static inline void put_fixed32(struct wire *w, uint32_t field, uint32_t v)
{
	uint64_t key = (uint64_t)field << 3 | WT_I32;
	size_t k = varint_size(key);
	uint8_t *p = claim(w, k + 4);

	if (p) {
		p = write_varint(p, key);
		v = htole32(v);
		memcpy(p, &v, 4);
	}
}

/* Fields 1..15: bytes (or a string known to be valid UTF-8). */
static inline void put_bytes(struct wire *w, uint32_t field, const void *s,
			     size_t n)
{
	uint8_t *p = claim(w, 1 + varint_size(n) + n);

	if (p) {
		*p = tag(field, WT_LEN);
		p = write_varint(p + 1, n);
		memcpy(p, s, n);
	}
}

/* A string to write: its bytes, and its length once valid UTF-8. */
struct str {
	const char *s;
	size_t n, len;
	bool repair;
};

/* Whether @n bytes at @p are all ASCII: words, the last one overlapping. */
static inline bool ascii(const char *p, size_t n)
{
	uint64_t v, high = 0;
	size_t i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			high |= (unsigned char)p[i];
		return !(high & 0x80);
	}
	for (i = 0; i + 8 < n; i += 8) {
		memcpy(&v, p + i, 8);
		high |= v;
	}
	memcpy(&v, p + n - 8, 8);
	return !((high | v) & 0x8080808080808080ull);
}

static inline void str_measure(struct str *x, const char *s)
{
	x->s = s ? s : "";
	x->n = strlen(x->s);
	x->repair = !ascii(x->s, x->n) &&
		    utf8_valid_prefix(x->s, x->n) != x->n;
	x->len = x->repair ? utf8_repaired_len(x->s, x->n) : x->n;
}

static inline uint8_t *str_write(uint8_t *p, const struct str *x)
{
	if (x->repair)
		utf8_repair(x->s, x->n, (char *)p);
	else
		memcpy(p, x->s, x->n);
	return p + x->len;
}

/* Bytes of a length-delimited field (1..15) of @len bytes. */
static inline size_t len_field_size(size_t len)
{
	return 1 + varint_size(len) + len;
}

/* Tag and length of a length-delimited field (1..15), written forward. */
static inline uint8_t *write_len_header(uint8_t *p, uint32_t field,
					size_t len)
{
	*p++ = tag(field, WT_LEN);
	return write_varint(p, len);
}

/* A string field, repaired to valid UTF-8; left out when empty. */
static void put_str(struct wire *w, uint32_t field, const char *s)
{
	struct str x;
	uint8_t *p;

	if (!s || !*s)
		return;
	str_measure(&x, s);
	if (!x.len)
		return;
	p = claim(w, len_field_size(x.len));
	if (p)
		str_write(write_len_header(p, field, x.len), &x);
}

/* A message's fields are in once wire_len() grew from @mark: prefix them. */
static inline void close_msg(struct wire *w, uint32_t field, size_t mark)
{
	put_len_header(w, field, wire_len(w) - mark);
}

/*
 * KeyValue { 1 key, 2 value AnyValue { oneof 1 string, 2 bool, 3 int,
 * 4 double } }: measured, then written front to back in one piece.  A
 * oneof member is written even when it is zero or empty.
 */
static void put_kv(struct wire *w, uint32_t field, const struct attr *a)
{
	size_t value, body;
	struct str key, str = { 0 };
	uint64_t bits;
	uint8_t *p;

	str_measure(&key, a->key);
	switch (a->type) {
	case OTEL_ATTR_STRING:
		str_measure(&str, a->str);
		value = len_field_size(str.len);
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
	body = (key.len ? len_field_size(key.len) : 0) + len_field_size(value);
	p = claim(w, len_field_size(body));
	if (!p)
		return;
	p = write_len_header(p, field, body);
	if (key.len)
		p = str_write(write_len_header(p, 1, key.len), &key);
	p = write_len_header(p, 2, value);
	switch (a->type) {
	case OTEL_ATTR_STRING:
		str_write(write_len_header(p, 1, str.len), &str);
		break;
	case OTEL_ATTR_BOOL:
		p[0] = tag(2, WT_VARINT);
		p[1] = a->i != 0;
		break;
	case OTEL_ATTR_INT:
		*p = tag(3, WT_VARINT);
		write_varint(p + 1, (uint64_t)a->i);
		break;
	default:
		*p = tag(4, WT_I64);
		memcpy(&bits, &a->d, sizeof(bits));
		bits = htole64(bits);
		memcpy(p + 1, &bits, 8);
		break;
	}
}

/* The attributes of @s aimed at @target (the span, an event, a link). */
static void put_attrs(struct wire *w, uint32_t field, const struct span *s,
		      uint16_t target)
{
	size_t i;

	for (i = s->nr_attrs; i-- > 0;)
		if (s->attrs[i].target == target)
			put_kv(w, field, &s->attrs[i]);
}

/* Span.Event { 1 time fixed64, 2 name, 3 attributes, 4 dropped } */
static void put_event(struct wire *w, const struct span *s,
		      const struct event *e)
{
	size_t mark = wire_len(w);

	put_uint(w, 4, e->dropped_attrs);
	put_attrs(w, 3, s, e->index);
	put_str(w, 2, e->name);
	put_fixed64(w, 1, e->time);
	close_msg(w, 11, mark);
}

/*
 * Span.Link { 1 trace_id, 2 span_id, 4 attributes, 5 dropped, 6 flags
 * fixed32 }.  The flags are the W3C trace flags alone: a LINK record says
 * nothing of whether the linked context was remote, so the "is_remote
 * known" bit (0x100) stays clear.
 */
static void put_link(struct wire *w, const struct span *s,
		     const struct link *l)
{
	size_t mark = wire_len(w);

	if (l->trace_flags)
		put_fixed32(w, 6, l->trace_flags);
	put_uint(w, 5, l->dropped_attrs);
	put_attrs(w, 4, s, OTEL_ATTR_TARGET_LINK | l->index);
	put_bytes(w, 2, l->span_id, sizeof(l->span_id));
	put_bytes(w, 1, l->trace_id, sizeof(l->trace_id));
	close_msg(w, 13, mark);
}

/* Span fields 1..8 (ids, name, kind, times): measured, written forward. */
static void put_span_head(struct wire *w, const struct span *s)
{
	static const uint8_t zero[OTEL_SPAN_ID_SIZE];
	bool parent = memcmp(s->parent_span_id, zero, sizeof(zero));
	struct str name;
	uint64_t t;
	uint8_t *p;

	str_measure(&name, s->name);
	p = claim(w, 18 + 10 + (parent ? 10 : 0) +
		  (name.len ? len_field_size(name.len) : 0) +
		  (s->kind ? 2 : 0) + (s->start ? 9 : 0) + (s->end ? 9 : 0));
	if (!p)
		return;
	p = write_len_header(p, 1, sizeof(s->trace_id));
	memcpy(p, s->trace_id, sizeof(s->trace_id));
	p = write_len_header(p + sizeof(s->trace_id), 2, sizeof(s->span_id));
	memcpy(p, s->span_id, sizeof(s->span_id));
	p += sizeof(s->span_id);
	if (parent) {
		p = write_len_header(p, 4, sizeof(s->parent_span_id));
		memcpy(p, s->parent_span_id, sizeof(s->parent_span_id));
		p += sizeof(s->parent_span_id);
	}
	if (name.len)
		p = str_write(write_len_header(p, 5, name.len), &name);
	if (s->kind) {
		*p++ = tag(6, WT_VARINT);
		*p++ = s->kind;		/* < 0x80: one byte */
	}
	if (s->start) {
		*p = tag(7, WT_I64);
		t = htole64(s->start);
		memcpy(p + 1, &t, 8);
		p += 9;
	}
	if (s->end) {
		*p = tag(8, WT_I64);
		t = htole64(s->end);
		memcpy(p + 1, &t, 8);
	}
}

/* Is @c the cache of the attributes oteld adds to @s? */
static bool where_hit(const struct where_cache *c, const struct span *s,
		      unsigned int set)
{
	return c->valid && c->pid == s->pid && c->tgid == s->tgid &&
	       c->cpu == s->begin_cpu && c->context == s->begin_context &&
	       c->set == set && !strcmp(c->name, s->thread_name);
}

/*
 * Span.attributes (9): the attributes oteld adds, after the driver's;
 * copied from the last span's when it began in the same task on the same
 * CPU (most spans of a batch do).
 */
static void put_where(struct wire *w, const struct span *s)
{
	struct where_cache *c = &w->where;
	unsigned int set = span_where_set(s);
	struct attr where[SPAN_WHERE_MAX];
	size_t i, nw, mark;
	uint8_t *p;

	if (where_hit(c, s, set)) {
		p = claim(w, c->len);
		if (p)
			memcpy(p, c->bytes, c->len);
		return;
	}
	mark = wire_len(w);
	nw = span_where_attrs(s, where);
	for (i = nw; i-- > 0;)
		put_kv(w, 9, &where[i]);
	c->valid = !w->failed && wire_len(w) - mark <= sizeof(c->bytes);
	if (!c->valid)
		return;
	c->len = wire_len(w) - mark;
	memcpy(c->bytes, wire_body(w), c->len);
	c->pid = s->pid;
	c->tgid = s->tgid;
	c->cpu = s->begin_cpu;
	c->context = s->begin_context;
	c->set = set;
	memcpy(c->name, s->thread_name, sizeof(c->name));
}

/* ScopeSpans.spans (2): Span, fields 1..16. */
static void put_span(struct wire *w, const struct span *s)
{
	size_t mark = wire_len(w), status;
	size_t i;

	put_fixed32(w, 16, span_flags(s));
	status = wire_len(w);		/* Status { 2 message, 3 code } */
	put_uint(w, 3, s->status_code);
	put_str(w, 2, s->status_message);
	close_msg(w, 15, status);
	put_uint(w, 14, s->dropped_links);
	for (i = s->nr_links; i-- > 0;)
		put_link(w, s, &s->links[i]);
	put_uint(w, 12, s->dropped_events);
	for (i = s->nr_events; i-- > 0;)
		put_event(w, s, &s->events[i]);
	put_uint(w, 10, s->dropped_attrs);
	put_where(w, s);	/* after the driver's */
	put_attrs(w, 9, s, OTEL_ATTR_TARGET_SPAN);
	put_span_head(w, s);
	close_msg(w, 2, mark);
}

static bool same_scope(const struct span *a, const struct span *b)
{
	const char *an = a->scope_name ? a->scope_name : "";
	const char *bn = b->scope_name ? b->scope_name : "";
	const char *av = a->scope_version ? a->scope_version : "";
	const char *bv = b->scope_version ? b->scope_version : "";

	return (an == bn || !strcmp(an, bn)) && (av == bv || !strcmp(av, bv));
}

/*
 * Sort the spans by scope, scopes in order of first appearance, spans in
 * their batch order: w->order[w->first[g] .. w->first[g + 1]) are the
 * indexes of scope g's spans.  Returns the number of scopes, or -1.
 */
static long group(struct wire *w, struct span *const *spans, size_t n)
{
	uint32_t *grp, *cnt, *ord;
	size_t i, g, ng = 0;

	if (!w->scratch || n > w->scratch_n) {
		free(w->scratch);
		w->scratch = malloc(3 * (n + 1) * sizeof(*w->scratch));
		w->scratch_n = w->scratch ? n : 0;
		if (!w->scratch)
			return -1;
	}
	grp = w->scratch;		/* span -> scope, then scope -> first span */
	cnt = grp + n + 1;		/* per scope: first slot in @ord */
	ord = cnt + n + 1;
	for (i = 0; i < n; i++) {
		if (i && same_scope(spans[i], spans[i - 1])) {
			g = grp[i - 1];
		} else {
			for (g = 0; g < ng; g++)
				if (same_scope(spans[i], spans[ord[g]]))
					break;
			if (g == ng) {
				ord[ng] = i;	/* its first span, for comparing */
				cnt[ng++] = 0;
			}
		}
		grp[i] = g;
		cnt[g]++;
	}
	/* counts to starts, then place every span */
	for (g = 0, i = 0; g < ng; g++) {
		size_t c = cnt[g];

		cnt[g] = i;
		i += c;
	}
	cnt[ng] = n;
	for (i = 0; i < n; i++)
		ord[cnt[grp[i]]++] = i;
	/* cnt[g] is now the end of scope g = the start of g + 1 */
	w->order = ord;
	w->bounds = cnt;
	return (long)ng;
}

/* ResourceSpans.scope_spans (2): ScopeSpans { 1 scope, 2 spans }. */
static int put_scopes(struct wire *w, struct span *const *spans, size_t n,
		      long ng)
{
	size_t end, begin, i, mark, scope;
	long g;

	for (g = ng - 1; g >= 0; g--) {
		end = w->bounds[g];
		begin = g ? w->bounds[g - 1] : 0;
		mark = wire_len(w);
		for (i = end; i-- > begin;) {
			if (i > begin) {
				/* the next span, fetched while this one is
				 * written: the reader thread wrote it on
				 * another CPU */
				const struct span *next = spans[w->order[i - 1]];

				__builtin_prefetch(next->attrs);
				__builtin_prefetch(next->name);
				if (i > begin + 1)
					__builtin_prefetch(spans[w->order[i - 2]]);
			}
			put_span(w, spans[w->order[i]]);
			if (w->limit && wire_len(w) > w->limit)
				return 1;
		}
		scope = wire_len(w);	/* InstrumentationScope { 1 name, 2 version } */
		put_str(w, 2, spans[w->order[begin]]->scope_version);
		put_str(w, 1, spans[w->order[begin]]->scope_name);
		close_msg(w, 1, scope);
		close_msg(w, 2, mark);
	}
	(void)n;
	return 0;
}

int wire_encode(struct wire *w, struct span *const *spans, size_t n,
		const struct resource *r)
{
	size_t mark, res, i;
	long ng;
	int ret;

	w->start = w->cap;
	w->failed = false;
	ng = group(w, spans, n);
	if (ng < 0)
		return -1;
	/* ExportTraceServiceRequest { 1 resource_spans ResourceSpans {
	 *   1 resource Resource { 1 attributes }, 2 scope_spans } } */
	mark = wire_len(w);
	ret = put_scopes(w, spans, n, ng);
	if (ret)
		return w->failed ? -1 : ret;
	res = wire_len(w);
	for (i = r->nr; i-- > 0;)
		put_kv(w, 1, &r->attrs[i]);
	close_msg(w, 1, res);
	close_msg(w, 1, mark);
	if (w->failed)
		return -1;
	return w->limit && wire_len(w) > w->limit ? 1 : 0;
}

void wire_free(struct wire *w)
{
	free(w->data);
	free(w->scratch);
	memset(w, 0, sizeof(*w));
}

int otlp_proto_encode(struct span *const *spans, size_t n,
		      const struct resource *r, struct buf *out)
{
	struct wire w = { 0 };
	int ret = wire_encode(&w, spans, n, r);

	if (!ret)
		ret = buf_put(out, wire_body(&w), wire_len(&w));
	wire_free(&w);
	return ret;
}
