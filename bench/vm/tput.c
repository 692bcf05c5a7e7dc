// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: span throughput with a reader draining the rings, on one CPU and
 * on every CPU, and what was dropped at that rate.
 *
 * Writers are threads pinned one per CPU that make the kernel loop on
 * recorded spans for a while (preemption on), in chunks of 256.  The
 * reader is oteld when one is given, else drain.c; the scheduler places
 * it.  Two rates: spans per second of wall time (what the machine
 * delivers, reader included), and the rate of each writer's median chunk,
 * which leaves out the chunks during which its CPU was taken away (by the
 * reader, or by the host from an emulated CPU) but not a slowdown that
 * every chunk suffers (shared cache lines, locks): `scaling` compares the
 * latter, `scaling_wall` the former.  One-CPU and all-CPU runs alternate;
 * each figure is the median of the runs.
 *
 * The same series runs with the minimal mmap reader when oteld is the
 * main one (mmap_*), with the relay floor (relay_*: the mmap reader
 * forwarding every SPAN record over loopback TCP, relay.c), with bare ring
 * records (ring_*), and with the floor,
 * which shares nothing between CPUs and so measures what the machine
 * itself allows: scaling_vs_floor_scaling divides that out.
 *
 * What a reader delivers is the rate less the share of records the rings
 * dropped and, for oteld, less the spans that did not reach its receiver
 * (the null receiver's count, or with --receiver oteld's own count of
 * spans accepted), and for the relay floor less the spans it did not
 * forward; oteld_vs_mmap_delivered and relay_vs_mmap_delivered compare
 * oteld and the relay floor with the mmap reader, oteld_vs_relay_delivered
 * oteld with the relay floor, one writer CPU, run by run.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "bench/common/stats.h"
#include "kbench.h"

#define TPUT_REPEATS 5

/* One series: a case of otel_bench.ko and how its figures are named. */
struct series {
	const char *id;		/* its name for --series */
	const char *kcase;	/* "kspan" or "ring" */
	const char *prefix;	/* of the figure names */
	const char *unit;	/* "spans/s" or "records/s" */
	bool control;		/* the floor: only its scaling is reported */
	bool oteld;		/* drained by oteld when there is one */
	bool relay;		/* drained by the relay floor */
};

struct writer {
	pthread_t	thread;
	const char	*kcase;
	int		cpu;
	unsigned int	ms;
	pthread_barrier_t *start;
	int		err;
	uint64_t	ns, ops;
	unsigned int	chunk, median;	/* median ns of chunk operations */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct kb_bench b;

	w->err = kb_pin(w->cpu);
	if (!w->err)
		w->err = kb_bench_open(&b);
	pthread_barrier_wait(w->start);
	if (w->err)
		return NULL;
	w->err = kb_bench_cmd(&b, "run", w->kcase, w->ms, &w->ns, &w->ops);
	if (!w->err)
		w->err = kb_bench_chunks(&b, &w->chunk, &w->median);
	kb_bench_close(&b);
	return NULL;
}

struct tput_run {
	double rate;		/* operations/s, all writers together */
	double cpu_rate;	/* the same from each writer's median chunk */
	uint64_t ops, records, dropped;
	uint64_t read;		/* records the mmap reader read */
	uint64_t read_spans;	/* SPAN records among them */
	uint64_t exported;	/* spans oteld delivered */
	uint64_t forwarded;	/* spans the relay floor delivered */
	bool by_relay;		/* the relay floor was the reader */
	bool counted;		/* exported is known */
	struct kb_oteld_counts oc;	/* oteld's own counters */
	bool by_oteld;		/* oteld was the reader */
};

