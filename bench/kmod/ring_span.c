// SPDX-License-Identifier: GPL-2.0
/*
 * The ring span case: the bench span (begin, two int64 attributes, end)
 * reduced to what any span API called out of line must do to write its
 * record into oteltrace's ring, and nothing else.
 *
 *  - begin and end are calls into functions that start a page each, as
 *    oteltrace's two hot functions do (kmod/kspan.c explains why that
 *    matters under QEMU's TCG); begin fills the handle and reads the clock;
 *  - the two attributes are stored into the handle inline, as
 *    otel_kspan_set_int() stores a literal key's;
 *  - end reserves a record of the bench span's size (184 bytes) through
 *    the ring writer, which reads the clock for its time (the span's end),
 *    copies the handle's image, the name, the scope and the attributes into
 *    it, and commits.
 *
 * No context or chain of current spans, no ids, no sampling, no check of
 * the handle, no COMM, no trace event.  kspan_vs_ring_span is what those
 * cost; ring_span_vs_floor and ring_span_vs_trace_event_pair are the least
 * a span writing this record can cost here.  The writer it calls is
 * oteltrace.ko's exported one, so each end makes two calls more than the
 * span's inline writer does: the least cost is a little below this case's.
 */
#include <linux/align.h>
#include <linux/compiler.h>
#include <linux/string.h>
#include <linux/ktime.h>

#include <kmod/compat.h>
#include <kmod/ring.h>

#include "otel_bench.h"

#define RS_NAME		"otel_bench.span"
#define RS_SCOPE	"otel_bench"
#define RS_KEY_BYTES	8	/* "bench.a" and its NUL, one word */
#define RS_ATTR_BYTES	(sizeof(struct otel_attr_entry) + RS_KEY_BYTES)
#define RS_IMAGE_WORDS	11	/* from the header's span_id: 88 bytes */
#define RS_FIXED	(offsetof(struct otel_rec_hdr, span_id) + \
			 RS_IMAGE_WORDS * 8)
#define RS_STRINGS	ALIGN(RS_FIXED + sizeof(RS_NAME) - 1 + \
			      sizeof(RS_SCOPE) - 1, 8)
#define RS_SIZE		(RS_STRINGS + 2 * RS_ATTR_BYTES)

/* The handle: the record's image, the name, the inline attributes. */
struct ring_span {
	u64		image[RS_IMAGE_WORDS];
	const char	*name;
	u32		used;
	u8		ibuf[2 * RS_ATTR_BYTES] __aligned(8);
};

#define RS_HOT(name)							\
	__attribute__((__section__(".text.otel_bench_" name),		\
		       __aligned__(PAGE_SIZE)))

static noinline notrace void rs_begin(struct ring_span *s, const char *name)
	RS_HOT("rs_begin");
static noinline notrace void rs_end(struct ring_span *s) RS_HOT("rs_end");

static noinline notrace void rs_begin(struct ring_span *s, const char *name)
{
	/* word stores written out, as in rs_end() */
	s->image[0] = 0;
	s->image[1] = 0;
	s->image[2] = 0;
	s->image[3] = 0;
	s->image[5] = 0;
	s->image[6] = 0;
	s->image[7] = 0;
	s->image[8] = 0;
	s->image[9] = 0;
	s->image[10] = 0;
	s->name = name;
	s->used = 0;
	s->image[4] = ktime_get_mono_fast_ns();	/* where start_ns is */
}

/* One int64 attribute with a one-word key, as the inline fast path. */
static __always_inline void rs_set_int(struct ring_span *s, u64 key, s64 v)
{
	struct otel_attr_entry *e = (struct otel_attr_entry *)(s->ibuf +
							       s->used);

	e->value_type = OTEL_ATTR_INT;
	e->entry_flags = 0;
	e->key_len = RS_KEY_BYTES - 1;
	e->value_len = 0;
	e->size = RS_ATTR_BYTES;
	e->value = v;
	*(u64 *)(e + 1) = key;
	s->used += RS_ATTR_BYTES;
}

static noinline notrace void rs_end(struct ring_span *s)
{
	struct otel_rec_hdr *r = otel_ring_reserve(OTEL_REC_RAW, RS_SIZE);
	const u64 *src;
	u64 *d;
	u8 *p;

	if (!r)
		return;
	/*
	 * Word copies written out, as oteltrace's are: a memcpy() of a
	 * constant size may become a rep-prefixed string instruction, which
	 * TCG runs an element at a time.
	 */
	d = (u64 *)r->span_id;
	d[0] = s->image[0];
	d[1] = s->image[1];
	d[2] = s->image[2];
	d[3] = s->image[3];
	d[4] = s->image[4];
	d[5] = s->image[5];
	d[6] = s->image[6];
	d[7] = s->image[7];
	d[8] = s->image[8];
	d[9] = s->image[9];
	d[10] = s->image[10];
	p = (u8 *)r + RS_FIXED;
	*(u64 *)((u8 *)r + RS_STRINGS - 8) = 0;
	/* the name and the scope: whole words, the last overlapping */
	put_unaligned(get_unaligned((const u64 *)s->name), (u64 *)p);
	put_unaligned(get_unaligned((const u64 *)(s->name + 7)),
		      (u64 *)(p + 7));
	p += sizeof(RS_NAME) - 1;
	put_unaligned(get_unaligned((const u64 *)RS_SCOPE), (u64 *)p);
	put_unaligned(get_unaligned((const u64 *)(RS_SCOPE + 2)),
		      (u64 *)(p + 2));
	d = (u64 *)((u8 *)r + RS_STRINGS);
	src = (const u64 *)s->ibuf;
	d[0] = src[0];
	d[1] = src[1];
	d[2] = src[2];
	d[3] = src[3];
	d[4] = src[4];
	d[5] = src[5];
	otel_ring_commit(r);
}

static void ring_span_run(u64 seq, u32 n)
{
	/* the keys as the inline path stores them: one constant word each */
	u64 key_a, key_b;
	/*
	 * One handle for the batch: declared in the loop, it would be cleared
	 * on every span where the kernel zeroes stack variables
	 * (CONFIG_INIT_STACK_ALL_ZERO), as DEFINE_OTEL_KSPAN()'s is not.
	 */
	struct ring_span s;
	u32 i;

	BUILD_BUG_ON(RS_SIZE != 184 || sizeof(((struct ring_span *)0)->ibuf) != 48);
	memcpy(&key_a, "bench.a", RS_KEY_BYTES);
	memcpy(&key_b, "bench.b", RS_KEY_BYTES);
	for (i = 0; i < n; i++) {
		rs_begin(&s, RS_NAME);
		rs_set_int(&s, key_a, seq + i);
		rs_set_int(&s, key_b, -(s64)(seq + i));
		rs_end(&s);
	}
}

const struct otel_bench_case otel_bench_ring_span = {
	.name	= "ring_span",
	.run	= ring_span_run,
};
