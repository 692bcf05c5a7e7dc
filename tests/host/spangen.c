// SPDX-License-Identifier: GPL-2.0
/*
 * spangen: live rings, as a FIFO, for the host tests of oteld --queue-dir.
 *
 *   spangen FIFO RATE SECONDS
 *
 * Makes RATE one-record spans a second for SECONDS seconds (in 10 ms
 * steps, by CLOCK_MONOTONIC), span k with the int attribute "seq" = k and
 * its own trace and span ids, and writes them to FIFO as a capture (the
 * header, then RECORDS frames) for `oteld --input FIFO`.  Times are the
 * machine's: the header's anchor is read when a reader opens the FIFO.
 *
 * The FIFO stands for the rings across a restart of oteld: what oteld did
 * not read is read by the next one, nothing twice.
 *
 *  - Each frame is one write() of at most PIPE_BUF bytes, so the pipe
 *    only ever holds whole frames, and what oteld took is whole frames
 *    that it replayed (it reads a FIFO unbuffered: capture.c).
 *  - Frames wait here while no reader is there, or the pipe is full (a
 *    ring holds them; nothing is dropped).
 *  - When the reader goes (a write fails with EPIPE, or poll() says
 *    POLLERR), FIONREAD tells what it left in the pipe: those frames go
 *    first to the next reader, after a new header.  The FIFO is closed
 *    before a new reader may open it, so none sees the old pipe.
 *
 * Says on stdout, one line each: "attached", "detached unread=BYTES
 * requeued=FRAMES", "generated N" (the last span made), "done N" (every
 * frame read; the FIFO closed: the reader's end of input).  Exit 0, or 1
 * with a message (a frame read in part is one).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "synth.h"

#define TICK_NS		10000000ull
#define FRAME_MAX	PIPE_BUF	/* one atomic write */

struct frame {
	struct frame *next;
	uint64_t end;		/* stream offset past it, once written */
	size_t len;
	uint8_t data[];
};

struct fifo_list {
	struct frame *head, **tail;
};

static void list_init(struct fifo_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void list_push(struct fifo_list *l, struct frame *f)
{
	f->next = NULL;
	*l->tail = f;
	l->tail = &f->next;
}

static struct frame *list_pop(struct fifo_list *l)
{
	struct frame *f = l->head;

	if (f) {
		l->head = f->next;
		if (!l->head)
			l->tail = &l->head;
	}
	return f;
}

/* @front, then what @l holds, in order. */
static void list_prepend(struct fifo_list *l, struct fifo_list *front)
{
	if (!front->head)
		return;
	*front->tail = l->head;
	if (!l->head)
		l->tail = front->tail;
	l->head = front->head;
	list_init(front);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "spangen: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The records in @b as one frame at the end of @l. */
static void frame_out(struct fifo_list *l, struct buf *b)
{
	struct frame *f = malloc(sizeof(*f) + sizeof(struct capture_frame) +
				 b->len);
	struct capture_frame fr = { CAPTURE_RECORDS, (uint32_t)b->len };

	if (!f)
		die("malloc");
	f->len = sizeof(fr) + b->len;
	memcpy(f->data, &fr, sizeof(fr));
	memcpy(f->data + sizeof(fr), b->data, b->len);
	list_push(l, f);
	b->len = 0;
}

/* Span @k, whole in one SPAN record, appended to @b. */
static void make_span(struct buf *b, uint64_t k)
{
	struct synth_span s;
	uint64_t t = mono_ns();

	memset(&s, 0, sizeof(s));
	synth_id(s.trace_id, sizeof(s.trace_id), 0x5eed000000000000ull + k);
	synth_id(s.span_id, sizeof(s.span_id), 0x5a00000000000000ull + k);
	synth_start(&s, t - 2000, OTEL_SPAN_KIND_INTERNAL, "spangen.span",
		    "oteltrace_spangen", "1");
	synth_int(&s.attrs, "seq", (int64_t)k);
	synth_end(b, &s, 0, t, 0, 0, 0);
}

struct gen {
	const char *path;
	int fd;			/* -1: no reader */
	uint64_t written;	/* bytes written to this reader's pipe */
	struct fifo_list backlog, in_pipe;	/* to write; written, unread */
};

static void attach(struct gen *g)
{
	struct capture_header h = { .version = CAPTURE_VERSION,
				    .abi_version = OTEL_ABI_VERSION,
				    .nr_cpus = 1 };
	int fd = open(g->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENXIO)
			return;		/* no reader yet */
		die(g->path);
	}
	memcpy(h.magic, CAPTURE_MAGIC, sizeof(h.magic));
	h.mono_ns = mono_ns();
	h.real_ns = real_ns();
	/* an empty pipe takes 48 bytes whole */
	if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h))
		die("header");
	g->fd = fd;
	g->written = sizeof(h);
	printf("attached\n");
}

