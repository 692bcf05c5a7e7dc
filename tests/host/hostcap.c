// SPDX-License-Identifier: GPL-2.0
/*
 * hostcap: hostile / edge-case capture files for oteld (COMM records and
 * the counts around them), for oteld_captures_test.sh.  Each scenario
 * writes one capture:
 *
 *   hostcap empty-comm FILE   task renamed to "" (prctl(PR_SET_NAME, ""))
 *   hostcap pid-reuse FILE    pid recycled by another process, its COMM in
 *                             the next ring of the same pass
 *   hostcap rename FILE       a rename whose COMM sits in a ring read later
 *   hostcap comm-bad FILE     COMM too small, too large, no NUL, pid 0,
 *                             control bytes, invalid UTF-8
 *   hostcap comm-flood N FILE N COMM records of distinct pids, then spans
 *   hostcap item-drops N FILE one span, N ATTR records with distinct event
 *                             targets and dropped counts
 *   hostcap dropped-max FILE  every dropped count at its maximum
 *   hostcap old-anchor FILE   70 anchors, a span older than the oldest kept
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "synth.h"

#define T0 1000000000ull

static const struct anchor anchor = { T0, 1700000000000000000ull };

static void frame(struct capture *c, struct buf *b)
{
	capture_write(c, CAPTURE_RECORDS, b->data, b->len);
	b->len = 0;
}

static void pass(struct capture *c)
{
	capture_write(c, CAPTURE_PASS, NULL, 0);
}

static void span_init(struct synth_span *s, uint64_t trace, uint64_t id)
{
	memset(s, 0, sizeof(*s));
	synth_id(s->trace_id, sizeof(s->trace_id), trace);
	synth_id(s->span_id, sizeof(s->span_id), id);
}

/* A span begun on CPU @cpu in task @pid, ended (SPAN record) on CPU 0. */
static void task_span_on(struct buf *b, uint64_t id, const char *name,
			 uint32_t pid, uint32_t tgid, uint64_t t, uint16_t cpu)
{
	struct synth_span s;

	span_init(&s, id, id);
	synth_start(&s, t, OTEL_SPAN_KIND_INTERNAL, name, "hostcap", "1");
	s.pid = pid;
	s.tgid = tgid;
	s.begin_cpu = cpu;
	s.begin_context = OTEL_CTX_TASK;
	synth_end(b, &s, 0, t + 100, 0, 0, 0);
}

static void task_span(struct buf *b, uint64_t id, const char *name,
		      uint32_t pid, uint32_t tgid, uint64_t t)
{
	task_span_on(b, id, name, pid, tgid, t, 0);
}

/* A COMM record of any size, comm bytes as given (16, no NUL added). */
static void raw_comm(struct buf *b, uint16_t size, uint32_t pid,
		     const char comm[16])
{
	uint8_t rec[256];
	struct otel_rec_comm *r = (void *)rec;

	memset(rec, 0, sizeof(rec));
	r->hdr.type = OTEL_REC_COMM;
	r->hdr.size = size;
	r->hdr.time_ns = T0;
	r->pid = pid;
	r->tgid = pid;
	memcpy(r->comm, comm, 16);
	buf_put(b, rec, size);
}

