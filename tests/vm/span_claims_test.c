// SPDX-License-Identifier: GPL-2.0
/*
 * Claims of docs/driver-api.md about the span API that no other test
 * checked exactly, read back from /dev/oteltrace through records.h: strings
 * cut at exactly their documented limits; the traceidratio rule computed
 * here from the documented formula and compared span by span, for trace
 * ids the test chooses (through a W3C remote parent) on both sides of the
 * threshold; parentbased_always_off and unsampled remote parents;
 * otel_kspan_is_recording(); ending twice writes one record and counts the
 * rest; a module using the API pins oteltrace.ko.  Spans come from
 * tests/kmod/otel_claimtest.ko (its commands are described there).
 */
#include "kselftest_harness.h"
#include "span_util.h"
#include "claim_util.h"

#define PARAM(p)	"/sys/module/oteltrace/parameters/" p
#define R_BITS		56

FIXTURE(sc) {
	int fd;
	struct rec_db db;
};

FIXTURE_SETUP(sc)
{
	rec_db_init(&self->db);
	vm_unload_module("otel_claimtest");
	self->fd = span_load(NULL, CLAIMTEST_KO);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(sc)
{
	rec_db_free(&self->db);
	vm_unload_module("otel_claimtest");
	span_unload(self->fd);
}

/* Run an otel_claimtest command: its result, or -errno. */
static long cmd(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	err = claim_cmd("%s", buf);
	return err ? err : claim_result();
}

/* Read everything written so far into a fresh db; 0 if well formed. */
static int drain(FIXTURE_DATA(sc) *self)
{
	rec_db_free(&self->db);
	rec_db_init(&self->db);
	if (rec_drain(self->fd, &self->db) < 0)
		return -1;
	return self->db.bad ? -1 : 0;
}

/* The pattern otel_claimtest cuts its strings from. */
static int is_pattern(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != 'a' + (char)(i % 26))
			return 0;
	return 1;
}

