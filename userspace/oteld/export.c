// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter: --exporters threads (OTELD_EXPORT_CONCURRENCY, like the
 * Collector's sending_queue num_consumers), each taking batches off the
 * queue and sending them on its own connection, so that many requests are
 * in flight at once and a distant collector's round trip does not cap the
 * rate.  Each thread encodes its batch (protobuf or JSON, gzip) into
 * buffers it keeps, sends it, retries retryable failures with exponential
 * backoff (x1.5, +-50% jitter, capped; Retry-After wins when longer) until
 * OTEL_BSP_EXPORT_TIMEOUT is spent.  A batch larger than the byte cap is
 * cut into requests by the size of each span, measured once, and each
 * request encoded once; a 413 from the server lowers the cap for every
 * thread to half the refused request and cuts what it refused at that.
 * Every span that does not arrive is counted with its reason.  Stopping closes the queue: every thread finishes the
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
	size_t *sizes;		/* each batch span's bytes; 0: not measured */
	unsigned int seed;
};

struct exporter {
	const struct config *c;
	struct queue *q;
	atomic_ullong stop_deadline;	/* mono ms; 0 while running */
	atomic_size_t learned_cap;	/* bytes a 413 allows; 0: none yet */
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

/*
 * Send the body in w->enc, @n spans, retrying as the answers allow until
 * the batch's deadline.  Delivered and failed spans are counted here; a
 * request too large for the endpoint (SEND_TOO_BIG) is the caller's.
 */
static enum send_result post(struct worker *w, size_t n,
			     uint64_t batch_deadline)
{
	const struct config *c = w->e->c;
	uint64_t backoff = c->retry_initial_ms, deadline, now, wait;
	enum send_result r;
	long retry_after;
	char why[256];

	for (;;) {
		deadline = deadline_of(w->e, batch_deadline);
		now = now_ms();
		if (now >= deadline) {
			drop(&stats.dropped_export_failed, n,
			     "export timeout spent");
			return SEND_FAIL;
		}
		wait = deadline - now;
		if (wait > (uint64_t)c->timeout_ms)
			wait = c->timeout_ms;
		partial_set_sent(n);
		r = w->grpc ?
			grpc_post(w->grpc, w->enc.body, w->enc.len, wait,
				  &retry_after, why, sizeof(why)) :
			http_post(w->http, w->enc.body, w->enc.len, wait,
				  &retry_after, why, sizeof(why));
		switch (r) {
		case SEND_OK:
			atomic_fetch_add(&stats.spans_exported, n);
			log_debug("exported %zu spans (%zu bytes)", n,
				  w->enc.len);
			return r;
		case SEND_TOO_BIG:
			return r;
		case SEND_FAIL:
			drop(&stats.dropped_export_failed, n, why);
			return r;
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
			return SEND_FAIL;
		}
		atomic_fetch_add(&stats.export_retries, 1);
		backoff = backoff * 3 / 2;
		if (backoff > (uint64_t)c->retry_max_ms)
			backoff = c->retry_max_ms;
	}
}

/* The bytes a request may have: --max-request-bytes, or what a 413 taught. */
static size_t request_cap(struct exporter *e)
{
	size_t learned = atomic_load(&e->learned_cap);

	return learned && learned < (size_t)e->c->max_request_bytes ?
	       learned : (size_t)e->c->max_request_bytes;
}

/*
 * The endpoint refused a request of @len bytes as too large (HTTP 413):
 * from now on every thread cuts its requests at half of that, so later
 * batches are built small enough instead of being refused in turn.
 */
static void learn_cap(struct exporter *e, size_t len)
{
	size_t want = len / 2, cur = atomic_load(&e->learned_cap);

	while (!cur || want < cur) {
		if (atomic_compare_exchange_weak(&e->learned_cap, &cur, want)) {
			log_msg("the endpoint refused %zu bytes as too large: "
				"requests are cut at %zu bytes from now on (a "
				"lower --max-request-bytes starts there)", len,
				want);
			return;
		}
	}
}

static void send_cut(struct worker *w, struct span **spans, size_t n,
		     uint64_t deadline, bool must_split);

/*
 * One request of @spans: encoded (at most --max-request-bytes) and sent.
 * One the endpoint finds too large is cut smaller; a single span too large
 * is dropped, counted.
 */
static void send_one(struct worker *w, struct span **spans, size_t n,
		     uint64_t deadline)
{
	size_t *size = &w->sizes[spans - w->batch];
	size_t cap = w->e->c->max_request_bytes;
	int ret;

	/*
	 * Measured too large: not even encoded.  The span's size alone (a
	 * lower bound of its request's) decides; with the envelope's, an
	 * upper bound, a span that fits exactly would be dropped.
	 */
	ret = n == 1 && *size != SIZE_MAX && *size > cap;
	encoder_set_limit(&w->enc, cap);
	if (!ret)
		ret = encoder_run(&w->enc, spans, n);
	if (ret < 0) {
		drop(&stats.dropped_export_failed, n, "out of memory encoding");
		return;
	}
	if (!ret) {
		if (post(w, n, deadline) != SEND_TOO_BIG)
			return;
		if (n == 1) {
			drop(&stats.dropped_too_big, 1, "HTTP 413 for one span");
			return;
		}
		learn_cap(w->e, w->enc.raw_len);
	} else if (n == 1) {
		char why[160];

		snprintf(why, sizeof(why), "span larger than "
			 "--max-request-bytes (%zu bytes encoded, %zu at most)",
			 *size, cap);
		drop(&stats.dropped_too_big, 1, why);
		return;
	}
	send_cut(w, spans, n, deadline, true);
}

/*
 * @spans cut into requests of at most request_cap() bytes, by each span's
 * size (measured once: w->sizes), and sent; with @must_split (the whole
 * was too large), in two at least.
 */
static void send_cut(struct worker *w, struct span **spans, size_t n,
		     uint64_t deadline, bool must_split)
{
	size_t *sizes = &w->sizes[spans - w->batch], k;

	while (n) {
		k = encoder_cut(&w->enc, spans, sizes, n, request_cap(w->e));
		if (must_split && k == n && n > 1)
			k = n / 2;
		must_split = false;
		send_one(w, spans, k, deadline);
		spans += k;
		sizes += k;
		n -= k;
	}
}

/*
 * A batch off the queue: one request when it fits (the common case: no
 * span measured), else cut by bytes.  A 413 lowers the cap for good.
 */
static void send_batch(struct worker *w, size_t n, uint64_t deadline)
{
	int ret;

	encoder_set_limit(&w->enc, request_cap(w->e));
	ret = encoder_run(&w->enc, w->batch, n);
	if (ret < 0) {
		drop(&stats.dropped_export_failed, n, "out of memory encoding");
		return;
	}
	memset(w->sizes, 0, n * sizeof(*w->sizes));
	if (!ret) {
		if (post(w, n, deadline) != SEND_TOO_BIG)
			return;
		if (n == 1) {
			drop(&stats.dropped_too_big, 1, "HTTP 413 for one span");
			return;
		}
		learn_cap(w->e, w->enc.raw_len);
	}
	send_cut(w, w->batch, n, deadline, !ret);
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
			send_batch(w, n, now_ms() + c->export_timeout_ms);
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
	free(w->sizes);
}

static int worker_init(struct exporter *e, struct worker *w,
		       const struct resource *r, size_t i)
{
	w->e = e;
	w->seed = (unsigned int)now_ms() ^ (unsigned int)getpid() ^
		  (unsigned int)(i * 0x9e3779b9u);
	encoder_init(&w->enc, e->c, r);
	w->batch = calloc(e->c->max_batch_deep, sizeof(*w->batch));
	w->sizes = calloc(e->c->max_batch_deep, sizeof(*w->sizes));
	if (!w->batch || !w->sizes)
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
