// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: the relay floor, the least any relay can do that moves the spans
 * out of the machine over TCP.  The mmap reader (drain.c) hands it every
 * SPAN record; it copies each into a 64 KiB buffer, a sender thread writes
 * full buffers to a TCP connection on the guest's loopback, and a sink
 * thread reads them and throws them away, as oteld's reader, exporter
 * threads and its null receiver do, with none of oteld's decoding,
 * encoding, HTTP or answers.  The bytes sent are the records themselves
 * (184 for the bench span), fewer than the span's OTLP (about 230).
 *
 * When every buffer is waiting to be sent, the reader leaves the record in
 * its ring and waits for a buffer, as oteld leaves records in the rings
 * while its export queue is full: the rings drop (and count) what does not
 * fit, and no CPU goes into reading spans only to drop them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kbench.h"

#define RELAY_BUF_BYTES	(64 * 1024)
#define RELAY_BUFS	16

/* Any record fits a buffer: its size is a 16-bit field. */
_Static_assert(RELAY_BUF_BYTES > UINT16_MAX, "a record must fit a buffer");

struct relay_buf {
	size_t len;
	uint64_t spans;
	uint8_t data[RELAY_BUF_BYTES];
};

struct kb_relay {
	pthread_t sender, sink;
	int lfd, out, in;		/* listening, sending, receiving */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct relay_buf *bufs[RELAY_BUFS];	/* free: [0, nfree) */
	size_t nfree;
	struct relay_buf *queue[RELAY_BUFS];	/* to send, in order */
	size_t qhead, qlen;
	bool stop;
	struct relay_buf *cur;		/* the reader's */
	uint64_t sent_spans, sent_bytes; /* sender's */
	int send_err;
	uint64_t received;		/* sink's */
	int recv_err;
};

/* Write all @len bytes at @p; 0 or an errno. */
static int send_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

static void *sender_main(void *arg)
{
	struct kb_relay *r = arg;
	struct relay_buf *b;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->qlen && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (!r->qlen)
			break;
		b = r->queue[r->qhead];
		r->qhead = (r->qhead + 1) % RELAY_BUFS;
		r->qlen--;
		pthread_mutex_unlock(&r->lock);
		if (!r->send_err)
			r->send_err = send_all(r->out, b->data, b->len);
		if (!r->send_err) {
			r->sent_spans += b->spans;
			r->sent_bytes += b->len;
		}
		pthread_mutex_lock(&r->lock);
		r->bufs[r->nfree++] = b;
		pthread_cond_broadcast(&r->cond);	/* a reader may wait */
	}
	pthread_mutex_unlock(&r->lock);
	shutdown(r->out, SHUT_WR);	/* the sink reads to the end */
	return NULL;
}

static void *sink_main(void *arg)
{
	struct kb_relay *r = arg;
	uint8_t buf[RELAY_BUF_BYTES];
	ssize_t n;

	for (;;) {
		n = read(r->in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				r->recv_err = errno;
				/*
				 * A sender blocked on a full window gets no
				 * reset from a shut-down reader: shut its
				 * own side, so that send() fails now.
				 */
				shutdown(r->out, SHUT_RDWR);
			}
			break;
		}
		r->received += n;
	}
	return NULL;
}

/* A connected pair of TCP sockets on 127.0.0.1; 0 or an errno. */
static int connect_pair(struct kb_relay *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int one = 1;

	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(r->lfd, 1) ||
	    getsockname(r->lfd, (struct sockaddr *)&a, &alen))
		return errno;
	r->out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->out < 0 || connect(r->out, (struct sockaddr *)&a, sizeof(a)))
		return errno;
	/* as libcurl sets it: a request goes out as soon as it is written */
	setsockopt(r->out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->in = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	return r->in < 0 ? errno : 0;
}

static void relay_free(struct kb_relay *r)
{
	size_t i;

	for (i = 0; i < r->nfree; i++)
		free(r->bufs[i]);
	free(r->cur);
	if (r->in >= 0)
		close(r->in);
	if (r->out >= 0)
		close(r->out);
	if (r->lfd >= 0)
		close(r->lfd);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

struct kb_relay *kb_relay_start(char *err, size_t errlen)
{
	struct kb_relay *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "relay: out of memory");
		return NULL;
	}
	r->lfd = r->out = r->in = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	for (; r->nfree < RELAY_BUFS; r->nfree++) {
		r->bufs[r->nfree] = malloc(sizeof(struct relay_buf));
		if (!r->bufs[r->nfree]) {
			snprintf(err, errlen, "relay: out of memory");
			goto fail;
		}
	}
	ret = connect_pair(r);
	if (ret) {
		snprintf(err, errlen, "relay: loopback TCP: %s", strerror(ret));
		goto fail;
	}
	ret = pthread_create(&r->sink, NULL, sink_main, r);
	if (ret) {
		snprintf(err, errlen, "relay: %s", strerror(ret));
		goto fail;
	}
	ret = pthread_create(&r->sender, NULL, sender_main, r);
	if (ret) {
		snprintf(err, errlen, "relay: %s", strerror(ret));
		shutdown(r->in, SHUT_RDWR);
		pthread_join(r->sink, NULL);
		goto fail;
	}
	return r;
fail:
	relay_free(r);
	return NULL;
}

/* Queue the reader's buffer for the sender (lock held). */
static void queue_cur(struct kb_relay *r)
{
	r->queue[(r->qhead + r->qlen) % RELAY_BUFS] = r->cur;
	r->qlen++;
	r->cur = NULL;
	pthread_cond_broadcast(&r->cond);
}

bool kb_relay_put(struct kb_relay *r, const void *rec, size_t size)
{
	if (r->cur && r->cur->len + size > RELAY_BUF_BYTES) {
		pthread_mutex_lock(&r->lock);
		queue_cur(r);
		pthread_mutex_unlock(&r->lock);
	}
	if (!r->cur) {
		pthread_mutex_lock(&r->lock);
		if (r->nfree)
			r->cur = r->bufs[--r->nfree];
		pthread_mutex_unlock(&r->lock);
		if (!r->cur)
			return false;	/* every buffer waits for the sender */
		r->cur->len = 0;
		r->cur->spans = 0;
	}
	memcpy(r->cur->data + r->cur->len, rec, size);
	r->cur->len += size;
	r->cur->spans++;
	return true;
}

void kb_relay_wait(struct kb_relay *r, unsigned int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)ms * 1000000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	pthread_mutex_lock(&r->lock);
	while (!r->nfree &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&r->lock);
}

int kb_relay_stop(struct kb_relay *r, uint64_t *spans, char *err,
		  size_t errlen)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (r->cur && r->cur->len)
		queue_cur(r);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->sender, NULL);
	pthread_join(r->sink, NULL);
	*spans = r->sent_spans;
	if (r->send_err || r->recv_err) {
		snprintf(err, errlen, "relay: %s: %s",
			 r->send_err ? "send" : "receive",
			 strerror(r->send_err ? r->send_err : r->recv_err));
		ret = -EIO;
	} else if (r->received != r->sent_bytes) {
		snprintf(err, errlen, "relay: sent %llu bytes, the sink read %llu",
			 (unsigned long long)r->sent_bytes,
			 (unsigned long long)r->received);
		ret = -EIO;
	}
	relay_free(r);
	return ret;
}
