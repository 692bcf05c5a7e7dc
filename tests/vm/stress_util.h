/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the stress test (tests/vm/stress_test.c): check every record
 * otel_stress.ko and otel_stress_drv.ko write (RAW records as
 * ring_util.h's checker does, SPAN records through records.h's decoder and
 * the table below), read them by mmap or read(), and drive the modules.
 */
#ifndef _OTEL_STRESS_UTIL_H
#define _OTEL_STRESS_UTIL_H

#include "records.h"
#include "ring_util.h"
#include "tests/kmod/otel_stress.h"

#define STRESS_KO	"tests/kmod/otel_stress.ko"
#define STRESS_DRV_KO	"tests/kmod/otel_stress_drv.ko"

/* The spans the two modules write, and where each begins and ends. */
struct stress_span_kind {
	const char	*name, *scope;
	int		begin_ctx;
	unsigned int	end_ctxs;	/* bit 1 << enum otel_context */
	int		has_parent;
};

#define ST_CTX(c)	(1U << (c))

static const struct stress_span_kind stress_kinds[] = {
	{ "stress.hardirq", "otel_stress", OTEL_CTX_HARDIRQ, ST_CTX(OTEL_CTX_HARDIRQ), 0 },
	{ "stress.softirq", "otel_stress", OTEL_CTX_SOFTIRQ, ST_CTX(OTEL_CTX_SOFTIRQ), 0 },
	{ "stress.nmi", "otel_stress", OTEL_CTX_NMI, ST_CTX(OTEL_CTX_NMI), 0 },
	/* begun under stress.hardirq, ended by a kthread or by run=0 */
	{ "stress.async", "otel_stress", OTEL_CTX_HARDIRQ, ST_CTX(OTEL_CTX_TASK), 1 },
	{ "drv.hardirq", "otel_stress_drv", OTEL_CTX_HARDIRQ, ST_CTX(OTEL_CTX_HARDIRQ), 0 },
	/* ended by the timer_list, or by the module's exit */
	{ "drv.async", "otel_stress_drv", OTEL_CTX_HARDIRQ,
	  ST_CTX(OTEL_CTX_SOFTIRQ) | ST_CTX(OTEL_CTX_TASK), 1 },
};

#define NR_STRESS_KINDS	(sizeof(stress_kinds) / sizeof(stress_kinds[0]))

/* What the readers saw: RAW records in .raw, spans per kind. */
struct stress_ck {
	struct checker	raw;
	uint64_t	spans[NR_STRESS_KINDS];
	uint64_t	comms;		/* COMM records: none is expected */
};

static inline void stress_ck_init(struct stress_ck *ck, uint32_t nr_cpus)
{
	memset(ck, 0, sizeof(*ck));
	checker_init(&ck->raw, nr_cpus, STRESS_MIN_SIZE, STRESS_MAX_SIZE);
}

/* Records read: RAW, SPAN and COMM. */
static inline uint64_t stress_read(const struct stress_ck *ck)
{
	uint64_t n = ck->raw.read + ck->comms;
	size_t i;

	for (i = 0; i < NR_STRESS_KINDS; i++)
		n += ck->spans[i];
	return n;
}

static inline uint64_t stress_spans(const struct stress_ck *ck)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < NR_STRESS_KINDS; i++)
		n += ck->spans[i];
	return n;
}

static inline void stress_fail(struct stress_ck *ck, const char *why,
			       const struct otel_rec_hdr *h)
{
	if (!ck->raw.errors++)
		snprintf(ck->raw.first_error, sizeof(ck->raw.first_error),
			 "%.160s (type %u size %u cpu %u flags %u)", why,
			 h->type, h->size, h->cpu, h->flags);
}

/* Exactly stress.writer and stress.seq, ints that fit the span. */
static inline int stress_attrs_ok(const struct rec_span *s,
				  const struct stress_span_kind *k,
				  uint32_t nr_cpus)
{
	const struct rec_attr *w, *q;

	if (s->nr_attrs != 2 || s->nr_inline != 2)
		return 0;
	w = rec_attr(s, OTEL_ATTR_TARGET_SPAN, "stress.writer");
	q = rec_attr(s, OTEL_ATTR_TARGET_SPAN, "stress.seq");
	return w && q && w->type == OTEL_ATTR_INT && q->type == OTEL_ATTR_INT &&
	       w->value >= 0 && w->value < (int64_t)nr_cpus * RINGTEST_NR_CTX &&
	       w->value % RINGTEST_NR_CTX == k->begin_ctx && q->value >= 1;
}

/* A SPAN record: decoded from the ABI alone, then held to the table. */
static inline void stress_span(struct stress_ck *ck,
			       const struct otel_rec_hdr *h)
{
	const struct stress_span_kind *k = NULL;
	const struct rec_span *s;
	struct rec_db db;
	size_t i;

	rec_db_init(&db);
	rec_decode(&db, (const uint8_t *)h, h->size);
	if (db.bad || db.nr != 1) {
		stress_fail(ck, db.bad ? db.why : "SPAN record not decoded", h);
		goto out;
	}
	s = db.spans[0];
	for (i = 0; i < NR_STRESS_KINDS && !k; i++)
		if (!strcmp(s->name, stress_kinds[i].name))
			k = &stress_kinds[i];
	if (!k) {
		stress_fail(ck, "a span of no stress writer", h);
		goto out;
	}
	if (strcmp(s->scope, k->scope) || s->begin_ctx != k->begin_ctx ||
	    !(ST_CTX(s->end_ctx) & k->end_ctxs) ||
	    rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE) == k->has_parent ||
	    !(s->trace_flags & OTEL_TRACE_FLAG_SAMPLED) ||
	    s->kind != OTEL_SPAN_KIND_INTERNAL || s->status != OTEL_STATUS_UNSET ||
	    s->nr_records || s->dropped_attrs || s->dropped_events ||
	    s->dropped_links || s->pid || s->tgid || s->span_flags) {
		stress_fail(ck, "span fields do not match its writer", h);
		goto out;
	}
	if (!stress_attrs_ok(s, k, ck->raw.nr_cpus)) {
		stress_fail(ck, "span attributes", h);
		goto out;
	}
	ck->spans[k - stress_kinds]++;
