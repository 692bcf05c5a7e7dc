// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: the cost of one operation of each case, in ns.
 *
 * Every round runs one batch of every case, one after the other, on CPU 0
 * (the starting case rotates from round to round); a batch is many
 * operations back to back with interrupts off, timed in the kernel.  A
 * figure is the median over rounds of the batch means, and a ratio the
 * median over rounds of the ratio between two batches of the same round:
 * slow drifts of a shared, emulated machine cancel out.
 *
 * Between batches the span rings and the ftrace buffer are cleared and the
 * BPF ring buffer is drained, so no batch ever runs against a full buffer
 * (every record is really written; the counters are checked).  The rings'
 * counters also give the records and bytes one span writes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common/stats.h"
#include "kbench.h"

#define FTRACE_SYSTEM "otel_bench"
/* The trace event cases' events (not the BPF case's tracepoints). */
static const char *const ftrace_events[] = {
	FTRACE_SYSTEM "/otel_bench_begin",
	FTRACE_SYSTEM "/otel_bench_end",
};
/* Rings big enough for a batch of recorded spans (restored afterwards). */
#define COST_RING_SIZE	(8ULL << 20)
#define WARM_OPS	64

enum kb_setup {
	SETUP_NONE,
	SETUP_RECORDED,		/* tracing on, always_on sampler */
	SETUP_UNSAMPLED,	/* tracing on, always_off sampler */
	SETUP_NOOP,		/* the same with noop_spans=Y */
	SETUP_DISABLED,		/* tracing off (static key) */
	SETUP_FTRACE,		/* our trace events on, buffer cleared */
	SETUP_RING,		/* rings cleared */
	SETUP_BPF,		/* BPF programs attached, ring buffer drained */
};

struct kb_case {
	const char *figure;
	const char *kcase;	/* otel_bench.ko case */
	const char *unit;
	enum kb_setup setup;
	unsigned int ops;	/* operations per batch */
	char why[200];		/* not measured: why */
	double *ns;		/* ns per operation, one per round */
	/* timed batches: operations; records written, lost; ring bytes */
	uint64_t done, written, lost, bytes;
};

/* What the counters of a case's tracer say. */
struct kb_count {
	uint64_t written, lost, bytes;
};

enum {
	C_EMPTY, C_CLOCK, C_FLOOR, C_RING, C_RING_SPAN, C_RECORDED, C_BARE, C_UNSAMPLED,
	C_NOOP, C_DISABLED, C_EVENT, C_PAIR, C_BPF, C_NR
};

static struct kb_case cases[C_NR] = {
	[C_EMPTY]	= { "empty_loop", "empty", "ns/op", SETUP_NONE },
	[C_CLOCK]	= { "clock_read", "clock", "ns/read", SETUP_NONE },
	[C_FLOOR]	= { "floor", "floor", "ns/op", SETUP_NONE },
	[C_RING]	= { "ring_record", "ring", "ns/record", SETUP_RING },
	[C_RING_SPAN]	= { "ring_span", "ring_span", "ns/span", SETUP_RING },
	[C_RECORDED]	= { "kspan_recorded", "kspan", "ns/span",
			    SETUP_RECORDED },
	[C_BARE]	= { "kspan_bare_recorded", "kspan_bare", "ns/span",
			    SETUP_RECORDED },
	[C_UNSAMPLED]	= { "kspan_unsampled", "kspan", "ns/span",
			    SETUP_UNSAMPLED },
	[C_NOOP]	= { "kspan_noop", "kspan", "ns/span", SETUP_NOOP },
	[C_DISABLED]	= { "kspan_disabled", "kspan", "ns/span",
			    SETUP_DISABLED },
	[C_EVENT]	= { "trace_event", "event", "ns/event", SETUP_FTRACE },
	[C_PAIR]	= { "trace_event_pair", "event_pair", "ns/pair",
			    SETUP_FTRACE },
	[C_BPF]		= { "bpf_span", "bpf_span", "ns/span", SETUP_BPF },
};

/* Records the BPF tracer read that were not the bench span. */
static uint64_t bpf_bad;

static bool usable(const struct kb_case *c)
{
	return !c->why[0];
}

static void why(struct kb_case *c, const char *fmt, const char *arg, int err)
{
	int n;

	if (c->why[0])
		return;
	n = snprintf(c->why, sizeof(c->why), fmt, arg);
	if (err && n > 0 && (size_t)n < sizeof(c->why))
		snprintf(c->why + n, sizeof(c->why) - n, ": %s",
			 strerror(-err));
}

