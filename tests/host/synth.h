/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-only record synthesizer: appends records laid out exactly as
 * uapi/oteltrace.h (ABI 3) documents to a struct buf (oteld's), so tests can
 * build rings' worth of records, split spans across CPUs and shuffle them.
 *
 * A span is described in a struct synth_span (ids, names, times, status,
 * its inline attributes); synth_end() writes its SPAN record.  The records
 * it writes before that (synth_begin, synth_event, synth_link, synth_attr)
 * are counted in ->nr, which becomes the SPAN's nr_records.
 */
#ifndef SYNTH_H
#define SYNTH_H

#include <string.h>

#include "oteld.h"

/* Attribute entries, encoded as the kernel does, for one record. */
struct synth_attrs {
	uint8_t data[4096];
	size_t len;
	uint16_t nr;
};

struct synth_span {
	uint8_t trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t span_id[OTEL_SPAN_ID_SIZE];
	uint8_t parent[OTEL_SPAN_ID_SIZE];
	uint32_t nr;	/* records written before the SPAN */
	/* what the SPAN record says (synth_start() or synth_begin()) */
	uint64_t start;
	uint8_t kind, status;
	const char *name, *scope, *version, *message;
	uint16_t begin_cpu;
	uint8_t begin_context;
	uint32_t pid, tgid;	/* 0: none (a task is then not named) */
	struct synth_attrs attrs;	/* inline span attributes */
};

static inline void synth_id(uint8_t *id, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		id[i] = (uint8_t)((seed >> (8 * (i % 8))) + i * 17 + 1);
}

static inline size_t synth_round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/*
 * Append one entry: a @den other than 0 makes a DOUBLE a fraction
 * (OTEL_ATTRF_DEN); @str is a STRING's value.
 */
static inline void synth_entry(struct synth_attrs *a, uint8_t type,
			       const char *key, const char *str, int64_t v,
			       uint64_t den)
{
	struct otel_attr_entry e;
	size_t klen = strlen(key), vlen = str ? strlen(str) : 0;
	size_t at = a->len, size = sizeof(e) + (den ? 8 : 0) + klen + vlen;

	if (at + synth_round8(size) > sizeof(a->data))
		return;	/* a test asking for too much: leave it out */
	memset(&e, 0, sizeof(e));
	e.value_type = type;
	e.entry_flags = den ? OTEL_ATTRF_DEN : 0;
	e.key_len = klen;
	e.value_len = vlen;
	e.size = synth_round8(size);
	e.value = v;
	memset(a->data + at, 0, e.size);
	memcpy(a->data + at, &e, sizeof(e));
	at += sizeof(e);
	if (den) {
		memcpy(a->data + at, &den, sizeof(den));
		at += sizeof(den);
	}
	memcpy(a->data + at, key, klen);
	memcpy(a->data + at + klen, str ? str : "", vlen);
	a->len += e.size;
	a->nr++;
}

static inline void synth_int(struct synth_attrs *a, const char *key,
			     int64_t v)
{
	synth_entry(a, OTEL_ATTR_INT, key, NULL, v, 0);
}

static inline void synth_str(struct synth_attrs *a, const char *key,
			     const char *v)
{
	synth_entry(a, OTEL_ATTR_STRING, key, v, 0, 0);
}

static inline void synth_double(struct synth_attrs *a, const char *key,
				double d)
{
	int64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	synth_entry(a, OTEL_ATTR_DOUBLE, key, NULL, bits, 0);
}

/*
 * Append a record: @fixed_len bytes of @fixed, @nstr strings, zero padding
 * to 8, then the entries of @at (if any), whose offset goes to
 * *@attrs_offset (inside @fixed) first.  Returns the record's offset in @b.
 */
static inline size_t synth_put(struct buf *b, void *fixed, size_t fixed_len,
			       const char *const *strs, const size_t *lens,
			       int nstr, const struct synth_attrs *at,
			       uint16_t *attrs_offset)
{
	struct otel_rec_hdr *h = fixed;
	size_t size = fixed_len, start = b->len, pos;
	int i;

	for (i = 0; i < nstr; i++)
		size += lens[i];
	size = synth_round8(size);
	if (attrs_offset)
		*attrs_offset = at && at->nr ? size : 0;
	if (at)
		size += at->len;
	h->size = (uint16_t)size;
	buf_reserve(b, size);
	memset(b->data + start, 0, size);
	memcpy(b->data + start, fixed, fixed_len);
	pos = start + fixed_len;
	for (i = 0; i < nstr; i++) {
		memcpy(b->data + pos, strs[i], lens[i]);
		pos += lens[i];
	}
	if (at)
		memcpy(b->data + start + size - at->len, at->data, at->len);
	b->len += size;
	return start;
}

static inline void synth_hdr(struct otel_rec_hdr *h, uint16_t type,
			     const struct synth_span *s, uint16_t cpu,
			     uint64_t t)
{
	h->type = type;
	h->cpu = cpu;
	h->time_ns = t;
	memcpy(h->span_id, s->span_id, OTEL_SPAN_ID_SIZE);
}

/* What a span's SPAN record will say of its start; writes nothing. */
static inline void synth_start(struct synth_span *s, uint64_t t,
			       uint8_t kind, const char *name,
			       const char *scope, const char *version)
{
	s->start = t;
	s->kind = kind;
	s->name = name;
	s->scope = scope;
	s->version = version;
}

static inline void synth_status(struct synth_span *s, uint8_t code,
				const char *message)
{
	s->status = code;
	s->message = message;
}

/* synth_start() plus a SPAN_BEGIN record (begin_records mode). */
static inline void synth_begin(struct buf *b, struct synth_span *s,
			       uint16_t cpu, uint64_t t, uint8_t kind,
			       const char *name, const char *scope,
			       const char *version)
{
	struct otel_rec_span_begin r;
	const char *strs[3] = { name, scope, version };
	size_t lens[3] = { strlen(name), strlen(scope), strlen(version) };

	synth_start(s, t, kind, name, scope, version);
	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_SPAN_BEGIN, s, cpu, t);
	memcpy(r.trace_id, s->trace_id, sizeof(r.trace_id));
	memcpy(r.parent_span_id, s->parent, sizeof(r.parent_span_id));
	r.trace_flags = OTEL_TRACE_FLAG_SAMPLED;
	r.kind = kind;
	r.name_len = lens[0];
	r.scope_name_len = lens[1];
	r.scope_version_len = lens[2];
	r.pid = s->pid;
	r.tgid = s->tgid;
	synth_put(b, &r, sizeof(r), strs, lens, 3, NULL, NULL);
	s->nr++;
}

