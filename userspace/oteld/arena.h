/* SPDX-License-Identifier: GPL-2.0 */
/* Bump allocator: everything one encoded request needs, freed at once. */
#ifndef OTELD_ARENA_H
#define OTELD_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
};

/* Zeroed memory, or NULL. */
void *arena_alloc(struct arena *a, size_t n);
void arena_free(struct arena *a);

#define ARENA_NEW(a, type) ((type *)arena_alloc((a), sizeof(type)))
#define ARENA_ARRAY(a, type, n) ((type *)arena_alloc((a), sizeof(type) * (n)))

#endif
