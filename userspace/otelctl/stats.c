// SPDX-License-Identifier: GPL-2.0
/*
 * otelctl stats [--json]: the counters of every ring and their totals, then
 * the span API's misuse counters and the task context table's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "otelctl.h"

#define NR_FIELDS 9

static const char *const field_names[NR_FIELDS] = {
	"records", "bytes", "dropped_full", "dropped_too_big",
	"dropped_nested", "dropped_disabled", "overwritten", "wakeups",
	"discarded",
};

/* The misuse counters, then (from NR_MISUSE_FIELDS) the context table's. */
#define NR_MISUSE_FIELDS 8
#define NR_SPAN_FIELDS 13

static const char *const span_field_names[NR_SPAN_FIELDS] = {
	"begin_active", "end_twice", "end_foreign", "stale_current",
	"misnested", "bad_handle", "context_full", "depth_full",
	"context_used", "context_remote", "context_user_limit",
	"context_inherited", "context_inherit_lost",
};

static void fields(const struct otel_cpu_stats *s, unsigned long long *v)
{
	v[0] = s->records;
	v[1] = s->bytes;
	v[2] = s->dropped_full;
	v[3] = s->dropped_too_big;
	v[4] = s->dropped_nested;
	v[5] = s->dropped_disabled;
	v[6] = s->overwritten;
	v[7] = s->wakeups;
	v[8] = s->discarded;
}

static void print_row(const char *cpu, const struct otel_cpu_stats *s)
{
	unsigned long long v[NR_FIELDS];
	int i;

	fields(s, v);
	printf("%-6s", cpu);
	for (i = 0; i < NR_FIELDS; i++)
		printf(" %16llu", v[i]);
	putchar('\n');
}