/* "trunc WHAT L": the one span it wrote, or NULL. */
static const struct rec_span *trunc_span(struct __test_metadata *_metadata,
					 FIXTURE_DATA(sc) *self,
					 const char *what, unsigned int len)
{
	EXPECT_EQ(0, cmd("trunc %s %u", what, len)) TH_LOG("%s %u", what, len);
	EXPECT_EQ(0, drain(self)) TH_LOG("%s", self->db.why);
	EXPECT_EQ(1, self->db.nr) TH_LOG("%s %u", what, len);
	if (self->db.nr != 1)
		return NULL;
	EXPECT_TRUE(rec_complete(self->db.spans[0]));
	return self->db.spans[0];
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * docs/driver-api.md: "Strings are cut, not rejected: names at 256 bytes,
 * keys at 128, scope name and version at 64, status messages at 128,
 * values at the attribute value length limit"; "`attr_value_length_limit`
 * | 512 bytes (at most 840)".  One byte below, at and one above each
 * limit, and far above: the record holds exactly the first min(L, limit)
 * bytes.
 */
TEST_F(sc, strings_cut_at_their_limits)
{
	static const int delta[] = { -1, 0, 1, 1000 };
	const struct rec_span *s;
	const struct rec_attr *a;
	unsigned int i, len, want;

	for (i = 0; i < 4; i++) {
		len = delta[i] == 1000 ? 1000 : 256 + delta[i];
		want = min_sz(len, 256);
		s = trunc_span(_metadata, self, "name", len);
		ASSERT_NE(NULL, s);
		EXPECT_EQ(want, strlen(s->name)) TH_LOG("name of %u", len);
		EXPECT_TRUE(is_pattern(s->name, want));

		s = trunc_span(_metadata, self, "event", len);
		ASSERT_NE(NULL, s);
		ASSERT_EQ(1, s->nr_events);
		EXPECT_EQ(want, strlen(s->events[0].name)) TH_LOG("event of %u", len);
		EXPECT_TRUE(is_pattern(s->events[0].name, want));

		len = delta[i] == 1000 ? 1000 : 128 + delta[i];
		want = min_sz(len, 128);
		s = trunc_span(_metadata, self, "key", len);
		ASSERT_NE(NULL, s);
		ASSERT_EQ(1, s->nr_attrs);
		EXPECT_EQ(want, strlen(s->attrs[0].key)) TH_LOG("key of %u", len);
		EXPECT_TRUE(is_pattern(s->attrs[0].key, want));
		EXPECT_EQ(len, s->attrs[0].value);

		s = trunc_span(_metadata, self, "msg", len);
		ASSERT_NE(NULL, s);
		EXPECT_EQ(OTEL_STATUS_ERROR, s->status);
		EXPECT_EQ(want, s->status_msg_len) TH_LOG("message of %u", len);
		EXPECT_TRUE(is_pattern(s->status_msg, want));

		len = delta[i] == 1000 ? 1000 : 64 + delta[i];
		want = min_sz(len, 64);
		s = trunc_span(_metadata, self, "scope", len);
		ASSERT_NE(NULL, s);
		EXPECT_EQ(want, strlen(s->scope)) TH_LOG("scope of %u", len);
		EXPECT_EQ(want, strlen(s->scope_version));
		EXPECT_TRUE(is_pattern(s->scope, want));
		EXPECT_TRUE(is_pattern(s->scope_version, want));

		len = delta[i] == 1000 ? 1000 : 512 + delta[i];
		want = min_sz(len, 512);
		s = trunc_span(_metadata, self, "value", len);
		ASSERT_NE(NULL, s);
		a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, "c.value");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(want, a->str_len) TH_LOG("value of %u", len);
		EXPECT_TRUE(is_pattern(a->str, want));
	}

	/* the limit itself never goes past 840 */
	ASSERT_EQ(0, span_write_file(PARAM("attr_value_length_limit"), "2000"));
	for (len = 839; len <= 841; len++) {
		s = trunc_span(_metadata, self, "value", len);
		ASSERT_NE(NULL, s);
		a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, "c.value");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(min_sz(len, 840), a->str_len) TH_LOG("value of %u", len);
		EXPECT_TRUE(is_pattern(a->str, a->str_len));
	}
	ASSERT_EQ(0, span_write_file(PARAM("attr_value_length_limit"), "100"));
	s = trunc_span(_metadata, self, "value", 101);
	ASSERT_NE(NULL, s);
	a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, "c.value");
	ASSERT_NE(NULL, a);
	EXPECT_EQ(100, a->str_len);
}

/* xorshift64*: the test's own reproducible random numbers. */
static uint64_t rnd(void)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * 2685821657736338717ULL;
}

/*
 * The documented rule, computed here: kept iff R >= (1 - ratio) * 2^56,
 * with ratio = ppm / 10^6 exactly; R is an integer, so that is
 * R >= ceil((10^6 - ppm) * 2^56 / 10^6).
 */
static uint64_t doc_threshold(uint32_t ppm)
{
	unsigned __int128 num = (unsigned __int128)(1000000 - ppm) << R_BITS;

	return (uint64_t)((num + 999999) / 1000000);
}

/* A traceparent whose trace id ends in the 56 bits @r (random above). */
static void make_tp(char *tp, size_t size, uint8_t *trace, uint64_t r,
		    int sampled)
{
	uint64_t hi = rnd() | 1, lo;
	int i;

	lo = (rnd() & ~((1ULL << R_BITS) - 1)) | r;	/* top byte: noise */
	for (i = 0; i < 8; i++) {
		trace[i] = hi >> (56 - 8 * i);
		trace[8 + i] = lo >> (56 - 8 * i);
	}
	snprintf(tp, size, "00-%s-%016llx-%02x",
		 span_hex(trace, OTEL_TRACE_ID_SIZE),
		 (unsigned long long)(rnd() | 1), sampled ? 1 : 0);
}

