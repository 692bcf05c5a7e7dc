// SPDX-License-Identifier: GPL-2.0
/*
 * uapi/oteltrace.h has one layout for every user space: the same sizes and
 * field offsets for 64-bit and 32-bit programs (i386 aligns __u64 to 4 in
 * a struct, so a hole or a tail that x86-64 pads shows as a difference),
 * records that are multiples of 8, no implicit padding anywhere, and the
 * sizes its comments give ("(104 bytes + more)") are the real ones.
 *
 * This file is built twice (tests/host/Makefile): natively, as the test,
 * and with -m32 as a helper that prints its own view of the layout
 * (--dump); the test runs the helper and compares, field by field.  The
 * table below lists every struct of the header and every field in
 * declaration order; a struct the header gains and the table lacks is a
 * failure, and so is a field missing from the table (the fields no longer
 * add up to sizeof).
 *
 * TAP output, plan first.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uapi/oteltrace.h"

#ifndef UAPI_HEADER
#define UAPI_HEADER "uapi/oteltrace.h"
#endif

/* Record structs: their sizes must be multiples of 8 (records and entries
 * are 8-byte aligned in the rings).
 */
#define RECORD	1
#define OTHER	0

/* S(struct, kind) opens a struct; F(struct, field) lists each field. */
#define UAPI_LAYOUT(S, F)						\
	S(otel_rec_hdr, RECORD)						\
	F(otel_rec_hdr, type)						\
	F(otel_rec_hdr, size)						\
	F(otel_rec_hdr, cpu)						\
	F(otel_rec_hdr, flags)						\
	F(otel_rec_hdr, time_ns)					\
	F(otel_rec_hdr, span_id)					\
	S(otel_attr_entry, RECORD)					\
	F(otel_attr_entry, value_type)					\
	F(otel_attr_entry, entry_flags)					\
	F(otel_attr_entry, key_len)					\
	F(otel_attr_entry, value_len)					\
	F(otel_attr_entry, size)					\
	F(otel_attr_entry, value)					\
	S(otel_rec_span, RECORD)					\
	F(otel_rec_span, hdr)						\
	F(otel_rec_span, trace_id)					\
	F(otel_rec_span, parent_span_id)				\
	F(otel_rec_span, start_ns)					\
	F(otel_rec_span, trace_flags)					\
	F(otel_rec_span, kind)						\
	F(otel_rec_span, status_code)					\
	F(otel_rec_span, span_flags)					\
	F(otel_rec_span, begin_cpu)					\
	F(otel_rec_span, begin_context)					\
	F(otel_rec_span, reserved0)					\
	F(otel_rec_span, name_len)					\
	F(otel_rec_span, scope_name_len)				\
	F(otel_rec_span, scope_version_len)				\
	F(otel_rec_span, status_message_len)				\
	F(otel_rec_span, nr_attrs)					\
	F(otel_rec_span, attrs_offset)					\
	F(otel_rec_span, nr_records)					\
	F(otel_rec_span, dropped_attributes)				\
	F(otel_rec_span, dropped_events)				\
	F(otel_rec_span, dropped_links)					\
	F(otel_rec_span, pid)						\
	F(otel_rec_span, tgid)						\
	F(otel_rec_span, reserved1)					\
	S(otel_rec_span_begin, RECORD)					\
	F(otel_rec_span_begin, hdr)					\
	F(otel_rec_span_begin, trace_id)				\
	F(otel_rec_span_begin, parent_span_id)				\
	F(otel_rec_span_begin, trace_flags)				\
	F(otel_rec_span_begin, kind)					\
	F(otel_rec_span_begin, begin_flags)				\
	F(otel_rec_span_begin, reserved0)				\
	F(otel_rec_span_begin, name_len)				\
	F(otel_rec_span_begin, scope_name_len)				\
	F(otel_rec_span_begin, scope_version_len)			\
	F(otel_rec_span_begin, reserved1)				\
	F(otel_rec_span_begin, pid)					\
	F(otel_rec_span_begin, tgid)					\
	F(otel_rec_span_begin, reserved2)				\
	S(otel_rec_attr, RECORD)					\
	F(otel_rec_attr, hdr)						\
	F(otel_rec_attr, target)					\
	F(otel_rec_attr, nr_attrs)					\
	F(otel_rec_attr, dropped_attributes)				\
	S(otel_rec_event, RECORD)					\
	F(otel_rec_event, hdr)						\
	F(otel_rec_event, index)					\
	F(otel_rec_event, name_len)					\
	F(otel_rec_event, nr_attrs)					\
	F(otel_rec_event, attrs_offset)					\
	F(otel_rec_event, dropped_attributes)				\
	F(otel_rec_event, reserved0)					\
	S(otel_rec_link, RECORD)					\
	F(otel_rec_link, hdr)						\
	F(otel_rec_link, trace_id)					\
	F(otel_rec_link, span_id)					\
	F(otel_rec_link, trace_flags)					\
	F(otel_rec_link, reserved0)					\
	F(otel_rec_link, index)						\
	F(otel_rec_link, nr_attrs)					\
	F(otel_rec_link, dropped_attributes)				\
	S(otel_rec_comm, RECORD)					\
	F(otel_rec_comm, hdr)						\
	F(otel_rec_comm, pid)						\
	F(otel_rec_comm, tgid)						\
	F(otel_rec_comm, comm)						\
	S(otel_ring_consumer, OTHER)					\
	F(otel_ring_consumer, consumer_pos)				\
	S(otel_ring_producer, OTHER)					\
	F(otel_ring_producer, producer_pos)				\
	F(otel_ring_producer, overwrite_tail)				\
	F(otel_ring_producer, ring_size)				\
	F(otel_ring_producer, cpu)					\
	F(otel_ring_producer, online)					\
	S(otel_info, OTHER)						\
	F(otel_info, size)						\
	F(otel_info, abi_version)					\
	F(otel_info, nr_cpus)						\
	F(otel_info, page_size)						\
	F(otel_info, ring_size)						\
	F(otel_info, mmap_stride)					\
	F(otel_info, max_record)					\
	F(otel_info, reserved)						\
	S(otel_cpu_stats, OTHER)					\
	F(otel_cpu_stats, records)					\
	F(otel_cpu_stats, bytes)					\
	F(otel_cpu_stats, dropped_full)					\
	F(otel_cpu_stats, dropped_too_big)				\
	F(otel_cpu_stats, dropped_nested)				\
	F(otel_cpu_stats, dropped_disabled)				\
	F(otel_cpu_stats, overwritten)					\
	F(otel_cpu_stats, wakeups)					\
	F(otel_cpu_stats, discarded)					\
	F(otel_cpu_stats, reserved)					\
	S(otel_stats_req, OTHER)					\
	F(otel_stats_req, cpu)						\
	F(otel_stats_req, reserved)					\
	F(otel_stats_req, stats)					\
	S(otel_config, OTHER)						\
	F(otel_config, size)						\
	F(otel_config, enabled)						\
	F(otel_config, mode)						\
	F(otel_config, sampler)						\
	F(otel_config, ratio)						\
	F(otel_config, wakeup_bytes)					\
	F(otel_config, ring_size)					\
	F(otel_config, begin_records)					\
	F(otel_config, noop_spans)					\
	F(otel_config, reserved)					\
	S(otel_clock, OTHER)						\
	F(otel_clock, mono_ns)						\
	F(otel_clock, real_ns)						\
	F(otel_clock, window_ns)					\
	F(otel_clock, reserved)						\
	S(otel_context_req, OTHER)					\
	F(otel_context_req, trace_id)					\
	F(otel_context_req, span_id)					\
	F(otel_context_req, trace_flags)				\
	F(otel_context_req, reserved)					\
	S(otel_span_stats, OTHER)					\
	F(otel_span_stats, size)					\
	F(otel_span_stats, reserved0)					\
	F(otel_span_stats, begin_active)				\
	F(otel_span_stats, end_twice)					\
	F(otel_span_stats, end_foreign)					\
	F(otel_span_stats, stale_current)				\
	F(otel_span_stats, misnested)					\
	F(otel_span_stats, bad_handle)					\
	F(otel_span_stats, context_full)				\
	F(otel_span_stats, depth_full)					\
	F(otel_span_stats, context_used)				\
	F(otel_span_stats, context_remote)				\
	F(otel_span_stats, context_user_limit)				\
	F(otel_span_stats, context_inherited)				\
	F(otel_span_stats, context_inherit_lost)			\
	F(otel_span_stats, reserved)					\
	S(otel_bridge_req, OTHER)					\
	F(otel_bridge_req, size)					\
	F(otel_bridge_req, index)					\
	F(otel_bridge_req, mode)					\
	F(otel_bridge_req, modes)					\
	F(otel_bridge_req, name)					\
	F(otel_bridge_req, spans)					\
	F(otel_bridge_req, dropped)					\
	F(otel_bridge_req, reserved)

