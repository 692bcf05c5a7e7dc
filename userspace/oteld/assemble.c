// SPDX-License-Identifier: GPL-2.0
/*
 * Record decoding and span assembly.
 *
 * The records of one span share its span id but may sit in different CPUs'
 * rings, so they arrive in any order.  Open spans live in a hash table keyed
 * by span id (bounded: when it is full the oldest open span is exported as it
 * is) and on an age list, oldest first.  A span is complete once its BEGIN and
 * END have arrived and the records counted so far match END's nr_records.
 * Otherwise it is exported marked oteltrace.incomplete=true when its END came
 * more than the grace period ago, when it has been open longer than the span
 * timeout, or when the relay stops.
 *
 * Times are kept CLOCK_MONOTONIC while a span is open and converted to Unix
 * epoch ns with the current anchor when it is finished, so durations are
 * exact whatever the anchor.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oteld.h"

#define EXPIRE_EVERY_NS 100000000ull	/* 100 ms: the timers' resolution */

struct assembler {
	struct span **buckets;
	size_t mask, open, max_open;
	struct span *oldest, *newest;
	uint64_t timeout_ns, grace_ns, now, last_time, last_scan;
	struct anchor anchor;
	span_sink sink;
	void *arg;
	/* an aligned copy of the record being decoded */
	union {
		struct otel_rec_hdr hdr;
		struct otel_rec_span_begin begin;
		struct otel_rec_span_end end;
		struct otel_rec_attr attr;
		struct otel_rec_event event;
		struct otel_rec_link link;
		struct otel_rec_status status;
		uint8_t bytes[65536];
	} rec;
};

void span_free(struct span *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr_attrs; i++) {
		free(s->attrs[i].key);
		free(s->attrs[i].str);
	}
	for (i = 0; i < s->nr_events; i++)
		free(s->events[i].name);
	free(s->attrs);
	free(s->events);
	free(s->links);
	free(s->name);
	free(s->scope_name);
	free(s->scope_version);
	free(s->status_message);
	free(s);
}

struct assembler *assembler_new(size_t max_open, uint64_t timeout_ns,
				uint64_t grace_ns, span_sink sink, void *arg)
{
	struct assembler *a = calloc(1, sizeof(*a));
	struct timespec mono, real;
	size_t n = 16;

	if (!a)
		return NULL;
	while (n < max_open && n < ((size_t)1 << 30))
		n <<= 1;
	a->buckets = calloc(n, sizeof(*a->buckets));
	if (!a->buckets) {
		free(a);
		return NULL;
	}
	a->mask = n - 1;
	a->max_open = max_open ? max_open : 1;
	a->timeout_ns = timeout_ns;
	a->grace_ns = grace_ns;
	a->sink = sink;
	a->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	a->anchor.mono_ns = mono.tv_sec * 1000000000ull + mono.tv_nsec;
	a->anchor.real_ns = real.tv_sec * 1000000000ull + real.tv_nsec;
	return a;
}

void assembler_set_anchor(struct assembler *a, const struct anchor *an)
{
	a->anchor = *an;
}

uint64_t assembler_last_time(const struct assembler *a)
{
	return a->last_time;
}

size_t assembler_open(const struct assembler *a)
{
	return a->open;
}

static size_t bucket_of(const struct assembler *a, const uint8_t *id)
{
	uint64_t v;

	memcpy(&v, id, sizeof(v));
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return v & a->mask;
}

static void unlink_span(struct assembler *a, struct span *s)
{
	struct span **pp = &a->buckets[bucket_of(a, s->span_id)];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		a->oldest = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		a->newest = s->prev;
	s->prev = s->next = s->hnext = NULL;
	a->open--;
}

static void add_marker(struct span *s, const char *key, uint8_t type,
		       int64_t v)
{
	struct attr *n = realloc(s->attrs, (s->nr_attrs + 1) * sizeof(*n));

	if (!n)
		return;
	s->attrs = n;
	n = &s->attrs[s->nr_attrs];
	memset(n, 0, sizeof(*n));
	n->key = strdup(key);
	if (!n->key)
		return;
	n->type = type;
	n->i = v;
	s->nr_attrs++;
}

