// SPDX-License-Identifier: GPL-2.0
/*
 * oteld's flow control and fast paths (kselftest harness, ASan + UBSan):
 *
 *  - the ring reader gives each chunk's space back to the kernel before the
 *    chunk is decoded, and stops a pass when the sink says so (the queue is
 *    full), the records after that left in their ring for the next pass,
 *    which starts with that ring;
 *  - the queue: room, waiting for room, deep batches (a consumer takes more
 *    than a batch when more wait), and how the configuration sets them;
 *  - the wire encoder's cache of the attributes oteld adds: every span gets
 *    its own, decoded with protobuf-c, whatever the order of tasks, CPUs
 *    and keys the driver set itself;
 *  - scopes kept once by the assembler, shared by their spans, and records
 *    decoded where they lie when aligned, copied when not.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ring.h"
#include "otlp.h"
#include "synth.h"
#include "trace_service.pb-c.h"
#include "utf8.h"

#define T0	1000000000ull
#define PAGE	4096u
#define RSIZE	(256u << 10)	/* bigger than a chunk */

/* ---- rings in memory, laid out as mmap() gives them ---- */

struct fake_rings {
	struct otel_info info;
	struct otel_ring_consumer cons[2];
	uint8_t *map[2];	/* producer page, then the data */
};

static void rings_init(struct fake_rings *f, uint32_t nr)
{
	uint32_t i;

	memset(f, 0, sizeof(*f));
	f->info.abi_version = OTEL_ABI_VERSION;
	f->info.nr_cpus = nr;
	f->info.page_size = PAGE;
	f->info.ring_size = RSIZE;
	f->info.mmap_stride = 2 * PAGE + RSIZE;
	f->info.max_record = OTEL_REC_MAX_SIZE;
	for (i = 0; i < nr; i++)
		f->map[i] = mmap(NULL, PAGE + RSIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static struct otel_ring_producer *prod(struct fake_rings *f, int i)
{
	return (struct otel_ring_producer *)f->map[i];
}

static struct ring_reader *rings_attach(struct fake_rings *f)
{
	struct otel_ring_consumer *cons[2] = { &f->cons[0], &f->cons[1] };
	const void *p[2] = { f->map[0], f->map[1] };

	return ring_attach(&f->info, cons, p);
}

/* Append @b's records to ring @i and publish them. */
static void rings_write(struct fake_rings *f, int i, const struct buf *b)
{
	uint64_t pos = prod(f, i)->producer_pos;

	memcpy(f->map[i] + PAGE + (pos & (RSIZE - 1)), b->data, b->len);
	prod(f, i)->producer_pos = pos + b->len;
}

static void rings_free(struct fake_rings *f)
{
	uint32_t i;

	for (i = 0; i < f->info.nr_cpus; i++)
		munmap(f->map[i], PAGE + RSIZE);
}

/* @n one-record spans, ids from @first, all begun in task 7 on CPU 0. */
static void spans(struct buf *b, uint64_t first, int n)
{
	struct synth_span s;
	int i;

	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		synth_id(s.trace_id, sizeof(s.trace_id), 1);
		synth_id(s.span_id, sizeof(s.span_id), first + i);
		synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "flow.span",
			    "flow", "1");
		synth_int(&s.attrs, "flow.i", i);
		synth_end(b, &s, 0, T0 + 1, 0, 0, 0);
	}
}

struct sink_log {
	struct fake_rings *f;
	struct buf got;
	int calls, stop_at;	/* the call that says stop (0: never) */
	uint64_t cons_seen[8];	/* ring 0's consumer_pos at each call */
	size_t lens[8];		/* and the bytes handed over */
};

static bool log_sink(const void *p, size_t len, void *arg)
{
	struct sink_log *l = arg;

	if (l->calls < 8) {
		l->cons_seen[l->calls] = l->f->cons[0].consumer_pos;
		l->lens[l->calls] = len;
	}
	buf_put(&l->got, p, len);
	return ++l->calls != l->stop_at;
}

/*
 * A chunk's ring space is the kernel's again before the sink decodes it:
 * at each call, consumer_pos already covers every record handed over.
 */
