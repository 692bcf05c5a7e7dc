// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter thread: takes batches off the queue, encodes them (protobuf
 * or JSON, gzip), sends them, retries retryable failures with exponential
 * backoff (x1.5, +-50% jitter, capped; Retry-After wins when longer) until
 * OTEL_BSP_EXPORT_TIMEOUT is spent, splits a batch that is too big (by our
 * byte cap or the server's 413).  Every span that does not arrive is counted
 * with its reason.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "oteld.h"

struct exporter {
	pthread_t thread;
	const struct config *c;
	const struct resource *r;
	struct queue *q;
	struct http *http;
	unsigned int seed;
	atomic_ullong stop_deadline;	/* mono ms; 0 while running */
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

static int encode(struct exporter *e, struct span *const *spans, size_t n,
		  struct buf *out)
{
	struct buf raw = { 0 };
	int ret;

	ret = e->c->protocol == PROTO_HTTP_JSON ?
	      otlp_json_encode(spans, n, e->r, &raw) :
	      otlp_proto_encode(spans, n, e->r, &raw);
	if (!ret && raw.len > (size_t)e->c->max_request_bytes) {
		buf_free(&raw);
		return 1;
	}
	if (!ret && e->c->gzip) {
		ret = gzip_buf(raw.data, raw.len, out);
		buf_free(&raw);
	} else {
		*out = raw;
	}
	return ret;
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

static void send_batch(struct exporter *e, struct span *const *spans,
		       size_t n, uint64_t batch_deadline)
{
	uint64_t backoff = e->c->retry_initial_ms, deadline, now, wait;
	struct buf body = { 0 };
	long retry_after;
	char why[256];
	int ret;

	ret = encode(e, spans, n, &body);
	if (ret == 1 && n > 1)
		goto split;
	if (ret) {
		drop(ret == 1 ? &stats.dropped_too_big :
		     &stats.dropped_export_failed, n,
		     ret == 1 ? "span larger than --max-request-bytes" :
		     "out of memory encoding");
		goto out;
	}
	for (;;) {
		deadline = deadline_of(e, batch_deadline);
		now = now_ms();
		if (now >= deadline) {
			drop(&stats.dropped_export_failed, n,
			     "export timeout spent");
			goto out;
		}
		wait = deadline - now;
		if (wait > (uint64_t)e->c->timeout_ms)
			wait = e->c->timeout_ms;
		switch (http_post(e->http, body.data, body.len, wait,
				  &retry_after, why, sizeof(why))) {
		case SEND_OK:
			atomic_fetch_add(&stats.spans_exported, n);
			log_debug("exported %zu spans (%zu bytes)", n,
				  body.len);
			goto out;
		case SEND_TOO_BIG:
			if (n > 1)
				goto split;
			drop(&stats.dropped_too_big, n, "HTTP 413 for one span");
			goto out;
		case SEND_FAIL:
			drop(&stats.dropped_export_failed, n, why);
			goto out;
		case SEND_RETRY:
			break;
		}
		/* jitter: a uniform factor in [0.5, 1.5) */
		wait = backoff / 2 + (uint64_t)rand_r(&e->seed) % (backoff + 1);
		if (retry_after >= 0 && (uint64_t)retry_after > wait)
			wait = retry_after;
		log_msg("export failed (%s), retrying in %llu ms", why,
			(unsigned long long)wait);
		if (!backoff_sleep(wait, deadline_of(e, batch_deadline))) {
			drop(&stats.dropped_export_failed, n,
			     "retries would outlast the export timeout");
			goto out;
		}
		atomic_fetch_add(&stats.export_retries, 1);
		backoff = backoff * 3 / 2;
		if (backoff > (uint64_t)e->c->retry_max_ms)
			backoff = e->c->retry_max_ms;
	}
split:
	buf_free(&body);
	send_batch(e, spans, n / 2, batch_deadline);
	send_batch(e, spans + n / 2, n - n / 2, batch_deadline);
	return;
out:
	buf_free(&body);
}

static void export_batch(struct exporter *e, struct span **arr, size_t n)
{
	if (e->c->console) {
		console_print(stdout, arr, n);
		fflush(stdout);
		atomic_fetch_add(&stats.spans_exported, n);
		return;
	}
	send_batch(e, arr, n, now_ms() + e->c->export_timeout_ms);
}

static void *run(void *arg)
{
	struct exporter *e = arg;
	struct span **arr = calloc(e->c->max_batch, sizeof(*arr));
	struct span *list, *s;
	size_t n, i;

	if (!arr) {
		log_msg("exporter: out of memory");
		return NULL;
	}
	for (;;) {
		list = queue_pop_batch(e->q, e->c->max_batch,
				       e->c->schedule_delay_ms, &n);
		if (!list) {
			if (queue_closed(e->q))
				break;
			continue;
		}
		for (i = 0, s = list; s && i < n; s = s->next)
			arr[i++] = s;
		export_batch(e, arr, i);
		for (s = list; s; s = list) {
			list = s->next;
			span_free(s);
		}
	}
	free(arr);
	return NULL;
}

struct exporter *exporter_start(const struct config *c,
				const struct resource *r, struct queue *q)
{
	struct exporter *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->c = c;
	e->r = r;
	e->q = q;
	e->seed = (unsigned int)now_ms() ^ (unsigned int)getpid();
	if (!c->console) {
		e->http = http_new(c);
		if (!e->http)
			goto err;
	}
	if (pthread_create(&e->thread, NULL, run, e))
		goto err;
	return e;
err:
	http_free(e->http);
	free(e);
	return NULL;
}

void exporter_stop(struct exporter *e)
{
	if (!e)
		return;
	atomic_store(&e->stop_deadline, now_ms() + e->c->export_timeout_ms);
	queue_close(e->q);
	pthread_join(e->thread, NULL);
	http_free(e->http);
	free(e);
}
