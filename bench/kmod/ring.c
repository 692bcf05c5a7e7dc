// SPDX-License-Identifier: GPL-2.0
/*
 * The ring case: one record straight into oteltrace's per-CPU ring, with the
 * payload of the trace event case (trace id, span id, two s64): reserve,
 * fill, commit.  Built only while oteltrace.ko exports its ring writer
 * (scripts/bench checks Module.symvers); it is what a span's records cost
 * without the span API around them.
 */
#include <linux/string.h>

#include <kmod/ring.h>

#include "otel_bench.h"

struct ring_record {
	struct otel_rec_hdr	hdr;
	u8			trace_id[16];
	u8			span_id[8];
	s64			a;
	s64			b;
};

static void ring_run(u64 seq, u32 n)
{
	struct ring_record *r;
	u32 i;

	for (i = 0; i < n; i++) {
		r = (struct ring_record *)otel_ring_reserve(OTEL_REC_RAW,
							    sizeof(*r));
		if (!r)
			continue;
		memcpy(r->trace_id, otel_bench_ids.trace_id,
		       sizeof(r->trace_id));
		memcpy(r->span_id, otel_bench_ids.span_id, sizeof(r->span_id));
		r->a = seq + i;
		r->b = -(s64)(seq + i);
		otel_ring_commit(&r->hdr);
	}
}

const struct otel_bench_case otel_bench_ring = {
	.name	= "ring",
	.run	= ring_run,
};
