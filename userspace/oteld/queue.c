// SPDX-License-Identifier: GPL-2.0
/*
 * The BatchSpanProcessor's queue, between the reader (one producer) and the
 * exporter threads (consumers).  Bounded to max_queue spans: a full queue
 * drops the new span, counted.  A blocking queue (replaying a capture file)
 * makes the producer wait for room instead: a file can always wait, the
 * kernel's rings cannot.
 *
 * A consumer takes a batch as the BatchSpanProcessor does: as soon as
 * max_export_batch spans wait (the producer wakes a waiting consumer when
 * the queue reaches a full batch), or when the schedule delay has passed
 * since the queue stopped being empty or since the previous batch was taken
 * with spans left behind (the timer); once closed, whatever is left, in
 * batches, until the queue is empty.  An empty queue has no timer: an idle
 * relay's exporters sleep.
 *
 * Waiting consumers are woken most recently idle first: when the collector
 * answers fast, one thread (its cache warm) does all the work, and the
 * others wake only when requests really overlap.
 *
 * When more than a batch waits (the exporters fall behind), a consumer
 * takes up to a deep batch at once (queue_set_deep_batch()): fewer and
 * larger requests, whose fixed costs (the request, its wake-ups, the
 * answer) are then paid fewer times per span.
 *
 * The spans are a ring of pointers, so taking a batch is one copy of
 * pointers, not a walk of a list under the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "oteld.h"

/* A waiting consumer, on its own stack while it waits. */
struct waiter {
	pthread_cond_t cond;
	struct waiter *next;
};

struct queue {
	pthread_mutex_t lock;
	pthread_condattr_t clock;	/* CLOCK_MONOTONIC waits */
	struct waiter *idle;	/* waiting consumers, most recent first */
	pthread_cond_t room;	/* blocking producer: spans left */
	struct span **ring;
	size_t max, head, len, batch, deep;
	long delay_ms;
	struct timespec due;	/* a partial batch goes at this time */
	unsigned int producers_waiting;
	bool closed, blocking;
};

struct queue *queue_new(size_t max_spans, size_t batch, long delay_ms)
{
	struct queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->max = max_spans ? max_spans : 1;
	q->ring = calloc(q->max, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return NULL;
	}
	q->batch = batch && batch <= q->max ? batch : q->max;
	q->deep = q->batch;
	q->delay_ms = delay_ms;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&q->clock);
	pthread_condattr_setclock(&q->clock, CLOCK_MONOTONIC);
	pthread_cond_init(&q->room, &q->clock);
	return q;
}

void queue_set_blocking(struct queue *q, bool blocking)
{
	pthread_mutex_lock(&q->lock);
	q->blocking = blocking;
	pthread_mutex_unlock(&q->lock);
}

void queue_set_deep_batch(struct queue *q, size_t deep)
{
	pthread_mutex_lock(&q->lock);
	q->deep = deep < q->batch ? q->batch : deep < q->max ? deep : q->max;
	pthread_mutex_unlock(&q->lock);
}

void queue_free(struct queue *q)
{
	if (!q)
		return;
	for (; q->len; q->len--, q->head = (q->head + 1) % q->max)
		span_free(q->ring[q->head]);
	free(q->ring);
	pthread_cond_destroy(&q->room);
	pthread_condattr_destroy(&q->clock);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* The timer: a partial batch goes out @delay_ms from now. */
static void arm(struct queue *q)
{
	clock_gettime(CLOCK_MONOTONIC, &q->due);
	q->due.tv_sec += q->delay_ms / 1000;
	q->due.tv_nsec += (q->delay_ms % 1000) * 1000000L;
	if (q->due.tv_nsec >= 1000000000L) {
		q->due.tv_sec++;
		q->due.tv_nsec -= 1000000000L;
	}
}

static bool due(const struct queue *q)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > q->due.tv_sec ||
	       (now.tv_sec == q->due.tv_sec && now.tv_nsec >= q->due.tv_nsec);
}

/*
 * Wake the most recently idle consumer.  Under the lock: its waiter lives
 * on its stack, and it cannot return before it has the lock back.
 */
static void wake_one(struct queue *q)
{
	struct waiter *w = q->idle;

	if (!w)
		return;
	q->idle = w->next;
	w->next = NULL;
	pthread_cond_signal(&w->cond);
}

