// SPDX-License-Identifier: GPL-2.0
/*
 * Console exporter (--stdout): the spans of a batch as one tree per trace,
 * children under their parent by start time, with duration, attributes,
 * events, links and status.  A span whose parent is not in the batch is shown
 * as a root of its trace.  Strings are printed repaired to valid UTF-8
 * (utf8.c), as the OTLP encoders send them, with control characters and
 * '\' escaped (\xNN, \u00NN, \\).
 */
#include <stdlib.h>
#include <string.h>

#include "oteld.h"
#include "utf8.h"

static const char *const kinds[] = {
	"unspecified", "internal", "server", "client", "producer", "consumer",
};

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	while (n--)
		fprintf(f, "%02x", *p++);
}

/*
 * @s repaired to valid UTF-8, control characters escaped (utf8_escape()):
 * a name from a task or a driver does not drive the terminal.
 */
static void text(FILE *f, const char *s)
{
	size_t n = strlen(s ? s : "");
	char small[256], *out = small;

	/* at most 4 bytes out for each byte in, and the NUL */
	if (4 * n + 1 > sizeof(small))
		out = malloc(4 * n + 1);
	if (!out) {
		fputs("(out of memory)", f);
		return;
	}
	utf8_escape(s ? s : "", n, out, 4 * n + 1 > sizeof(small) ?
		    4 * n + 1 : sizeof(small));
	fputs(out, f);
	if (out != small)
		free(out);
}

static void print_value(FILE *f, const struct attr *a)
{
	switch (a->type) {
	case OTEL_ATTR_STRING:
		fputc('"', f);
		text(f, a->str);
		fputc('"', f);
		break;
	case OTEL_ATTR_BOOL:
		fputs(a->i ? "true" : "false", f);
		break;
	case OTEL_ATTR_INT:
		fprintf(f, "%lld", (long long)a->i);
		break;
	default:
		fprintf(f, "%g", a->d);
	}
}

/* The attributes aimed at @target, then @nr_more of @more. */
static void print_attrs_more(FILE *f, const struct span *s, uint16_t target,
			     const struct attr *more, size_t nr_more,
			     const char *open, const char *close)
{
	bool first = true;
	size_t i;

	for (i = 0; i < s->nr_attrs + nr_more; i++) {
		const struct attr *a = i < s->nr_attrs ? &s->attrs[i] :
				       &more[i - s->nr_attrs];

		if (i < s->nr_attrs && a->target != target)
			continue;
		fputs(first ? open : ", ", f);
		text(f, a->key);
		fputc('=', f);
		print_value(f, a);
		first = false;
	}
	if (!first)
		fputs(close, f);
}

static void print_attrs(FILE *f, const struct span *s, uint16_t target,
			const char *open, const char *close)
{
	print_attrs_more(f, s, target, NULL, 0, open, close);
}

static double ms(uint64_t from, uint64_t to)
{
	return to >= from ? (to - from) / 1e6 : -((from - to) / 1e6);
}

static void print_span(FILE *f, const struct span *s, int depth)
{
	struct attr where[SPAN_WHERE_MAX];
	int ind = 2 * depth + 2;
	char pre[96];
	size_t i;

	fprintf(f, "%*s", ind, "");
	text(f, s->name);
	fprintf(f, " [%s] %.3f ms  span ", kinds[s->kind % 6],
		ms(s->start, s->end));
	hex(f, s->span_id, sizeof(s->span_id));
	fputs("  (", f);
	text(f, s->scope_name);
	if (s->scope_version && *s->scope_version) {
		fputc(' ', f);
		text(f, s->scope_version);
	}
	fprintf(f, ")%s\n", s->incomplete ? " INCOMPLETE" : "");
	snprintf(pre, sizeof(pre), "%*s  ", ind < 80 ? ind : 80, "");
	print_attrs(f, s, OTEL_ATTR_TARGET_SPAN, pre, "\n");
	/* where it began, on a line of its own (link 0 is nobody's target) */
	print_attrs_more(f, s, OTEL_ATTR_TARGET_LINK, where,
			 span_where_attrs(s, where), pre, "\n");
	for (i = 0; i < s->nr_events; i++) {
		fprintf(f, "%*s  @%.3f ms event ", ind, "",
			ms(s->start, s->events[i].time));
		text(f, s->events[i].name);
		print_attrs(f, s, s->events[i].index, " {", "}");
		fputc('\n', f);
	}
	for (i = 0; i < s->nr_links; i++) {
		fprintf(f, "%*s  link ", ind, "");
		hex(f, s->links[i].trace_id, OTEL_TRACE_ID_SIZE);
		fputc('/', f);
		hex(f, s->links[i].span_id, OTEL_SPAN_ID_SIZE);
		print_attrs(f, s, OTEL_ATTR_TARGET_LINK | s->links[i].index,
			    " {", "}");
		fputc('\n', f);
	}
	if (s->status_code) {
		fprintf(f, "%*s  status %s", ind, "",
			s->status_code == OTEL_STATUS_OK ? "OK" : "ERROR");
		if (s->status_message && *s->status_message) {
			fputs(": ", f);
			text(f, s->status_message);
		}
		fputc('\n', f);
	}
	if (s->dropped_attrs || s->dropped_events || s->dropped_links)
		fprintf(f, "%*s  dropped: %u attributes, %u events, %u links\n",
			ind, "", s->dropped_attrs, s->dropped_events,
			s->dropped_links);
}

static int by_start(const void *a, const void *b)
{
	const struct span *x = *(struct span *const *)a;
	const struct span *y = *(struct span *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Print @s's subtree; @done marks printed spans (no loops on bad data). */
static void tree(FILE *f, struct span **v, size_t n, bool *done, size_t i,
		 int depth)
{
	size_t j;

	done[i] = true;
	print_span(f, v[i], depth);
	for (j = 0; j < n; j++)
		if (!done[j] && !memcmp(v[j]->parent_span_id, v[i]->span_id,
					OTEL_SPAN_ID_SIZE))
			tree(f, v, n, done, j, depth + 1);
}

static bool has_parent_in(struct span **v, size_t n, const struct span *s)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (v[j] != s && !memcmp(v[j]->span_id, s->parent_span_id,
					 OTEL_SPAN_ID_SIZE))
			return true;
	return false;
}

void console_print(FILE *out, struct span *const *spans, size_t n)
{
	struct span **v = malloc(n * sizeof(*v) + 1);
	bool *done = calloc(n + 1, sizeof(*done)), *seen_trace;
	size_t i, j, k;

	seen_trace = calloc(n + 1, sizeof(*seen_trace));
	if (!v || !done || !seen_trace)
		goto out;
	for (i = 0; i < n; i++) {
		if (seen_trace[i])
			continue;
		/* the spans of this trace, by start time */
		for (j = i, k = 0; j < n; j++)
			if (!memcmp(spans[j]->trace_id, spans[i]->trace_id,
				    OTEL_TRACE_ID_SIZE)) {
				seen_trace[j] = true;
				v[k++] = spans[j];
			}
		qsort(v, k, sizeof(*v), by_start);
		memset(done, 0, n * sizeof(*done));
		fputs("trace ", out);
		hex(out, spans[i]->trace_id, OTEL_TRACE_ID_SIZE);
		fputc('\n', out);
		for (j = 0; j < k; j++)
			if (!done[j] && !has_parent_in(v, k, v[j]))
				tree(out, v, k, done, j, 0);
		for (j = 0; j < k; j++)	/* a parent loop: print what is left */
			if (!done[j])
				tree(out, v, k, done, j, 0);
	}
out:
	free(v);
	free(done);
	free(seen_trace);
}