/* One run with @nr writers on CPUs 0..nr-1: 0 or -errno. */
static int tput_once(const struct kb_opts *o, struct kb_tracer *t,
		     const struct series *s, int nr, struct tput_run *res,
		     char *err, size_t errlen)
{
	struct otel_cpu_stats s0, s1;
	pthread_barrier_t start;
	struct writer w[nr];
	struct kb_drain *d = NULL;
	struct kb_relay *relay = NULL;
	struct kb_oteld od;
	uint64_t bytes, bad = 0;
	int i, ret;

	ret = kb_tracer_clear(t);
	if (!ret)
		ret = kb_tracer_stats(t, &s0);
	if (ret) {
		snprintf(err, errlen, "stats/clear: %s", strerror(-ret));
		return ret;
	}
	if (o->oteld && s->oteld) {
		ret = kb_oteld_start(&od, o->oteld, o->receiver, -1, err,
				     errlen);
		if (ret)
			return ret;
	} else {
		if (s->relay) {
			relay = kb_relay_start(err, errlen);
			if (!relay)
				return -EIO;
		}
		d = kb_drain_start(-1, relay, err, errlen);
		if (!d) {
			if (relay)
				kb_relay_stop(relay, &res->forwarded, NULL, 0);
			return -EIO;
		}
	}
	pthread_barrier_init(&start, NULL, nr);
	memset(res, 0, sizeof(*res));
	res->by_oteld = !d;
	res->by_relay = relay;
	for (i = 0; i < nr; i++) {
		w[i] = (struct writer){ .kcase = s->kcase, .cpu = i,
					.ms = o->run_ms, .start = &start };
		pthread_create(&w[i].thread, NULL, writer_main, &w[i]);
	}
	for (i = 0; i < nr; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].err && !ret)
			ret = w[i].err;
		res->ops += w[i].ops;
		if (w[i].ns)
			res->rate += w[i].ops * 1e9 / w[i].ns;
		if (w[i].median)
			res->cpu_rate += w[i].chunk * 1e9 / w[i].median;
	}
	pthread_barrier_destroy(&start);
	ioctl(t->fd, OTEL_IOC_FLUSH);
	if (d)
		kb_drain_stop(d, &res->read, &res->read_spans, &bytes, &bad);
	if (relay && kb_relay_stop(relay, &res->forwarded, err, errlen))
		return -EIO;
	if (!d)
		res->counted = kb_oteld_stop(&od, &res->exported, &res->oc);
	if (!ret)
		ret = kb_tracer_stats(t, &s1);
	if (ret) {
		snprintf(err, errlen, "run: %s", strerror(-ret));
		return ret;
	}
	res->records = s1.records - s0.records;
	res->dropped = s1.dropped_full - s0.dropped_full;
	if (bad)
		kb_note("reader found %" PRIu64 " corrupt records", bad);
	return 0;
}

static void name(char *buf, size_t len, const struct series *s,
		 const char *what)
{
	snprintf(buf, len, "%s%s", s->prefix, what);
}

/*
 * Operations per second that reached the reader in run @r: the rate less
 * the records the rings dropped and, when oteld read them, less the spans
 * that did not reach its receiver (one record per span).  -1: not known.
 */
static double delivered(const struct tput_run *r)
{
	uint64_t got = r->records;

	if (r->by_oteld && !r->counted)
		return -1;
	if (r->by_oteld && r->exported < got)
		got = r->exported;
	if (r->by_relay && r->forwarded < got)
		got = r->forwarded;
	return r->records + r->dropped ?
		r->rate * got / (r->records + r->dropped) : 0;
}