/* Put the tracers in the state case @c measures. */
static int setup(struct kb_tracer *t, const struct kb_case *c)
{
	int ret = 0;

	switch (c->setup) {
	case SETUP_RECORDED:
		if (t->have_config)
			ret = kb_tracer_enable(t, true);
		if (!ret)
			ret = kb_tracer_sampler(t, OTEL_SAMPLER_ALWAYS_ON);
		if (!ret && t->have_clear)
			ret = kb_tracer_clear(t);
		break;
	case SETUP_UNSAMPLED:
	case SETUP_NOOP:
		if (t->have_config)
			ret = kb_tracer_enable(t, true);
		if (!ret)
			ret = kb_tracer_sampler(t, OTEL_SAMPLER_ALWAYS_OFF);
		/* an oteltrace.ko without noop_spans makes no no-op span */
		if (!ret) {
			ret = kb_tracer_noop(c->setup == SETUP_NOOP);
			if (ret == -ENOENT && c->setup == SETUP_UNSAMPLED)
				ret = 0;
		}
		break;
	case SETUP_DISABLED:
		ret = kb_tracer_enable(t, false);
		break;
	case SETUP_FTRACE:
		ret = kb_ftrace_clear();
		break;
	case SETUP_RING:
		ret = kb_tracer_clear(t);
		break;
	case SETUP_BPF: {
		uint64_t spans, lost;

		ret = kb_bpf_drain(&spans, &lost, &bpf_bad);
		break;
	}
	case SETUP_NONE:
		break;
	}
	return ret;
}

/*
 * The counters of the tracer case @c writes to: span records (and ring
 * bytes), ftrace events, or BPF span records read from its ring buffer.
 */
static int counters(struct kb_tracer *t, const struct kb_case *c,
		    struct kb_count *k)
{
	struct otel_cpu_stats s;
	int ret;

	memset(k, 0, sizeof(*k));
	if (c->setup == SETUP_FTRACE)
		return kb_ftrace_entries(&k->written, &k->lost);
	if (c->setup == SETUP_BPF)
		return kb_bpf_drain(&k->written, &k->lost, &bpf_bad);
	if (c->setup != SETUP_RECORDED && c->setup != SETUP_RING)
		return 0;
	ret = kb_tracer_stats(t, &s);
	if (!ret) {
		k->written = s.records;
		k->bytes = s.bytes;
		k->lost = s.dropped_full + s.dropped_nested +
			s.dropped_disabled + s.dropped_too_big + s.overwritten;
	}
	return ret;
}

/* One batch of @c: ns per operation, or a negative errno. */
static double batch(struct kb_bench *b, struct kb_tracer *t, struct kb_case *c)
{
	struct kb_count k0, k1;
	uint64_t ns, ops;
	int ret;

	ret = setup(t, c);
	/*
	 * A few untimed operations first: switching the static key patches
	 * code, and QEMU retranslates it on the next run; that, and cold
	 * caches, belong to no operation.
	 */
	if (!ret)
		ret = kb_bench_cmd(b, "batch", c->kcase, WARM_OPS, &ns, &ops);
	if (!ret)
		ret = counters(t, c, &k0);
	if (!ret)
		ret = kb_bench_cmd(b, "batch", c->kcase, c->ops, &ns, &ops);
	if (!ret)
		ret = counters(t, c, &k1);
	if (ret)
		return ret;
	c->done += ops;
	c->written += k1.written - k0.written;
	c->lost += k1.lost - k0.lost;
	c->bytes += k1.bytes - k0.bytes;
	return (double)ns / ops;
}

/*
 * A case that writes into the rings must really write: every record counted,
 * none lost.  Halve its batch until it fits in the rings.
 */
static void fit(const struct kb_opts *o, struct kb_bench *b,
		struct kb_tracer *t, struct kb_case *c)
{
	int tries;

	if (!usable(c))
		return;
	if (c->setup != SETUP_BPF && !t->have_stats)
		why(c, "%s", "no OTEL_IOC_STATS to check the records", 0);
	for (tries = 0; usable(c) && tries < 8; tries++) {
		c->done = c->written = c->lost = c->bytes = 0;
		if (batch(b, t, c) < 0 || !c->written)
			why(c, "%s", "wrote no record", 0);
		else if (!c->lost || c->ops < 64)
			break;
		else
			c->ops /= 2;
	}
	if (usable(c) && c->lost)
		why(c, "%s", "even a small batch does not fit in the rings", 0);
	if (usable(c) && c->ops != o->ops)
		kb_note("%s: %u operations per batch (the rings hold no more)",
			c->figure, c->ops);
	c->done = c->written = c->lost = c->bytes = 0;
}