/* An ATTR record: the entries of @at aimed at @target, @dropped cut. */
static inline void synth_attr_dropped(struct buf *b, struct synth_span *s,
				      uint16_t cpu, uint16_t target,
				      const struct synth_attrs *at,
				      uint32_t dropped)
{
	struct otel_rec_attr r;

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_ATTR, s, cpu, 0);
	r.target = target;
	r.nr_attrs = at ? at->nr : 0;
	r.dropped_attributes = dropped;
	synth_put(b, &r, sizeof(r), NULL, NULL, 0, at, NULL);
	s->nr++;
}

static inline void synth_attr(struct buf *b, struct synth_span *s,
			      uint16_t cpu, uint16_t target,
			      const struct synth_attrs *at)
{
	synth_attr_dropped(b, s, cpu, target, at, 0);
}

/* A COMM record: task @pid of process @tgid is called @comm. */
static inline void synth_comm(struct buf *b, uint16_t cpu, uint64_t t,
			      uint32_t pid, uint32_t tgid, const char *comm)
{
	struct otel_rec_comm r;

	memset(&r, 0, sizeof(r));
	r.hdr.type = OTEL_REC_COMM;
	r.hdr.size = sizeof(r);
	r.hdr.cpu = cpu;
	r.hdr.time_ns = t;
	r.pid = pid;
	r.tgid = tgid;
	strncpy(r.comm, comm, sizeof(r.comm));
	buf_put(b, &r, sizeof(r));
}