int main(int argc, char **argv)
{
	struct buf b0 = { 0 }, b1 = { 0 };
	struct capture *c;
	const char *sc = argc > 1 ? argv[1] : "";
	long n = argc == 4 ? atol(argv[2]) : 0;
	const char *out = argv[argc - 1];
	long i;

	if (argc < 3)
		return 2;
	c = capture_create(out, &anchor, 2, 0);
	if (!c)
		return 1;
	if (!strcmp(sc, "empty-comm")) {
		/* pass 1: named "oldname"; pass 2: renamed to "" */
		synth_comm(&b0, 0, T0, 100, 100, "oldname");
		task_span(&b0, 1, "before-rename", 100, 100, T0 + 10);
		frame(c, &b0);
		pass(c);
		synth_comm(&b0, 0, T0 + 1000, 100, 100, "");
		task_span(&b0, 2, "after-rename-to-empty", 100, 100,
			  T0 + 1010);
		frame(c, &b0);
		pass(c);
	} else if (!strcmp(sc, "pid-reuse")) {
		/* pass 1: process 100 "oldproc" */
		synth_comm(&b0, 0, T0, 100, 100, "oldproc");
		task_span(&b0, 1, "old-process", 100, 100, T0 + 10);
		frame(c, &b0);
		pass(c);
		/* pass 2: pid 100 now a thread of process 200 "newproc";
		 * CPU 1 ring (its COMM) read after CPU 0 ring (its span) */
		task_span_on(&b0, 2, "new-process", 100, 200, T0 + 2000, 1);
		synth_comm(&b1, 1, T0 + 1990, 100, 200, "newproc");
		frame(c, &b0);
		frame(c, &b1);
		pass(c);
	} else if (!strcmp(sc, "rename")) {
		synth_comm(&b0, 0, T0, 100, 100, "before");
		task_span(&b0, 1, "s1", 100, 100, T0 + 10);
		frame(c, &b0);
		pass(c);
		/* renamed, began on CPU 1 (COMM there), ended on CPU 0 */
		task_span_on(&b0, 2, "s2-after-rename", 100, 100, T0 + 2000,
			     1);
		synth_comm(&b1, 1, T0 + 1990, 100, 100, "after");
		frame(c, &b0);
		frame(c, &b1);
		pass(c);
	} else if (!strcmp(sc, "comm-bad")) {
		raw_comm(&b0, 40, 101, "toosmall\0\0\0\0\0\0\0\0");
		raw_comm(&b0, 64, 102, "toolarge\0\0\0\0\0\0\0\0");
		raw_comm(&b0, 48, 103, "sixteen_bytes_NO");
		raw_comm(&b0, 48, 0, "pidzero\0\0\0\0\0\0\0\0\0");
		raw_comm(&b0, 48, 104, "\x1b[31mred\n\r\t\x7f\0\0\0\0\0");
		raw_comm(&b0, 48, 105, "\xff\xfe\xc0\x80\xed\xa0\x80\0\0\0\0\0\0\0\0\0");
		raw_comm(&b0, 48, 106, "a\0garbage_after");
		for (i = 101; i <= 106; i++)
			task_span(&b0, i, "bad-comm", i, i, T0 + 10 + i);
		task_span(&b0, 200, "pid0-task", 0, 0, T0 + 500);
		frame(c, &b0);
		pass(c);
	} else if (!strcmp(sc, "comm-flood")) {
		char name[24];

		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "t%ld", i);
			synth_comm(&b0, 0, T0 + i, 1000 + i, 1000 + i, name);
			if (b0.len > 32768)
				frame(c, &b0);
		}
		/* spans of the first 100 pids: their names were evicted? */
		for (i = 0; i < 100; i++)
			task_span(&b0, 1 + i, "flooded", 1000 + i, 1000 + i,
				  T0 + n + i);
		frame(c, &b0);
		pass(c);
	} else if (!strcmp(sc, "item-drops")) {
		struct synth_span s;

		span_init(&s, 5, 5);
		synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "item-drops",
			    "hostcap", "1");
		for (i = 0; i < n; i++) {
			synth_attr_dropped(&b0, &s, 0,
					   (uint16_t)((i % 0x7fff) + 1) |
					   (i & 0x8000 ? OTEL_ATTR_TARGET_LINK : 0),
					   NULL, 0xffffffffu);
			if (b0.len > 32768)
				frame(c, &b0);
		}
		synth_event_dropped(&b0, &s, 0, T0 + 1, 1, "ev", NULL,
				    0xffffffffu);
		synth_end(&b0, &s, 0, T0 + 100, 0xffffffffu, 0xffffffffu,
			  0xffffffffu);
		frame(c, &b0);
		pass(c);
	} else if (!strcmp(sc, "dropped-max")) {
		struct synth_span s, to;

		span_init(&s, 6, 6);
		span_init(&to, 7, 7);
		synth_start(&s, T0, OTEL_SPAN_KIND_INTERNAL, "dropped-max",
			    "hostcap", "1");
		synth_event_dropped(&b0, &s, 0, T0 + 1, 1, "ev", NULL,
				    0xffffffffu);
		synth_attr_dropped(&b0, &s, 0, 1, NULL, 0xffffffffu);
		synth_link_dropped(&b0, &s, 0, 1, &to, NULL, 0xffff);
		synth_attr_dropped(&b0, &s, 0, OTEL_ATTR_TARGET_LINK | 1, NULL,
				   0xffffffffu);
		/* aimed at an event and a link that never come */
		synth_attr_dropped(&b0, &s, 0, 9, NULL, 0xffffffffu);
		synth_attr_dropped(&b0, &s, 0, OTEL_ATTR_TARGET_LINK | 9, NULL,
				   0xffffffffu);
		synth_end(&b0, &s, 0, T0 + 100, 0xffffffffu, 0xffffffffu,
			  0xffffffffu);
		frame(c, &b0);
		pass(c);
	} else if (!strcmp(sc, "old-anchor")) {
		struct anchor a;

		/* span starts at T0+10 (first anchor); read after 70 more */
		for (i = 1; i <= 70; i++) {
			/* wall clock stepped +1 h at each anchor */
			a.mono_ns = T0 + i * 1000000ull;
			a.real_ns = anchor.real_ns + i * 1000000ull +
				    i * 3600000000000ull;
			capture_write(c, CAPTURE_ANCHOR, &a, sizeof(a));
		}
		task_span(&b0, 1, "older-than-history", 0, 0, T0 + 10);
		frame(c, &b0);
		pass(c);
	} else {
		return 2;
	}
	buf_free(&b0);
	buf_free(&b1);
	return capture_close(c) ? 1 : 0;
}