TEST(ring_space_given_back_before_decoding)
{
	struct sink_log l = { 0 };
	struct ring_reader *r;
	struct fake_rings f;
	struct buf b = { 0 };
	bool stopped;

	rings_init(&f, 1);
	spans(&b, 1, 600);	/* more than one chunk */
	ASSERT_GT(b.len, RING_CHUNK_BYTES);
	ASSERT_LT(b.len, RSIZE);
	rings_write(&f, 0, &b);
	r = rings_attach(&f);
	ASSERT_NE(NULL, r);
	l.f = &f;
	EXPECT_EQ(b.len, ring_drain(r, log_sink, &l, &stopped));
	EXPECT_FALSE(stopped);
	ASSERT_EQ(2, l.calls);
	EXPECT_EQ(l.lens[0], l.cons_seen[0]);
	EXPECT_EQ(b.len, l.lens[0] + l.lens[1]);
	EXPECT_EQ(b.len, l.cons_seen[1]);
	EXPECT_EQ(b.len, f.cons[0].consumer_pos);
	EXPECT_EQ(0, memcmp(l.got.data, b.data, b.len));
	ring_close(r);
	rings_free(&f);
	buf_free(&b);
	buf_free(&l.got);
}

/*
 * A sink that says stop ends the pass: what it was handed is consumed,
 * the rest stays in the ring, the other ring is not read; the next pass
 * starts with that ring and every record is read once.
 */
TEST(ring_pass_stops_when_the_sink_says_so)
{
	struct sink_log l = { .stop_at = 1 };
	struct buf b0 = { 0 }, b1 = { 0 };
	struct ring_reader *r;
	struct fake_rings f;
	bool stopped;
	size_t first;

	rings_init(&f, 2);
	spans(&b0, 1, 600);
	spans(&b1, 1000, 3);
	rings_write(&f, 0, &b0);
	rings_write(&f, 1, &b1);
	r = rings_attach(&f);
	ASSERT_NE(NULL, r);
	l.f = &f;
	first = ring_drain(r, log_sink, &l, &stopped);
	EXPECT_TRUE(stopped);
	EXPECT_EQ(1, l.calls);
	EXPECT_EQ(first, l.got.len);
	EXPECT_LT(first, b0.len);
	EXPECT_EQ(first, f.cons[0].consumer_pos);
	EXPECT_EQ(0, f.cons[1].consumer_pos);	/* not reached */
	/* the next pass: ring 0's rest first, then ring 1 */
	l.stop_at = 0;
	EXPECT_EQ(b0.len - first + b1.len, ring_drain(r, log_sink, &l,
						      &stopped));
	EXPECT_FALSE(stopped);
	EXPECT_EQ(b0.len, f.cons[0].consumer_pos);
	EXPECT_EQ(b1.len, f.cons[1].consumer_pos);
	ASSERT_EQ(b0.len + b1.len, l.got.len);
	EXPECT_EQ(0, memcmp(l.got.data, b0.data, b0.len));
	EXPECT_EQ(0, memcmp(l.got.data + b0.len, b1.data, b1.len));
	ring_close(r);
	rings_free(&f);
	buf_free(&b0);
	buf_free(&b1);
	buf_free(&l.got);
}

/* ---- the queue ---- */

static void push_n(struct queue *q, size_t n)
{
	while (n--)
		queue_push(q, calloc(1, sizeof(struct span)));
}

/* Take one batch (the queue holds a full one: no wait); its size. */
static size_t pop_free(struct queue *q, size_t room)
{
	struct span **v = calloc(room, sizeof(*v));
	size_t n = queue_pop_batch(q, v), i;

	for (i = 0; i < n; i++)
		span_free(v[i]);
	free(v);
	return n;
}

/* More than a batch waiting: one consumer takes up to the deep batch. */
TEST(queue_deep_batch)
{
	struct queue *q = queue_new(4096, 512, 60000);

	push_n(q, 600);
	EXPECT_EQ(512, pop_free(q, 4096));	/* not set: a batch */
	queue_set_deep_batch(q, 2048);
	push_n(q, 2912);		/* 3000 wait */
	EXPECT_EQ(2048, pop_free(q, 4096));
	EXPECT_EQ(952, pop_free(q, 4096));	/* all of it: more than 512 */
	push_n(q, 512);
	EXPECT_EQ(512, pop_free(q, 4096));
	queue_set_deep_batch(q, 100000);	/* at most the queue */
	push_n(q, 4096);
	EXPECT_EQ(4096, pop_free(q, 4096));
	queue_free(q);
}