static void print_json(const struct otel_cpu_stats *s)
{
	unsigned long long v[NR_FIELDS];
	int i;

	fields(s, v);
	putchar('{');
	for (i = 0; i < NR_FIELDS; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", field_names[i], v[i]);
	putchar('}');
}

/* Stats of one CPU: 1 done, 0 not a possible CPU, -1 error. */
static int get(int fd, unsigned int cpu, struct otel_cpu_stats *out)
{
	struct otel_stats_req req;

	memset(&req, 0, sizeof(req));
	req.cpu = cpu;
	if (ioctl(fd, OTEL_IOC_STATS, &req)) {
		if (errno == EINVAL && cpu != OTEL_STATS_ALL_CPUS)
			return 0;
		errorf("stats: %s", strerror(errno));
		return -1;
	}
	*out = req.stats;
	return 1;
}

static void span_fields(const struct otel_span_stats *s,
			unsigned long long *v)
{
	v[0] = s->begin_active;
	v[1] = s->end_twice;
	v[2] = s->end_foreign;
	v[3] = s->stale_current;
	v[4] = s->misnested;
	v[5] = s->bad_handle;
	v[6] = s->context_full;
	v[7] = s->depth_full;
	v[8] = s->context_used;
	v[9] = s->context_remote;
	v[10] = s->context_user_limit;
	v[11] = s->context_inherited;
	v[12] = s->context_inherit_lost;
}

/* Span API counters: 1 done, 0 the module has no such ioctl, -1 error. */
static int get_span_stats(int fd, struct otel_span_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	if (!ioctl(fd, OTEL_IOC_SPAN_STATS, out))
		return 1;
	if (errno == ENOTTY) {
		errorf("span stats: this oteltrace.ko has no OTEL_IOC_SPAN_STATS");
		return 0;
	}
	errorf("span stats: %s", strerror(errno));
	return -1;
}

/*
 * The span counters after the rings'.  Without them (no such ioctl: 0, or
 * any error: -1, said on stderr) JSON says null, so that it stays whole.
 */
static int print_span_stats(int fd, int json)
{
	struct otel_span_stats s;
	unsigned long long v[NR_SPAN_FIELDS];
	int r = get_span_stats(fd, &s), i;

	if (r <= 0) {
		if (json)
			printf(", \"span_stats\": null");
		return r;
	}
	span_fields(&s, v);
	if (json) {
		printf(", \"span_stats\": {");
		for (i = 0; i < NR_SPAN_FIELDS; i++)
			printf("%s\"%s\": %llu", i ? ", " : "",
			       span_field_names[i], v[i]);
		putchar('}');
		return 0;
	}
	printf("\nspan API\n");
	for (i = 0; i < NR_SPAN_FIELDS; i++) {
		if (i == NR_MISUSE_FIELDS)
			printf("\ntask contexts\n");
		printf("  %-20s %16llu\n", span_field_names[i], v[i]);
	}
	return 0;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "Usage: %s stats [--json]\n\n"
		"Print each ring's counters and their totals: records and bytes\n"
		"written, records dropped (ring full, too big, nested, while\n"
		"paused), overwritten (overwrite mode), reader wakeups, and\n"
		"discarded (unread when a resize or a mode change emptied the ring).\n"
		"Then the span API's counters of misuse (OTEL_IOC_SPAN_STATS):\n"
		"  begin_active   a handle begun again while active (first span abandoned)\n"
		"  end_twice      a span ended again\n"
		"  end_foreign    a current span ended from another task or CPU\n"
		"  stale_current  a current span whose stack frame had returned\n"
		"  misnested      a current span ended out of order\n"
		"  bad_handle     a handle that was never begun, or overwritten\n"
		"  context_full   spans not made current: task context table full\n"
		"  depth_full     spans not made current: chain of current spans full\n"
		"Then the task context table's:\n"
		"  context_used          slots in use now\n"
		"  context_remote        slots holding a remote context now\n"
		"  context_user_limit    remote contexts refused by the per-user limit\n"
		"  context_inherited     threads and processes that inherited a context\n"
		"  context_inherit_lost  those that could not (limit, table full)\n"
		"A module without that ioctl is reported and the rest printed; if the\n"
		"ioctl fails, the rest is printed too, and the exit status is 1.\n\n"
		"  --json   one JSON object: {\"cpus\": [{\"cpu\": N, ...}], \"total\": {...},\n"
		"           \"span_stats\": {...} or null}\n",
		prog);
	return status;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct otel_cpu_stats s;
	struct otel_info info;
	int fd, c, json = 0, first = 1, ret = EXIT_RUNTIME, r, i;
	unsigned int cpu;
	char name[16];

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h')
			return usage(stdout, EXIT_OK);
		else
			return usage(stderr, EXIT_USAGE);
	}
	if (optind != argc) {
		errorf("stats: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	fd = dev_open();
	if (fd < 0)
		return EXIT_RUNTIME;
	memset(&info, 0, sizeof(info));
	if (dev_ioctl(fd, OTEL_IOC_INFO, &info, "info"))
		goto out;

	if (json)
		printf("{\"cpus\": [");
	else {
		printf("%-6s", "cpu");
		for (i = 0; i < NR_FIELDS; i++)
			printf(" %16s", field_names[i]);
		putchar('\n');
	}
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		r = get(fd, cpu, &s);
		if (r < 0)
			goto out;
		if (!r)
			continue;
		if (json) {
			printf("%s{\"cpu\": %u, \"stats\": ", first ? "" : ", ", cpu);
			print_json(&s);
			putchar('}');
		} else {
			snprintf(name, sizeof(name), "%u", cpu);
			print_row(name, &s);
		}
		first = 0;
	}
	if (get(fd, OTEL_STATS_ALL_CPUS, &s) < 0)
		goto out;
	if (json) {
		printf("], \"total\": ");
		print_json(&s);
	} else {
		print_row("total", &s);
	}
	r = print_span_stats(fd, json);
	if (json)
		printf("}\n");
	if (r < 0)
		goto out;
	ret = EXIT_OK;
out:
	close(fd);
	if (fflush(stdout)) {
		errorf("stdout: %s", strerror(errno));
		ret = EXIT_RUNTIME;
	}
	return ret;
}