/* An EVENT record with the entries of @at (may be NULL) inside. */
static inline void synth_event_dropped(struct buf *b, struct synth_span *s,
				       uint16_t cpu, uint64_t t,
				       uint16_t index, const char *name,
				       const struct synth_attrs *at,
				       uint32_t dropped)
{
	struct otel_rec_event r;
	const char *strs[1] = { name };
	size_t lens[1] = { strlen(name) };

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_EVENT, s, cpu, t);
	r.index = index;
	r.name_len = lens[0];
	r.nr_attrs = at ? at->nr : 0;
	r.dropped_attributes = dropped;
	synth_put(b, &r, sizeof(r), strs, lens, 1, at, &r.attrs_offset);
	s->nr++;
}

static inline void synth_event(struct buf *b, struct synth_span *s,
			       uint16_t cpu, uint64_t t, uint16_t index,
			       const char *name, const struct synth_attrs *at)
{
	synth_event_dropped(b, s, cpu, t, index, name, at, 0);
}

/* A LINK record to @to with the entries of @at (may be NULL) inside. */
static inline void synth_link_dropped(struct buf *b, struct synth_span *s,
				      uint16_t cpu, uint16_t index,
				      const struct synth_span *to,
				      const struct synth_attrs *at,
				      uint16_t dropped)
{
	struct otel_rec_link r;

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_LINK, s, cpu, 0);
	memcpy(r.trace_id, to->trace_id, sizeof(r.trace_id));
	memcpy(r.span_id, to->span_id, sizeof(r.span_id));
	r.trace_flags = 1;
	r.index = index;
	r.nr_attrs = at ? at->nr : 0;
	r.dropped_attributes = dropped;
	synth_put(b, &r, sizeof(r), NULL, NULL, 0, at, NULL);
	s->nr++;
}

static inline void synth_link(struct buf *b, struct synth_span *s,
			      uint16_t cpu, uint16_t index,
			      const struct synth_span *to,
			      const struct synth_attrs *at)
{
	synth_link_dropped(b, s, cpu, index, to, at, 0);
}

/*
 * The SPAN record, ending @s at @t on @cpu, with @da/@de/@dl dropped
 * attributes/events/links; returns its offset in @b.
 */
static inline size_t synth_end(struct buf *b, const struct synth_span *s,
			       uint16_t cpu, uint64_t t, uint32_t da,
			       uint32_t de, uint32_t dl)
{
	const char *version = s->version ? s->version : "";
	const char *message = s->message ? s->message : "";
	const char *strs[4] = { s->name, s->scope, version, message };
	size_t lens[4] = { strlen(s->name), strlen(s->scope), strlen(version),
			   strlen(message) };
	struct otel_rec_span r;

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_SPAN, s, cpu, t);
	memcpy(r.trace_id, s->trace_id, sizeof(r.trace_id));
	memcpy(r.parent_span_id, s->parent, sizeof(r.parent_span_id));
	r.start_ns = s->start;
	r.trace_flags = OTEL_TRACE_FLAG_SAMPLED;
	r.kind = s->kind;
	r.status_code = s->status;
	r.begin_cpu = s->begin_cpu;
	r.begin_context = s->begin_context;
	r.name_len = lens[0];
	r.scope_name_len = lens[1];
	r.scope_version_len = lens[2];
	r.status_message_len = lens[3];
	r.nr_attrs = s->attrs.nr;
	r.nr_records = s->nr;
	r.dropped_attributes = da;
	r.dropped_events = de;
	r.dropped_links = dl;
	r.pid = s->pid;
	r.tgid = s->tgid;
	return synth_put(b, &r, sizeof(r), strs, lens, 4, &s->attrs,
			 &r.attrs_offset);
}

/* A record of a type no reader knows yet, and a PAD. */
static inline void synth_unknown(struct buf *b, uint16_t type, size_t size)
{
	struct otel_rec_hdr h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	buf_reserve(b, size);
	memset(b->data + b->len, 0xa5, size);
	h.size = (uint16_t)size;
	memcpy(b->data + b->len, &h, size < sizeof(h) ? 8 : sizeof(h));
	b->len += size;
}

#endif
