// SPDX-License-Identifier: GPL-2.0
/* Group a batch's spans by instrumentation scope (ScopeSpans). */
#include <string.h>

#include "otlp.h"

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
