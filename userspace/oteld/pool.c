// SPDX-License-Identifier: GPL-2.0
/*
 * Span blocks kept for reuse.  The reader decodes a span of one SPAN record
 * into one block (assemble.c) and an exporter thread frees it when its batch
 * is sent.  Through malloc() every block would go from one thread's arena
 * to another: each free() and each malloc() would take the reader's arena
 * lock, the threads contending for it, and miss both threads' caches.
 * Blocks of SPAN_BLOCK_BYTES come from and go back to this pool instead: a
 * stack under one lock, which an exporter takes once per batch it gives
 * back and the reader once per BLOCK_CACHE_SIZE blocks it takes into its own
 * cache.
 *
 * The pool keeps at most pool_init()'s number of blocks (POOL_MAX_BLOCKS
 * at most), and frees what it has no room for.  main.c makes that the
 * number of spans the queue and the exporters' batches can hold: then the
 * pool absorbs the swings of a queue emptied and filled again, and it costs
 * no memory at the peak, since a block is made only when the pool is empty,
 * that is when every block there is holds a span in flight.
 *
 * Under AddressSanitizer the blocks waiting in the pool or a cache are
 * poisoned, so that a span used after span_free() is still caught.
 */
#include <pthread.h>
#include <stdlib.h>

#include "oteld.h"

#define POOL_MAX_BLOCKS	65536	/* its array: 512 KiB */

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p)	ASAN_POISON_MEMORY_REGION((p), SPAN_BLOCK_BYTES)
#define UNPOISON(p)	ASAN_UNPOISON_MEMORY_REGION((p), SPAN_BLOCK_BYTES)
#else
#define POISON(p)	((void)(p))
#define UNPOISON(p)	((void)(p))
#endif

static struct {
	pthread_mutex_t lock;
	struct span **blocks;
	size_t n, max;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

int pool_init(size_t max_blocks)
{
	struct span **v;

	if (max_blocks > POOL_MAX_BLOCKS)
		max_blocks = POOL_MAX_BLOCKS;
	v = calloc(max_blocks ? max_blocks : 1, sizeof(*v));

	if (!v)
		return -1;
	pool_free();
	pthread_mutex_lock(&pool.lock);
	pool.blocks = v;
	pool.max = max_blocks;
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

void pool_free(void)
{
	pthread_mutex_lock(&pool.lock);
	while (pool.n) {
		UNPOISON(pool.blocks[--pool.n]);
		free(pool.blocks[pool.n]);
	}
	free(pool.blocks);
	pool.blocks = NULL;
	pool.max = 0;
	pthread_mutex_unlock(&pool.lock);
}

size_t pool_len(void)
{
	size_t n;

	pthread_mutex_lock(&pool.lock);
	n = pool.n;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

/* Move up to a cache's worth of blocks from the pool to @c (empty). */
static void refill(struct block_cache *c)
{
	pthread_mutex_lock(&pool.lock);
	while (c->n < BLOCK_CACHE_SIZE && pool.n)
		c->blocks[c->n++] = pool.blocks[--pool.n];
	pthread_mutex_unlock(&pool.lock);
}

struct span *block_get(struct block_cache *c)
{
	struct span *b;

	if (!c->n)
		refill(c);
	if (!c->n)
		return malloc(SPAN_BLOCK_BYTES);
	b = c->blocks[--c->n];
	UNPOISON(b);
	return b;
}

void blocks_put(struct span *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		POISON(v[i]);
	pthread_mutex_lock(&pool.lock);
	while (n && pool.n < pool.max)
		pool.blocks[pool.n++] = v[--n];
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < n; i++) {	/* no room for these */
		UNPOISON(v[i]);
		free(v[i]);
	}
}

void block_cache_drain(struct block_cache *c)
{
	blocks_put(c->blocks, c->n);
	c->n = 0;
}
