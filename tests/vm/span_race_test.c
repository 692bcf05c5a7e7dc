// SPDX-License-Identifier: GPL-2.0
/*
 * Regressions of fixes to the span layer (kmod/kspan.c, kmod/span_stats.c):
 * each test makes its bug happen, through the commands of
 * tests/kmod/otel_spantest.c ("r*", spans "t.r.*"), and failed before the
 * fix, with malformed records, a lost record or a kernel oops:
 *  - attr_value_length_limit changed between measuring an EVENT, LINK or
 *    ATTR record and writing it (at every such record: a kprobe);
 *  - a status message stored between measuring the SPAN record and
 *    writing it (a kprobe, overwrite mode), then a status set on one CPU
 *    while the span ends on another;
 *  - handles with a valid cookie and lengths a driver overwrote:
 *    ibuf_used 5 or 512, msg_len 400, name_len 900; or its copies of the
 *    record's reserved fields;
 *  - two CPUs ending one span at once (held together in the end, where
 *    the old code had decided to write, by a probe on kspan_end);
 *  - a handle begun again while active, its name and scope pointers
 *    poisoned: the begin_active report must not read them.
 * Rings are 16 KiB (OTEL_IOC_SET_CONFIG), the smallest, so that a record
 * written past its reservation soon reaches the end of a ring and faults.
 * Every record is read back and must be well formed (records.h), hold no
 * kernel-pointer-like word and no byte of the 0xa5 / 0x5a fill around the
 * scribbled handles, and be counted (no ring drop); OTEL_IOC_SPAN_STATS
 * must count exactly the misuse made.  Verdicts rest on those invariants,
 * never on timing: the races repeat, or are held, until the old code fails
 * every run.  scripts/vm fails the run on any oops or WARNING.
 */
#include "kselftest_harness.h"
#include "span_util.h"

#define RING_SMALL	(16 << 10)
#define VLEN_SHORT	8	/* the values rlimit flips the limit between */
#define VLEN_LONG	840
#define LIMIT_ROUNDS	16	/* "rlimit 2" commands */
#define STATUSK_ROUNDS	4	/* "rstatusk 48" commands */
#define STATUS_ROUNDS	100	/* "rstatus 48" commands */
#define STATUS_N	48
#define END2_ROUNDS	16	/* "rend2 64" commands */
#define END2_N		64
#define LINK1		(OTEL_ATTR_TARGET_LINK | 1)
#define REPORT		"oteltrace: "

/* What every record read must not hold, found while reading. */
struct scan {
	struct rec_db	*db;
	size_t		records;
	size_t		nonspan;	/* EVENT, LINK, ATTR records */
	size_t		comms;		/* COMM records: tasks named */
	size_t		kptr;		/* records with a kernel pointer */
	size_t		fill;		/* records with fill bytes */
	uint16_t	span_name_len;	/* of the last SPAN record */
	char		why_kptr[96];	/* the first of each */
	char		why_fill[96];
};

/* Bytes of a record's fixed part: random ids live there, not data. */
static size_t fixed_size(unsigned int type)
{
	switch (type) {
	case OTEL_REC_SPAN:
		return sizeof(struct otel_rec_span);
	case OTEL_REC_SPAN_BEGIN:
		return sizeof(struct otel_rec_span_begin);
	case OTEL_REC_EVENT:
		return sizeof(struct otel_rec_event);
	case OTEL_REC_LINK:
		return sizeof(struct otel_rec_link);
	case OTEL_REC_ATTR:
		return sizeof(struct otel_rec_attr);
	default:
		return sizeof(struct otel_rec_hdr);
	}
}

/* An address in the kernel half, below the fixmap: no test value is. */
static int kptr_like(uint64_t w)
{
	return w >= 0xffff800000000000ULL && w < 0xffffffffff000000ULL;
}

static void found(size_t *count, char *why, size_t size, unsigned int type,
		  size_t off)
{
	if (!(*count)++)
		snprintf(why, size, "in a record of type %u at +%zu", type, off);
}