/* Bytes written to the pipe that its reader has not read. */
static uint64_t unread_bytes(struct gen *g)
{
	int unread;

	if (ioctl(g->fd, FIONREAD, &unread))
		die("FIONREAD");
	return (uint64_t)unread;
}

/* Frames the reader took whole, up to @consumed bytes, are freed. */
static void forget_read(struct gen *g, uint64_t consumed)
{
	struct frame *f;

	while (g->in_pipe.head && g->in_pipe.head->end <= consumed) {
		f = list_pop(&g->in_pipe);
		free(f);
	}
}

/* The reader went: its unread frames go first to the next one. */
static void detach(struct gen *g)
{
	uint64_t unread = unread_bytes(g), consumed = g->written - unread;
	struct fifo_list keep;
	struct frame *f;
	size_t n = 0;

	forget_read(g, consumed);
	list_init(&keep);
	while ((f = list_pop(&g->in_pipe))) {
		if (f->end - f->len < consumed) {
			fprintf(stderr, "spangen: a frame was read in part "
				"(%zu of %zu bytes)\n",
				(size_t)(consumed - (f->end - f->len)), f->len);
			exit(1);
		}
		list_push(&keep, f);
		n++;
	}
	list_prepend(&g->backlog, &keep);
	close(g->fd);
	g->fd = -1;
	printf("detached unread=%llu requeued=%zu\n",
	       (unsigned long long)unread, n);
}

/* Write what waits, while the pipe takes it. */
static void pump(struct gen *g)
{
	struct pollfd p = { .fd = g->fd, .events = POLLOUT };
	struct frame *f;

	while ((f = g->backlog.head)) {
		ssize_t w = write(g->fd, f->data, f->len);

		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0 && errno == EPIPE) {
			detach(g);
			return;
		}
		if (w != (ssize_t)f->len)
			die("write");
		list_pop(&g->backlog);
		g->written += f->len;
		f->end = g->written;
		list_push(&g->in_pipe, f);
	}
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) {
		detach(g);
		return;
	}
	forget_read(g, g->written - unread_bytes(g));
}

int main(int argc, char **argv)
{
	uint64_t rate, total, made = 0, t0, tick;
	struct buf b = { 0 };
	struct gen g = { .fd = -1 };
	struct timespec ts;
	bool said = false;

	if (argc != 4) {
		fprintf(stderr, "usage: spangen FIFO RATE SECONDS\n");
		return 2;
	}
	g.path = argv[1];
	rate = strtoull(argv[2], NULL, 10);
	total = rate * strtoull(argv[3], NULL, 10);
	list_init(&g.backlog);
	list_init(&g.in_pipe);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = tick = mono_ns();
	for (;;) {
		uint64_t due;

		tick += TICK_NS;
		ts.tv_sec = tick / 1000000000ull;
		ts.tv_nsec = tick % 1000000000ull;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				       NULL) == EINTR)
			;
		due = (mono_ns() - t0) / 1000 * rate / 1000000;
		if (due > total)
			due = total;
		for (; made < due; made++) {
			if (b.len + 512 > FRAME_MAX - sizeof(struct
							    capture_frame))
				frame_out(&g.backlog, &b);
			make_span(&b, made);
		}
		if (b.len)
			frame_out(&g.backlog, &b);
		if (made == total && !said) {
			printf("generated %llu\n", (unsigned long long)total);
			said = true;
		}
		if (g.fd < 0)
			attach(&g);
		if (g.fd < 0)
			continue;
		pump(&g);
		if (g.fd >= 0 && made == total && !g.backlog.head &&
		    !g.in_pipe.head && !unread_bytes(&g))
			break;
	}
	close(g.fd);
	printf("done %llu\n", (unsigned long long)total);
	buf_free(&b);
	return 0;
}