struct popper {
	struct queue *q;
	pid_t waiter;	/* the thread that waits for room */
	size_t got;
};

/*
 * Once the waiter sleeps in futex() (in queue_wait_room()), or a minute
 * passed, take a batch.
 */
static void *pop_later(void *arg)
{
	struct popper *p = arg;
	char path[64], line[64];
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall",
		 (int)p->waiter);
	for (i = 0; i < 60000; i++) {
		FILE *f = fopen(path, "r");
		long nr = -1;

		if (f && fgets(line, sizeof(line), f))
			nr = strtol(line, NULL, 10);
		if (f)
			fclose(f);
		if (nr == SYS_futex)
			break;
		usleep(1000);
	}
	p->got = pop_free(p->q, 16);
	return NULL;
}

/* Room: what fits; waiting for it ends with room, a timeout or closing. */
TEST(queue_room_and_waiting_for_it)
{
	struct queue *q = queue_new(10, 4, 60000);
	struct popper p = { .q = q, .waiter = (pid_t)syscall(SYS_gettid) };
	pthread_t t;

	EXPECT_EQ(10, queue_room(q));
	push_n(q, 10);
	EXPECT_EQ(0, queue_room(q));
	EXPECT_FALSE(queue_wait_room(q, 1, 10));	/* nobody takes any */
	ASSERT_EQ(0, pthread_create(&t, NULL, pop_later, &p));
	/* returns on the pop, taken while it waits */
	EXPECT_TRUE(queue_wait_room(q, 4, 600000));
	pthread_join(t, NULL);
	EXPECT_EQ(4, p.got);
	EXPECT_EQ(4, queue_room(q));
	queue_close(q);
	EXPECT_EQ(0, queue_room(q));
	EXPECT_FALSE(queue_wait_room(q, 1, 600000));	/* at once */
	queue_free(q);
}

/* The deep batch: the queue's size by default, a configured batch as is. */
TEST(config_deep_batch)
{
	char *argv1[] = { "oteld", NULL };
	char *argv2[] = { "oteld", "--max-export-batch-size", "100", NULL };
	char *argv3[] = { "oteld", "--max-queue-size", "20000", NULL };
	struct config c;

	unsetenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
	unsetenv("OTEL_BSP_MAX_QUEUE_SIZE");
	ASSERT_EQ(0, config_load(&c, 1, argv1));
	EXPECT_EQ(512, c.max_batch);
	EXPECT_EQ(2048, c.max_batch_deep);
	config_free(&c);
	ASSERT_EQ(0, config_load(&c, 3, argv2));
	EXPECT_EQ(100, c.max_batch_deep);
	config_free(&c);
	ASSERT_EQ(0, config_load(&c, 3, argv3));
	EXPECT_EQ(DEEP_BATCH_MAX, c.max_batch_deep);
	config_free(&c);
}

/* ---- the attributes oteld adds, cached by the wire encoder ---- */

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
	PbRequest;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKv;

/* The value of @key among a span's attributes: "i:N", "s:TEXT" or "". */
static const char *value_of(PbKv **kv, size_t n, const char *key)
{
	static char v[64];
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(kv[i]->key, key))
			continue;
		if (kv[i]->value->value_case ==
		    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
			snprintf(v, sizeof(v), "i:%lld",
				 (long long)kv[i]->value->int_value);
		else
			snprintf(v, sizeof(v), "s:%s",
				 kv[i]->value->string_value);
		return v;
	}
	return "";
}

/*
 * Spans of tasks, CPUs and contexts in turn, one with thread.name set by
 * the driver: each has exactly its own attributes, in two encodings of the
 * batch (the cache is kept between batches).
 */