static void wait_here(struct queue *q)
{
	struct waiter me, **pp;

	pthread_cond_init(&me.cond, &q->clock);
	me.next = q->idle;
	q->idle = &me;
	if (q->len)
		pthread_cond_timedwait(&me.cond, &q->lock, &q->due);
	else
		pthread_cond_wait(&me.cond, &q->lock);
	/* timed out, or woken by something else than wake_one() */
	for (pp = &q->idle; *pp; pp = &(*pp)->next)
		if (*pp == &me) {
			*pp = me.next;
			break;
		}
	pthread_cond_destroy(&me.cond);
}

/*
 * Room for one more span, waited for when blocking (the lock is let go
 * meanwhile); false when the span must be dropped: full, or closed.
 */
static bool room_for_one(struct queue *q)
{
	while (q->blocking && q->len >= q->max && !q->closed) {
		/* a full queue holds a full batch: make sure it is taken */
		wake_one(q);
		q->producers_waiting++;
		pthread_cond_wait(&q->room, &q->lock);
		q->producers_waiting--;
	}
	return q->len < q->max && !q->closed;
}

/*
 * Queue @s, there being room.  True when a waiting consumer is to be woken:
 * to start the timer (the first span), or to take a full batch.
 */
static bool append(struct queue *q, struct span *s)
{
	size_t tail = q->head + q->len;

	q->ring[tail < q->max ? tail : tail - q->max] = s;
	if (++q->len == 1)
		arm(q);
	return q->len == 1 || q->len == q->batch;
}

/*
 * The spans one at a time, as in that many pushes, under one lock.  The
 * consumer that any of them calls for is woken once, after the last: it
 * finds them all.  Once one span finds the queue full or closed, so do the
 * rest: the lock was held (or, blocking, the queue was closed).
 */
void queue_push_batch(struct queue *q, struct span **v, size_t n)
{
	bool wake = false;
	size_t i;

	if (!n)
		return;
	pthread_mutex_lock(&q->lock);
	for (i = 0; i < n && room_for_one(q); i++)
		wake |= append(q, v[i]);
	if (wake)
		wake_one(q);
	pthread_mutex_unlock(&q->lock);
	if (i)
		atomic_fetch_add(&stats.spans_queued, i);
	if (i < n) {
		atomic_fetch_add(&stats.dropped_queue_full, n - i);
		span_free_batch(v + i, n - i);
	}
}

void queue_push(struct queue *q, struct span *s)
{
	queue_push_batch(q, &s, 1);
}

size_t queue_pop_batch(struct queue *q, struct span **out)
{
	bool room;
	size_t n, i;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->len >= q->batch || (q->len && (q->closed || due(q))))
			break;
		if (q->closed) {
			pthread_mutex_unlock(&q->lock);
			return 0;
		}
		wait_here(q);
	}
	n = q->len <= q->batch ? q->len : q->len < q->deep ? q->len : q->deep;
	for (i = 0; i < n; i++) {
		out[i] = q->ring[q->head];
		q->head = q->head + 1 == q->max ? 0 : q->head + 1;
	}
	q->len -= n;
	if (q->len)
		arm(q);		/* what is left waits one more delay at most */
	room = q->producers_waiting;
	/* another consumer takes what is left, or holds its timer */
	if (q->len)
		wake_one(q);
	pthread_mutex_unlock(&q->lock);
	if (room)
		pthread_cond_broadcast(&q->room);
	return n;
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	while (q->idle)
		wake_one(q);
	pthread_mutex_unlock(&q->lock);
	pthread_cond_broadcast(&q->room);
}

size_t queue_room(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->closed ? 0 : q->max - q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/*
 * Waits on the blocking producer's condition: queue_pop_batch() signals it
 * when producers wait.  A full batch waiting has woken a consumer already
 * (append()); without one, the room comes with the timer.
 */
bool queue_wait_room(struct queue *q, size_t room, long timeout_ms)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	while (!q->closed && q->max - q->len < room) {
		q->producers_waiting++;
		if (pthread_cond_timedwait(&q->room, &q->lock, &until) ==
		    ETIMEDOUT) {
			q->producers_waiting--;
			break;
		}
		q->producers_waiting--;
	}
	ok = !q->closed && q->max - q->len >= room;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

size_t queue_len(struct queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

bool queue_closed(struct queue *q)
{
	bool c;

	pthread_mutex_lock(&q->lock);
	c = q->closed;
	pthread_mutex_unlock(&q->lock);
	return c;
}
