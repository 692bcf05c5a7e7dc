// SPDX-License-Identifier: GPL-2.0
/*
 * Misuse of the span API is counted (OTEL_IOC_SPAN_STATS), reported once in
 * the kernel log ("oteltrace: ..."), and harmless: after each misuse, 10,000
 * ordinary spans in the same task (5,000 roots "t.m.root", each with an
 * implicit child "t.m.child") all have the right parent and trace, and none
 * takes the ids of a dead span or the bytes of a dead frame.  The misuse is
 * done by the commands of tests/kmod/otel_spantest.c:
 *  - a span left current by a function that returned, its frame then
 *    reused by a deeper call chain: below the stack pointer, in the same
 *    call or the next one, or the same address begun again (stale_current);
 *  - a handle begun twice without ending (begin_active);
 *  - ending a handle never begun (nothing), ending twice (end_twice),
 *    ending random bytes or a copy of a handle (bad_handle);
 *  - a current span ended by a work item or by an IPI on another CPU
 *    (end_foreign), or after its task exited and a new task took its
 *    context slot (the new task's chain must stay intact);
 *  - more nested current spans than a chain holds (depth_full);
 *  - spans begun in a release() handler that do_exit() runs after the task
 *    exit hook, in 1,200 exiting processes (300 alive at a time) with a
 *    256-slot task context table: every slot is freed with its task, the
 *    table never fills (context_full).
 * scripts/vm fails the whole run on any WARNING or BUG in the kernel log.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "span_util.h"

#define N_ORD		10000	/* ordinary spans after each misuse */
/*
 * Processes exiting with the file open: a slot leaked by each would fill the
 * 256-slot table within the first round, so four rounds are as able to fail
 * as forty (10,000 took 214 s of make check's time under TCG per kernel).
 */
#define N_EXIT		1200
#define EXIT_ROUND	300	/* children alive at once: more than 256 slots */
#define EXIT_BATCH	32	/* children reaped between two rcu_barrier */
#define EXIT_FILE	"/sys/kernel/debug/otel_spantest/exit_span"
#define REPORT		"oteltrace: "
#define XSTR(x)		#x
#define STR(x)		XSTR(x)

/* A span whose ids must never show up again (its frame is dead). */
struct dead {
	uint8_t	trace_id[OTEL_TRACE_ID_SIZE];
	uint8_t	span_id[OTEL_SPAN_ID_SIZE];
};

