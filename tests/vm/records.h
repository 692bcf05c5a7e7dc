/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record reader for the in-VM tests: read() every record waiting in
 * /dev/oteltrace and reassemble spans by span id, checking on the way that
 * every record is well formed (sizes, reserved fields and padding zero).
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

struct rec_attr {
	uint16_t	target;
	uint8_t		type;
	char		key[129];
	char		*str;		/* STRING: value_len bytes + NUL */
	uint16_t	str_len;
	int64_t		value;
	uint64_t	den;
};

struct rec_event {
	uint16_t	index;
	char		name[257];
	uint64_t	time_ns;
};

struct rec_link {
	uint16_t	index;
	uint8_t		trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t		span_id[OTEL_SPAN_ID_SIZE];
	uint8_t		trace_flags;
};

struct rec_span {
	uint8_t		span_id[OTEL_SPAN_ID_SIZE];
	uint8_t		trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t		parent_id[OTEL_SPAN_ID_SIZE];
	uint8_t		trace_flags, kind, begin_flags;
	char		name[260];		/* the kernel cuts at 256 */
	char		scope[68];
	char		scope_version[68];
	uint32_t	pid, tgid;
	uint64_t	start_ns, end_ns;
	int		begin_cpu, end_cpu;	/* -1 until seen */
	int		begin_ctx, end_ctx;	/* enum otel_context */
	int		has_begin, has_end;
	uint32_t	dropped_attrs, dropped_events, dropped_links;
	uint32_t	nr_records;		/* from SPAN_END */
	uint32_t	received;		/* records seen before the end */
	int		status;			/* last STATUS record */
	char		status_msg[260];
	int		nr_status;
	struct rec_attr	*attrs;
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
	size_t		records;	/* records decoded */
	size_t		bad;		/* malformed or non-zero reserved */
	char		why[256];	/* what the first bad record was */
};

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

