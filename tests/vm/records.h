/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record reader for the in-VM tests (ABI 3): read() every record waiting in
 * /dev/oteltrace and gather them by span id, checking on the way that every
 * record is exactly what uapi/oteltrace.h documents: sizes, 8-byte
 * alignment, lengths inside the record, reserved fields and padding zero,
 * every attribute entry well formed and the entries filling the record to
 * its end.  A span's SPAN_BEGIN (begin_records mode) must agree with its
 * SPAN record.  This decoder is written from the ABI alone, independently
 * of oteld's, so the two cannot share a misreading.
 *
 *	struct rec_db db;
 *	rec_db_init(&db);
 *	fd = rec_open();
 *	... make spans ...
 *	rec_drain(fd, &db);
 *	s = rec_find(&db, "t.attrs", 0);
 *	rec_db_free(&db);
 */
#ifndef _OTELTRACE_RECORDS_H
#define _OTELTRACE_RECORDS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/oteltrace.h"

/* Limits the kernel documents (kmod/oteltrace.h, docs/span-records.md). */
#define REC_NAME_MAX		256	/* span and event names */
#define REC_SCOPE_MAX		64	/* scope name and version */
#define REC_KEY_MAX		128	/* attribute keys */
#define REC_MSG_MAX		128	/* status messages */
#define REC_INLINE_BYTES	128	/* a handle's inline attribute budget */

#define REC_ALIGN8(x)		(((x) + 7) & ~(size_t)7)

struct rec_attr {
	uint16_t	target;		/* OTEL_ATTR_TARGET_* */
	uint16_t	rec_type;	/* record it came in: SPAN, ATTR, EVENT, LINK */
	uint8_t		type;		/* enum otel_attr_type */
	uint8_t		has_den;
	char		key[REC_KEY_MAX + 1];
	char		*str;		/* STRING: value_len bytes + NUL */
	uint16_t	str_len;
	int64_t		value;
	uint64_t	den;
};

struct rec_event {
	uint16_t	index;
	char		name[REC_NAME_MAX + 1];
	uint64_t	time_ns;
	uint16_t	nr_attrs;	/* entries inside the EVENT record */
	uint32_t	dropped_attrs;	/* its count, EVENT and ATTR records */
};

struct rec_link {
	uint16_t	index;
	uint8_t		trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t		span_id[OTEL_SPAN_ID_SIZE];
	uint8_t		trace_flags;
	uint16_t	nr_attrs;	/* entries inside the LINK record */
	uint32_t	dropped_attrs;	/* its count, LINK and ATTR records */
};

/* A COMM record: a task's name (the latest one read for its pid). */
#define REC_COMMS	64
struct rec_comm {
	uint32_t	pid, tgid;
	char		comm[OTEL_COMM_LEN + 1];
};

/* A SPAN_BEGIN record, kept to compare with the span's SPAN record. */
struct rec_begin {
	uint8_t		trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t		parent_id[OTEL_SPAN_ID_SIZE];
	uint8_t		trace_flags, kind, flags;
	char		name[REC_NAME_MAX + 1];
	char		scope[REC_SCOPE_MAX + 1];
	char		scope_version[REC_SCOPE_MAX + 1];
	uint32_t	pid, tgid;
	uint64_t	start_ns;
	int		cpu, ctx;
};