/* Each counter of @b minus @a must be exactly the one in @want. */
static void expect_delta(struct __test_metadata *_metadata,
			 const struct otel_span_stats *a,
			 const struct otel_span_stats *b,
			 const struct otel_span_stats *want)
{
#define DELTA(f) EXPECT_EQ(want->f, b->f - a->f) TH_LOG("span stats: " #f)
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

static int is_dead(const struct rec_span *s, const struct dead *dead,
		   size_t ndead)
{
	size_t i;

	for (i = 0; i < ndead; i++) {
		if (!memcmp(s->parent_id, dead[i].span_id, OTEL_SPAN_ID_SIZE) ||
		    !memcmp(s->span_id, dead[i].span_id, OTEL_SPAN_ID_SIZE) ||
		    !memcmp(s->trace_id, dead[i].trace_id, OTEL_TRACE_ID_SIZE))
			return 1;
	}
	return 0;
}

static int cmp_trace(const void *a, const void *b)
{
	return memcmp(a, b, OTEL_TRACE_ID_SIZE);
}

/*
 * Every span of @db: no id all 0xff (a scribbled frame).  The ordinary
 * spans: @roots roots, complete, zero parent, begun in this task, each with
 * a trace of its own; as many children, each under a root with the same
 * trace and t.seq; none of them parent, trace or id of a @dead span.
 */
static void check_spans(struct __test_metadata *_metadata,
			const struct rec_db *db, size_t roots,
			const struct dead *dead, size_t ndead)
{
	uint8_t (*traces)[OTEL_TRACE_ID_SIZE];
	const struct rec_attr *seq, *up_seq;
	const struct rec_span *s, *up;
	struct span_verdict v = { 0 };
	size_t i, nr_roots = 0, nr_children = 0, dup = 0;
	uint32_t me = getpid();

	traces = calloc(roots + 1, sizeof(*traces));
	ASSERT_NE(NULL, traces);
	for (i = 0; i < db->nr; i++) {
		s = db->spans[i];
		if (span_all_ff(s->trace_id, OTEL_TRACE_ID_SIZE) ||
		    span_all_ff(s->span_id, OTEL_SPAN_ID_SIZE) ||
		    span_all_ff(s->parent_id, OTEL_SPAN_ID_SIZE))
			span_fail(&v, s, "an id of 0xff bytes (a dead frame's)");
		if (strcmp(s->name, "t.m.root") && strcmp(s->name, "t.m.child"))
			continue;
		if (!rec_complete(s))
			span_fail(&v, s, "incomplete");
		if (s->pid != me || s->tgid != me || s->begin_ctx != OTEL_CTX_TASK)
			span_fail(&v, s, "not begun in the test's task");
		if (is_dead(s, dead, ndead))
			span_fail(&v, s, "ids of a dead span");
		seq = rec_attr(s, 0, "t.seq");
		if (!seq) {
			span_fail(&v, s, "no t.seq");
			continue;
		}
		if (!strcmp(s->name, "t.m.root")) {
			if (!rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE))
				span_fail(&v, s, "a root with a parent");
			if (s->span_flags)
				span_fail(&v, s, "span flags");
			if (nr_roots < roots)
				memcpy(traces[nr_roots], s->trace_id,
				       OTEL_TRACE_ID_SIZE);
			nr_roots++;
			continue;
		}
		nr_children++;
		up = rec_by_id(db, s->parent_id);
		if (!up || strcmp(up->name, "t.m.root")) {
			span_fail(&v, s, "a child whose parent is not a t.m.root");
			continue;
		}
		up_seq = rec_attr(up, 0, "t.seq");
		if (memcmp(s->trace_id, up->trace_id, OTEL_TRACE_ID_SIZE) ||
		    !up_seq || up_seq->value != seq->value)
			span_fail(&v, s, "a child under the wrong root");
	}
	EXPECT_EQ(roots, nr_roots);
	EXPECT_EQ(roots, nr_children);
	EXPECT_EQ(0, v.bad) TH_LOG("%zu bad spans, first: %s", v.bad, v.why);
	if (nr_roots > roots)
		nr_roots = roots;
	qsort(traces, nr_roots, sizeof(*traces), cmp_trace);
	for (i = 1; i < nr_roots; i++)
		dup += !memcmp(traces[i], traces[i - 1], OTEL_TRACE_ID_SIZE);
	EXPECT_EQ(0, dup) TH_LOG("roots sharing a trace id");
	free(traces);
}