/* One row: a struct (field == NULL) or one of its fields. */
struct row {
	const char	*type;
	const char	*field;
	unsigned long	offset;		/* field: offsetof */
	unsigned long	size;		/* sizeof the struct or the field */
	int		kind;		/* struct: RECORD or OTHER */
};

#define ROW_S(s, k)	{ #s, NULL, 0, sizeof(struct s), k },
#define ROW_F(s, f)	{ #s, #f, offsetof(struct s, f),		\
			  sizeof(((struct s *)0)->f), 0 },

static const struct row rows[] = { UAPI_LAYOUT(ROW_S, ROW_F) };
#define NR_ROWS	(sizeof(rows) / sizeof(rows[0]))

#ifndef UAPI_LAYOUT32
/* The -m32 helper: print the table as "type field offset size" lines. */
static int dump(void)
{
	size_t i;

	for (i = 0; i < NR_ROWS; i++)
		printf("%s %s %lu %lu\n", rows[i].type,
		       rows[i].field ? rows[i].field : "-", rows[i].offset,
		       rows[i].size);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--dump"))
		return dump();
	fprintf(stderr, "usage: %s --dump\n", argv[0]);
	return 2;
}
#else

/* Results are collected first, so that the plan can come first. */
struct result {
	int	ok;
	char	text[240];
};