/* Leave the table: convert times, mark, count, hand to the sink. */
static void finish(struct assembler *a, struct span *s, bool incomplete)
{
	size_t i;

	unlink_span(a, s);
	if (!s->has_begin) {
		/* Without BEGIN there is no trace id, name or start. */
		atomic_fetch_add(&stats.spans_no_begin, 1);
		span_free(s);
		return;
	}
	if (!s->has_end)
		s->end = s->end > s->start ? s->end : s->start;
	s->start = anchor_to_real(&a->anchor, s->start);
	s->end = anchor_to_real(&a->anchor, s->end);
	for (i = 0; i < s->nr_events; i++)
		s->events[i].time = anchor_to_real(&a->anchor,
						   s->events[i].time);
	if (incomplete) {
		s->incomplete = true;
		add_marker(s, "oteltrace.incomplete", OTEL_ATTR_BOOL, 1);
		if (s->has_end && s->nr_expected > s->nr_seen)
			add_marker(s, "oteltrace.missing_records", OTEL_ATTR_INT,
				   s->nr_expected - s->nr_seen);
		atomic_fetch_add(&stats.spans_incomplete, 1);
	} else {
		atomic_fetch_add(&stats.spans_complete, 1);
	}
	a->sink(s, a->arg);
}

static uint64_t clock_now(const struct assembler *a)
{
	return a->now > a->last_time ? a->now : a->last_time;
}

static struct span *lookup(struct assembler *a, const uint8_t *id)
{
	struct span *s = a->buckets[bucket_of(a, id)];
	size_t b;

	while (s && memcmp(s->span_id, id, OTEL_SPAN_ID_SIZE))
		s = s->hnext;
	if (s)
		return s;
	if (a->open >= a->max_open) {
		atomic_fetch_add(&stats.spans_evicted, 1);
		finish(a, a->oldest, true);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->span_id, id, OTEL_SPAN_ID_SIZE);
	s->first_mono = clock_now(a);
	b = bucket_of(a, id);
	s->hnext = a->buckets[b];
	a->buckets[b] = s;
	s->prev = a->newest;
	if (a->newest)
		a->newest->next = s;
	else
		a->oldest = s;
	a->newest = s;
	a->open++;
	return s;
}