/*
 * docs/driver-api.md, Sampling: "`traceidratio` | kept if the trace id's
 * last 56 bits, big-endian, are at least `(1 - ratio) * 2^56` | same rule:
 * a whole trace is kept or dropped".  For ratios at the ends and in
 * between, trace ids at the threshold, one either side of it, at the ends
 * of the 56-bit range and random: each span is recorded exactly when the
 * formula says, whatever the parent's sampled flag, and so is its child.
 */
TEST_F(sc, traceidratio_exact_rule)
{
	static const uint32_t ratios[] = {
		0, 1, 250000, 333333, 500000, 999999, 1000000,
	};
	const uint64_t top = (1ULL << R_BITS) - 1;
	uint8_t trace[OTEL_TRACE_ID_SIZE];
	char tp[64];
	unsigned int i, j, n, kept, mism = 0;
	uint64_t t, r, rs[40];
	long got;
	const struct rec_span *s;

	for (i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		ASSERT_EQ(0, span_sampler("traceidratio", ratios[i]));
		t = doc_threshold(ratios[i]);
		n = 0;
		rs[n++] = 0;
		rs[n++] = 1;
		rs[n++] = top - 1;
		rs[n++] = top;
		if (t > 0)
			rs[n++] = t - 1;
		if (t <= top)
			rs[n++] = t;
		if (t < top)
			rs[n++] = t + 1;
		while (n < 40)
			rs[n++] = rnd() & top;
		kept = 0;
		for (j = 0; j < n; j++) {
			r = rs[j];
			make_tp(tp, sizeof(tp), trace, r, j & 1);
			got = cmd("remote %s", tp);
			ASSERT_LE(0, got) TH_LOG("%s", tp);
			if (got != (r >= t ? 3 : 0) && !mism++)
				TH_LOG("ratio %u ppm, R %#llx, threshold %#llx: "
				       "is_recording bits %ld", ratios[i],
				       (unsigned long long)r,
				       (unsigned long long)t, got);
			ASSERT_EQ(0, drain(self)) TH_LOG("%s", self->db.why);
			s = rec_find(&self->db, "c.remote", 0);
			EXPECT_EQ(r >= t, s != NULL) TH_LOG("ratio %u R %#llx", ratios[i],
							 (unsigned long long)r);
			EXPECT_EQ(r >= t, rec_count(&self->db, "c.remote.child"));
			if (s) {
				EXPECT_EQ(0, memcmp(s->trace_id, trace, sizeof(trace)));
				EXPECT_EQ(OTEL_TRACE_FLAG_SAMPLED, s->trace_flags);
				kept++;
			}
		}
		TH_LOG("ratio %u ppm: threshold %#llx, kept %u of %u", ratios[i],
		       (unsigned long long)t, kept, n);
	}
	EXPECT_EQ(0, mism);
	/* the ends: ratio 0 keeps nothing, ratio 1 everything */
	EXPECT_EQ(1ULL << R_BITS, doc_threshold(0));
	EXPECT_EQ(0, doc_threshold(1000000));
}

/*
 * docs/driver-api.md, Sampling: "`parentbased_always_off` | dropped |
 * follow the parent"; "`parentbased_always_on` (default) | kept | follow
 * the parent's sampled flag"; "`always_on` | kept | kept".  A remote parent
 * with flags 01 is followed, one with flags 00 records nothing (nor its
 * child) under the parent-based samplers, and is ignored by always_on.
 */
