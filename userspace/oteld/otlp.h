/* SPDX-License-Identifier: GPL-2.0 */
/* What the protobuf and JSON encoders share. */
#ifndef OTELD_OTLP_H
#define OTELD_OTLP_H

#include "arena.h"
#include "oteld.h"

/* The spans of one instrumentation scope (one module) in a request. */
struct scope_group {
	const char *name, *version;
	struct span **spans;
	size_t n;
};

int group_by_scope(struct span *const *spans, size_t n, struct arena *ar,
		   struct scope_group **out, size_t *nr_groups);

/* OTLP Span.flags: W3C flags plus "is_remote known" and "is remote". */
static inline uint32_t span_flags(const struct span *s)
{
	uint32_t f = s->trace_flags | 0x100;

	if (s->begin_flags & OTEL_BEGINF_REMOTE_PARENT)
		f |= 0x200;
	return f;
}

#endif