/* Decide which cases can run, and warm each up once. */
static void prepare(const struct kb_opts *o, struct kb_bench *b,
		    struct kb_tracer *t)
{
	char err[200];
	size_t e;
	int i, ret;

	for (i = 0; i < C_NR; i++) {
		struct kb_case *c = &cases[i];

		c->ops = o->ops;
		if (!kb_bench_has(c->kcase))
			why(c, "otel_bench.ko has no '%s' case (oteltrace.ko does not export what it needs)",
			    c->kcase, 0);
		if (c->setup != SETUP_NONE && c->setup != SETUP_FTRACE &&
		    c->setup != SETUP_BPF && t->fd < 0)
			why(c, "%s", "no /dev/oteltrace", 0);
		if ((c->setup == SETUP_RECORDED || c->setup == SETUP_RING) &&
		    !t->have_clear)
			why(c, "%s", "no OTEL_IOC_CLEAR to keep the rings from filling", 0);
		if (c->setup == SETUP_DISABLED && !t->have_config)
			why(c, "%s", "no OTEL_IOC_SET_CONFIG to disable tracing", 0);
		if (c->setup == SETUP_NOOP && t->saved_noop < 0)
			why(c, "%s", "oteltrace.ko has no noop_spans parameter", 0);
		for (e = 0; c->setup == SETUP_FTRACE &&
			    e < sizeof(ftrace_events) / sizeof(*ftrace_events); e++) {
			ret = kb_ftrace_enable(ftrace_events[e], true);
			if (ret)
				why(c, "cannot enable %s", ftrace_events[e], ret);
		}
		if (c->setup == SETUP_BPF && usable(c) &&
		    kb_bpf_open(err, sizeof(err)))
			why(c, "%s", err, 0);
		if (!usable(c))
			continue;
		ret = batch(b, t, c);
		if (ret < 0)
			why(c, "%s", "warm-up batch failed", ret);
		c->done = c->written = c->lost = c->bytes = 0;
	}
	fit(o, b, t, &cases[C_RING]);
	fit(o, b, t, &cases[C_RING_SPAN]);
	fit(o, b, t, &cases[C_RECORDED]);
	fit(o, b, t, &cases[C_BARE]);
	fit(o, b, t, &cases[C_BPF]);
}

/*
 * What one span of @c wrote into the rings, over every timed batch: the
 * records (OTEL_IOC_STATS' records delta per span) and the bytes.
 */
static void report_per_span(const struct kb_case *c)
{
	if (!usable(c) || !c->done) {
		kb_skip("kspan_records_per_span", "%s not measured", c->figure);
		kb_skip("ring_bytes_per_span", "%s not measured", c->figure);
		return;
	}
	kb_figure("kspan_records_per_span", "%.2f records (%" PRIu64
		  " in %" PRIu64 " spans)", (double)c->written / c->done,
		  c->written, c->done);
	kb_figure("ring_bytes_per_span", "%.1f bytes",
		  (double)c->bytes / c->done);
}

static void report_ratio(const char *name, int num, int den, unsigned int n)
{
	double r[n];
	unsigned int i;

	if (!usable(&cases[num]) || !usable(&cases[den])) {
		const struct kb_case *c = usable(&cases[num]) ? &cases[den] :
			&cases[num];

		kb_skip(name, "%s not measured: %s", c->figure, c->why);
		return;
	}
	for (i = 0; i < n; i++)
		r[i] = cases[num].ns[i] / cases[den].ns[i];
	kb_figure(name, "%.3fx", bench_median(r, n));
}

