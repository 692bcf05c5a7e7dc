// SPDX-License-Identifier: GPL-2.0
/*
 * Counters of everything that happens to records and spans, drops above all.
 * The accounting holds: spans_complete + spans_incomplete = spans_queued +
 * dropped_queue_full, and spans_queued = spans_exported +
 * dropped_export_failed + dropped_too_big + spans still queued.  With
 * --queue-dir: spans_queued + spool_loaded = spans_exported +
 * dropped_export_failed + dropped_too_big + dropped_spool_full + spool_left
 * at exit (spool.c, spool_export.c).
 */
#include <stdio.h>
#include <string.h>

#include "oteld.h"

struct stats stats;

#define COUNTER(f) { #f, &stats.f }

static const struct {
	const char *name;
	atomic_ullong *v;
} counters[] = {
	COUNTER(records), COUNTER(records_raw), COUNTER(records_unknown),
	COUNTER(records_corrupt), COUNTER(records_late),
	COUNTER(spans_complete),
	COUNTER(spans_incomplete), COUNTER(spans_no_begin),
	COUNTER(spans_evicted), COUNTER(span_items_dropped),
	COUNTER(spans_queued), COUNTER(dropped_queue_full),
	COUNTER(spans_exported), COUNTER(dropped_export_failed),
	COUNTER(dropped_too_big), COUNTER(export_requests),
	COUNTER(export_retries), COUNTER(partial_rejected),
	COUNTER(kernel_dropped), COUNTER(kernel_overwritten),
	COUNTER(clock_jumps), COUNTER(clock_steps), COUNTER(records_comm),
	COUNTER(names_unresolved), COUNTER(partial_warnings),
	COUNTER(grpc_details_too_big),
	COUNTER(names_evicted), COUNTER(item_attrs_lost),
	COUNTER(clock_too_old),
	COUNTER(spans_spooled), COUNTER(spool_loaded), COUNTER(spool_left),
	COUNTER(spool_corrupt), COUNTER(dropped_spool_full),
	COUNTER(spool_write_errors), COUNTER(spool_bytes_max),
};

#define NR_COUNTERS (sizeof(counters) / sizeof(counters[0]))

void stats_log(const char *when)
{
	char line[2048];
	size_t i, off = 0;

	for (i = 0; i < NR_COUNTERS && off < sizeof(line); i++)
		off += snprintf(line + off, sizeof(line) - off, " %s=%llu",
				counters[i].name,
				(unsigned long long)atomic_load(counters[i].v));
	log_msg("stats (%s):%s", when, line);
}

/* Written to a temporary file and renamed, so readers never see half. */
int stats_write(const char *path)
{
	char tmp[4096];
	FILE *f;
	size_t i;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	for (i = 0; i < NR_COUNTERS; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "{", counters[i].name,
			(unsigned long long)atomic_load(counters[i].v));
	fputs("}\n", f);
	if (fclose(f) || rename(tmp, path)) {
		remove(tmp);
		return -1;
	}
	return 0;
}