/* Scan the strings and attribute entries of each record, then decode it. */
static void scan_rec(void *arg, const uint8_t *p, size_t size)
{
	const struct otel_rec_hdr *h = (const void *)p;
	struct scan *sc = arg;
	uint64_t w;
	size_t off;

	if (h->type == OTEL_REC_COMM) {
		sc->comms++;	/* names a task, not a span's record */
		return;
	}
	sc->records++;
	sc->nonspan += h->type == OTEL_REC_EVENT || h->type == OTEL_REC_LINK ||
		       h->type == OTEL_REC_ATTR;
	if (h->type == OTEL_REC_SPAN && size >= sizeof(struct otel_rec_span))
		sc->span_name_len = ((const struct otel_rec_span *)p)->name_len;
	for (off = fixed_size(h->type); off + 8 <= size; off++) {
		memcpy(&w, p + off, 8);
		if (kptr_like(w)) {
			found(&sc->kptr, sc->why_kptr, sizeof(sc->why_kptr),
			      h->type, off);
			break;
		}
	}
	for (off = fixed_size(h->type); off + 4 <= size; off++) {
		if (!memcmp(p + off, "\xa5\xa5\xa5\xa5", 4) ||
		    !memcmp(p + off, "\x5a\x5a\x5a\x5a", 4)) {
			found(&sc->fill, sc->why_fill, sizeof(sc->why_fill),
			      h->type, off);
			break;
		}
	}
	rec_decode(sc->db, p, size);
}

static int set_ring(int fd, uint64_t size, uint32_t mode)
{
	struct otel_config cfg;

	if (ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg))
		return -errno;
	cfg.ring_size = size;
	cfg.mode = mode;
	return ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg) ? -errno : 0;
}

FIXTURE(race) {
	int fd;
	struct rec_db db;
	struct scan sc;
	struct kmsg_log kmsg;
	struct otel_span_stats st0;
	struct otel_cpu_stats r0;
};

FIXTURE_SETUP(race)
{
	rec_db_init(&self->db);
	memset(&self->sc, 0, sizeof(self->sc));
	self->sc.db = &self->db;
	self->kmsg.fd = -1;
	self->fd = span_load(NULL, SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_ring(self->fd, RING_SMALL, OTEL_MODE_DISCARD));
	ASSERT_EQ(0, kmsg_open(&self->kmsg));
	ASSERT_EQ(0, span_stats(self->fd, &self->st0));
	ASSERT_EQ(0, span_ring_stats(self->fd, &self->r0));
}