/* The figures of one kind of run (one CPU or all); its median rates. */
static void report(const struct series *s, const char *what,
		   struct tput_run *runs, int n, double *rate,
		   double *cpu_rate)
{
	double v[n], c[n], drop[n], got[n];
	int known = 0;
	uint64_t dropped = 0, records = 0, read = 0, ops = 0, exported = 0;
	uint64_t read_spans = 0, counted_ops = 0, forwarded = 0;
	struct kb_oteld_counts oc = { .valid = true };
	char fig[80];
	int i;

	for (i = 0; i < n; i++) {
		v[i] = runs[i].rate;
		c[i] = runs[i].cpu_rate;
		dropped += runs[i].dropped;
		records += runs[i].records;
		read += runs[i].read;
		read_spans += runs[i].read_spans;
		ops += runs[i].ops;
		exported += runs[i].exported;
		forwarded += runs[i].forwarded;
		oc.records += runs[i].oc.records;
		oc.queued += runs[i].oc.queued;
		oc.exported += runs[i].oc.exported;
		oc.dropped_queue_full += runs[i].oc.dropped_queue_full;
		oc.dropped_export_failed += runs[i].oc.dropped_export_failed;
		oc.dropped_too_big += runs[i].oc.dropped_too_big;
		oc.requests += runs[i].oc.requests;
		oc.valid &= runs[i].oc.valid;
		got[known] = delivered(&runs[i]);
		if (got[known] >= 0) {
			known++;
			counted_ops += runs[i].ops;
		}
		drop[i] = runs[i].records + runs[i].dropped ?
			100.0 * runs[i].dropped /
			(runs[i].records + runs[i].dropped) : 0;
	}
	*rate = bench_median(v, n);
	*cpu_rate = bench_median(c, n);
	if (s->control)
		return;
	name(fig, sizeof(fig), s, what);
	kb_figure(fig, "%.0f %s", *rate, s->unit);
	strcat(fig, "_dropped");
	kb_figure(fig, "%.2f %% of records (%" PRIu64 " of %" PRIu64 ")",
		  bench_median(drop, n), dropped, records + dropped);
	/* What reached the reader (for oteld: its receiver). */
	name(fig, sizeof(fig), s, what);
	strcat(fig, "_delivered");
	if (known)
		kb_figure(fig, "%.0f %s", bench_median(got, known), s->unit);
	else
		kb_skip(fig, "no run's delivered spans are known (see build/bench/oteld-vm.log)");
	name(fig, sizeof(fig), s, what);
	strcat(fig, "_median_chunk");
	kb_figure(fig, "%.0f %s", *cpu_rate, s->unit);
	if (runs[0].by_oteld && !strcmp(s->kcase, "kspan"))
		kb_note("%s%s: oteld exported %" PRIu64 " of %" PRIu64 " spans (the rings took %" PRIu64 " records)%s",
			s->prefix, what, exported, counted_ops, records,
			known < n ? "; runs without a known count left out" :
			"");
	/* where the spans oteld read went, from its own counters */
	if (runs[0].by_oteld && oc.valid)
		kb_note("%s%s: oteld read %" PRIu64 " records, queued %" PRIu64 " spans, exported %" PRIu64 " in %" PRIu64 " requests; dropped %" PRIu64 " (queue full) + %" PRIu64 " (export failed) + %" PRIu64 " (too big)",
			s->prefix, what, oc.records, oc.queued, oc.exported,
			oc.requests, oc.dropped_queue_full,
			oc.dropped_export_failed, oc.dropped_too_big);
	else if (runs[0].by_oteld)
		kb_note("%s%s: oteld was killed or wrote no counters in some runs (see build/bench/oteld-vm.log)",
			s->prefix, what);
	if (runs[0].by_relay)
		kb_note("%s%s: the relay floor's sink got %" PRIu64 " of the %" PRIu64 " spans it read",
			s->prefix, what, forwarded, read_spans);
	if (!runs[0].by_oteld && read != records)
		kb_note("%s%s: reader read %" PRIu64 " records, rings wrote %" PRIu64,
			s->prefix, what, read, records);
	if (!runs[0].by_oteld && !strcmp(s->kcase, "kspan") &&
	    read_spans != ops)
		kb_note("%s%s: reader read %" PRIu64 " spans of %" PRIu64,
			s->prefix, what, read_spans, ops);
}

/*
 * Spans drained by oteld (the figures the issue asks for), the same drained
 * by the minimal mmap reader (what the rings allow; only run when oteld is
 * the other reader), bare ring records and the floor (mmap reader).
 */
enum { S_SPANS, S_SPANS_MMAP, S_RELAY, S_RING, S_FLOOR, S_NR };

static const struct series all_series[S_NR] = {
	[S_SPANS]      = { "oteld", "kspan", "", "spans/s", false, true },
	[S_SPANS_MMAP] = { "mmap", "kspan", "mmap_", "spans/s", false, false },
	[S_RELAY]      = { "relay", "kspan", "relay_", "spans/s", false, false,
			   true },
	[S_RING]       = { "ring", "ring", "ring_", "records/s", false, false },
	[S_FLOOR]      = { "floor", "floor", "floor_", "ops/s", true, false },
};