/* The @nth "t.m.witness": its parent is a leaked span.  Returns its ids. */
static void witness(struct __test_metadata *_metadata,
		    const struct rec_db *db, size_t nth, struct dead *d)
{
	const struct rec_span *w = rec_find(db, "t.m.witness", nth);

	ASSERT_NE(NULL, w) TH_LOG("no witness %zu", nth);
	EXPECT_TRUE(rec_complete(w));
	ASSERT_FALSE(rec_is_zero(w->parent_id, OTEL_SPAN_ID_SIZE));
	memcpy(d->trace_id, w->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(d->span_id, w->parent_id, OTEL_SPAN_ID_SIZE);
	/* The leaked span itself never wrote a record. */
	EXPECT_EQ(NULL, rec_by_id(db, d->span_id));
}

FIXTURE(misuse) {
	int fd;
	struct kmsg_log kmsg;
	struct rec_db db;
	long records;
	struct otel_span_stats st0;
	struct otel_cpu_stats r0;
};

FIXTURE_SETUP(misuse)
{
	rec_db_init(&self->db);
	self->records = 0;
	self->kmsg.fd = -1;
	/* 10,000 spans of about 160 bytes stay in the rings until read */
	self->fd = span_load("ring_size_kb=4096", SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kmsg_open(&self->kmsg));
	ASSERT_EQ(0, span_stats(self->fd, &self->st0));
	ASSERT_EQ(0, span_ring_stats(self->fd, &self->r0));
}

FIXTURE_TEARDOWN(misuse)
{
	kmsg_close(&self->kmsg);
	rec_db_free(&self->db);
	span_unload(self->fd);
}

/* Run @cmd, read what it wrote, check the records are well formed. */
static void run(struct __test_metadata *_metadata,
		FIXTURE_DATA(misuse) *self, const char *cmd)
{
	long n;

	ASSERT_EQ(0, span_cmd("%s", cmd)) TH_LOG("command %s", cmd);
	n = rec_drain(self->fd, &self->db);
	ASSERT_LE(0, n);
	self->records += n;
	EXPECT_EQ(0, self->db.bad) TH_LOG("%s", self->db.why);
}

/* The span counters moved by exactly @want; every record was read. */
static void finish(struct __test_metadata *_metadata,
		   FIXTURE_DATA(misuse) *self,
		   const struct otel_span_stats *want)
{
	struct otel_span_stats st1;
	struct otel_cpu_stats r1 = { 0 };

	ASSERT_EQ(0, span_stats(self->fd, &st1));
	EXPECT_EQ(sizeof(st1), st1.size);
	expect_delta(_metadata, &self->st0, &st1, want);
	ASSERT_EQ(0, span_ring_stats(self->fd, &r1));
	/* the ring also named the tasks (COMM records, not counted above) */
	EXPECT_EQ(self->records + self->db.comm_records,
		  r1.records - self->r0.records);
	EXPECT_EQ(0, span_ring_dropped(&r1) - span_ring_dropped(&self->r0));
}

/*
 * The kernel log has exactly one report containing @what.  An irq_work
 * prints it, on the CPU where the misuse happened (another CPU's IPI or
 * work item for the foreign ends): the command may return before it ran,
 * so wait for the report, not for a time; 10 s only catches one that
 * never comes.
 */
static void expect_report(struct __test_metadata *_metadata,
			  FIXTURE_DATA(misuse) *self, const char *what)
{
	char line[512] = "";
	int i, n = 0;

	for (i = 0; i < 1000; i++) {
		n = kmsg_count(&self->kmsg, REPORT, what, line, sizeof(line));
		if (n)
			break;
		usleep(10000);
	}
	EXPECT_EQ(1, n) TH_LOG("kernel log reports of \"%s\"", what);
	if (n)
		TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "reported once"));
}

#define MSTALE_REPORT	"current span left behind by a returned stack frame"

/*
 * A span begun by a function 8 frames below the command and left current
 * when it returned; a deeper chain then fills that stack with 0xff.  Its
 * handle lies below the stack pointer of every later begin, so the next one
 * drops it.  Twice: counted twice, reported once.
 */
TEST_F_TIMEOUT(misuse, stale_deeper_frame, 300)
{
	struct dead dead[2];
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "mstale %d", N_ORD);
	run(_metadata, self, cmd);
	run(_metadata, self, "mstale 2");
	ASSERT_EQ(2, rec_count(&self->db, "t.m.witness"));
	witness(_metadata, &self->db, 0, &dead[0]);
	witness(_metadata, &self->db, 1, &dead[1]);
	EXPECT_EQ(0, rec_count(&self->db, "t.m.leak"));
	check_spans(_metadata, &self->db, N_ORD / 2 + 1, dead, 2);
	finish(_metadata, self,
	       &(struct otel_span_stats){ .stale_current = 2 });
	expect_report(_metadata, self, MSTALE_REPORT);
}

/* The same leak, and the spans in the next system call. */
TEST_F_TIMEOUT(misuse, stale_across_calls, 300)
{
	struct dead dead;
	char cmd[32];

	run(_metadata, self, "mleak");
	snprintf(cmd, sizeof(cmd), "mordinary %d", N_ORD);
	run(_metadata, self, cmd);
	ASSERT_EQ(1, rec_count(&self->db, "t.m.witness"));
	witness(_metadata, &self->db, 0, &dead);
	check_spans(_metadata, &self->db, N_ORD / 2, &dead, 1);
	finish(_metadata, self,
	       &(struct otel_span_stats){ .stale_current = 1 });
	expect_report(_metadata, self, MSTALE_REPORT);
}

/*
 * A span left current, then a handle begun at the same address (the same
 * function called again): the old entry dies, the new span is a root.
 */
