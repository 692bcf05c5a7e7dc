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

/* Did the driver set @key on the span itself? */
static bool has_span_key(const struct span *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->nr_attrs; i++)
		if (s->attrs[i].target == OTEL_ATTR_TARGET_SPAN &&
		    !strcmp(s->attrs[i].key, key))
			return true;
	return false;
}

static void where(const struct span *s, struct attr *out, size_t *n,
		  const char *key, uint8_t type, const char *str, int64_t i)
{
	struct attr *a;

	if (has_span_key(s, key))
		return;
	a = &out[(*n)++];
	memset(a, 0, sizeof(*a));
	a->key = (char *)key;
	a->type = type;
	a->str = (char *)str;
	a->i = i;
}

size_t span_where_attrs(const struct span *s, struct attr *out)
{
	size_t n = 0;
	bool task = s->begin_context == OTEL_CTX_TASK;

	where(s, out, &n, "cpu.logical_number", OTEL_ATTR_INT, NULL,
	      s->begin_cpu);
	where(s, out, &n, "linux.context", OTEL_ATTR_STRING,
	      contexts[s->begin_context & OTEL_RECF_CTX_MASK], 0);
	/* pid 0 in task context is an idle task: no thread to name */
	if (task && s->pid) {
		where(s, out, &n, "thread.id", OTEL_ATTR_INT, NULL, s->pid);
		where(s, out, &n, "process.pid", OTEL_ATTR_INT, NULL, s->tgid);
		if (s->thread_name[0])
			where(s, out, &n, "thread.name", OTEL_ATTR_STRING,
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