static struct result *results;
static size_t nr_results, max_results;

static void check(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (nr_results == max_results) {
		max_results = max_results ? 2 * max_results : 64;
		results = realloc(results, max_results * sizeof(*results));
		if (!results) {
			perror("uapi_layout");
			exit(1);
		}
	}
	results[nr_results].ok = ok;
	va_start(ap, fmt);
	vsnprintf(results[nr_results].text, sizeof(results->text), fmt, ap);
	va_end(ap);
	nr_results++;
}

static const struct row *find_struct(const char *type)
{
	size_t i;

	for (i = 0; i < NR_ROWS; i++)
		if (!rows[i].field && !strcmp(rows[i].type, type))
			return &rows[i];
	return NULL;
}

/* The -m32 view: the same rows, read from the helper. */
struct row32 {
	char		type[64], field[64];
	unsigned long	offset, size;
};

static struct row32 rows32[NR_ROWS];

static int read_rows32(char *err, size_t errlen)
{
	char line[256];
	size_t n = 0;
	FILE *p;
	int st;

	p = popen(UAPI_LAYOUT32 " --dump", "r");
	if (!p) {
		snprintf(err, errlen, "cannot run %s: %s", UAPI_LAYOUT32,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), p)) {
		if (n == NR_ROWS ||
		    sscanf(line, "%63s %63s %lu %lu", rows32[n].type,
			   rows32[n].field, &rows32[n].offset,
			   &rows32[n].size) != 4) {
			n = NR_ROWS + 1;
			break;
		}
		n++;
	}
	st = pclose(p);
	if (st || n != NR_ROWS) {
		snprintf(err, errlen,
			 "%s --dump failed (status %d, %zu rows of %zu): is gcc-multilib installed? (scripts/setup)",
			 UAPI_LAYOUT32, st, n, (size_t)NR_ROWS);
		return -1;
	}
	return 0;
}

/* Same sizes and offsets in both builds, struct by struct. */
static void check_32_64(void)
{
	char err[200], diff[200];
	size_t i, j;

	if (read_rows32(err, sizeof(err))) {
		check(0, "32-bit layout: %s", err);
		return;
	}
	for (i = 0; i < NR_ROWS; i = j) {
		diff[0] = '\0';
		for (j = i; j < NR_ROWS && !strcmp(rows[j].type, rows[i].type);
		     j++) {
			const struct row *r = &rows[j];
			const struct row32 *q = &rows32[j];

			if (diff[0] || (r->offset == q->offset &&
					r->size == q->size))
				continue;
			if (r->field)
				snprintf(diff, sizeof(diff),
					 ": %s is %lu bytes at %lu on 64-bit, %lu at %lu on 32-bit",
					 r->field, r->size, r->offset, q->size,
					 q->offset);
			else
				snprintf(diff, sizeof(diff),
					 ": sizeof is %lu on 64-bit, %lu on 32-bit",
					 r->size, q->size);
		}
		check(!diff[0], "struct %s: same size and field offsets for 32-bit and 64-bit (%lu bytes)%s",
		      rows[i].type, rows[i].size, diff);
	}
}

