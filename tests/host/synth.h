/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-only record synthesizer: appends records laid out exactly as
 * uapi/oteltrace.h documents to a struct buf (oteld's), so tests can build
 * rings' worth of records, split spans across CPUs and shuffle them.
 */
#ifndef SYNTH_H
#define SYNTH_H

#include <string.h>

#include "oteld.h"

struct synth_span {
	uint8_t trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t span_id[OTEL_SPAN_ID_SIZE];
	uint8_t parent[OTEL_SPAN_ID_SIZE];
	uint16_t cpu;
	uint32_t nr;	/* records written before END */
};

static inline void synth_id(uint8_t *id, size_t n, uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		id[i] = (uint8_t)((seed >> (8 * (i % 8))) + i * 17 + 1);
}

/* Append a record of @fixed bytes then @nstr strings; size rounded to 8. */
static inline void synth_put(struct buf *b, void *fixed, size_t fixed_len,
			     const char *const *strs, const size_t *lens,
			     int nstr)
{
	struct otel_rec_hdr *h = fixed;
	size_t size = fixed_len, at;
	int i;

	for (i = 0; i < nstr; i++)
		size += lens[i];
	size = (size + 7) & ~(size_t)7;
	h->size = (uint16_t)size;
	at = b->len;
	buf_reserve(b, size);
	memset(b->data + at, 0, size);
	memcpy(b->data + at, fixed, fixed_len);
	at += fixed_len;
	for (i = 0; i < nstr; i++) {
		memcpy(b->data + at, strs[i], lens[i]);
		at += lens[i];
	}
	b->len += size;
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

static inline void synth_begin(struct buf *b, struct synth_span *s,
			       uint16_t cpu, uint64_t t, uint8_t kind,
			       const char *name, const char *scope,
			       const char *version)
{
	struct otel_rec_span_begin r;
	const char *strs[3] = { name, scope, version };
	size_t lens[3] = { strlen(name), strlen(scope), strlen(version) };

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_SPAN_BEGIN, s, cpu, t);
	memcpy(r.trace_id, s->trace_id, sizeof(r.trace_id));
	memcpy(r.parent_span_id, s->parent, sizeof(r.parent_span_id));
	r.trace_flags = OTEL_TRACE_FLAG_SAMPLED;
	r.kind = kind;
	r.name_len = lens[0];
	r.scope_name_len = lens[1];
	r.scope_version_len = lens[2];
	r.pid = 42;
	r.tgid = 42;
	synth_put(b, &r, sizeof(r), strs, lens, 3);
	s->nr++;
}

static inline void synth_attr(struct buf *b, struct synth_span *s,
			      uint16_t cpu, uint16_t target, uint8_t type,
			      const char *key, const char *str, int64_t v,
			      uint64_t den)
{
	struct otel_rec_attr r;
	const char *strs[2] = { key, str ? str : "" };
	size_t lens[2] = { strlen(key), str ? strlen(str) : 0 };

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_ATTR, s, cpu, 0);
	r.value_type = type;
	r.target = target;
	r.key_len = lens[0];
	r.value_len = lens[1];
	r.value = v;
	r.den = den;
	synth_put(b, &r, sizeof(r), strs, lens, 2);
	s->nr++;
}

static inline void synth_event(struct buf *b, struct synth_span *s,
			       uint16_t cpu, uint64_t t, uint16_t index,
			       const char *name)
{
	struct otel_rec_event r;
	const char *strs[1] = { name };
	size_t lens[1] = { strlen(name) };

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_EVENT, s, cpu, t);
	r.index = index;
	r.name_len = lens[0];
	synth_put(b, &r, sizeof(r), strs, lens, 1);
	s->nr++;
}

static inline void synth_link(struct buf *b, struct synth_span *s,
			      uint16_t cpu, uint16_t index,
			      const struct synth_span *to)
{
	struct otel_rec_link r;

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_LINK, s, cpu, 0);
	memcpy(r.trace_id, to->trace_id, sizeof(r.trace_id));
	memcpy(r.span_id, to->span_id, sizeof(r.span_id));
	r.trace_flags = 1;
	r.index = index;
	synth_put(b, &r, sizeof(r), NULL, NULL, 0);
	s->nr++;
}

static inline void synth_status(struct buf *b, struct synth_span *s,
				uint16_t cpu, uint64_t t, uint8_t code,
				const char *msg)
{
	struct otel_rec_status r;
	const char *strs[1] = { msg };
	size_t lens[1] = { strlen(msg) };

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_STATUS, s, cpu, t);
	r.code = code;
	r.message_len = lens[0];
	synth_put(b, &r, sizeof(r), strs, lens, 1);
	s->nr++;
}

static inline void synth_end(struct buf *b, const struct synth_span *s,
			     uint16_t cpu, uint64_t t, uint32_t da,
			     uint32_t de, uint32_t dl)
{
	struct otel_rec_span_end r;

	memset(&r, 0, sizeof(r));
	synth_hdr(&r.hdr, OTEL_REC_SPAN_END, s, cpu, t);
	r.dropped_attributes = da;
	r.dropped_events = de;
	r.dropped_links = dl;
	r.nr_records = s->nr;
	synth_put(b, &r, sizeof(r), NULL, NULL, 0);
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