TEST_F(sc, parent_based_samplers_follow_the_remote_parent)
{
	static const struct {
		const char *sampler;
		long root, sampled, unsampled;	/* "root", "remote" results */
	} c[] = {
		{ "parentbased_always_off", 0, 3, 0 },
		{ "parentbased_always_on", 2, 3, 0 },
		{ "always_on", 2, 3, 3 },
	};
	static const char tp1[] =
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	static const char tp0[] =
		"00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
	const struct rec_span *s;
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ASSERT_EQ(0, span_sampler(c[i].sampler, 1000000));
		EXPECT_EQ(c[i].root, cmd("root")) TH_LOG("%s", c[i].sampler);
		EXPECT_EQ(c[i].sampled, cmd("remote %s", tp1)) TH_LOG("%s", c[i].sampler);
		EXPECT_EQ(c[i].unsampled, cmd("remote %s", tp0)) TH_LOG("%s", c[i].sampler);
		ASSERT_EQ(0, drain(self)) TH_LOG("%s", self->db.why);
		EXPECT_EQ(!!c[i].root, rec_count(&self->db, "c.root"))
			TH_LOG("%s", c[i].sampler);
		EXPECT_EQ(1 + !!c[i].unsampled, rec_count(&self->db, "c.remote"))
			TH_LOG("%s", c[i].sampler);
		EXPECT_EQ(1 + !!c[i].unsampled, rec_count(&self->db, "c.remote.child"))
			TH_LOG("%s", c[i].sampler);
		s = rec_find(&self->db, "c.remote", 0);
		ASSERT_NE(NULL, s);
		EXPECT_EQ(0, strncmp(span_hex(s->trace_id, OTEL_TRACE_ID_SIZE),
				     tp1 + 3, 32));
		EXPECT_EQ(0, strncmp(span_hex(s->parent_id, OTEL_SPAN_ID_SIZE),
				     tp1 + 36, 16));
		EXPECT_EQ(OTEL_SPANF_REMOTE_PARENT,
			  s->span_flags & OTEL_SPANF_REMOTE_PARENT);
	}
}

static int set_enabled(int fd, int on)
{
	struct otel_config cfg;

	if (ioctl(fd, OTEL_IOC_GET_CONFIG, &cfg))
		return -errno;
	cfg.enabled = on;
	return ioctl(fd, OTEL_IOC_SET_CONFIG, &cfg) ? -errno : 0;
}

/*
 * docs/driver-api.md: "`otel_kspan_is_recording(span)` | false if
 * unsampled or tracing is off"; kmod/oteltrace.h: "Return: true if the span
 * is sampled and not yet ended".  Bits of "root": 0 before begin, 1 after
 * begin, 2 after end; of "remote": 0 the span, 1 its child, 2 after end.
 */
TEST_F(sc, is_recording)
{
	static const char tp0[] =
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

	EXPECT_EQ(2, cmd("root"));		/* sampled: only while begun */
	ASSERT_EQ(0, span_sampler("always_off", 1000000));
	EXPECT_EQ(0, cmd("root"));
	ASSERT_EQ(0, span_sampler("parentbased_always_on", 1000000));
	EXPECT_EQ(0, cmd("remote %s", tp0));	/* unsampled parent */
	ASSERT_EQ(0, set_enabled(self->fd, 0));
	EXPECT_EQ(0, cmd("root"));		/* tracing off */
	ASSERT_EQ(0, set_enabled(self->fd, 1));
	EXPECT_EQ(2, cmd("root"));
	ASSERT_EQ(0, drain(self)) TH_LOG("%s", self->db.why);
	EXPECT_EQ(2, self->db.nr);
	EXPECT_EQ(2, rec_count(&self->db, "c.root"));
}

/*
 * docs/driver-api.md: "`otel_kspan_end(span)` | end it; a current span
 * restores the span it replaced; ending twice is harmless"; "| **ended
 * twice** (or two racing ends) | the second end does nothing |
 * `end_twice` |".  A current span ended N times writes one record, counts
 * N - 1, and the next span of the task is a root as if it ended once.
 */
