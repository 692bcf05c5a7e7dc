// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: what any tracer must at least do for one span, with no tracer
 * around it.  Per operation: disable preemption, read the tracer's clock
 * twice (ktime_get_mono_fast_ns(), the NMI-safe clock oteltrace uses) and
 * store a 64-byte record into this CPU's buffer.  Also one clock read
 * alone, since the clock dominates the floor (and under QEMU depends on the
 * clocksource: HPET reads trap, TSC reads do not), and the empty loop.
 */
#include <linux/compiler.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/string.h>
#include <linux/ktime.h>

#include "otel_bench.h"

#define FLOOR_RECORDS	256	/* 16 KiB per CPU: a ring's worth of L1/L2 */

struct floor_record {
	u64	start_ns;
	u64	end_ns;
	u8	trace_id[16];
	u8	span_id[8];
	s64	a;
	s64	b;
	u64	pad;
};

struct floor_buf {
	u32			pos;
	struct floor_record	rec[FLOOR_RECORDS];
};

static struct floor_buf __percpu *floor_bufs;
static u64 clock_sink;

static void floor_run(u64 seq, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		struct floor_buf *buf = get_cpu_ptr(floor_bufs);
		struct floor_record *r;
		u64 start = ktime_get_mono_fast_ns();
		u64 end = ktime_get_mono_fast_ns();

		r = &buf->rec[buf->pos++ % FLOOR_RECORDS];
		r->start_ns = start;
		r->end_ns = end;
		memcpy(r->trace_id, otel_bench_ids.trace_id, sizeof(r->trace_id));
		memcpy(r->span_id, otel_bench_ids.span_id, sizeof(r->span_id));
		r->a = seq + i;
		r->b = -(s64)(seq + i);
		r->pad = 0;
		put_cpu_ptr(floor_bufs);
	}
}

/* Nothing but the loop: what every case pays around its operation. */
static void empty_run(u64 seq, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		barrier();
	WRITE_ONCE(clock_sink, seq);
}

const struct otel_bench_case otel_bench_empty = {
	.name	= "empty",
	.run	= empty_run,
};

/* One read of the clock: what the floor's two reads are made of. */
static void clock_run(u64 seq, u32 n)
{
	u64 sum = seq;
	u32 i;

	for (i = 0; i < n; i++)
		sum += ktime_get_mono_fast_ns();
	WRITE_ONCE(clock_sink, sum);
}

const struct otel_bench_case otel_bench_clock = {
	.name	= "clock",
	.run	= clock_run,
};

const struct otel_bench_case otel_bench_floor = {
	.name	= "floor",
	.run	= floor_run,
};

int otel_bench_floor_init(void)
{
	floor_bufs = alloc_percpu(struct floor_buf);
	return floor_bufs ? 0 : -ENOMEM;
}

void otel_bench_floor_exit(void)
{
	free_percpu(floor_bufs);
}