FIXTURE_TEARDOWN(race)
{
	kmsg_close(&self->kmsg);
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* Run @cmd, then read (scan and decode) every record it wrote. */
static void run(struct __test_metadata *_metadata, FIXTURE_DATA(race) *self,
		const char *cmd)
{
	long n;

	ASSERT_EQ(0, span_cmd("%s", cmd)) TH_LOG("command %s", cmd);
	n = rec_read_each(self->fd, scan_rec, &self->sc);
	ASSERT_LE(0, n) TH_LOG("reading after %s", cmd);
}

/*
 * Every record read was well formed and clean, none was dropped or left
 * unread, and the span API counted exactly @want.
 */
static void finish(struct __test_metadata *_metadata,
		   FIXTURE_DATA(race) *self,
		   const struct otel_span_stats *want)
{
	struct otel_span_stats st1;
	struct otel_cpu_stats r1 = { 0 };

	EXPECT_EQ(0, self->db.bad) TH_LOG("%zu malformed records, first: %s",
					  self->db.bad, self->db.why);
	EXPECT_EQ(0, self->sc.kptr) TH_LOG("kernel pointers, first %s",
					   self->sc.why_kptr);
	EXPECT_EQ(0, self->sc.fill) TH_LOG("bytes of the fill around a handle, first %s",
					   self->sc.why_fill);
	ASSERT_EQ(0, span_ring_stats(self->fd, &r1));
	EXPECT_EQ(0, span_ring_dropped(&r1) - span_ring_dropped(&self->r0))
		TH_LOG("records dropped: full %llu, too big %llu",
		       (unsigned long long)(r1.dropped_full - self->r0.dropped_full),
		       (unsigned long long)(r1.dropped_too_big -
					    self->r0.dropped_too_big));
	EXPECT_EQ(self->sc.records + self->sc.comms,
		  r1.records - self->r0.records);
	ASSERT_EQ(0, span_stats(self->fd, &st1));
#define DELTA(f) EXPECT_EQ(want->f, st1.f - self->st0.f) TH_LOG("span stats: " #f)
	DELTA(begin_active);
	DELTA(end_twice);
	DELTA(end_foreign);
	DELTA(stale_current);
	DELTA(misnested);
	DELTA(bad_handle);
	DELTA(context_full);
	DELTA(depth_full);
#undef DELTA
}

static int all_bytes(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

/* Spans found wrong in a loop over many: how many, and the first. */
struct verdict {
	size_t	bad;
	char	why[256];
};

static void fail(struct verdict *v, size_t i, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v->bad++)
		return;
	n = snprintf(v->why, sizeof(v->why), "span %zu: ", i);
	va_start(ap, fmt);
	vsnprintf(v->why + n, sizeof(v->why) - n, fmt, ap);
	va_end(ap);
}

/*
 * Are @s's attributes on @target @keys, in that order, each a string of
 * 'v' cut at one of the two limits?  Adds those cut at the long one to
 * *@longs.
 */
static int limited(struct verdict *v, size_t i, const struct rec_span *s,
		   uint16_t target, const char *const *keys, size_t nkeys,
		   size_t *longs)
{
	const struct rec_attr *a;
	size_t j, k = 0;

	for (j = 0; j < s->nr_attrs; j++) {
		a = &s->attrs[j];
		if (a->target != target)
			continue;
		if (k == nkeys || strcmp(a->key, keys[k]) ||
		    a->type != OTEL_ATTR_STRING) {
			fail(v, i, "attribute %s on %#x", a->key, target);
			return 0;
		}
		if ((a->str_len != VLEN_SHORT && a->str_len != VLEN_LONG) ||
		    !all_bytes(a->str, a->str_len, "v")) {
			fail(v, i, "%s on %#x: %u bytes, not %d or %d of 'v'",
			     a->key, target, a->str_len, VLEN_SHORT, VLEN_LONG);
			return 0;
		}
		*longs += a->str_len == VLEN_LONG;
		k++;
	}
	if (k != nkeys) {
		fail(v, i, "%zu attributes on %#x, not %zu", k, target, nkeys);
		return 0;
	}
	return 1;
}

/*
 * The limit flips at every EVENT, LINK and ATTR record, between measuring
 * it and writing it: each record must still be exactly what was reserved,
 * every admitted attribute in it, cut at one limit or the other.  (Before
 * the fix the shapes were measured again while writing: entries of 840
 * bytes went into room reserved for 8, past the record and the ring.)
 */
TEST_F_TIMEOUT(race, value_limit_changes_mid_record, 120)
{
	static const char *const span_keys[] = { "t.r.s0", "t.r.s1", "t.r.s2" };
	static const char *const ev_keys[] = {
		"t.r.s0", "t.r.s1", "t.r.s2", "t.r.m0", "t.r.m1",
	};
	const struct rec_event *ev;
	const struct rec_span *s;
	struct verdict v = { 0 };
	size_t i, longs = 0;
	long flips = 0, r;

	for (i = 0; i < LIMIT_ROUNDS; i++) {
		run(_metadata, self, "rlimit 2");
		r = span_result();
		ASSERT_LT(0, r) TH_LOG("the kprobe never fired");
		flips += r;
	}
	/* Each of those records was measured and written across a flip. */
	EXPECT_EQ(self->sc.nonspan, flips);
	EXPECT_EQ(2 * LIMIT_ROUNDS, rec_count(&self->db, "t.r.limit"));
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		ev = rec_event_at(s, 1);
		if (strcmp(s->name, "t.r.limit") || !rec_complete(s))
			fail(&v, i, "%s incomplete", s->name);
		else if (s->dropped_attrs || s->nr_events != 1 ||
			 s->nr_links != 1 || !ev || strcmp(ev->name, "t.r.ev") ||
			 memcmp(s->links[0].span_id, s->span_id,
				OTEL_SPAN_ID_SIZE))
			fail(&v, i, "not its event and link");
		else if (limited(&v, i, s, OTEL_ATTR_TARGET_SPAN, span_keys, 3,
				 &longs) &&
			 limited(&v, i, s, 1, ev_keys, 5, &longs))
			limited(&v, i, s, LINK1, span_keys, 3, &longs);
	}
	EXPECT_EQ(0, v.bad) TH_LOG("%zu spans wrong, first %s", v.bad, v.why);
	/* Both limits were written. */
	EXPECT_LT(0, longs);
	EXPECT_GT(self->db.nr * 11, longs);
	finish(_metadata, self, &(struct otel_span_stats){ 0 });
}

/* The spans of the status tests: ERROR, a message of bytes set. */
static void expect_status_spans(struct __test_metadata *_metadata,
				const struct rec_db *db, size_t n)
{
	const struct rec_span *s;
	struct verdict v = { 0 };
	size_t i;

	EXPECT_EQ(0, db->bad) TH_LOG("%zu malformed records, first: %s",
				     db->bad, db->why);
	EXPECT_EQ(n, db->nr);
	EXPECT_EQ(n, rec_count(db, "t.r.status"));
	for (i = 0; i < db->nr; i++) {
		s = db->spans[i];
		if (!rec_complete(s))
			fail(&v, i, "%s incomplete", s->name);
		else if (s->status != OTEL_STATUS_ERROR || s->nr_attrs)
			fail(&v, i, "status %d, %zu attributes", s->status,
			     s->nr_attrs);
		else if (!all_bytes(s->status_msg, s->status_msg_len, "qe"))
			fail(&v, i, "a message of %u bytes: %.*s",
			     s->status_msg_len, (int)s->status_msg_len,
			     s->status_msg);
	}
	EXPECT_EQ(0, v.bad) TH_LOG("%zu spans wrong, first %s", v.bad, v.why);
}