void kb_cost(const struct kb_opts *o, struct kb_tracer *t)
{
	unsigned int r, k, n = 0;
	struct kb_bench b;
	int i, ret;

	ret = kb_bench_open(&b);
	if (ret) {
		for (i = 0; i < C_NR; i++)
			kb_skip(cases[i].figure, "cannot open otel_bench's control file: %s",
				strerror(-ret));
		return;
	}
	kb_pin(0);
	if (t->have_config && t->saved.ring_size < COST_RING_SIZE) {
		ret = kb_tracer_ring_size(t, COST_RING_SIZE);
		if (ret)
			kb_note("cannot grow the rings to %llu bytes: %s",
				COST_RING_SIZE, strerror(-ret));
	}
	prepare(o, &b, t);
	for (i = 0; i < C_NR; i++) {
		cases[i].ns = calloc(o->rounds, sizeof(double));
		if (!cases[i].ns) {
			perror("kbench");
			exit(1);
		}
	}
	for (r = 0; r < o->rounds; r++, n++) {
		for (k = 0; k < C_NR; k++) {
			struct kb_case *c = &cases[(k + r) % C_NR];
			double v;

			if (!usable(c))
				continue;
			v = batch(&b, t, c);
			if (v < 0)
				why(c, "%s", "batch failed", (int)v);
			c->ns[r] = v;
		}
	}
	kb_tracer_enable(t, true);
	if (t->have_config)
		kb_tracer_ring_size(t, t->saved.ring_size);
	kb_ftrace_enable(FTRACE_SYSTEM, false);
	kb_ftrace_clear();
	kb_bpf_close();
	kb_bench_close(&b);

	kb_note("cost: %u rounds x %u operations per case, CPU 0, interrupts off in a batch",
		n, o->ops);
	for (i = 0; i < C_NR; i++) {
		struct kb_case *c = &cases[i];
		double v[n ? n : 1];

		if (!usable(c)) {
			kb_skip(c->figure, "%s", c->why);
			continue;
		}
		memcpy(v, c->ns, n * sizeof(double));
		kb_figure(c->figure, "%.1f %s", bench_median(v, n), c->unit);
		if (c->lost) {
			char name[64];

			snprintf(name, sizeof(name), "%s_lost", c->figure);
			kb_figure(name, "%" PRIu64 " records", c->lost);
		}
	}
	report_per_span(&cases[C_RECORDED]);
	if (usable(&cases[C_RING_SPAN]) && cases[C_RING_SPAN].done)
		kb_note("ring_span: the bench span's record alone, %.1f ring bytes a span, through two calls and the exported ring writer (bench/kmod/ring_span.c)",
			(double)cases[C_RING_SPAN].bytes /
			cases[C_RING_SPAN].done);
	if (usable(&cases[C_PAIR]) &&
	    cases[C_PAIR].written != (uint64_t)n * cases[C_PAIR].ops * 2)
		kb_note("ftrace recorded %" PRIu64 " events of %" PRIu64,
			cases[C_PAIR].written,
			(uint64_t)n * cases[C_PAIR].ops * 2);
	if (usable(&cases[C_BPF]))
		kb_note("bpf_span: raw tracepoints, BPF JIT %s; %" PRIu64 " of %" PRIu64 " spans read from the BPF ring buffer (%u-byte records, %u ring bytes with the header), %" PRIu64 " malformed",
			kb_bpf_jit() > 0 ? "on" : kb_bpf_jit() ? "?" : "off",
			cases[C_BPF].written, cases[C_BPF].done,
			kb_bpf_record_size(), kb_bpf_record_size() + 8,
			bpf_bad);
	report_ratio("ring_record_vs_floor", C_RING, C_FLOOR, n);
	report_ratio("ring_record_vs_trace_event", C_RING, C_EVENT, n);
	report_ratio("ring_span_vs_floor", C_RING_SPAN, C_FLOOR, n);
	report_ratio("ring_span_vs_trace_event_pair", C_RING_SPAN, C_PAIR, n);
	report_ratio("kspan_vs_ring_span", C_RECORDED, C_RING_SPAN, n);
	report_ratio("kspan_vs_floor", C_RECORDED, C_FLOOR, n);
	report_ratio("kspan_vs_trace_event_pair", C_RECORDED, C_PAIR, n);
	report_ratio("kspan_vs_trace_event", C_RECORDED, C_EVENT, n);
	report_ratio("bare_vs_recorded", C_BARE, C_RECORDED, n);
	report_ratio("unsampled_vs_recorded", C_UNSAMPLED, C_RECORDED, n);
	report_ratio("noop_vs_recorded", C_NOOP, C_RECORDED, n);
	report_ratio("disabled_vs_recorded", C_DISABLED, C_RECORDED, n);
	report_ratio("disabled_vs_empty_loop", C_DISABLED, C_EMPTY, n);
	report_ratio("trace_event_pair_vs_floor", C_PAIR, C_FLOOR, n);
	report_ratio("kspan_vs_bpf_span", C_RECORDED, C_BPF, n);
	for (i = 0; i < C_NR; i++)
		free(cases[i].ns);
}
