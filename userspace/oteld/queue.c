// SPDX-License-Identifier: GPL-2.0
/*
 * The BatchSpanProcessor's queue: bounded to max_queue spans (a full queue
 * drops the new span, counted); the exporter takes a batch once
 * max_export_batch spans wait or the schedule delay has passed.  A blocking
 * queue (replaying a capture file) makes the producer wait for room instead:
 * a file can always wait, the kernel's rings cannot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "oteld.h"

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t room;	/* blocking queue: signalled when spans leave */
	struct span *head, *tail;
	size_t len, max;
	bool closed, blocking;
};

struct queue *queue_new(size_t max_spans)
{
	struct queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_cond_init(&q->room, &ca);
	pthread_condattr_destroy(&ca);
	q->max = max_spans;
	return q;
}

void queue_set_blocking(struct queue *q, bool blocking)
{
	pthread_mutex_lock(&q->lock);
	q->blocking = blocking;
	pthread_mutex_unlock(&q->lock);
}

void queue_free(struct queue *q)
{
	struct span *s, *next;

	if (!q)
		return;
	for (s = q->head; s; s = next) {
		next = s->next;
		span_free(s);
	}
	pthread_cond_destroy(&q->cond);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void queue_push(struct queue *q, struct span *s)
{
	bool wake;

	s->next = NULL;
	pthread_mutex_lock(&q->lock);
	while (q->blocking && q->len >= q->max && !q->closed) {
		/* The exporter must see a full batch to make room. */
		pthread_cond_signal(&q->cond);
		pthread_cond_wait(&q->room, &q->lock);
	}
	if (q->len >= q->max) {
		pthread_mutex_unlock(&q->lock);
		atomic_fetch_add(&stats.dropped_queue_full, 1);
		span_free(s);
		return;
	}
	if (q->tail)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
	q->len++;
	wake = q->len == 1 || q->len % 64 == 0;
	pthread_mutex_unlock(&q->lock);
	atomic_fetch_add(&stats.spans_queued, 1);
	if (wake)
		pthread_cond_signal(&q->cond);
}

struct span *queue_pop_batch(struct queue *q, size_t batch, long delay_ms,
			     size_t *n)
{
	struct timespec dl;
	struct span *head, *s;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += delay_ms / 1000;
	dl.tv_nsec += (delay_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	while (!q->closed && q->len < batch)
		if (pthread_cond_timedwait(&q->cond, &q->lock, &dl) ==
		    ETIMEDOUT)
			break;
	head = q->head;
	for (i = 0, s = head; s && i < batch - 1; i++)
		s = s->next;
	if (s) {
		q->head = s->next;
		s->next = NULL;
		i++;
	} else {
		q->head = NULL;
	}
	if (!q->head)
		q->tail = NULL;
	q->len -= head ? i : 0;
	pthread_mutex_unlock(&q->lock);
	if (head)
		pthread_cond_broadcast(&q->room);
	*n = head ? i : 0;
	return head;
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_mutex_unlock(&q->lock);
	pthread_cond_broadcast(&q->cond);
	pthread_cond_broadcast(&q->room);
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