/*
 * A status set while the span ends: the record is sized from the lengths
 * it is written with, its message is some of the bytes set (never more
 * than 128, nothing from elsewhere), status ERROR.  First made certain:
 * the message grows from 1 to 128 bytes between measuring the record and
 * writing it (rstatusk, overwrite mode); then raced for real: a second
 * CPU sets it while the first ends (rstatus).  (Before the fix lengths
 * were read again after the record was reserved: the longer message was
 * written past it.)  4,800 two-CPU rounds: 56 s measured under TCG on the
 * shared 2-core host, which the former 120 s left a margin of only 2x;
 * 600 s is ~10x, for a loaded host: only a hang reaches it.
 */
TEST_F_TIMEOUT(race, status_set_while_ending, 600)
{
	char cmd[32];
	size_t i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, set_ring(self->fd, RING_SMALL, OTEL_MODE_OVERWRITE));
	ASSERT_EQ(0, span_ring_stats(self->fd, &self->r0));
	snprintf(cmd, sizeof(cmd), "rstatusk %d", STATUS_N);
	for (i = 0; i < STATUSK_ROUNDS; i++) {
		run(_metadata, self, cmd);
		ASSERT_EQ(STATUS_N, span_result()) TH_LOG("the kprobe missed");
	}
	expect_status_spans(_metadata, &self->db, STATUSK_ROUNDS * STATUS_N);
	rec_db_free(&self->db);
	snprintf(cmd, sizeof(cmd), "rstatus %d", STATUS_N);
	for (i = 0; i < STATUS_ROUNDS; i++)
		run(_metadata, self, cmd);
	expect_status_spans(_metadata, &self->db, STATUS_ROUNDS * STATUS_N);
	finish(_metadata, self, &(struct otel_span_stats){ 0 });
}

/*
 * Two CPUs end one span at once: exactly one SPAN record per round, the
 * other end counted as end_twice.  (Before the fix both ends wrote.)
 */
TEST_F_TIMEOUT(race, two_ends_at_once, 120)
{
	unsigned int seen[END2_N + 1] = { 0 };
	const struct rec_attr *a;
	const struct rec_span *s;
	struct verdict v = { 0 };
	char cmd[32];
	size_t i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	snprintf(cmd, sizeof(cmd), "rend2 %d", END2_N);
	for (i = 0; i < END2_ROUNDS; i++)
		run(_metadata, self, cmd);
	EXPECT_EQ(END2_ROUNDS * END2_N, self->db.nr);
	EXPECT_EQ(END2_ROUNDS * END2_N, self->sc.records);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, "t.seq");
		if (strcmp(s->name, "t.r.end2") || !rec_complete(s))
			fail(&v, i, "%s incomplete", s->name);
		else if (!a || a->value < 1 || a->value > END2_N)
			fail(&v, i, "no t.seq");
		else
			seen[a->value]++;
	}
	EXPECT_EQ(0, v.bad) TH_LOG("%zu spans wrong, first %s", v.bad, v.why);
	for (i = 1; i <= END2_N; i++)
		EXPECT_EQ(END2_ROUNDS, seen[i]) TH_LOG("round %zu", i);
	finish(_metadata, self, &(struct otel_span_stats){
		.end_twice = END2_ROUNDS * END2_N });
}

/* "rscribble @k" wrote one span, @name: return it, checked complete. */
static const struct rec_span *scribbled(struct __test_metadata *_metadata,
					FIXTURE_DATA(race) *self,
					unsigned int k, const char *name)
{
	const struct rec_span *s;
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "rscribble %u", k);
	run(_metadata, self, cmd);
	finish(_metadata, self, &(struct otel_span_stats){ 0 });
	EXPECT_EQ(1, self->db.nr);
	s = rec_find(&self->db, name, 0);
	if (!s)
		return NULL;
	EXPECT_TRUE(rec_complete(s));
	return s;
}

/* The four 32-byte entries rscribble fills the inline buffer with. */
static void expect_keys(struct __test_metadata *_metadata,
			const struct rec_span *s, size_t n)
{
	static const char *const keys[] = {
		"t.r.key.0", "t.r.key.1", "t.r.key.2", "t.r.key.3", "t.r.after",
	};
	size_t i;

	ASSERT_EQ(n, s->nr_attrs);
	for (i = 0; i < n; i++) {
		EXPECT_STREQ(keys[i], s->attrs[i].key);
		EXPECT_EQ(OTEL_ATTR_INT, s->attrs[i].type);
		EXPECT_EQ(i, s->attrs[i].value);
	}
}

