/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbench: the in-VM half of `make bench`.  It drives otel_bench.ko (the
 * cases), oteltrace.ko (its configuration, through /dev/oteltrace) and
 * ftrace (tracefs), and prints one `name: value unit` line per figure.
 */
#ifndef OTEL_KBENCH_H
#define OTEL_KBENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "uapi/oteltrace.h"

/* Print a figure, or say why it was not measured. */
void kb_figure(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kb_skip(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kb_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Pin the calling thread to @cpu, or to every CPU when @cpu < 0. */
int kb_pin(int cpu);
int kb_nr_cpus(void);

/* bench.c: otel_bench.ko's debugfs control file, one per thread. */
struct kb_bench {
	int fd;
};

int kb_bench_open(struct kb_bench *b);
void kb_bench_close(struct kb_bench *b);
bool kb_bench_has(const char *name);
/* "batch" or "run": 0 and *ns, *ops, or -errno. */
int kb_bench_cmd(struct kb_bench *b, const char *cmd, const char *name,
		 unsigned int arg, uint64_t *ns, uint64_t *ops);
/* Of the last "run": operations per chunk and a chunk's median ns. */
int kb_bench_chunks(struct kb_bench *b, unsigned int *chunk,
		    unsigned int *median);

/* tracer.c: oteltrace's configuration and counters. */
struct kb_tracer {
	int fd;			/* /dev/oteltrace, -1 if absent */
	bool have_config;	/* OTEL_IOC_GET/SET_CONFIG work */
	bool have_stats;	/* OTEL_IOC_STATS works */
	bool have_clear;	/* OTEL_IOC_CLEAR works */
	struct otel_config saved;
	int saved_noop;		/* noop_spans at open: 1, 0, -1 (none) */
};

int kb_tracer_open(struct kb_tracer *t);
void kb_tracer_close(struct kb_tracer *t);
/* Tracing on or off (the static key): 0 or -errno. */
int kb_tracer_enable(struct kb_tracer *t, bool on);
/* enum otel_sampler: through the ioctl, else the module parameter. */
int kb_tracer_sampler(struct kb_tracer *t, unsigned int sampler);
int kb_tracer_noop(bool on);
int kb_tracer_mode(struct kb_tracer *t, unsigned int mode);
int kb_tracer_ring_size(struct kb_tracer *t, uint64_t bytes);
int kb_tracer_clear(struct kb_tracer *t);
int kb_tracer_stats(struct kb_tracer *t, struct otel_cpu_stats *s);
void kb_tracer_restore(struct kb_tracer *t);

/* ftrace.c: tracefs; @event is "SYSTEM/EVENT" or "SYSTEM" (all of it). */
int kb_ftrace_enable(const char *event, bool on);
int kb_ftrace_clear(void);
int kb_ftrace_entries(uint64_t *entries, uint64_t *overrun);

/*
 * bpf.c: the BPF span tracer (bench/bpf/bpf_span.bpf.c), loaded and
 * attached to otel_bench's begin/end tracepoints.  kb_bpf_drain() reads
 * its ring buffer: the spans read so far, those its programs lost (counted
 * in the BPF maps) and malformed records.
 */
int kb_bpf_open(char *err, size_t errlen);
int kb_bpf_drain(uint64_t *records, uint64_t *lost, uint64_t *bad);
unsigned int kb_bpf_record_size(void);
int kb_bpf_jit(void);
void kb_bpf_close(void);

/* cost.c and tput.c: the two halves of the kernel benchmark. */
struct kb_opts {
	unsigned int rounds;	/* batches per case */
	unsigned int ops;	/* operations per batch */
	unsigned int run_ms;	/* throughput: duration of each run */
	const char *oteld;	/* oteld binary for draining, or NULL */
	const char *series;	/* throughput series to run ("oteld,mmap"), NULL: all */
	const char *receiver;	/* oteld's OTLP/HTTP endpoint outside the guest,
				 * or NULL: a null receiver in the guest */
};

void kb_cost(const struct kb_opts *o, struct kb_tracer *t);
void kb_tput(const struct kb_opts *o, struct kb_tracer *t);

/* drain.c: a reader emptying every ring through mmap. */
struct kb_drain;

struct kb_relay;

/* Start a reader on @cpu (any if < 0) that hands SPAN records to @relay. */
struct kb_drain *kb_drain_start(int cpu, struct kb_relay *relay, char *err,
				size_t errlen);
/* Stop; the records (SPAN records among them) and bytes it read. */
void kb_drain_stop(struct kb_drain *d, uint64_t *records, uint64_t *spans,
		   uint64_t *bytes, uint64_t *bad);

/*
 * relay.c: the relay floor, a reader's SPAN records copied into buffers
 * that a thread sends over loopback TCP to a sink thread.
 */
struct kb_relay *kb_relay_start(char *err, size_t errlen);
/*
 * Take one SPAN record (the reader's thread): false when every buffer waits
 * for the sender (leave the record in the ring, kb_relay_wait()).
 */
bool kb_relay_put(struct kb_relay *r, const void *rec, size_t size);
/* Wait until a buffer is free, @ms at most. */
void kb_relay_wait(struct kb_relay *r, unsigned int ms);
/*
 * Send what is left, stop, free; the spans that reached the sink.
 * Return: 0, or -EIO with @err (a socket failed, or the sink did not read
 * every byte sent).
 */
int kb_relay_stop(struct kb_relay *r, uint64_t *spans, char *err,
		  size_t errlen);

/* oteld.c: oteld exporting to a null receiver, as the reader. */
struct kb_oteld {
	int oteld;		/* pid */
	int rx;			/* null receiver's pid, -1: outside the guest */
	int rx_out;		/* its stdout */
	char stats[PATH_MAX + 32];	/* its --stats-file */
};

/* oteld's own counters at exit (its --stats-file): where spans went. */
struct kb_oteld_counts {
	uint64_t records, queued, exported;
	uint64_t dropped_queue_full, dropped_export_failed, dropped_too_big;
	uint64_t requests, partial_rejected;
	bool valid;		/* oteld exited by itself; its file was read */
};

/*
 * Start the receiver, then oteld, and wait (a minute at most) until oteld
 * has mapped the rings and started its exporter threads.
 */
int kb_oteld_start(struct kb_oteld *o, const char *oteld,
		   const char *receiver, int cpu, char *err, size_t errlen);
/*
 * Stop both; the spans the receiver got (with a receiver outside the guest,
 * the spans oteld had acknowledged less those the receiver rejected), and
 * oteld's own counters.  Return: false if *spans is not known (the null
 * receiver in the guest did not say; outside the guest: oteld had to be
 * killed, or crashed).
 */
bool kb_oteld_stop(struct kb_oteld *o, uint64_t *spans,
		   struct kb_oteld_counts *counts);

#endif /* OTEL_KBENCH_H */