out:
	rec_db_free(&db);
}

/* Any record of the stress writers, read from ring @ring (-1: read()). */
static inline void stress_record(struct stress_ck *ck,
				 const struct otel_rec_hdr *h, int ring)
{
	if (ring >= 0 && h->cpu != ring) {
		stress_fail(ck, "record in another CPU's ring", h);
		return;
	}
	switch (h->type) {
	case OTEL_REC_RAW:
		check_record(&ck->raw, h, ring);
		break;
	case OTEL_REC_SPAN:
		stress_span(ck, h);
		break;
	case OTEL_REC_COMM:
		ck->comms++;
		break;
	default:
		stress_fail(ck, "unexpected record type", h);
	}
}

/*
 * Walk ring @cpu from @from to @to (a producer_pos seen), checking every
 * record; returns where it stopped.  Below producer_pos the bytes must be
 * stable: each record is read once into a copy, as oteld does, and checked
 * from the copy, so bytes that changed under the reader (a kernel bug) can
 * neither steer the decoder out of bounds nor pass unnoticed.
 */
static inline uint64_t stress_walk(struct rings *rs, struct stress_ck *ck,
				   unsigned int cpu, uint64_t from, uint64_t to)
{
	uint64_t copy[OTEL_REC_MAX_SIZE / 8];
	uint64_t mask = rs->info.ring_size - 1, pos = from;
	const struct otel_rec_hdr *h = (const void *)copy;
	const uint8_t *at;
	uint32_t size;
	char why[160];

	while (pos < to) {
		at = rs->data[cpu] + (pos & mask);
		/* type, size, cpu, flags: the 8 bytes every record has */
		memcpy(copy, at, 8);
		size = h->size;
		if (size < 8 || size % 8 || size > to - pos ||
		    size > sizeof(copy) ||
		    (pos & mask) + size > rs->info.ring_size) {
			stress_fail(ck, "bad record size in the ring", h);
			return to;
		}
		memcpy(copy, at, size);
		if (h->type != OTEL_REC_PAD && h->size == size)
			stress_record(ck, h, cpu);
		if (h->size != size || memcmp(copy, at, size)) {
			snprintf(why, sizeof(why),
				 "record changed in the ring while it was read (ring %u at %llu, consumer %llu, producer %llu)",
				 cpu, (unsigned long long)pos,
				 (unsigned long long)rs->cons[cpu]->consumer_pos,
				 (unsigned long long)__atomic_load_n(&rs->prod[cpu]->producer_pos,
								     __ATOMIC_ACQUIRE));
			stress_fail(ck, why, h);
			return to;
		}
		pos += size;
	}
	return pos;
}

/* One pass of the mmap reader protocol over every ring. */
static inline void stress_drain_mmap(struct rings *rs, struct stress_ck *ck)
{
	uint64_t prod, pos;
	unsigned int cpu;

	for (cpu = 0; cpu < rs->nr; cpu++) {
		prod = __atomic_load_n(&rs->prod[cpu]->producer_pos, __ATOMIC_ACQUIRE);
		pos = stress_walk(rs, ck, cpu, rs->cons[cpu]->consumer_pos, prod);
		__atomic_store_n(&rs->cons[cpu]->consumer_pos, pos, __ATOMIC_RELEASE);
	}
}

/* read() until EAGAIN, checking every record: records read or -errno. */
static inline long stress_drain_read(int fd, struct stress_ck *ck)
{
	static uint8_t buf[1 << 16] __attribute__((aligned(8)));
	const struct otel_rec_hdr *h;
	long total = 0;
	ssize_t n, off;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? total : -errno;
		for (off = 0; off + (ssize_t)sizeof(*h) <= n; off += h->size) {
			h = (const void *)(buf + off);
			if (h->size < sizeof(*h) || h->size % 8 || off + h->size > n) {
				stress_fail(ck, "read() returned a partial record", h);
				return -EPROTO;
			}
			stress_record(ck, h, -1);
			total++;
		}
	}
}

/* A parameter of otel_stress.ko; -1 if it cannot be read. */
static inline long long stress_param(const char *name)
{
	char path[128], buf[64];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/otel_stress/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Write a parameter of otel_stress.ko (run=0 returns once all stopped). */
static inline int stress_set(const char *name, long long value)
{
	char path[128], buf[32];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), "/sys/module/otel_stress/parameters/%s", name);
	n = snprintf(buf, sizeof(buf), "%lld", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Wait until the rings have taken @n more RAW records from the writers:
 * an ordering (records flowed in the state the test just set up), the
 * deadline only turns a hang into a failure.  0 or -ETIMEDOUT.
 */
static inline int stress_flow(long long n)
{
	long long since = stress_param("raw_committed");
	double end = now_s() + 300;

	while (stress_param("raw_committed") < since + n) {
		if (now_s() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return 0;
}

/*
 * Until when a stress test repeats its round (always at least once): its
 * third of OTEL_STRESS_SECONDS, 30 by default (make check).  How much
 * work to do, never a deadline anything is held to.
 */
static inline double stress_until(void)
{
	const char *s = getenv("OTEL_STRESS_SECONDS");
	double total = s ? atof(s) : 0;

	return now_s() + (total > 0 ? total : 30) / 3;
}

#endif /* _OTEL_STRESS_UTIL_H */
