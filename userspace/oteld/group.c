// SPDX-License-Identifier: GPL-2.0
/*
 * What the encoders share: a batch's spans grouped by instrumentation scope
 * (ScopeSpans), and the attributes oteld adds to each span.
 */
#include <string.h>

#include "otlp.h"

static const char *const contexts[] = {
	[OTEL_CTX_TASK] = "task",
	[OTEL_CTX_SOFTIRQ] = "softirq",
	[OTEL_CTX_HARDIRQ] = "hardirq",
	[OTEL_CTX_NMI] = "nmi",
};

/* The attributes oteld adds, in this order; bit i of a mask is key i. */
enum { W_CPU, W_CONTEXT, W_THREAD_ID, W_PID, W_THREAD_NAME };

static const char *const where_keys[SPAN_WHERE_MAX] = {
	[W_CPU] = "cpu.logical_number",
	[W_CONTEXT] = "linux.context",
	[W_THREAD_ID] = "thread.id",
	[W_PID] = "process.pid",
	[W_THREAD_NAME] = "thread.name",
};

/*
 * Which of oteld's keys the driver set on the span itself: one pass over
 * its attributes, the first byte sparing strcmp() for most of them.
 */
unsigned int span_where_set(const struct span *s)
{
	unsigned int mask = 0, k;
	const struct attr *a;
	size_t i;

	for (i = 0; i < s->nr_attrs; i++) {
		a = &s->attrs[i];
		if (a->target != OTEL_ATTR_TARGET_SPAN)
			continue;
		switch (a->key[0]) {
		case 'c':
		case 'l':
		case 't':
		case 'p':
			for (k = 0; k < SPAN_WHERE_MAX; k++)
				if (!strcmp(a->key, where_keys[k]))
					mask |= 1u << k;
			break;
		}
	}
	return mask;
}

static void where(struct attr *out, size_t *n, unsigned int set,
		  unsigned int key, uint8_t type, const char *str, int64_t i)
{
	struct attr *a;

	if (set & (1u << key))
		return;
	a = &out[(*n)++];
	memset(a, 0, sizeof(*a));
	a->key = (char *)where_keys[key];
	a->type = type;
	a->str = (char *)str;
	a->i = i;
}

size_t span_where_attrs(const struct span *s, struct attr *out)
{
	unsigned int set = span_where_set(s);
	bool task = s->begin_context == OTEL_CTX_TASK;
	size_t n = 0;

	where(out, &n, set, W_CPU, OTEL_ATTR_INT, NULL, s->begin_cpu);
	where(out, &n, set, W_CONTEXT, OTEL_ATTR_STRING,
	      contexts[s->begin_context & OTEL_RECF_CTX_MASK], 0);
	/* pid 0 in task context is an idle task: no thread to name */
	if (task && s->pid) {
		where(out, &n, set, W_THREAD_ID, OTEL_ATTR_INT, NULL, s->pid);
		where(out, &n, set, W_PID, OTEL_ATTR_INT, NULL, s->tgid);
		if (s->thread_name[0])
			where(out, &n, set, W_THREAD_NAME, OTEL_ATTR_STRING,
			      s->thread_name, 0);
	}
	return n;
}

int group_by_scope(struct span *const *spans, size_t n, struct arena *ar,
		   struct scope_group **out, size_t *nr_groups)
{
	struct scope_group *g = ARENA_ARRAY(ar, struct scope_group, n + 1);
	size_t *which = ARENA_ARRAY(ar, size_t, n + 1);
	size_t i, j, ng = 0;

	if (!g || !which)
		return -1;
	for (i = 0; i < n; i++) {
		for (j = 0; j < ng; j++)
			if (!strcmp(g[j].name, spans[i]->scope_name) &&
			    !strcmp(g[j].version, spans[i]->scope_version))
				break;
		if (j == ng) {
			g[ng].name = spans[i]->scope_name;
			g[ng].version = spans[i]->scope_version;
			ng++;
		}
		which[i] = j;
		g[j].n++;
	}
	for (j = 0; j < ng; j++) {
		g[j].spans = ARENA_ARRAY(ar, struct span *, g[j].n);
		if (!g[j].spans)
			return -1;
		g[j].n = 0;
	}
	for (i = 0; i < n; i++)
		g[which[i]].spans[g[which[i]].n++] = spans[i];
	*out = g;
	*nr_groups = ng;
	return 0;
}
