// SPDX-License-Identifier: GPL-2.0
/*
 * The span cases: one span through the driver API (oteltrace.h), begun as
 * the current span, with two int64 attributes (or none), then ended.  Whether it is
 * recorded, unsampled or disabled is oteltrace's configuration, which user
 * space sets between batches.
 */
#include <oteltrace.h>

#include "otel_bench.h"

static void kspan_run(u64 seq, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		DEFINE_OTEL_KSPAN(span);

		otel_kspan_begin(&span, "otel_bench.span",
				 OTEL_SPAN_KIND_INTERNAL);
		otel_kspan_set_int(&span, "bench.a", seq + i);
		otel_kspan_set_int(&span, "bench.b", -(s64)(seq + i));
		otel_kspan_end(&span);
	}
}

const struct otel_bench_case otel_bench_kspan = {
	.name	= "kspan",
	.run	= kspan_run,
};

/* The same span without attributes: what the two attributes cost. */
static void kspan_bare_run(u64 seq, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		DEFINE_OTEL_KSPAN(span);

		otel_kspan_begin(&span, "otel_bench.span",
				 OTEL_SPAN_KIND_INTERNAL);
		otel_kspan_end(&span);
	}
}

const struct otel_bench_case otel_bench_kspan_bare = {
	.name	= "kspan_bare",
	.run	= kspan_bare_run,
};