/* ibuf_used 5: no whole entry (before the fix: a copy without end). */
TEST_F(race, scribbled_used_not_words)
{
	const struct rec_span *s = scribbled(_metadata, self, 0, "t.r.used5");

	ASSERT_NE(NULL, s);
	EXPECT_EQ(0, s->nr_attrs);
	EXPECT_EQ(0, s->inline_bytes);
}

/* ibuf_used 512: the buffer's 128 bytes, not the 384 after the handle. */
TEST_F(race, scribbled_used_past_handle)
{
	const struct rec_span *s = scribbled(_metadata, self, 1, "t.r.used512");

	ASSERT_NE(NULL, s);
	EXPECT_EQ(128, s->inline_bytes);
	expect_keys(_metadata, s, 4);
}

/* The same, flushed as an ATTR record by a fifth attribute. */
TEST_F(race, scribbled_used_past_handle_flushed)
{
	const struct rec_span *s = scribbled(_metadata, self, 2, "t.r.flush");

	ASSERT_NE(NULL, s);
	EXPECT_EQ(1, s->nr_attr_records);
	EXPECT_EQ(1, s->nr_inline);
	expect_keys(_metadata, s, 5);
}

/*
 * msg_len 400: the message is the buffer's 128 bytes (before the fix, 400
 * bytes from 128 before the handle on: fill, ids, pointers).
 */
TEST_F(race, scribbled_msg_len)
{
	const struct rec_span *s = scribbled(_metadata, self, 3, "t.r.msg");

	ASSERT_NE(NULL, s);
	EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
	EXPECT_EQ(128, s->status_msg_len);
	EXPECT_TRUE(all_bytes(s->status_msg, 128, "m"));
	EXPECT_EQ(0, s->nr_attrs);
}

/*
 * name_len 900: the name is cut at 256 bytes (of the driver's 1024-byte
 * buffer) and the span recorded (before the fix it was too big: lost).
 */
TEST_F(race, scribbled_name_len)
{
	const struct rec_span *s = scribbled(_metadata, self, 4, "t.r.name");

	ASSERT_NE(NULL, s);
	EXPECT_EQ(REC_NAME_MAX, self->sc.span_name_len);
	EXPECT_EQ(0, s->nr_attrs);
}

/*
 * The handle's copies of the record's reserved fields overwritten: the
 * SPAN record's stay zero (the parser counts a record with any set as
 * malformed).  The end copies the handle's words as they are but for
 * these; before that it copied them too.
 */
TEST_F(race, scribbled_reserved_fields)
{
	const struct rec_span *s = scribbled(_metadata, self, 5,
					     "t.r.reserved");

	ASSERT_NE(NULL, s);
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
	EXPECT_EQ(0, s->nr_attrs);
}

/*
 * A handle begun again while active, its name and scope pointers poisoned
 * (a stack frame reused): the first span is dropped and counted, the
 * second recorded, and the report (printed later, from an irq_work) names
 * the task without reading the handle.  Before the fix the report read
 * the poisoned pointers: a general protection fault.
 */
TEST_F(race, begin_active_report_reads_nothing)
{
	const char *what = "span begun again while active";
	const struct rec_span *s;
	char line[512] = "", task[64];
	int i, n = 0;

	run(_metadata, self, "ractive");
	finish(_metadata, self, &(struct otel_span_stats){ .begin_active = 1 });
	EXPECT_EQ(1, self->db.nr);
	EXPECT_EQ(0, rec_count(&self->db, "t.r.active.first"));
	s = rec_find(&self->db, "t.r.active.again", 0);
	ASSERT_NE(NULL, s);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_TRUE(rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE));
	/* The irq_work runs soon after; wait for it, not for a time. */
	for (i = 0; i < 500 && !n; i++) {
		n = kmsg_count(&self->kmsg, REPORT, what, line, sizeof(line));
		if (!n)
			usleep(10000);
	}
	ASSERT_EQ(1, n) TH_LOG("kernel log reports of \"%s\"", what);
	TH_LOG("%s", line);
	snprintf(task, sizeof(task), "[%d]", getpid());
	EXPECT_NE(NULL, strstr(line, task));
	EXPECT_NE(NULL, strstr(line, "reported once"));
	EXPECT_EQ(NULL, strstr(line, "t.r.active"));
}

TEST_HARNESS_MAIN
