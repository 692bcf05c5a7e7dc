// SPDX-License-Identifier: GPL-2.0
/*
 * The request bodies of one exporter thread: a batch encoded as OTLP
 * protobuf (otlp_wire.c) or JSON (otlp_json.c), held to
 * --max-request-bytes before compression, gzipped when asked.
 *
 * The buffers and the deflate state stay from one batch to the next, so the
 * steady state allocates nothing per batch.  One that a huge batch grew past
 * ENCODER_KEEP_BYTES is released after that batch (encoder_trim()), so what
 * a burst took is given back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"

void encoder_init(struct encoder *e, const struct config *c,
		  const struct resource *r)
{
	memset(e, 0, sizeof(*e));
	e->c = c;
	e->r = r;
	encoder_set_limit(e, c->max_request_bytes);
}

void encoder_set_limit(struct encoder *e, size_t limit)
{
	e->limit = limit;
	e->wire.limit = limit;
}

/* Bytes of the uncompressed request of @spans, or 0 (out of memory). */
static size_t raw_size(struct encoder *e, struct span *const *spans,
		       size_t n)
{
	size_t limit = e->limit, len = 0;

	encoder_set_limit(e, 0);
	if (e->c->protocol == PROTO_HTTP_JSON) {
		e->json.len = 0;
		if (!otlp_json_encode(spans, n, e->r, &e->json))
			len = e->json.len;
	} else if (!wire_encode(&e->wire, spans, n, e->r)) {
		len = wire_len(&e->wire);
	}
	encoder_set_limit(e, limit);
	return len;
}

size_t encoder_base_size(struct encoder *e)
{
	/* the lengths around the scopes grow with them: 2 x 4 bytes */
	if (!e->base)
		e->base = raw_size(e, NULL, 0) + 8;
	return e->base;
}

size_t encoder_span_size(struct encoder *e, struct span *s)
{
	size_t one, base;

	if (e->c->protocol != PROTO_HTTP_JSON)
		return wire_span_size(s) + wire_scope_size(s);
	/* its scope's wrapper included, and a comma */
	base = encoder_base_size(e);
	one = raw_size(e, &s, 1);
	return one > base ? one - base + 8 + 1 : SIZE_MAX;
}

static int gzip_init(z_stream *zs)
{
	memset(zs, 0, sizeof(*zs));
	return deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			    Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -1;
}

/* Append @in gzipped to @out with a stream made by gzip_init(). */
static int gzip_with(z_stream *zs, const void *in, size_t len,
		     struct buf *out)
{
	int ret;

	if (deflateReset(zs) != Z_OK ||
	    buf_reserve(out, deflateBound(zs, len)))
		return -1;
	zs->next_in = (Bytef *)in;
	zs->avail_in = len;
	zs->next_out = out->data + out->len;
	zs->avail_out = out->cap - out->len;
	ret = deflate(zs, Z_FINISH);
	if (ret != Z_STREAM_END)
		return -1;
	out->len += zs->total_out;
	return 0;
}

int gzip_buf(const void *in, size_t len, struct buf *out)
{
	z_stream zs;
	int ret;

	if (gzip_init(&zs))
		return -1;
	ret = gzip_with(&zs, in, len, out);
	deflateEnd(&zs);
	return ret;
}

/*
 * Whether the JSON of @spans surely passes the limit: it is never smaller
 * than their protobuf (field names against one-byte tags, hex ids, times
 * in decimal), whose size is cheap to add up.  A batch far too large is
 * then not encoded whole only to be cut.
 */
static bool json_over_limit(struct encoder *e, struct span *const *spans,
			    size_t n)
{
	size_t i, total = 0;

	if (!e->limit)
		return false;
	for (i = 0; i < n && total <= e->limit; i++)
		total += wire_span_size(spans[i]);
	return total > e->limit;
}

int encoder_run(struct encoder *e, struct span *const *spans, size_t n)
{
	const void *raw;
	size_t len;
	int ret;

	if (e->c->protocol == PROTO_HTTP_JSON) {
		if (json_over_limit(e, spans, n))
			return 1;
		e->json.len = 0;
		ret = otlp_json_encode(spans, n, e->r, &e->json);
		if (!ret && e->limit && e->json.len > e->limit)
			ret = 1;
		raw = e->json.data;
		len = e->json.len;
	} else {
		ret = wire_encode(&e->wire, spans, n, e->r);
		raw = wire_body(&e->wire);
		len = wire_len(&e->wire);
	}
	if (ret)
		return ret;
	e->raw_len = len;
	if (e->c->gzip) {
		if (!e->gzip_ready) {
			if (gzip_init(&e->zs))
				return -1;
			e->gzip_ready = true;
		}
		e->gz.len = 0;
		if (gzip_with(&e->zs, raw, len, &e->gz))
			return -1;
		raw = e->gz.data;
		len = e->gz.len;
	}
	e->body = raw;
	e->len = len;
	return 0;
}

size_t encoder_cut(struct encoder *e, struct span *const *spans,
		   size_t *sizes, size_t n, size_t limit)
{
	size_t total = encoder_base_size(e), k;

	for (k = 0; k < n; k++) {
		if (!sizes[k])
			sizes[k] = encoder_span_size(e, spans[k]);
		if (k && (sizes[k] > limit || total > limit - sizes[k]))
			break;
		total = sizes[k] > SIZE_MAX - total ? SIZE_MAX :
			total + sizes[k];
	}
	return k;
}

void encoder_trim(struct encoder *e)
{
	if (e->wire.cap > ENCODER_KEEP_BYTES) {
		free(e->wire.data);
		e->wire.data = NULL;
		e->wire.cap = e->wire.start = 0;
	}
	if (e->json.cap > ENCODER_KEEP_BYTES)
		buf_free(&e->json);
	if (e->gz.cap > ENCODER_KEEP_BYTES)
		buf_free(&e->gz);
	e->body = NULL;
	e->len = 0;
}

void encoder_free(struct encoder *e)
{
	wire_free(&e->wire);
	buf_free(&e->json);
	buf_free(&e->gz);
	if (e->gzip_ready)
		deflateEnd(&e->zs);
	memset(e, 0, sizeof(*e));
}