/* Fields back to back from offset 0 up to sizeof: no hole, no tail. */
static void check_padding(void)
{
	unsigned long sum, end;
	char where[160];
	size_t i, j;

	for (i = 0; i < NR_ROWS; i = j) {
		sum = end = 0;
		where[0] = '\0';
		for (j = i + 1; j < NR_ROWS && rows[j].field; j++) {
			if (!where[0] && rows[j].offset != end)
				snprintf(where, sizeof(where),
					 "; a %lu-byte hole before %s (padding, or a field this test does not list)",
					 rows[j].offset - end, rows[j].field);
			sum += rows[j].size;
			end = rows[j].offset + rows[j].size;
		}
		if (!where[0] && end != rows[i].size)
			snprintf(where, sizeof(where),
				 "; %lu bytes after the last listed field (padding, or a field this test does not list)",
				 rows[i].size - end);
		check(sum == rows[i].size && !where[0],
		      "struct %s: no implicit padding (fields add up to %lu of %lu bytes%s)",
		      rows[i].type, sum, rows[i].size, where);
	}
}

static void check_records(void)
{
	size_t i;

	for (i = 0; i < NR_ROWS; i++)
		if (!rows[i].field && rows[i].kind == RECORD)
			check(rows[i].size % 8 == 0,
			      "struct %s: size %lu is a multiple of 8",
			      rows[i].type, rows[i].size);
}

/*
 * The header against the table: every "struct otel_x {" is listed, and
 * each kernel-doc summary "struct otel_x - what (N bytes ...)" says the
 * real size.
 */
static void check_header(void)
{
	char line[512], type[64], doc[64] = "", text[1024] = "";
	int missing = 0, listed = 0, in_doc = 0;
	char missing_names[200] = "";
	unsigned long bytes;
	const struct row *r;
	const char *p;
	FILE *f;

	f = fopen(UAPI_HEADER, "re");
	if (!f) {
		check(0, "read %s: %s", UAPI_HEADER, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "struct %63[a-z0-9_] {", type) == 1 &&
		    strstr(line, "{")) {
			listed++;
			if (!find_struct(type)) {
				missing++;
				strncat(missing_names, " ",
					sizeof(missing_names) -
					strlen(missing_names) - 1);
				strncat(missing_names, type,
					sizeof(missing_names) -
					strlen(missing_names) - 1);
			}
		}
		/* A summary runs from " * struct x - " to the first @ line. */
		if (sscanf(line, " * struct %63[a-z0-9_] - ", type) == 1 &&
		    strstr(line, " - ")) {
			snprintf(doc, sizeof(doc), "%s", type);
			text[0] = '\0';
			in_doc = 1;
		}
		if (in_doc && (strstr(line, "* @") || strstr(line, "*/"))) {
			in_doc = 0;
			p = strchr(text, '(');
			while (p && sscanf(p, "(%lu bytes", &bytes) != 1)
				p = strchr(p + 1, '(');
			if (!p)
				continue;
			r = find_struct(doc);
			check(r && r->size == bytes,
			      "struct %s: the header's comment says %lu bytes, sizeof is %lu",
			      doc, bytes, r ? r->size : 0UL);
		}
		if (in_doc)
			strncat(text, line, sizeof(text) - strlen(text) - 1);
	}
	fclose(f);
	check(!missing && listed,
	      "every struct of %s is in this test's table (%d structs%s%s)",
	      UAPI_HEADER, listed, missing ? "; missing:" : "",
	      missing_names);
}

int main(void)
{
	int failed = 0;
	size_t i;

	check_header();
	check_32_64();
	check_padding();
	check_records();
	printf("1..%zu\n", nr_results);
	for (i = 0; i < nr_results; i++) {
		printf("%s %zu - %s\n", results[i].ok ? "ok" : "not ok", i + 1,
		       results[i].text);
		failed += !results[i].ok;
	}
	free(results);
	return failed ? 1 : 0;
}
#endif /* UAPI_LAYOUT32 */
