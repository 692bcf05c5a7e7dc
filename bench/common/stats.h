/* SPDX-License-Identifier: GPL-2.0 */
/* Small statistics for the benchmarks: the median of a sample. */
#ifndef OTEL_BENCH_STATS_H
#define OTEL_BENCH_STATS_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @n values (sorted in place); 0 for an empty sample. */
static inline double bench_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* OTEL_BENCH_STATS_H */