TEST(wire_where_attributes_per_span)
{
	static const struct {
		uint32_t pid, tgid;
		uint16_t cpu;
		uint8_t ctx;
		const char *name, *driver_name;
	} w[] = {
		{ 7, 7, 0, OTEL_CTX_TASK, "a", NULL },
		{ 7, 7, 0, OTEL_CTX_TASK, "a", NULL },	/* the same */
		{ 8, 7, 0, OTEL_CTX_TASK, "b", NULL },	/* pid */
		{ 8, 7, 1, OTEL_CTX_TASK, "b", NULL },	/* CPU */
		{ 8, 7, 1, OTEL_CTX_TASK, "b", "mine" },	/* driver's key */
		{ 8, 7, 1, OTEL_CTX_TASK, "b", NULL },
		{ 8, 7, 1, OTEL_CTX_TASK, "d", NULL },	/* name */
		{ 8, 9, 1, OTEL_CTX_TASK, "d", NULL },	/* tgid */
		{ 8, 9, 1, OTEL_CTX_SOFTIRQ, "d", NULL },	/* context */
		{ 8, 7, 1, OTEL_CTX_HARDIRQ, "", NULL },
		{ 8, 7, 1, OTEL_CTX_TASK, "c\xff", NULL },	/* repaired */
		{ 0, 0, 1, OTEL_CTX_TASK, "", NULL },	/* idle: no thread */
		{ 7, 7, 0, OTEL_CTX_TASK, "a", NULL },
	};
	enum { N = sizeof(w) / sizeof(w[0]) };
	struct attr own[N];
	struct span sp[N], *v[N];
	struct resource res = { 0 };
	struct encoder enc;
	struct config c = { .max_request_bytes = 1 << 20 };
	PbRequest *req;
	int i, round;

	memset(sp, 0, sizeof(sp));
	for (i = 0; i < N; i++) {
		sp[i].name = "s";
		sp[i].scope_name = "m";
		sp[i].scope_version = "";
		sp[i].trace_id[0] = 1;
		sp[i].span_id[0] = i + 1;
		sp[i].pid = w[i].pid;
		sp[i].tgid = w[i].tgid;
		sp[i].begin_cpu = w[i].cpu;
		sp[i].begin_context = w[i].ctx;
		strcpy(sp[i].thread_name, w[i].name);
		sp[i].named = true;
		if (w[i].driver_name) {
			own[i] = (struct attr){ .key = "thread.name",
						.type = OTEL_ATTR_STRING,
						.str = (char *)w[i].driver_name };
			sp[i].attrs = &own[i];
			sp[i].nr_attrs = 1;
		}
		v[i] = &sp[i];
	}
	encoder_init(&enc, &c, &res);
	for (round = 0; round < 2; round++) {
		Opentelemetry__Proto__Trace__V1__ScopeSpans *ss;

		ASSERT_EQ(0, encoder_run(&enc, v, N));
		req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
			NULL, enc.len, enc.body);
		ASSERT_NE(NULL, req);
		ss = req->resource_spans[0]->scope_spans[0];
		ASSERT_EQ(N, ss->n_spans);
		for (i = 0; i < N; i++) {
			PbKv **kv = ss->spans[i]->attributes;
			size_t n = ss->spans[i]->n_attributes;
			bool task = w[i].ctx == OTEL_CTX_TASK && w[i].pid;
			char want[64];

			EXPECT_EQ(i + 1, ss->spans[i]->span_id.data[0]);
			snprintf(want, sizeof(want), "i:%u", w[i].cpu);
			EXPECT_STREQ(want, value_of(kv, n, "cpu.logical_number"));
			EXPECT_STREQ(w[i].ctx == OTEL_CTX_TASK ? "s:task" :
				     w[i].ctx == OTEL_CTX_SOFTIRQ ? "s:softirq" :
				     "s:hardirq",
				     value_of(kv, n, "linux.context"));
			snprintf(want, sizeof(want), task ? "i:%u" : "",
				 w[i].pid);
			EXPECT_STREQ(want, value_of(kv, n, "thread.id"));
			snprintf(want, sizeof(want), task ? "i:%u" : "",
				 w[i].tgid);
			EXPECT_STREQ(want, value_of(kv, n, "process.pid"));
			if (w[i].driver_name)
				snprintf(want, sizeof(want), "s:%s",
					 w[i].driver_name);
			else if (!strcmp(w[i].name, "c\xff"))
				strcpy(want, "s:c" UTF8_REPLACEMENT);
			else
				snprintf(want, sizeof(want),
					 task && *w[i].name ? "s:%s" : "",
					 w[i].name);
			EXPECT_STREQ(want, value_of(kv, n, "thread.name"))
				TH_LOG("span %d", i);
			EXPECT_EQ(2 + (task ? 2 : 0) +
				  (task && (*w[i].name || w[i].driver_name)),
				  n) TH_LOG("span %d", i);
		}
		opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
			req, NULL);
	}
	encoder_free(&enc);
}