static inline void rec_str(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Decode one record of @size bytes (already bounds-checked). */
static inline void rec_decode(struct rec_db *db, const uint8_t *p, size_t size)
{
	const struct otel_rec_hdr *h = (const void *)p;
	const char *str;
	struct rec_span *s;
	size_t used = 0;

	db->records++;
	if (h->type == OTEL_REC_PAD || h->type == OTEL_REC_RAW)
		return;
	if (rec_is_zero(h->span_id, OTEL_SPAN_ID_SIZE)) {
		rec_bad(db, "zero span id", h->type);
		return;
	}
	s = rec_get(db, h->span_id);

	switch (h->type) {
	case OTEL_REC_SPAN_BEGIN: {
		const struct otel_rec_span_begin *r = (const void *)p;

		used = sizeof(*r) + r->name_len + r->scope_name_len +
		       r->scope_version_len;
		if (size < sizeof(*r) || used > size) {
			rec_bad(db, "begin too short", h->type);
			return;
		}
		if (r->reserved0 || r->reserved1)
			rec_bad(db, "begin reserved", h->type);
		str = (const char *)(r + 1);
		memcpy(s->trace_id, r->trace_id, OTEL_TRACE_ID_SIZE);
		memcpy(s->parent_id, r->parent_span_id, OTEL_SPAN_ID_SIZE);
		s->trace_flags = r->trace_flags;
		s->kind = r->kind;
		s->begin_flags = r->begin_flags;
		rec_str(s->name, str, r->name_len);
		rec_str(s->scope, str + r->name_len, r->scope_name_len);
		rec_str(s->scope_version,
			str + r->name_len + r->scope_name_len,
			r->scope_version_len);
		s->pid = r->pid;
		s->tgid = r->tgid;
		s->start_ns = h->time_ns;
		s->begin_cpu = h->cpu;
		s->begin_ctx = h->flags & OTEL_RECF_CTX_MASK;
		s->has_begin++;
		s->received++;
		break;
	}
	case OTEL_REC_SPAN_END: {
		const struct otel_rec_span_end *r = (const void *)p;

		used = sizeof(*r);
		if (size < used) {
			rec_bad(db, "end too short", h->type);
			return;
		}
		s->dropped_attrs = r->dropped_attributes;
		s->dropped_events = r->dropped_events;
		s->dropped_links = r->dropped_links;
		s->nr_records = r->nr_records;
		s->end_ns = h->time_ns;
		s->end_cpu = h->cpu;
		s->end_ctx = h->flags & OTEL_RECF_CTX_MASK;
		s->has_end++;
		break;
	}
	case OTEL_REC_ATTR: {
		const struct otel_rec_attr *r = (const void *)p;
		struct rec_attr *a;

		used = sizeof(*r) + r->key_len + r->value_len;
		if (size < sizeof(*r) || used > size || r->key_len > 128) {
			rec_bad(db, "attr too short", h->type);
			return;
		}
		if (r->reserved0 ||
		    (r->value_type != OTEL_ATTR_DOUBLE && r->den) ||
		    (r->value_type != OTEL_ATTR_STRING && r->value_len))
			rec_bad(db, "attr reserved", h->type);
		s->attrs = rec_grow(s->attrs, &s->cap_attrs, s->nr_attrs,
				    sizeof(*s->attrs));
		a = &s->attrs[s->nr_attrs++];
		memset(a, 0, sizeof(*a));
		str = (const char *)(r + 1);
		a->target = r->target;
		a->type = r->value_type;
		rec_str(a->key, str, r->key_len);
		a->str_len = r->value_len;
		a->str = malloc(r->value_len + 1);
		if (!a->str) {
			perror("malloc");
			exit(1);
		}
		rec_str(a->str, str + r->key_len, r->value_len);
		a->value = r->value;
		a->den = r->den;
		s->received++;
		break;
	}
	case OTEL_REC_EVENT: {
		const struct otel_rec_event *r = (const void *)p;
		struct rec_event *e;

		used = sizeof(*r) + r->name_len;
		if (size < sizeof(*r) || used > size || r->name_len > 256) {
			rec_bad(db, "event too short", h->type);
			return;
		}
		if (r->reserved0)
			rec_bad(db, "event reserved", h->type);
		s->events = rec_grow(s->events, &s->cap_events, s->nr_events,
				     sizeof(*s->events));
		e = &s->events[s->nr_events++];
		e->index = r->index;
		e->time_ns = h->time_ns;
		rec_str(e->name, (const char *)(r + 1), r->name_len);
		s->received++;
		break;
	}
	case OTEL_REC_LINK: {
		const struct otel_rec_link *r = (const void *)p;
		struct rec_link *l;

		used = sizeof(*r);
		if (size < used) {
			rec_bad(db, "link too short", h->type);
			return;
		}
		if (r->reserved0 || r->reserved1)
			rec_bad(db, "link reserved", h->type);
		s->links = rec_grow(s->links, &s->cap_links, s->nr_links,
				    sizeof(*s->links));
		l = &s->links[s->nr_links++];
		l->index = r->index;
		memcpy(l->trace_id, r->trace_id, OTEL_TRACE_ID_SIZE);
		memcpy(l->span_id, r->span_id, OTEL_SPAN_ID_SIZE);
		l->trace_flags = r->trace_flags;
		s->received++;
		break;
	}
	case OTEL_REC_STATUS: {
		const struct otel_rec_status *r = (const void *)p;

		used = sizeof(*r) + r->message_len;
		if (size < sizeof(*r) || used > size) {
			rec_bad(db, "status too short", h->type);
			return;
		}
		if (r->reserved0 || r->reserved1)
			rec_bad(db, "status reserved", h->type);
		s->status = r->code;
		rec_str(s->status_msg, (const char *)(r + 1), r->message_len);
		s->nr_status++;
		s->received++;
		break;
	}
	default:
		return;		/* unknown types are skipped by size */
	}
	if (!rec_is_zero(p + used, size - used))
		rec_bad(db, "non-zero padding", h->type);
}

/* Open /dev/oteltrace for reading, non-blocking: fd or -errno. */
static inline int rec_open(void)
{
	int fd = open("/dev/" OTEL_DEVICE_NAME, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Read every record waiting now (after OTEL_IOC_FLUSH) and hand each whole
 * record to @cb.  Returns the number of records read, or -errno.
 */
static inline long rec_read_each(int fd,
				 void (*cb)(void *arg, const uint8_t *rec,
					    size_t size),
				 void *arg)
{
	static uint8_t buf[1 << 20];
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
			records++;
		}
		if (off != (size_t)n)
			return -EPROTO;
	}
	return records;
}

static inline void rec_db_cb(void *arg, const uint8_t *rec, size_t size)
{
	struct rec_db *db = arg;

	if (size > OTEL_REC_MAX_SIZE) {
		rec_bad(db, "bad size", ((const struct otel_rec_hdr *)rec)->type);
		return;
	}
	rec_decode(db, rec, size);
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

/* The @nth attribute with @key on @target of @s, or NULL. */
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

/* Is @s complete: begin and end seen, and every record it wrote? */
static inline int rec_complete(const struct rec_span *s)
{
	return s->has_begin == 1 && s->has_end == 1 &&
	       s->received == s->nr_records;
}

#endif /* _OTELTRACE_RECORDS_H */