TEST_F_TIMEOUT(misuse, stale_same_address, 300)
{
	const struct rec_span *s;
	struct dead dead;
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "msame %d", N_ORD);
	run(_metadata, self, cmd);
	ASSERT_EQ(1, rec_count(&self->db, "t.m.witness"));
	witness(_metadata, &self->db, 0, &dead);
	ASSERT_EQ(1, rec_count(&self->db, "t.m.same"));
	s = rec_find(&self->db, "t.m.same", 0);
	EXPECT_TRUE(rec_complete(s));
	EXPECT_TRUE(rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_FALSE(is_dead(s, &dead, 1));
	check_spans(_metadata, &self->db, N_ORD / 2, &dead, 1);
	finish(_metadata, self,
	       &(struct otel_span_stats){ .stale_current = 1 });
	expect_report(_metadata, self, MSTALE_REPORT);
}

/*
 * Handles begun twice without ending: the first span is abandoned (writes
 * nothing, its attribute lost), the chain of current spans stays sound.
 */
TEST_F_TIMEOUT(misuse, begin_twice, 300)
{
	const struct rec_span *parent, *s, *x;
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "mtwice %d", N_ORD);
	run(_metadata, self, cmd);
	EXPECT_EQ(0, rec_count(&self->db, "t.m.twice.lost"));
	ASSERT_EQ(1, rec_count(&self->db, "t.m.twice.parent"));
	ASSERT_EQ(1, rec_count(&self->db, "t.m.twice"));
	ASSERT_EQ(1, rec_count(&self->db, "t.m.twice.child"));
	parent = rec_find(&self->db, "t.m.twice.parent", 0);
	s = rec_find(&self->db, "t.m.twice", 0);
	x = rec_find(&self->db, "t.m.twice.child", 0);
	EXPECT_TRUE(rec_complete(parent));
	EXPECT_TRUE(rec_complete(s));
	EXPECT_TRUE(rec_complete(x));
	EXPECT_TRUE(rec_is_zero(parent->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_EQ(0, memcmp(s->parent_id, parent->span_id, OTEL_SPAN_ID_SIZE));
	EXPECT_EQ(0, memcmp(s->trace_id, parent->trace_id, OTEL_TRACE_ID_SIZE));
	EXPECT_EQ(0, s->nr_attrs);	/* not the abandoned span's t.lost */
	EXPECT_TRUE(rec_is_zero(x->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_EQ(0, x->nr_attrs);
	check_spans(_metadata, &self->db, N_ORD / 2, NULL, 0);
	finish(_metadata, self,
	       &(struct otel_span_stats){ .begin_active = 2 });
	expect_report(_metadata, self, "span begun again while active");
}

/*
 * Ending: a handle never begun does nothing at all; a second end is
 * counted; random bytes posing as a current span, and a copy of a live
 * handle, are refused (attribute, event and end: nothing written); random
 * bytes may be begun.
 */
TEST_F_TIMEOUT(misuse, end_misuse, 300)
{
	const char *names[] = { "t.m.end.twice", "t.m.end.orig",
				"t.m.end.garbage" };
	const struct rec_span *s;
	size_t i, events = 0;
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "mend %d", N_ORD);
	run(_metadata, self, cmd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, rec_count(&self->db, names[i])) TH_LOG("%s", names[i]);
		s = rec_find(&self->db, names[i], 0);
		EXPECT_TRUE(rec_complete(s));
		EXPECT_TRUE(rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE));
		EXPECT_EQ(0, s->nr_attrs);
	}
	/* Nothing else: one record per span, no garbage attribute or event. */
	EXPECT_EQ(N_ORD + 3, self->db.nr);
	EXPECT_EQ(N_ORD + 3, self->records);
	for (i = 0; i < self->db.nr; i++) {
		events += self->db.spans[i]->nr_events;
		EXPECT_EQ(NULL, rec_attr(self->db.spans[i], 0, "t.garbage"));
	}
	EXPECT_EQ(0, events);
	check_spans(_metadata, &self->db, N_ORD / 2, NULL, 0);
	finish(_metadata, self,
	       &(struct otel_span_stats){ .end_twice = 1, .bad_handle = 4 });
	expect_report(_metadata, self, "span ended twice");
	expect_report(_metadata, self, "span handle not begun or overwritten");
}

/*
 * Current spans ended elsewhere: by a work item (another task), then by an
 * IPI on another CPU while their parent stays current.  Each writes its one
 * record; the owner's next spans do not take it as parent.
 */
