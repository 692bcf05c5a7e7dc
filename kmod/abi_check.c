// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI header's promises, checked at build time: every record and
 * ioctl struct has the size its comment states, a multiple of 8, and the
 * fields a reader depends on at their documented offsets.  (A host test,
 * tests/host/uapi_layout.c, compares the 32- and 64-bit layouts.)
 */
#include <linux/build_bug.h>
#include <linux/stddef.h>

#include "internal.h"

#define OTEL_ABI_SIZE(type, bytes)					\
	do {								\
		BUILD_BUG_ON(sizeof(struct type) != (bytes));		\
		BUILD_BUG_ON(sizeof(struct type) % 8);			\
	} while (0)

/**
 * otel_abi_check() - nothing at run time; fails the build on a layout
 * change the header does not document
 */
void otel_abi_check(void)
{
	OTEL_ABI_SIZE(otel_rec_hdr, 24);
	OTEL_ABI_SIZE(otel_attr_entry, 16);
	OTEL_ABI_SIZE(otel_rec_span, 104);
	OTEL_ABI_SIZE(otel_rec_span_begin, 72);
	OTEL_ABI_SIZE(otel_rec_attr, 32);
	OTEL_ABI_SIZE(otel_rec_event, 40);
	OTEL_ABI_SIZE(otel_rec_comm, 48);
	OTEL_ABI_SIZE(otel_rec_link, 56);
	OTEL_ABI_SIZE(otel_ring_consumer, 8);
	OTEL_ABI_SIZE(otel_ring_producer, 32);
	OTEL_ABI_SIZE(otel_info, 64);
	OTEL_ABI_SIZE(otel_cpu_stats, 128);
	OTEL_ABI_SIZE(otel_stats_req, 136);
	OTEL_ABI_SIZE(otel_config, 64);
	OTEL_ABI_SIZE(otel_clock, 64);
	OTEL_ABI_SIZE(otel_span_stats, 136);
	OTEL_ABI_SIZE(otel_bridge_req, 112);
	BUILD_BUG_ON(sizeof(struct otel_context_req) != 40);
	/* A struct that grows keeps its first published size as *_SIZE_VER0. */
	BUILD_BUG_ON(sizeof(struct otel_info) < OTEL_INFO_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct otel_config) < OTEL_CONFIG_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct otel_span_stats) < OTEL_SPAN_STATS_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct otel_bridge_req) < OTEL_BRIDGE_REQ_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct otel_cpu_stats, discarded) != 64);

	BUILD_BUG_ON(offsetof(struct otel_rec_hdr, time_ns) != 8);
	BUILD_BUG_ON(offsetof(struct otel_rec_hdr, span_id) != 16);
	BUILD_BUG_ON(offsetof(struct otel_attr_entry, value) != 8);
	BUILD_BUG_ON(offsetof(struct otel_rec_span, trace_id) != 24);
	BUILD_BUG_ON(offsetof(struct otel_rec_span, start_ns) != 48);
	BUILD_BUG_ON(offsetof(struct otel_rec_span, nr_records) != 76);
	BUILD_BUG_ON(offsetof(struct otel_rec_span, tgid) != 96);
	BUILD_BUG_ON(offsetof(struct otel_rec_link, index) != 50);
	BUILD_BUG_ON(offsetof(struct otel_rec_event, dropped_attributes) != 32);
	BUILD_BUG_ON(offsetof(struct otel_rec_comm, comm) != 32);
	BUILD_BUG_ON(offsetof(struct otel_config, begin_records) != 32);
	BUILD_BUG_ON(offsetof(struct otel_config, noop_spans) != 36);
}
