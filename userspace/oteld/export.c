// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter: --exporters threads (OTELD_EXPORT_CONCURRENCY, like the
 * Collector's sending_queue num_consumers), each taking batches off the
 * queue and sending them on its own connection, so that many requests are
 * in flight at once and a distant collector's round trip does not cap the
 * rate.  Each thread encodes its batch (protobuf or JSON, gzip) into
 * buffers it keeps, sends it, retries retryable failures with exponential
 * backoff (x1.5, +-50% jitter, capped; Retry-After wins when longer) until
 * OTEL_BSP_EXPORT_TIMEOUT is spent, splits a batch that is too big (by our
 * byte cap or the server's 413).  Every span that does not arrive is counted
 * with its reason.  Stopping closes the queue: every thread finishes the
 * batch it holds and the threads drain what is queued, retrying no later
 * than the stop deadline.  The console exporter (--stdout) runs one thread,
 * so that trees do not interleave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grpc.h"
#include "otlp.h"

struct worker {
	pthread_t thread;
	struct exporter *e;
	struct http *http;
	struct grpc *grpc;	/* instead of http for OTLP/gRPC */
	struct encoder enc;
	struct span **batch;
	unsigned int seed;
};

struct exporter {
	const struct config *c;
	struct queue *q;
	atomic_ullong stop_deadline;	/* mono ms; 0 while running */
	size_t nr_workers, started;
	struct worker workers[];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void drop(atomic_ullong *counter, size_t n, const char *why)
{
	atomic_fetch_add(counter, n);
	log_msg("dropped %zu spans: %s", n, why);
}

/* Sleep @ms unless that passes @deadline; false when it would. */
static bool backoff_sleep(uint64_t ms, uint64_t deadline)
{
	struct timespec ts;

	if (now_ms() + ms > deadline)
		return false;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts))
		;
	return true;
}

static uint64_t deadline_of(struct exporter *e, uint64_t batch_deadline)
{
	uint64_t stop = atomic_load(&e->stop_deadline);

	return stop && stop < batch_deadline ? stop : batch_deadline;
}

static void send_batch(struct worker *w, struct span *const *spans,
		       size_t n, uint64_t batch_deadline)
{
	const struct config *c = w->e->c;
	uint64_t backoff = c->retry_initial_ms, deadline, now, wait;
	long retry_after;
	char why[256];
	int ret;

	ret = encoder_run(&w->enc, spans, n);
	if (ret == 1 && n > 1)
		goto split;
	if (ret) {
		drop(ret == 1 ? &stats.dropped_too_big :
		     &stats.dropped_export_failed, n,
		     ret == 1 ? "span larger than --max-request-bytes" :
		     "out of memory encoding");
		return;
	}
	for (;;) {
		deadline = deadline_of(w->e, batch_deadline);
		now = now_ms();
		if (now >= deadline) {
			drop(&stats.dropped_export_failed, n,
			     "export timeout spent");
			return;
		}
		wait = deadline - now;
		if (wait > (uint64_t)c->timeout_ms)
			wait = c->timeout_ms;
		partial_set_sent(n);
		switch (w->grpc ?
			grpc_post(w->grpc, w->enc.body, w->enc.len, wait,
				  &retry_after, why, sizeof(why)) :
			http_post(w->http, w->enc.body, w->enc.len, wait,
				  &retry_after, why, sizeof(why))) {
		case SEND_OK:
			atomic_fetch_add(&stats.spans_exported, n);
			log_debug("exported %zu spans (%zu bytes)", n,
				  w->enc.len);
			return;
		case SEND_TOO_BIG:
			if (n > 1)
				goto split;
			drop(&stats.dropped_too_big, n, "HTTP 413 for one span");
			return;
		case SEND_FAIL:
			drop(&stats.dropped_export_failed, n, why);
			return;
		case SEND_RETRY:
			break;
		}
		/* jitter: a uniform factor in [0.5, 1.5) */
		wait = backoff / 2 + (uint64_t)rand_r(&w->seed) % (backoff + 1);
		if (retry_after >= 0 && (uint64_t)retry_after > wait)
			wait = retry_after;
		log_msg("export failed (%s), retrying in %llu ms", why,
			(unsigned long long)wait);
		if (!backoff_sleep(wait, deadline_of(w->e, batch_deadline))) {
			drop(&stats.dropped_export_failed, n,
			     "retries would outlast the export timeout");
			return;
		}
		atomic_fetch_add(&stats.export_retries, 1);
		backoff = backoff * 3 / 2;
		if (backoff > (uint64_t)c->retry_max_ms)
			backoff = c->retry_max_ms;
	}
split:	/* each half encodes into the same buffers: this body is done */
	send_batch(w, spans, n / 2, batch_deadline);
	send_batch(w, spans + n / 2, n - n / 2, batch_deadline);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct config *c = w->e->c;
	size_t n;

	while ((n = queue_pop_batch(w->e->q, w->batch))) {
		if (c->console) {
			console_print(stdout, w->batch, n);
			fflush(stdout);
			atomic_fetch_add(&stats.spans_exported, n);
		} else {
			send_batch(w, w->batch, n,
				   now_ms() + c->export_timeout_ms);
			encoder_trim(&w->enc);
		}
		span_free_batch(w->batch, n);
	}
	return NULL;
}

static void worker_free(struct worker *w)
{
	http_free(w->http);
	grpc_free(w->grpc);
	encoder_free(&w->enc);
	free(w->batch);
}

static int worker_init(struct exporter *e, struct worker *w,
		       const struct resource *r, size_t i)
{
	w->e = e;
	w->seed = (unsigned int)now_ms() ^ (unsigned int)getpid() ^
		  (unsigned int)(i * 0x9e3779b9u);
	encoder_init(&w->enc, e->c, r);
	w->batch = calloc(e->c->max_batch, sizeof(*w->batch));
	if (!w->batch)
		return -1;
	if (!e->c->console && e->c->protocol == PROTO_GRPC) {
		w->grpc = grpc_new(e->c);
		if (!w->grpc)
			return -1;
	} else if (!e->c->console) {
		w->http = http_new(e->c);
		if (!w->http)
			return -1;
	}
	return 0;
}

struct exporter *exporter_start(const struct config *c,
				const struct resource *r, struct queue *q)
{
	size_t n = c->console ? 1 : (size_t)c->exporters, i;
	struct exporter *e;
	int err = 0;

	e = calloc(1, sizeof(*e) + (n ? n : 1) * sizeof(e->workers[0]));
	if (!e)
		return NULL;
	e->c = c;
	e->q = q;
	e->nr_workers = n ? n : 1;
	for (i = 0; i < e->nr_workers; i++) {
		err = worker_init(e, &e->workers[i], r, i) ? ENOMEM :
		      pthread_create(&e->workers[i].thread, NULL, run,
				     &e->workers[i]);
		if (err) {
			worker_free(&e->workers[i]);
			break;
		}
		e->started++;
	}
	if (e->started < e->nr_workers) {
		log_msg("exporter: cannot start thread %zu of %zu: %s",
			e->started + 1, e->nr_workers, strerror(err));
		exporter_stop(e);
		return NULL;
	}
	return e;
}

void exporter_stop(struct exporter *e)
{
	size_t i;

	if (!e)
		return;
	atomic_store(&e->stop_deadline, now_ms() + e->c->export_timeout_ms);
	queue_close(e->q);
	for (i = 0; i < e->started; i++) {
		pthread_join(e->workers[i].thread, NULL);
		worker_free(&e->workers[i]);
	}
	free(e);
}