/* Is series @s in the comma-separated list @list (NULL: all)? */
static bool selected(const char *list, const struct series *s)
{
	size_t n = strlen(s->id);
	const char *p;

	if (!list)
		return true;
	for (p = list; (p = strstr(p, s->id)); p += n)
		if ((p == list || p[-1] == ',') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

/* Can series @s run?  Sets @err if not. */
static bool series_ready(struct kb_tracer *t, const struct series *s,
			 char *err, size_t errlen)
{
	if (!kb_bench_has(s->kcase))
		snprintf(err, errlen, "otel_bench.ko has no '%s' case",
			 s->kcase);
	else if (t->fd < 0 || !t->have_stats || !t->have_clear)
		snprintf(err, errlen, "oteltrace has no stats/clear ioctls");
	return !err[0];
}

static void series_report(const struct series *s, struct tput_run *one,
			  struct tput_run *all, int n, double *scaling)
{
	double r1, ra, c1, ca;
	int nr = kb_nr_cpus();
	char fig[80];

	report(s, "throughput_1cpu", one, n, &r1, &c1);
	report(s, "throughput_all_cpus", all, n, &ra, &ca);
	*scaling = c1 > 0 ? ca / (nr * c1) : 0;
	name(fig, sizeof(fig), s, "scaling");
	kb_figure(fig, "%.3fx", *scaling);
	if (s->control)
		return;
	strcat(fig, "_wall");
	kb_figure(fig, "%.3fx", r1 > 0 ? ra / (nr * r1) : 0);
}

/* Scaling of series @k over the floor's, paired run by run. */
static void versus_floor(const char *fig, int k,
			 struct tput_run one[][TPUT_REPEATS],
			 struct tput_run all[][TPUT_REPEATS],
			 char err[][160])
{
	double r[TPUT_REPEATS];
	int i, n = 0;

	if (err[k][0] || err[S_FLOOR][0]) {
		kb_skip(fig, "%s", err[k][0] ? err[k] : err[S_FLOOR]);
		return;
	}
	for (i = 0; i < TPUT_REPEATS; i++) {
		double sk, sf;

		if (!one[k][i].cpu_rate || !one[S_FLOOR][i].cpu_rate)
			continue;
		sk = all[k][i].cpu_rate / one[k][i].cpu_rate;
		sf = all[S_FLOOR][i].cpu_rate / one[S_FLOOR][i].cpu_rate;
		if (sf > 0)
			r[n++] = sk / sf;
	}
	if (n)
		kb_figure(fig, "%.3fx", bench_median(r, n));
	else
		kb_skip(fig, "no complete run");
}

/*
 * Series @k (oteld, the relay floor) against series @m (the minimal mmap
 * reader, the relay floor): spans/s each delivered with one writer CPU, run
 * by run (the series are interleaved), median.
 */
static void versus_delivered(const char *fig, int k, int m,
		    struct tput_run one[][TPUT_REPEATS], char err[][160])
{
	uint64_t got = 0;
	double r[TPUT_REPEATS];
	int i, n = 0, known = 0;

	if (err[k][0] || err[m][0]) {
		kb_skip(fig, "%s", err[k][0] ? err[k] : err[m]);
		return;
	}
	for (i = 0; i < TPUT_REPEATS; i++) {
		double mm = delivered(&one[m][i]);
		double d = delivered(&one[k][i]);

		if (d >= 0) {
			known++;
			got += one[k][i].by_oteld ? one[k][i].exported :
				one[k][i].forwarded;
		}
		if (mm > 0 && d >= 0)
			r[n++] = d / mm;
	}
	if (!known)
		kb_skip(fig, "no %s run's count is known (see build/bench/oteld-vm.log)",
			all_series[k].id);
	else if (!got)
		kb_skip(fig, "%s delivered no span%s", all_series[k].id,
			k == S_SPANS ? " (see build/bench/oteld-vm.log)" : "");
	else if (!n)
		kb_skip(fig, "no run where both counts are known");
	else
		kb_figure(fig, "%.3fx", bench_median(r, n));
}

void kb_tput(const struct kb_opts *o, struct kb_tracer *t)
{
	static struct tput_run one[S_NR][TPUT_REPEATS], all[S_NR][TPUT_REPEATS];
	char err[S_NR][160] = { "" };
	double scaling[S_NR] = { 0 };
	int nr = kb_nr_cpus(), i, k;
	char fig[80];

	kb_note("throughput: %d CPUs, %d x %u ms per run, reader: %s (mmap_*, ring_*, floor_*: kbench's mmap reader; relay_*: the relay floor)",
		nr, TPUT_REPEATS, o->run_ms,
		o->oteld ? o->oteld : "kbench's mmap reader");
	if (t->fd >= 0 && (kb_tracer_sampler(t, OTEL_SAMPLER_ALWAYS_ON) ||
			   (t->have_config && (kb_tracer_enable(t, true) ||
				kb_tracer_mode(t, OTEL_MODE_DISCARD)))))
		kb_note("cannot configure oteltrace for the throughput runs");
	for (k = 0; k < S_NR; k++)
		if (!selected(o->series, &all_series[k]))
			snprintf(err[k], sizeof(err[k]), "not in --series %s",
				 o->series);
		else
			series_ready(t, &all_series[k], err[k], sizeof(err[k]));
	if (!o->oteld && !err[S_SPANS_MMAP][0])	/* S_SPANS uses it already */
		snprintf(err[S_SPANS_MMAP], sizeof(err[S_SPANS_MMAP]),
			 "no oteld: see throughput_*");
	/* Interleaved: each repeat runs every series, one CPU then all. */
	for (i = 0; i < TPUT_REPEATS; i++) {
		for (k = 0; k < S_NR; k++) {
			if (err[k][0])
				continue;
			if (tput_once(o, t, &all_series[k], 1, &one[k][i],
				      err[k], sizeof(err[k])))
				continue;
			tput_once(o, t, &all_series[k], nr, &all[k][i], err[k],
				  sizeof(err[k]));
		}
	}
	for (k = 0; k < S_NR; k++) {
		const struct series *s = &all_series[k];

		if (k == S_SPANS_MMAP && !o->oteld)
			continue;
		if (err[k][0]) {
			name(fig, sizeof(fig), s, "scaling");
			kb_skip(fig, "%s", err[k]);
			if (s->control)
				continue;
			name(fig, sizeof(fig), s, "throughput_1cpu");
			kb_skip(fig, "%s", err[k]);
			name(fig, sizeof(fig), s, "throughput_all_cpus");
			kb_skip(fig, "%s", err[k]);
			continue;
		}
		series_report(s, one[k], all[k], TPUT_REPEATS, &scaling[k]);
	}
	/*
	 * The floor's loop shares nothing between CPUs: whatever its scaling
	 * lacks from 1.0 is the machine's (a shared host, emulated CPUs).
	 * Divide it out run by run (they are interleaved), then take the
	 * median.
	 */
	versus_floor("scaling_vs_floor_scaling", S_SPANS, one, all, err);
	if (o->oteld)
		versus_floor("mmap_scaling_vs_floor_scaling", S_SPANS_MMAP, one,
			     all, err);
	versus_floor("ring_scaling_vs_floor_scaling", S_RING, one, all, err);
	if (o->oteld)
		versus_delivered("oteld_vs_mmap_delivered", S_SPANS,
				 S_SPANS_MMAP, one, err);
	else
		kb_skip("oteld_vs_mmap_delivered",
			"no oteld to run (build/oteld is not built)");
	if (o->oteld)
		versus_delivered("oteld_vs_relay_delivered", S_SPANS, S_RELAY,
				 one, err);
	else
		kb_skip("oteld_vs_relay_delivered",
			"no oteld to run (build/oteld is not built)");
	/* without oteld, the oteld series itself ran with the mmap reader */
	versus_delivered("relay_vs_mmap_delivered", S_RELAY,
			 o->oteld ? S_SPANS_MMAP : S_SPANS, one, err);
}
