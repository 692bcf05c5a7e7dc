// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter with --queue-dir: the queue between batching and sending is
 * on disk (spool.c), as in the Collector's persistent sending queue.
 *
 *   queue.c --batches--> 2 writer threads --encode, spool_put()--> DIR
 *   DIR --spool_take(), oldest first--> --exporters sender threads --> OTLP
 *
 * The writers (two, so that one waiting for fsync() does not stop the
 * other) encode each batch as soon as the queue gives it (byte cap: halves,
 * as export.c does) and write it; the spans are then freed: what oteld
 * holds in memory is only what is not batched yet.  The senders
 * send files (gzip when asked) and remove each once the collector took it,
 * or refused it for good (counted); a retryable failure is retried with
 * backoff (x1.5, +-50% jitter, Retry-After) for as long as it takes: the
 * export timeout drops nothing here, the disk bound does.
 *
 * Stopping (SIGTERM, end of input): the writers write what the queue still
 * holds; the senders go on sending while the collector takes requests, up
 * to OTEL_BSP_EXPORT_TIMEOUT after the stop, and stop at the first failure
 * (no backoff): what is not sent stays in DIR for the next oteld.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "grpc.h"
#include "otlp.h"
#include "spool.h"
#include "spool_export.h"

struct sender {
	pthread_t thread;
	struct spool_exporter *x;
	struct http *http;
	struct grpc *grpc;	/* instead of http for OTLP/gRPC */
	struct spool_item it;
	struct buf gz;
	unsigned int seed;
};

#define SPOOL_WRITERS	2

struct writer {
	pthread_t thread;
	struct spool_exporter *x;
	struct encoder enc;
	struct span **batch;
	bool started;
};

struct spool_exporter {
	const struct config *c;
	struct config enc_cfg;	/* c, but files hold requests not gzipped */
	struct queue *q;
	struct spool *s;
	struct writer writers[SPOOL_WRITERS];
	atomic_ullong stop_deadline;	/* mono ms; 0 while running */
	size_t nr_senders, started;
	struct sender senders[];
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

/* One batch into files: halved until each part fits the byte cap. */
static void write_batch(struct writer *wr, struct span *const *spans,
			size_t n)
{
	struct spool_exporter *x = wr->x;
	int ret = encoder_run(&wr->enc, spans, n);

	if (ret == 1 && n > 1) {
		write_batch(wr, spans, n / 2);
		write_batch(wr, spans + n / 2, n - n / 2);
		return;
	}
	if (ret) {
		drop(ret == 1 ? &stats.dropped_too_big :
		     &stats.dropped_export_failed, n, ret == 1 ?
		     "span larger than --max-request-bytes" :
		     "out of memory encoding");
		return;
	}
	spool_put(x->s, x->c->protocol == PROTO_HTTP_JSON ? SPOOL_JSON :
		  SPOOL_PROTOBUF, (uint32_t)n, wr->enc.body, wr->enc.len);
}

static void *writer_run(void *arg)
{
	struct writer *wr = arg;
	size_t n;

	while ((n = queue_pop_batch(wr->x->q, wr->batch))) {
		write_batch(wr, wr->batch, n);
		encoder_trim(&wr->enc);
		span_free_batch(wr->batch, n);
	}
	return NULL;
}

static enum send_result post(struct sender *w, const void *body, size_t len,
			     long timeout_ms, long *retry_after, char *why,
			     size_t whylen)
{
	return w->grpc ?
	       grpc_post(w->grpc, body, len, timeout_ms, retry_after, why,
			 whylen) :
	       http_post(w->http, body, len, timeout_ms, retry_after, why,
			 whylen);
}

/*
 * Send the file in w->it: true when done with it (delivered, or dropped
 * and counted), false to keep it (stopping, or the stop's time is up).
 */
static bool deliver(struct sender *w)
{
	const struct config *c = w->x->c;
	struct spool_item *it = &w->it;
	uint64_t backoff = c->retry_initial_ms, deadline, now, wait;
	const void *body = it->body.data;
	size_t len = it->body.len;
	long retry_after, timeout;
	char why[256];

	if ((it->encoding == SPOOL_JSON) != (c->protocol == PROTO_HTTP_JSON)) {
		drop(&stats.dropped_export_failed, it->nr_spans,
		     it->encoding == SPOOL_JSON ?
		     "queued as OTLP/JSON, which this --protocol cannot send" :
		     "queued as protobuf, which http/json cannot send");
		return true;
	}
	if (c->gzip) {
		w->gz.len = 0;
		if (gzip_buf(body, len, &w->gz)) {
			drop(&stats.dropped_export_failed, it->nr_spans,
			     "out of memory compressing");
			return true;
		}
		body = w->gz.data;
		len = w->gz.len;
	}
	for (;;) {
		timeout = c->timeout_ms;
		deadline = atomic_load(&w->x->stop_deadline);
		if (deadline) {
			now = now_ms();
			if (now >= deadline)
				return false;
			if (deadline - now < (uint64_t)timeout)
				timeout = (long)(deadline - now);
		}
		partial_set_sent(it->nr_spans);
		switch (post(w, body, len, timeout, &retry_after, why,
			     sizeof(why))) {
		case SEND_OK:
			atomic_fetch_add(&stats.spans_exported, it->nr_spans);
			log_debug("exported %u queued spans (%zu bytes)",
				  it->nr_spans, len);
			return true;
		case SEND_TOO_BIG:
			drop(&stats.dropped_too_big, it->nr_spans,
			     "HTTP 413 for a queued request (lower "
			     "--max-request-bytes)");
			return true;
		case SEND_FAIL:
			drop(&stats.dropped_export_failed, it->nr_spans, why);
			return true;
		case SEND_RETRY:
			break;
		}
		if (spool_stopping(w->x->s)) {
			log_msg("export failed (%s)", why);
			return false;
		}
		/* jitter: a uniform factor in [0.5, 1.5) */
		wait = backoff / 2 + (uint64_t)rand_r(&w->seed) % (backoff + 1);
		if (retry_after >= 0 && (uint64_t)retry_after > wait)
			wait = retry_after;
		log_msg("export failed (%s), retrying in %llu ms", why,
			(unsigned long long)wait);
		if (!spool_sleep(w->x->s, wait))
			return false;
		atomic_fetch_add(&stats.export_retries, 1);
		backoff = backoff * 3 / 2;
		if (backoff > (uint64_t)c->retry_max_ms)
			backoff = c->retry_max_ms;
	}
}

static void *sender_run(void *arg)
{
	struct sender *w = arg;
	struct spool *s = w->x->s;

	while (spool_take(s, &w->it)) {
		if (deliver(w)) {
			spool_done(s, &w->it);
		} else {
			log_msg("stopping: %u spans stay in the queue dir for "
				"the next oteld", w->it.nr_spans);
			spool_keep(s, &w->it);
			break;		/* the rest stays too */
		}
		/* what one huge request grew is given back */
		if (w->it.body.cap > ENCODER_KEEP_BYTES)
			buf_free(&w->it.body);
		if (w->gz.cap > ENCODER_KEEP_BYTES)
			buf_free(&w->gz);
	}
	return NULL;
}

static void sender_free(struct sender *w)
{
	http_free(w->http);
	grpc_free(w->grpc);
	buf_free(&w->it.body);
	buf_free(&w->gz);
}

static int sender_init(struct spool_exporter *x, struct sender *w, size_t i)
{
	w->x = x;
	w->seed = (unsigned int)now_ms() ^ (unsigned int)getpid() ^
		  (unsigned int)(i * 0x9e3779b9u);
	if (x->c->protocol == PROTO_GRPC)
		w->grpc = grpc_new(x->c);
	else
		w->http = http_new(x->c);
	return w->grpc || w->http ? 0 : -1;
}

struct spool_exporter *spool_exporter_start(const struct config *c,
					    const struct resource *r,
					    struct queue *q, bool *dir_failed)
{
	size_t n = (size_t)c->exporters, i;
	struct spool_exporter *x;
	char why[256];