/* ---- the assembler: scopes kept once, records decoded in place ---- */

struct sinkbuf {
	struct span *s[256];
	int n;
};

static void collect(struct span *s, void *arg)
{
	struct sinkbuf *o = arg;

	if (o->n < 256)
		o->s[o->n++] = s;
	else
		span_free(s);
}

static void release(struct sinkbuf *o)
{
	while (o->n)
		span_free(o->s[--o->n]);
}

static struct assembler *mk(struct sinkbuf *o)
{
	struct assembler *a = assembler_new(16, 60 * T0, T0, collect, o);
	struct anchor an = { T0, 1700000000ull * T0 };

	assembler_set_anchor(a, &an);
	return a;
}

static void scoped(struct buf *b, uint64_t id, const char *scope,
		   const char *version)
{
	struct synth_span s;

	memset(&s, 0, sizeof(s));
	synth_id(s.trace_id, sizeof(s.trace_id), 1);
	synth_id(s.span_id, sizeof(s.span_id), id);
	synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "x", scope, version);
	synth_end(b, &s, 0, T0 + 1, 0, 0, 0);
}

/*
 * The spans of one scope share its strings; another version is another
 * scope; past the scopes kept, a span has its own copy, right all the same.
 */
TEST(scopes_kept_once)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o);
	struct buf b = { 0 };
	char name[32];
	int i;

	scoped(&b, 1, "mod", "1");
	scoped(&b, 2, "mod", "2");
	scoped(&b, 3, "mod", "1");
	scoped(&b, 4, "mo", "d1");
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(4, o.n);
	EXPECT_EQ(o.s[0]->scope_name, o.s[2]->scope_name);
	EXPECT_EQ(o.s[0]->scope_version, o.s[2]->scope_version);
	EXPECT_NE(o.s[0]->scope_version, o.s[1]->scope_version);
	EXPECT_STREQ("2", o.s[1]->scope_version);
	EXPECT_STREQ("mo", o.s[3]->scope_name);
	EXPECT_STREQ("d1", o.s[3]->scope_version);
	release(&o);
	b.len = 0;
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "scope%d", i);
		scoped(&b, 10 + i, name, "v");
	}
	scoped(&b, 200, "mod", "1");
	assembler_feed(a, b.data, b.len);
	ASSERT_EQ(101, o.n);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "scope%d", i);
		EXPECT_STREQ(name, o.s[i]->scope_name);
		EXPECT_STREQ("v", o.s[i]->scope_version);
	}
	EXPECT_STREQ("mod", o.s[100]->scope_name);
	release(&o);
	assembler_free(a);
	buf_free(&b);
}

/* Records 8-aligned or not in what is fed: the same spans. */
TEST(records_decoded_aligned_or_not)
{
	struct sinkbuf o = { 0 };
	struct assembler *a = mk(&o);
	struct buf b = { 0 };
	uint8_t *odd;
	int i;

	spans(&b, 1, 20);
	odd = malloc(b.len + 4);
	memcpy(odd + 4, b.data, b.len);
	assembler_feed(a, b.data, b.len);
	assembler_feed(a, odd + 4, b.len);
	ASSERT_EQ(40, o.n);
	for (i = 0; i < 20; i++) {
		EXPECT_EQ(0, memcmp(o.s[i]->span_id, o.s[20 + i]->span_id, 8));
		EXPECT_STREQ("flow.span", o.s[20 + i]->name);
		ASSERT_EQ(1, o.s[20 + i]->nr_attrs);
		EXPECT_EQ(i, o.s[20 + i]->attrs[0].i);
		EXPECT_EQ(o.s[i]->start, o.s[20 + i]->start);
	}
	release(&o);
	assembler_free(a);
	free(odd);
	buf_free(&b);
}

TEST_HARNESS_MAIN