static char *dup_str(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static bool do_begin(struct span *s, const struct otel_rec_span_begin *b,
		     size_t size)
{
	const uint8_t *str = (const uint8_t *)(b + 1);
	size_t need = sizeof(*b) + b->name_len + b->scope_name_len +
		      b->scope_version_len;

	if (size < need || s->has_begin)
		return false;
	memcpy(s->trace_id, b->trace_id, sizeof(s->trace_id));
	memcpy(s->parent_span_id, b->parent_span_id,
	       sizeof(s->parent_span_id));
	s->trace_flags = b->trace_flags;
	s->kind = b->kind <= OTEL_SPAN_KIND_CONSUMER ? b->kind : 0;
	s->begin_flags = b->begin_flags;
	s->pid = b->pid;
	s->tgid = b->tgid;
	s->start = b->hdr.time_ns;
	s->name = dup_str(str, b->name_len);
	s->scope_name = dup_str(str + b->name_len, b->scope_name_len);
	s->scope_version = dup_str(str + b->name_len + b->scope_name_len,
				   b->scope_version_len);
	s->has_begin = s->name && s->scope_name && s->scope_version;
	return s->has_begin;
}

static double attr_double(const struct otel_rec_attr *r)
{
	double d;
	uint64_t bits = (uint64_t)r->value;

	if (r->den)
		return (double)r->value / (double)r->den;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static bool do_attr(struct span *s, const struct otel_rec_attr *r,
		    size_t size)
{
	const uint8_t *str = (const uint8_t *)(r + 1);
	struct attr *n;

	if (size < sizeof(*r) + r->key_len + r->value_len ||
	    r->value_type < OTEL_ATTR_STRING ||
	    r->value_type > OTEL_ATTR_DOUBLE)
		return false;
	if (s->nr_attrs >= SPAN_MAX_ATTRS) {
		if (r->target == OTEL_ATTR_TARGET_SPAN)
			s->dropped_attrs++;
		atomic_fetch_add(&stats.span_items_dropped, 1);
		return true;
	}
	n = realloc(s->attrs, (s->nr_attrs + 1) * sizeof(*n));
	if (!n)
		return false;
	s->attrs = n;
	n = &s->attrs[s->nr_attrs];
	memset(n, 0, sizeof(*n));
	n->key = dup_str(str, r->key_len);
	if (r->value_type == OTEL_ATTR_STRING)
		n->str = dup_str(str + r->key_len, r->value_len);
	if (!n->key || (r->value_type == OTEL_ATTR_STRING && !n->str)) {
		free(n->key);
		free(n->str);
		return false;
	}
	n->type = r->value_type;
	n->target = r->target;
	n->i = r->value_type == OTEL_ATTR_BOOL ? !!r->value : r->value;
	if (r->value_type == OTEL_ATTR_DOUBLE)
		n->d = attr_double(r);
	s->nr_attrs++;
	return true;
}

static bool do_event(struct span *s, const struct otel_rec_event *r,
		     size_t size)
{
	struct event *n;

	if (size < sizeof(*r) + r->name_len)
		return false;
	if (s->nr_events >= SPAN_MAX_EVENTS) {
		s->dropped_events++;
		atomic_fetch_add(&stats.span_items_dropped, 1);
		return true;
	}
	n = realloc(s->events, (s->nr_events + 1) * sizeof(*n));
	if (!n)
		return false;
	s->events = n;
	n = &s->events[s->nr_events];
	n->index = r->index;
	n->time = r->hdr.time_ns;
	n->name = dup_str((const uint8_t *)(r + 1), r->name_len);
	if (!n->name)
		return false;
	s->nr_events++;
	return true;
}

static bool do_link(struct span *s, const struct otel_rec_link *r)
{
	struct link *n;

	if (s->nr_links >= SPAN_MAX_LINKS) {
		s->dropped_links++;
		atomic_fetch_add(&stats.span_items_dropped, 1);
		return true;
	}
	n = realloc(s->links, (s->nr_links + 1) * sizeof(*n));
	if (!n)
		return false;
	s->links = n;
	n = &s->links[s->nr_links++];
	n->index = r->index;
	memcpy(n->trace_id, r->trace_id, sizeof(n->trace_id));
	memcpy(n->span_id, r->span_id, sizeof(n->span_id));
	n->trace_flags = r->trace_flags;
	return true;
}

/* The status with the latest time wins, whatever order they arrive in. */
static bool do_status(struct span *s, const struct otel_rec_status *r,
		      size_t size)
{
	char *msg;

	if (size < sizeof(*r) + r->message_len || r->code > OTEL_STATUS_ERROR)
		return false;
	if (s->status_mono > r->hdr.time_ns)
		return true;
	msg = dup_str((const uint8_t *)(r + 1), r->message_len);
	if (!msg)
		return false;
	free(s->status_message);
	s->status_message = msg;
	s->status_code = r->code;
	s->status_mono = r->hdr.time_ns;
	return true;
}

static void do_end(struct assembler *a, struct span *s,
		   const struct otel_rec_span_end *r)
{
	s->has_end = true;
	s->end = r->hdr.time_ns;
	s->dropped_attrs += r->dropped_attributes;
	s->dropped_events += r->dropped_events;
	s->dropped_links += r->dropped_links;
	s->nr_expected = r->nr_records;
	s->end_seen_mono = clock_now(a);
}

static const size_t min_size[] = {
	[OTEL_REC_SPAN_BEGIN] = sizeof(struct otel_rec_span_begin),
	[OTEL_REC_SPAN_END] = sizeof(struct otel_rec_span_end),
	[OTEL_REC_ATTR] = sizeof(struct otel_rec_attr),
	[OTEL_REC_EVENT] = sizeof(struct otel_rec_event),
	[OTEL_REC_LINK] = sizeof(struct otel_rec_link),
	[OTEL_REC_STATUS] = sizeof(struct otel_rec_status),
};

static const uint8_t zero_id[OTEL_SPAN_ID_SIZE];

/* Decode the record in a->rec; size already checked against the buffer. */
static void decode(struct assembler *a, size_t size)
{
	const struct otel_rec_hdr *h = &a->rec.hdr;
	struct span *s;
	bool ok = false;

	if (h->type == OTEL_REC_RAW) {
		atomic_fetch_add(&stats.records_raw, 1);
		return;
	}
	if (h->type >= sizeof(min_size) / sizeof(min_size[0])) {
		atomic_fetch_add(&stats.records_unknown, 1);
		return;
	}
	if (size < min_size[h->type] ||
	    !memcmp(h->span_id, zero_id, sizeof(zero_id))) {
		atomic_fetch_add(&stats.records_corrupt, 1);
		return;
	}
	if (h->time_ns > a->last_time)
		a->last_time = h->time_ns;
	s = lookup(a, h->span_id);
	if (!s) {
		atomic_fetch_add(&stats.records_corrupt, 1);
		return;
	}
	if (h->type != OTEL_REC_SPAN_BEGIN && h->time_ns > s->end)
		s->end = h->time_ns;	/* best end time if END is lost */
	switch (h->type) {
	case OTEL_REC_SPAN_BEGIN:
		ok = do_begin(s, &a->rec.begin, size);
		break;
	case OTEL_REC_ATTR:
		ok = do_attr(s, &a->rec.attr, size);
		break;
	case OTEL_REC_EVENT:
		ok = do_event(s, &a->rec.event, size);
		break;
	case OTEL_REC_LINK:
		ok = do_link(s, &a->rec.link);
		break;
	case OTEL_REC_STATUS:
		ok = do_status(s, &a->rec.status, size);
		break;
	case OTEL_REC_SPAN_END:
		if (!s->has_end) {
			do_end(a, s, &a->rec.end);
			ok = true;
		}
		break;
	}
	if (!ok)
		atomic_fetch_add(&stats.records_corrupt, 1);
	else if (h->type != OTEL_REC_SPAN_END)
		s->nr_seen++;
	if (s->has_begin && s->has_end && s->nr_seen >= s->nr_expected)
		finish(a, s, false);
}

size_t assembler_feed(struct assembler *a, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0;

	while (len - off >= 4) {
		uint16_t type, size;

		memcpy(&type, p + off, sizeof(type));
		memcpy(&size, p + off + 2, sizeof(size));
		if (size < 8 || size % 8) {
			/* No way to find the next record: skip the rest. */
			atomic_fetch_add(&stats.records_corrupt, 1);
			return len;
		}
		if (size > len - off)
			break;
		if (type != OTEL_REC_PAD) {
			atomic_fetch_add(&stats.records, 1);
			if (size < sizeof(struct otel_rec_hdr)) {
				atomic_fetch_add(&stats.records_corrupt, 1);
			} else {
				memcpy(a->rec.bytes, p + off, size);
				decode(a, size);
			}
		}
		off += size;
	}
	return off;
}

void assembler_expire(struct assembler *a, uint64_t now_mono)
{
	struct span *s, *next;
	uint64_t now;

	if (now_mono > a->now)
		a->now = now_mono;
	now = clock_now(a);	/* never behind any time stamped on a span */
	/* a scan is O(open spans): at most one per EXPIRE_EVERY_NS */
	if (now - a->last_scan < EXPIRE_EVERY_NS)
		return;
	a->last_scan = now;
	for (s = a->oldest; s; s = next) {
		next = s->next;
		if (s->has_end && now - s->end_seen_mono >= a->grace_ns)
			finish(a, s, true);
		else if (now - s->first_mono >= a->timeout_ns)
			finish(a, s, true);
	}
}

void assembler_flush(struct assembler *a)
{
	while (a->oldest)
		finish(a, a->oldest, true);
}

void assembler_free(struct assembler *a)
{
	struct span *s, *next;

	if (!a)
		return;
	for (s = a->oldest; s; s = next) {
		next = s->next;
		span_free(s);
	}
	free(a->buckets);
	free(a);
}