struct rec_span {
	uint8_t		span_id[OTEL_SPAN_ID_SIZE];
	uint8_t		trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t		parent_id[OTEL_SPAN_ID_SIZE];
	uint8_t		trace_flags, kind;
	uint8_t		span_flags;		/* OTEL_SPANF_* (SPAN) */
	char		name[REC_NAME_MAX + 1];
	char		scope[REC_SCOPE_MAX + 1];
	char		scope_version[REC_SCOPE_MAX + 1];
	uint32_t	pid, tgid;
	uint64_t	start_ns, end_ns;
	int		begin_cpu, end_cpu;	/* -1 until seen */
	int		begin_ctx, end_ctx;	/* enum otel_context */
	int		has_begin;		/* SPAN_BEGIN records seen */
	int		has_span;		/* SPAN records seen */
	struct rec_begin begin;			/* the SPAN_BEGIN, if seen */
	uint32_t	dropped_attrs, dropped_events, dropped_links;
	uint32_t	nr_records;		/* SPAN.nr_records */
	uint32_t	received;		/* BEGIN/ATTR/EVENT/LINK seen */
	uint32_t	nr_attr_records, nr_event_records, nr_link_records;
	uint16_t	nr_inline;		/* span attributes in SPAN */
	uint16_t	inline_bytes;		/* bytes of those entries */
	int		status;			/* enum otel_status_code */
	char		status_msg[REC_MSG_MAX + 1];
	uint16_t	status_msg_len;
	struct rec_attr	*attrs;			/* every target, in arrival order */
	size_t		nr_attrs, cap_attrs;
	struct rec_event *events;
	size_t		nr_events, cap_events;
	struct rec_link	*links;
	size_t		nr_links, cap_links;
};

struct rec_db {
	struct rec_span	**spans;	/* in order of first record */
	size_t		nr, cap;
	struct rec_span	**hash;		/* open addressing by span id */
	size_t		hash_cap;
	size_t		records;	/* span records decoded (not COMM) */
	size_t		bad;		/* malformed records */
	char		why[256];	/* what the first bad record was */
	struct rec_comm	comms[REC_COMMS];	/* the first REC_COMMS pids */
	size_t		nr_comms, comm_records;
};

/* The name the COMM records gave @pid, or NULL. */
static inline const char *rec_comm_of(const struct rec_db *db, uint32_t pid)
{
	size_t i;

	for (i = 0; i < db->nr_comms; i++)
		if (db->comms[i].pid == pid)
			return db->comms[i].comm;
	return NULL;
}

static inline void rec_db_init(struct rec_db *db)
{
	memset(db, 0, sizeof(*db));
}

static inline void rec_db_free(struct rec_db *db)
{
	size_t i, j;

	for (i = 0; i < db->nr; i++) {
		struct rec_span *s = db->spans[i];

		for (j = 0; j < s->nr_attrs; j++)
			free(s->attrs[j].str);
		free(s->attrs);
		free(s->events);
		free(s->links);
		free(s);
	}
	free(db->spans);
	free(db->hash);
	rec_db_init(db);
}

static inline void *rec_grow(void *p, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * elem);
	if (!p) {
		perror("realloc");
		exit(1);
	}
	return p;
}

static inline size_t rec_hash_id(const uint8_t *id)
{
	uint64_t v;

	memcpy(&v, id, sizeof(v));
	return (size_t)(v * 0x9e3779b97f4a7c15ULL >> 17);
}

static inline void rec_hash_put(struct rec_db *db, struct rec_span *s)
{
	size_t i = rec_hash_id(s->span_id) & (db->hash_cap - 1);

	while (db->hash[i])
		i = (i + 1) & (db->hash_cap - 1);
	db->hash[i] = s;
}

/* The span with this id, or NULL. */
static inline struct rec_span *rec_by_id(const struct rec_db *db,
					 const uint8_t *id)
{
	size_t i;

	if (!db->hash_cap)
		return NULL;
	i = rec_hash_id(id) & (db->hash_cap - 1);
	while (db->hash[i]) {
		if (!memcmp(db->hash[i]->span_id, id, OTEL_SPAN_ID_SIZE))
			return db->hash[i];
		i = (i + 1) & (db->hash_cap - 1);
	}
	return NULL;
}