TEST_F_TIMEOUT(misuse, end_foreign, 300)
{
	const struct rec_span *w, *after, *p, *ipi, *c;
	struct dead dead[2];
	char cmd[32];

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	snprintf(cmd, sizeof(cmd), "mforeign %d", N_ORD);
	run(_metadata, self, cmd);
	ASSERT_EQ(1, rec_count(&self->db, "t.m.foreign.work"));
	ASSERT_EQ(1, rec_count(&self->db, "t.m.foreign.after"));
	ASSERT_EQ(1, rec_count(&self->db, "t.m.foreign.parent"));
	ASSERT_EQ(1, rec_count(&self->db, "t.m.foreign.ipi"));
	ASSERT_EQ(1, rec_count(&self->db, "t.m.foreign.child"));
	w = rec_find(&self->db, "t.m.foreign.work", 0);
	after = rec_find(&self->db, "t.m.foreign.after", 0);
	p = rec_find(&self->db, "t.m.foreign.parent", 0);
	ipi = rec_find(&self->db, "t.m.foreign.ipi", 0);
	c = rec_find(&self->db, "t.m.foreign.child", 0);

	EXPECT_TRUE(rec_complete(w));
	EXPECT_TRUE(rec_is_zero(w->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_EQ((uint32_t)getpid(), w->tgid);	/* begun here... */
	EXPECT_EQ(OTEL_CTX_TASK, w->end_ctx);	/* ...ended by a kworker */
	EXPECT_TRUE(rec_complete(after));
	EXPECT_TRUE(rec_is_zero(after->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_NE(0, memcmp(after->trace_id, w->trace_id, OTEL_TRACE_ID_SIZE));

	EXPECT_TRUE(rec_complete(p));
	EXPECT_TRUE(rec_is_zero(p->parent_id, OTEL_SPAN_ID_SIZE));
	EXPECT_TRUE(rec_complete(ipi));
	EXPECT_EQ(0, memcmp(ipi->parent_id, p->span_id, OTEL_SPAN_ID_SIZE));
	EXPECT_NE(ipi->begin_cpu, ipi->end_cpu);
	/* an IPI to an idle CPU may run in its idle task */
	EXPECT_TRUE(ipi->end_ctx == OTEL_CTX_HARDIRQ ||
		    ipi->end_ctx == OTEL_CTX_TASK);
	EXPECT_TRUE(rec_complete(c));
	EXPECT_EQ(0, memcmp(c->parent_id, p->span_id, OTEL_SPAN_ID_SIZE));
	EXPECT_EQ(0, memcmp(c->trace_id, p->trace_id, OTEL_TRACE_ID_SIZE));

	memcpy(dead[0].trace_id, w->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(dead[0].span_id, w->span_id, OTEL_SPAN_ID_SIZE);
	memcpy(dead[1].trace_id, ipi->trace_id, OTEL_TRACE_ID_SIZE);
	memcpy(dead[1].span_id, ipi->span_id, OTEL_SPAN_ID_SIZE);
	check_spans(_metadata, &self->db, N_ORD / 2, dead, 2);
	finish(_metadata, self, &(struct otel_span_stats){ .end_foreign = 2 });
	expect_report(_metadata, self,
		      "current span ended from another task or CPU");
}

#define NEST	12

/*
 * 12 spans nested by recursion: the chain of current spans holds only so
 * many (D); the deeper ones are not made current (counted), so each is a
 * child of the last span that was, and nesting resumes when they end.
 */
TEST_F(misuse, depth_full)
{
	const struct rec_span *s, *up;
	struct otel_span_stats st1;
	const struct rec_attr *a;
	int64_t d, full, deepest;
	char cmd[32];
	size_t i;

	snprintf(cmd, sizeof(cmd), "nest %d", NEST);
	run(_metadata, self, cmd);
	ASSERT_EQ(NEST, rec_count(&self->db, "t.nest"));
	ASSERT_EQ(0, span_stats(self->fd, &st1));
	full = st1.depth_full - self->st0.depth_full;
	ASSERT_LT(0, full);
	ASSERT_GT(NEST - 1, full);	/* more than one level nests */
	deepest = full + 1;		/* t.depth of the last current span */
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		if (strcmp(s->name, "t.nest"))
			continue;
		EXPECT_TRUE(rec_complete(s));
		a = rec_attr(s, 0, "t.depth");
		ASSERT_NE(NULL, a);
		d = a->value;
		if (d == NEST) {
			EXPECT_TRUE(rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE));
			continue;
		}
		up = rec_by_id(&self->db, s->parent_id);
		ASSERT_NE(NULL, up) TH_LOG("depth %lld", (long long)d);
		EXPECT_EQ(0, memcmp(s->trace_id, up->trace_id, 16));
		a = rec_attr(up, 0, "t.depth");
		ASSERT_NE(NULL, a);
		EXPECT_EQ(d < deepest ? deepest : d + 1, a->value)
			TH_LOG("parent of depth %lld", (long long)d);
	}
	/* "nest" ends with an out-of-order pair (one misnested) */
	finish(_metadata, self,
	       &(struct otel_span_stats){ .depth_full = full, .misnested = 1 });
	expect_report(_metadata, self, "too many current spans nested");
}

#define ORPHANS	30

/*
 * A task exits with a span current (its handle on the heap); a new task
 * takes the same context slot (30 times: kthreads, the second usually in
 * the first's task_struct) and begins a span; the old span is then ended
 * from here.  That must not end the new task's span in its chain: the new
 * task's next span is still its child.
 */
TEST_F_TIMEOUT(misuse, foreign_end_after_owner_exit, 120)
{
	const struct rec_span *s, *up;
	struct span_verdict v = { 0 };
	size_t i, orphans = 0, children = 0;
	long reused;

	run(_metadata, self, "morphan " STR(ORPHANS));
	reused = span_result();
	ASSERT_LE(0, reused);
	TH_LOG("%ld of %d new tasks took the exited task's task_struct",
	       reused, ORPHANS);
	for (i = 0; i < self->db.nr; i++) {
		s = self->db.spans[i];
		if (!rec_complete(s))
			span_fail(&v, s, "incomplete");
		if (!strcmp(s->name, "t.m.orphan")) {
			orphans++;
			if (!rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE))
				span_fail(&v, s, "orphan with a parent");
		} else if (!strcmp(s->name, "t.m.bystander.child")) {
			children++;
			up = rec_by_id(&self->db, s->parent_id);
			if (!up || strcmp(up->name, "t.m.bystander") ||
			    up->pid != s->pid ||
			    memcmp(up->trace_id, s->trace_id, 16))
				span_fail(&v, s, "not the child of its task's span");
		} else if (strcmp(s->name, "t.m.bystander")) {
			span_fail(&v, s, "unexpected span");
		}
	}
	EXPECT_EQ(ORPHANS, orphans);
	EXPECT_EQ(ORPHANS, rec_count(&self->db, "t.m.bystander"));
	EXPECT_EQ(ORPHANS, children);
	EXPECT_EQ(0, v.bad) TH_LOG("%zu bad, first: %s", v.bad, v.why);
}

FIXTURE(exitslot) {
	int fd;
	struct kmsg_log kmsg;
};

FIXTURE_SETUP(exitslot)
{
	self->kmsg.fd = -1;
	self->fd = span_load("context_slots=256 ring_size_kb=4096", SPANTEST_KO);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kmsg_open(&self->kmsg));
	ASSERT_EQ(0, access(EXIT_FILE, R_OK));
}

FIXTURE_TEARDOWN(exitslot)
{
	kmsg_close(&self->kmsg);
	span_unload(self->fd);
}

static int has_pid(const pid_t *pids, size_t n, uint32_t pid)
{
	while (n--)
		if ((uint32_t)pids[n] == pid)
			return 1;
	return 0;
}

/*
 * The spans of one batch of exited children: each made "t.exit.parent"
 * (a child of the "t.exit.hold" it left current, so it had a context
 * slot; in do_exit(), in the exiting task) and its child "t.exit.child".
 * Returns the pairs found right.
 */
static size_t check_exit_batch(const struct rec_db *db, const pid_t *pids,
			       size_t npids, struct span_verdict *v)
{
	const struct rec_span *s, *up;
	const struct rec_attr *a;
	size_t i, pairs = 0, parents = 0;

	for (i = 0; i < db->nr; i++) {
		s = db->spans[i];
		if (!rec_complete(s))
			span_fail(v, s, "incomplete");
		if (!has_pid(pids, npids, s->pid) || s->tgid != s->pid)
			span_fail(v, s, "not begun by an exiting child");
		if (!strcmp(s->name, "t.exit.parent")) {
			parents++;
			a = rec_attr(s, 0, "t.exiting");
			if (!a || a->value != 1)
				span_fail(v, s, "not in do_exit()");
			if (rec_is_zero(s->parent_id, OTEL_SPAN_ID_SIZE))
				span_fail(v, s, "a root: t.exit.hold got no slot");
		} else if (!strcmp(s->name, "t.exit.child")) {
			up = rec_by_id(db, s->parent_id);
			if (!up || strcmp(up->name, "t.exit.parent") ||
			    memcmp(up->trace_id, s->trace_id, 16) ||
			    up->pid != s->pid)
				span_fail(v, s, "not under its t.exit.parent");
			else
				pairs++;
		} else {
			span_fail(v, s, "unexpected span");
		}
	}
	if (parents != npids && !v->bad++)
		snprintf(v->why, sizeof(v->why),
			 "%zu t.exit.parent spans for %zu children", parents,
			 npids);
	return pairs;
}

/* Fork a child that opens EXIT_FILE, says so on @ready, then waits. */
static pid_t exit_child(int ready)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (open(EXIT_FILE, O_RDONLY) < 0 || write(ready, "r", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/*
 * 1,200 processes exit holding EXIT_FILE open, so its release() begins
 * spans in do_exit() after the task exit hook: each claims a context slot
 * that only the task free hook can give back.  They come in rounds of 300
 * (more than the 256 slots), all forked first, so that no task_struct is
 * recycled while they die one by one (a recycled one would reset the slot
 * and hide a leak); each is reaped, and every EXIT_BATCH an rcu_barrier
 * lets the free hook run.  Every exiting child must get a slot.  The
 * timeout is a hang guard: 10,000 children took 214 s under TCG on the
 * shared 2-core host, these 1,200 about a tenth of that.
 */
TEST_F_TIMEOUT(exitslot, release_in_do_exit, 900)
{
	struct otel_span_stats st0, st1;
	struct span_verdict v = { 0 };
	pid_t pids[EXIT_ROUND];
	size_t i, n, done, from, pairs = 0;
	struct rec_db db;
	int status, ready[2];
	char cmd[32], c;

	rec_db_init(&db);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, span_stats(self->fd, &st0));
	for (done = 0; done < N_EXIT; done += n) {
		n = N_EXIT - done < EXIT_ROUND ? N_EXIT - done : EXIT_ROUND;
		for (i = 0; i < n; i++) {
			pids[i] = exit_child(ready[1]);
			ASSERT_LT(0, pids[i]);
			ASSERT_EQ(1, read(ready[0], &c, 1));
		}
		for (i = 0, from = 0; i < n; i++) {
			ASSERT_EQ(0, kill(pids[i], SIGKILL));
			ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
			ASSERT_TRUE(WIFSIGNALED(status) &&
				    WTERMSIG(status) == SIGKILL);
			if ((i + 1) % EXIT_BATCH && i + 1 < n)
				continue;
			/* Reaped tasks are freed by RCU callbacks. */
			ASSERT_EQ(0, span_cmd("rcu_barrier"));
			ASSERT_LE(0, rec_drain(self->fd, &db));
			ASSERT_EQ(0, db.bad) TH_LOG("%s", db.why);
			pairs += check_exit_batch(&db, pids + from, i + 1 - from,
						  &v);
			rec_db_free(&db);
			from = i + 1;
		}
	}
	close(ready[0]);
	close(ready[1]);
	EXPECT_EQ(N_EXIT, pairs);
	EXPECT_EQ(0, v.bad) TH_LOG("%zu bad, first: %s", v.bad, v.why);
	ASSERT_EQ(0, span_stats(self->fd, &st1));
	expect_delta(_metadata, &st0, &st1, &(struct otel_span_stats){ 0 });
	EXPECT_EQ(0, kmsg_count(&self->kmsg, REPORT, "table full", NULL, 0));

	/* The table still has room: this task's spans nest as ever. */
	snprintf(cmd, sizeof(cmd), "mordinary %d", N_ORD);
	ASSERT_EQ(0, span_cmd("%s", cmd));
	ASSERT_EQ(N_ORD, rec_drain(self->fd, &db));
	EXPECT_EQ(0, db.bad) TH_LOG("%s", db.why);
	check_spans(_metadata, &db, N_ORD / 2, NULL, 0);
	rec_db_free(&db);
}

TEST_HARNESS_MAIN
