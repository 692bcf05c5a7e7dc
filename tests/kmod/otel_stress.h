/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the stress test's modules share (tests/kmod/otel_stress.c,
 * tests/kmod/otel_stress_drv.c, tests/vm/stress_test.c).
 *
 * RAW records have otel_ringtest.h's format, sizes from 40 to 256 bytes.
 * Every sampled span carries two int attributes, stress.writer (the
 * writer id, cpu * 4 + context as in otel_ringtest.h) and stress.seq (the
 * writer's span number), and nothing else: it writes one SPAN record,
 * nr_records 0.
 */
#ifndef _OTEL_STRESS_H
#define _OTEL_STRESS_H

#define STRESS_MIN_SIZE		40
#define STRESS_MAX_SIZE		256

#ifdef __KERNEL__
#include <linux/types.h>

void otel_stress_add_spans(u64 n);
#endif

#endif /* _OTEL_STRESS_H */