static inline struct rec_span *rec_get(struct rec_db *db, const uint8_t *id)
{
	struct rec_span *s = rec_by_id(db, id);
	size_t i;

	if (s)
		return s;
	if ((db->nr + 1) * 2 > db->hash_cap) {
		free(db->hash);
		db->hash_cap = db->hash_cap ? db->hash_cap * 2 : 1024;
		db->hash = calloc(db->hash_cap, sizeof(*db->hash));
		if (!db->hash) {
			perror("calloc");
			exit(1);
		}
		for (i = 0; i < db->nr; i++)
			rec_hash_put(db, db->spans[i]);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		perror("calloc");
		exit(1);
	}
	memcpy(s->span_id, id, OTEL_SPAN_ID_SIZE);
	s->begin_cpu = s->end_cpu = -1;
	db->spans = rec_grow(db->spans, &db->cap, db->nr, sizeof(*db->spans));
	db->spans[db->nr++] = s;
	rec_hash_put(db, s);
	return s;
}

static inline int rec_is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return 0;
	return 1;
}

static inline void rec_bad(struct rec_db *db, const char *why, unsigned int type)
{
	if (!db->bad++)
		snprintf(db->why, sizeof(db->why), "record type %u: %s", type, why);
}

static inline void rec_str(char *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static inline unsigned int rec_nr_cpus(void)
{
	static long n;

	if (!n)
		n = sysconf(_SC_NPROCESSORS_CONF);
	return n > 0 ? n : 1;
}

/*
 * Decode @n attribute entries in [@p, @end) for @s, aimed at @target, that
 * came in a record of type @rec_type.  The entries must fill the range
 * exactly.  Returns 0, or -1 after rec_bad().
 */
static inline int rec_entries(struct rec_db *db, struct rec_span *s,
			      unsigned int rec_type, uint16_t target,
			      const uint8_t *p, const uint8_t *end,
			      unsigned int n)
{
	const struct otel_attr_entry *e;
	struct rec_attr *a;
	size_t need, head;
	uint64_t den = 0;

	for (; n; n--) {
		if ((size_t)(end - p) < sizeof(*e)) {
			rec_bad(db, "attribute entry past the record's end", rec_type);
			return -1;
		}
		e = (const void *)p;
		if (e->size < sizeof(*e) || e->size % 8 ||
		    e->size > (size_t)(end - p)) {
			rec_bad(db, "attribute entry size", rec_type);
			return -1;
		}
		if (e->value_type < OTEL_ATTR_STRING ||
		    e->value_type > OTEL_ATTR_DOUBLE) {
			rec_bad(db, "attribute type", rec_type);
			return -1;
		}
		if ((e->entry_flags & ~OTEL_ATTRF_DEN) ||
		    ((e->entry_flags & OTEL_ATTRF_DEN) &&
		     e->value_type != OTEL_ATTR_DOUBLE)) {
			rec_bad(db, "attribute entry flags", rec_type);
			return -1;
		}
		head = sizeof(*e) + (e->entry_flags & OTEL_ATTRF_DEN ? 8 : 0);
		need = head + e->key_len + e->value_len;
		if (REC_ALIGN8(need) != e->size) {
			rec_bad(db, "attribute entry size does not match its lengths",
				rec_type);
			return -1;
		}
		if (e->key_len > REC_KEY_MAX ||
		    (e->value_type != OTEL_ATTR_STRING && e->value_len) ||
		    (e->value_type == OTEL_ATTR_STRING && e->value) ||
		    (e->value_type == OTEL_ATTR_BOOL && e->value != 0 &&
		     e->value != 1)) {
			rec_bad(db, "attribute entry fields", rec_type);
			return -1;
		}
		if (e->entry_flags & OTEL_ATTRF_DEN) {
			memcpy(&den, p + sizeof(*e), sizeof(den));
			if (!den) {
				rec_bad(db, "zero denominator", rec_type);
				return -1;
			}
		} else {
			den = 0;
		}
		if (!rec_is_zero(p + need, e->size - need)) {
			rec_bad(db, "non-zero attribute entry padding", rec_type);
			return -1;
		}
		s->attrs = rec_grow(s->attrs, &s->cap_attrs, s->nr_attrs,
				    sizeof(*s->attrs));
		a = &s->attrs[s->nr_attrs++];
		memset(a, 0, sizeof(*a));
		a->target = target;
		a->rec_type = rec_type;
		a->type = e->value_type;
		a->has_den = !!(e->entry_flags & OTEL_ATTRF_DEN);
		rec_str(a->key, p + head, e->key_len);
		a->str_len = e->value_len;
		a->str = malloc(e->value_len + 1);
		if (!a->str) {
			perror("malloc");
			exit(1);
		}
		rec_str(a->str, p + head + e->key_len, e->value_len);
		a->value = e->value;
		a->den = den;
		p += e->size;
	}
	if (p != end) {
		rec_bad(db, "bytes after the last attribute entry", rec_type);
		return -1;
	}
	return 0;
}

/* A SPAN and a SPAN_BEGIN of one span must tell the same story. */
static inline void rec_cross_check(struct rec_db *db, const struct rec_span *s)
{
	const struct rec_begin *b = &s->begin;

	if (memcmp(b->trace_id, s->trace_id, OTEL_TRACE_ID_SIZE) ||
	    memcmp(b->parent_id, s->parent_id, OTEL_SPAN_ID_SIZE) ||
	    b->trace_flags != s->trace_flags || b->kind != s->kind ||
	    b->flags != (s->span_flags & OTEL_SPANF_REMOTE_PARENT) ||
	    strcmp(b->name, s->name) || strcmp(b->scope, s->scope) ||
	    strcmp(b->scope_version, s->scope_version) ||
	    b->pid != s->pid || b->tgid != s->tgid ||
	    b->start_ns != s->start_ns || b->cpu != s->begin_cpu ||
	    b->ctx != s->begin_ctx || !(s->span_flags & OTEL_SPANF_BEGIN_RECORD))
		rec_bad(db, "SPAN_BEGIN and SPAN disagree", OTEL_REC_SPAN_BEGIN);
}

static inline void rec_span_begin(struct rec_db *db, struct rec_span *s,
				  const uint8_t *p, size_t size)
{
	const struct otel_rec_span_begin *r = (const void *)p;
	const struct otel_rec_hdr *h = &r->hdr;
	struct rec_begin *b = &s->begin;
	const uint8_t *str = p + sizeof(*r);
	size_t used;

	if (size < sizeof(*r)) {
		rec_bad(db, "begin too short", h->type);
		return;
	}
	used = sizeof(*r) + r->name_len + r->scope_name_len +
	       r->scope_version_len;
	if (REC_ALIGN8(used) != size || r->name_len > REC_NAME_MAX ||
	    r->scope_name_len > REC_SCOPE_MAX ||
	    r->scope_version_len > REC_SCOPE_MAX) {
		rec_bad(db, "begin size does not match its strings", h->type);
		return;
	}
	if (r->reserved0 || r->reserved1 || r->reserved2 ||
	    (r->begin_flags & ~OTEL_BEGINF_REMOTE_PARENT) ||
	    !rec_is_zero(p + used, size - used)) {
		rec_bad(db, "begin reserved or padding", h->type);
		return;
	}
	if (rec_is_zero(r->trace_id, OTEL_TRACE_ID_SIZE)) {
		rec_bad(db, "begin with a zero trace id", h->type);
		return;
	}
	if ((h->flags & OTEL_RECF_CTX_MASK) != OTEL_CTX_TASK &&
	    (r->pid || r->tgid)) {
		rec_bad(db, "begin: pid outside task context", h->type);
		return;
	}
	memcpy(b->trace_id, r->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(b->parent_id, r->parent_span_id, OTEL_SPAN_ID_SIZE);
	b->trace_flags = r->trace_flags;
	b->kind = r->kind;
	b->flags = r->begin_flags;
	rec_str(b->name, str, r->name_len);
	rec_str(b->scope, str + r->name_len, r->scope_name_len);
	rec_str(b->scope_version, str + r->name_len + r->scope_name_len,
		r->scope_version_len);
	b->pid = r->pid;
	b->tgid = r->tgid;
	b->start_ns = h->time_ns;
	b->cpu = h->cpu;
	b->ctx = h->flags & OTEL_RECF_CTX_MASK;
	s->has_begin++;
	s->received++;
	if (s->has_span) {
		rec_cross_check(db, s);
		return;
	}
	/* Until (unless) the SPAN record comes, the span is what BEGIN says. */
	memcpy(s->trace_id, b->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(s->parent_id, b->parent_id, OTEL_SPAN_ID_SIZE);
	s->trace_flags = b->trace_flags;
	s->kind = b->kind;
	s->span_flags = b->flags;
	strcpy(s->name, b->name);
	strcpy(s->scope, b->scope);
	strcpy(s->scope_version, b->scope_version);
	s->pid = b->pid;
	s->tgid = b->tgid;
	s->start_ns = b->start_ns;
	s->begin_cpu = b->cpu;
	s->begin_ctx = b->ctx;
}

static inline void rec_span_end(struct rec_db *db, struct rec_span *s,
				const uint8_t *p, size_t size)
{
	const struct otel_rec_span *r = (const void *)p;
	const struct otel_rec_hdr *h = &r->hdr;
	const char *str = (const char *)(r + 1);
	size_t used;

	if (size < sizeof(*r)) {
		rec_bad(db, "span too short", h->type);
		return;
	}
	used = sizeof(*r) + r->name_len + r->scope_name_len +
	       r->scope_version_len + r->status_message_len;
	if (r->name_len > REC_NAME_MAX || r->scope_name_len > REC_SCOPE_MAX ||
	    r->scope_version_len > REC_SCOPE_MAX ||
	    r->status_message_len > REC_MSG_MAX ||
	    r->attrs_offset != REC_ALIGN8(used) || r->attrs_offset > size) {
		rec_bad(db, "span strings or attrs_offset", h->type);
		return;
	}
	if (r->reserved0 || r->reserved1 ||
	    !rec_is_zero(p + used, r->attrs_offset - used)) {
		rec_bad(db, "span reserved or padding", h->type);
		return;
	}
	if (rec_is_zero(r->trace_id, OTEL_TRACE_ID_SIZE) ||
	    r->kind > OTEL_SPAN_KIND_CONSUMER ||
	    r->status_code > OTEL_STATUS_ERROR ||
	    (r->status_code != OTEL_STATUS_ERROR && r->status_message_len) ||
	    (r->span_flags & ~(OTEL_SPANF_REMOTE_PARENT |
			       OTEL_SPANF_BEGIN_RECORD)) ||
	    r->begin_context > OTEL_CTX_NMI || r->begin_cpu >= rec_nr_cpus() ||
	    r->start_ns > h->time_ns ||
	    (r->begin_context != OTEL_CTX_TASK && (r->pid || r->tgid))) {
		rec_bad(db, "span fields", h->type);
		return;
	}
	if (s->has_span) {
		rec_bad(db, "second SPAN record for one span id", h->type);
		return;
	}
	if (rec_entries(db, s, OTEL_REC_SPAN, OTEL_ATTR_TARGET_SPAN,
			p + r->attrs_offset, p + size, r->nr_attrs))
		return;
	memcpy(s->trace_id, r->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(s->parent_id, r->parent_span_id, OTEL_SPAN_ID_SIZE);
	s->trace_flags = r->trace_flags;
	s->kind = r->kind;
	s->span_flags = r->span_flags;
	rec_str(s->name, str, r->name_len);
	str += r->name_len;
	rec_str(s->scope, str, r->scope_name_len);
	str += r->scope_name_len;
	rec_str(s->scope_version, str, r->scope_version_len);
	str += r->scope_version_len;
	rec_str(s->status_msg, str, r->status_message_len);
	s->status_msg_len = r->status_message_len;
	s->status = r->status_code;
	s->pid = r->pid;
	s->tgid = r->tgid;
	s->start_ns = r->start_ns;
	s->end_ns = h->time_ns;
	s->begin_cpu = r->begin_cpu;
	s->begin_ctx = r->begin_context;
	s->end_cpu = h->cpu;
	s->end_ctx = h->flags & OTEL_RECF_CTX_MASK;
	s->nr_records = r->nr_records;
	s->dropped_attrs = r->dropped_attributes;
	s->dropped_events = r->dropped_events;
	s->dropped_links = r->dropped_links;
	s->nr_inline = r->nr_attrs;
	s->inline_bytes = size - r->attrs_offset;
	s->has_span++;
	if (s->has_begin)
		rec_cross_check(db, s);
}

static inline int rec_target_ok(uint16_t target)
{
	return target == OTEL_ATTR_TARGET_SPAN ||
	       (target & OTEL_ATTR_TARGET_INDEX);
}

/* Add @n to the dropped count of the event or link @target names. */
static inline void rec_item_dropped(struct rec_span *s, uint16_t target,
				    uint32_t n)
{
	uint16_t index = target & OTEL_ATTR_TARGET_INDEX;
	size_t i;

	if (!n)
		return;
	if (target & OTEL_ATTR_TARGET_LINK) {
		for (i = 0; i < s->nr_links; i++)
			if (s->links[i].index == index)
				s->links[i].dropped_attrs += n;
	} else {
		for (i = 0; i < s->nr_events; i++)
			if (s->events[i].index == index)
				s->events[i].dropped_attrs += n;
	}
}

static inline void rec_attr_rec(struct rec_db *db, struct rec_span *s,
				const uint8_t *p, size_t size)
{
	const struct otel_rec_attr *r = (const void *)p;

	if (size < sizeof(*r)) {
		rec_bad(db, "attr too short", r->hdr.type);
		return;
	}
	/* a count only for an event or link; a record says something */
	if ((!r->nr_attrs && !r->dropped_attributes) ||
	    (r->dropped_attributes && r->target == OTEL_ATTR_TARGET_SPAN) ||
	    !rec_target_ok(r->target)) {
		rec_bad(db, "attr dropped count, target or count", r->hdr.type);
		return;
	}
	if (rec_entries(db, s, OTEL_REC_ATTR, r->target, p + sizeof(*r),
			p + size, r->nr_attrs))
		return;
	rec_item_dropped(s, r->target, r->dropped_attributes);
	s->nr_attr_records++;
	s->received++;
}

static inline void rec_event_rec(struct rec_db *db, struct rec_span *s,
				 const uint8_t *p, size_t size)
{
	const struct otel_rec_event *r = (const void *)p;
	struct rec_event *e;
	size_t used;

	if (size < sizeof(*r)) {
		rec_bad(db, "event too short", r->hdr.type);
		return;
	}
	used = sizeof(*r) + r->name_len;
	if (r->name_len > REC_NAME_MAX || r->attrs_offset != REC_ALIGN8(used) ||
	    r->attrs_offset > size) {
		rec_bad(db, "event name or attrs_offset", r->hdr.type);
		return;
	}
	if (!rec_is_zero(p + used, r->attrs_offset - used) || r->reserved0 ||
	    !(r->index & OTEL_ATTR_TARGET_INDEX) ||
	    (r->index & OTEL_ATTR_TARGET_LINK)) {
		rec_bad(db, "event padding or index", r->hdr.type);
		return;
	}
	if (rec_entries(db, s, OTEL_REC_EVENT, r->index, p + r->attrs_offset,
			p + size, r->nr_attrs))
		return;
	s->events = rec_grow(s->events, &s->cap_events, s->nr_events,
			     sizeof(*s->events));
	e = &s->events[s->nr_events++];
	e->index = r->index;
	e->time_ns = r->hdr.time_ns;
	e->nr_attrs = r->nr_attrs;
	e->dropped_attrs = r->dropped_attributes;
	rec_str(e->name, r + 1, r->name_len);
	s->nr_event_records++;
	s->received++;
}

static inline void rec_link_rec(struct rec_db *db, struct rec_span *s,
				const uint8_t *p, size_t size)
{
	const struct otel_rec_link *r = (const void *)p;
	struct rec_link *l;

	if (size < sizeof(*r)) {
		rec_bad(db, "link too short", r->hdr.type);
		return;
	}
	if (r->reserved0 ||
	    !(r->index & OTEL_ATTR_TARGET_INDEX) ||
	    (r->index & OTEL_ATTR_TARGET_LINK) ||
	    rec_is_zero(r->trace_id, OTEL_TRACE_ID_SIZE) ||
	    rec_is_zero(r->span_id, OTEL_SPAN_ID_SIZE)) {
		rec_bad(db, "link reserved, index or ids", r->hdr.type);
		return;
	}
	if (rec_entries(db, s, OTEL_REC_LINK, OTEL_ATTR_TARGET_LINK | r->index,
			p + sizeof(*r), p + size, r->nr_attrs))
		return;
	s->links = rec_grow(s->links, &s->cap_links, s->nr_links,
			    sizeof(*s->links));
	l = &s->links[s->nr_links++];
	l->index = r->index;
	memcpy(l->trace_id, r->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(l->span_id, r->span_id, OTEL_SPAN_ID_SIZE);
	l->trace_flags = r->trace_flags;
	l->nr_attrs = r->nr_attrs;
	l->dropped_attrs = r->dropped_attributes;
	s->nr_link_records++;
	s->received++;
}

/*
 * A COMM: 48 bytes, task context, no span id, a pid (never an idle task's
 * 0), a name NUL-padded after its end ("" is one).
 */
static inline void rec_comm_rec(struct rec_db *db, const uint8_t *p,
				size_t size)
{
	const struct otel_rec_comm *r = (const void *)p;
	size_t len, i;

	db->comm_records++;
	if (size != sizeof(*r) || !rec_is_zero(r->hdr.span_id, OTEL_SPAN_ID_SIZE) ||
	    (r->hdr.flags & OTEL_RECF_CTX_MASK) != OTEL_CTX_TASK || !r->pid ||
	    !r->tgid) {
		rec_bad(db, "comm size, header or pid", r->hdr.type);
		return;
	}
	len = strnlen(r->comm, OTEL_COMM_LEN);
	/* "" is a name: prctl(PR_SET_NAME, "") */
	if (!rec_is_zero((const uint8_t *)r->comm + len, OTEL_COMM_LEN - len)) {
		rec_bad(db, "comm name or padding", r->hdr.type);
		return;
	}
	for (i = 0; i < db->nr_comms; i++)
		if (db->comms[i].pid == r->pid)
			break;
	if (i == REC_COMMS)
		return;
	if (i == db->nr_comms)
		db->nr_comms++;
	db->comms[i].pid = r->pid;
	db->comms[i].tgid = r->tgid;
	memcpy(db->comms[i].comm, r->comm, OTEL_COMM_LEN);
	db->comms[i].comm[len] = '\0';
}

/* Decode one record of @size bytes (a multiple of 8, inside the buffer). */
static inline void rec_decode(struct rec_db *db, const uint8_t *p, size_t size)
{
	const struct otel_rec_hdr *h = (const void *)p;
	struct rec_span *s;

	if (h->type == OTEL_REC_COMM && size == sizeof(struct otel_rec_comm)) {
		rec_comm_rec(db, p, size);
		return;
	}
	db->records++;
	if (h->size != size || size > OTEL_REC_MAX_SIZE ||
	    size < sizeof(*h) || size % 8) {
		rec_bad(db, "bad size", h->type);
		return;
	}
	if ((h->flags & ~OTEL_RECF_CTX_MASK) || h->cpu >= rec_nr_cpus()) {
		rec_bad(db, "header flags or cpu", h->type);
		return;
	}
	if (h->type == OTEL_REC_RAW)
		return;
	if (h->type != OTEL_REC_SPAN_BEGIN && h->type != OTEL_REC_SPAN &&
	    h->type != OTEL_REC_ATTR && h->type != OTEL_REC_EVENT &&
	    h->type != OTEL_REC_LINK) {
		/* PAD never comes through read(); 2 and 6 were ABI 1's. */
		rec_bad(db, "unexpected record type", h->type);
		return;
	}
	if (rec_is_zero(h->span_id, OTEL_SPAN_ID_SIZE)) {
		rec_bad(db, "zero span id", h->type);
		return;
	}
	s = rec_get(db, h->span_id);
	switch (h->type) {
	case OTEL_REC_SPAN_BEGIN:
		rec_span_begin(db, s, p, size);
		break;
	case OTEL_REC_SPAN:
		rec_span_end(db, s, p, size);
		break;
	case OTEL_REC_ATTR:
		rec_attr_rec(db, s, p, size);
		break;
	case OTEL_REC_EVENT:
		rec_event_rec(db, s, p, size);
		break;
	case OTEL_REC_LINK:
		rec_link_rec(db, s, p, size);
		break;
	}
}

/* Open /dev/oteltrace for reading, non-blocking: fd or -errno. */
static inline int rec_open(void)
{
	int fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Read every record waiting now (after OTEL_IOC_FLUSH) and hand each whole
 * record to @cb.  Returns the number of records read, or -errno (-EPROTO:
 * read() returned something that is not a sequence of whole records).
 */
static inline long rec_read_each(int fd,
				 void (*cb)(void *arg, const uint8_t *rec,
					    size_t size),
				 void *arg)
{
	static uint8_t buf[1 << 20] __attribute__((aligned(8)));
	long records = 0;
	size_t off;
	ssize_t n;

	ioctl(fd, OTEL_IOC_FLUSH);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (off = 0; n - off >= sizeof(struct otel_rec_hdr);) {
			const struct otel_rec_hdr *h = (const void *)(buf + off);

			if (h->size < sizeof(*h) || h->size % 8 ||
			    h->size > n - off)
				return -EPROTO;
			cb(arg, buf + off, h->size);
			off += h->size;
			/* a COMM names a task: not a span's record */
			records += h->type != OTEL_REC_COMM;
		}
		if (off != (size_t)n)
			return -EPROTO;
	}
	return records;
}

static inline void rec_db_cb(void *arg, const uint8_t *rec, size_t size)
{
	rec_decode(arg, rec, size);
}

/* Read every record waiting now into @db: records read, or -errno. */
static inline long rec_drain(int fd, struct rec_db *db)
{
	return rec_read_each(fd, rec_db_cb, db);
}

/* The @nth (from 0) span named @name, in order of arrival, or NULL. */
static inline struct rec_span *rec_find(const struct rec_db *db,
					const char *name, size_t nth)
{
	size_t i;

	for (i = 0; i < db->nr; i++) {
		if (!strcmp(db->spans[i]->name, name) && !nth--)
			return db->spans[i];
	}
	return NULL;
}

/* How many spans are named @name. */
static inline size_t rec_count(const struct rec_db *db, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < db->nr; i++)
		n += !strcmp(db->spans[i]->name, name);
	return n;
}

/* The first attribute with @key on @target of @s, or NULL. */
static inline const struct rec_attr *rec_attr(const struct rec_span *s,
					      uint16_t target, const char *key)
{
	size_t i;

	for (i = 0; i < s->nr_attrs; i++) {
		if (s->attrs[i].target == target && !strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	}
	return NULL;
}

/* The event of @s with this index, or NULL. */
static inline const struct rec_event *rec_event_at(const struct rec_span *s,
						   uint16_t index)
{
	size_t i;

	for (i = 0; i < s->nr_events; i++) {
		if (s->events[i].index == index)
			return &s->events[i];
	}
	return NULL;
}

/* How many attributes of @s are aimed at @target. */
static inline size_t rec_nr_target(const struct rec_span *s, uint16_t target)
{
	size_t i, n = 0;

	for (i = 0; i < s->nr_attrs; i++)
		n += s->attrs[i].target == target;
	return n;
}

/*
 * Is @s complete: its SPAN record seen once, every record it counts in
 * nr_records seen, and a SPAN_BEGIN exactly when it says it wrote one?
 */
static inline int rec_complete(const struct rec_span *s)
{
	return s->has_span == 1 && s->received == s->nr_records &&
	       s->has_begin == !!(s->span_flags & OTEL_SPANF_BEGIN_RECORD);
}

#endif /* _OTELTRACE_RECORDS_H */