TEST_F(sc, ending_twice_is_harmless)
{
	struct otel_span_stats st0, st1;
	struct otel_cpu_stats r0, r1;
	const struct rec_span *s, *after;
	const struct rec_attr *a;
	unsigned int n;

	for (n = 1; n <= 3; n++) {
		ASSERT_EQ(0, span_stats(self->fd, &st0));
		ASSERT_EQ(0, span_ring_stats(self->fd, &r0));
		ASSERT_EQ(0, cmd("end %u", n));
		ASSERT_EQ(0, span_stats(self->fd, &st1));
		ASSERT_EQ(0, span_ring_stats(self->fd, &r1));
		EXPECT_EQ(n - 1, st1.end_twice - st0.end_twice) TH_LOG("ended %u times", n);
		EXPECT_EQ(0, st1.bad_handle - st0.bad_handle);
		EXPECT_EQ(0, st1.misnested - st0.misnested);
		ASSERT_EQ(0, drain(self)) TH_LOG("%s", self->db.why);
		/*
		 * One SPAN record each, c.end and c.end.after, and nothing
		 * else of a span; besides them only COMM records naming this
		 * task (one per CPU it began spans on since the device was
		 * opened, at most), which are no span's.
		 */
		EXPECT_EQ(2, self->db.records);
		EXPECT_GE(2, self->db.comm_records);
		EXPECT_EQ(2, r1.records - r0.records - self->db.comm_records)
			TH_LOG("ended %u times: %llu records, %zu COMM", n,
			       (unsigned long long)(r1.records - r0.records),
			       self->db.comm_records);
		EXPECT_EQ(2, self->db.nr);
		EXPECT_EQ(1, rec_count(&self->db, "c.end"));
		s = rec_find(&self->db, "c.end", 0);
		after = rec_find(&self->db, "c.end.after", 0);
		ASSERT_NE(NULL, s);
		ASSERT_NE(NULL, after);
		EXPECT_TRUE(rec_complete(s));
		a = rec_attr(s, OTEL_ATTR_TARGET_SPAN, "c.ends");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(n, a->value);
		EXPECT_TRUE(rec_is_zero(after->parent_id, OTEL_SPAN_ID_SIZE));
		EXPECT_NE(0, memcmp(after->trace_id, s->trace_id, OTEL_TRACE_ID_SIZE));
	}
}

/*
 * docs/driver-api.md, Safety: "Loading a module that uses the API pins
 * oteltrace.ko (symbol dependency), so oteltrace cannot be unloaded while a
 * driver could still call it".  Not loadable without it either.
 */
TEST(api_user_pins_oteltrace)
{
	int ret;

	vm_unload_module("otel_claimtest");
	vm_unload_module("otel_spantest");
	vm_unload_module("otel_demo");
	vm_unload_module("oteltrace");
	ASSERT_FALSE(vm_module_loaded("oteltrace"));
	EXPECT_NE(0, vm_load_module(SPANTEST_KO, NULL));
	EXPECT_FALSE(vm_module_loaded("otel_spantest"));

	ASSERT_EQ(0, vm_load_oteltrace(NULL));
	ASSERT_EQ(0, vm_load_module(SPANTEST_KO, NULL));
	ASSERT_EQ(0, claim_load());
	EXPECT_EQ(0, access("/sys/module/oteltrace/holders/otel_spantest", F_OK));
	EXPECT_EQ(0, access("/sys/module/oteltrace/holders/otel_claimtest", F_OK));
	ret = vm_unload_module("oteltrace");
	EXPECT_TRUE(ret == -EBUSY || ret == -EAGAIN) TH_LOG("ret %d", ret);
	EXPECT_TRUE(vm_module_loaded("oteltrace"));
	/* still working: the API user's spans are written */
	EXPECT_EQ(2, cmd("root"));

	ASSERT_EQ(0, vm_unload_module("otel_spantest"));
	ret = vm_unload_module("oteltrace");
	EXPECT_TRUE(ret == -EBUSY || ret == -EAGAIN) TH_LOG("ret %d", ret);
	ASSERT_EQ(0, vm_unload_module("otel_claimtest"));
	EXPECT_EQ(0, vm_unload_module("oteltrace"));
	EXPECT_FALSE(vm_module_loaded("oteltrace"));
}

TEST_HARNESS_MAIN