	x = calloc(1, sizeof(*x) + n * sizeof(x->senders[0]));
	if (!x)
		return NULL;
	x->c = c;
	x->q = q;
	x->enc_cfg = *c;
	x->enc_cfg.gzip = false;
	x->s = spool_open(c->queue_dir, c->queue_max_bytes, c->queue_sync,
			  why, sizeof(why));
	if (!x->s) {
		log_msg("--queue-dir %s: %s", c->queue_dir, why);
		*dir_failed = true;
		goto err;
	}
	for (i = 0; i < SPOOL_WRITERS; i++) {
		struct writer *wr = &x->writers[i];

		wr->x = x;
		encoder_init(&wr->enc, &x->enc_cfg, r);
		wr->batch = calloc(c->max_batch_deep, sizeof(*wr->batch));
		if (!wr->batch ||
		    pthread_create(&wr->thread, NULL, writer_run, wr))
			goto err;
		wr->started = true;
	}
	x->nr_senders = n;
	for (i = 0; i < n; i++) {
		if (sender_init(x, &x->senders[i], i) ||
		    pthread_create(&x->senders[i].thread, NULL, sender_run,
				   &x->senders[i])) {
			sender_free(&x->senders[i]);
			log_msg("exporter: cannot start thread %zu of %zu",
				i + 1, n);
			goto err;
		}
		x->started++;
	}
	return x;
err:
	spool_exporter_stop(x);
	return NULL;
}

void spool_exporter_stop(struct spool_exporter *x)
{
	size_t i;

	if (!x)
		return;
	atomic_store(&x->stop_deadline, now_ms() + x->c->export_timeout_ms);
	if (x->s)
		spool_interrupt(x->s);
	/* the writers write what is queued, then the queue ends */
	queue_close(x->q);
	for (i = 0; i < SPOOL_WRITERS; i++) {
		if (x->writers[i].started)
			pthread_join(x->writers[i].thread, NULL);
		encoder_free(&x->writers[i].enc);
		free(x->writers[i].batch);
	}
	if (x->s)
		spool_seal(x->s);
	for (i = 0; i < x->started; i++) {
		pthread_join(x->senders[i].thread, NULL);
		sender_free(&x->senders[i]);
	}
	spool_close(x->s);
	free(x);
}
