// SPDX-License-Identifier: GPL-2.0
/*
 * null_receiver: the OTLP/HTTP peer of the exporter benchmark.
 *
 * Accepts HTTP/1.1 POSTs on 127.0.0.1 (keep-alive, Content-Length or
 * chunked bodies, Expect: 100-continue), counts requests, body bytes and
 * the spans in each ExportTraceServiceRequest, and answers 200 with an
 * empty ExportTraceServiceResponse.  Deliberately cheap, single-threaded:
 * it runs beside the exporter being measured, in its own process.
 *
 *   null_receiver [PORT]
 * Prints "port N" once listening (PORT 0 or none: any free port).  On
 * SIGINT or SIGTERM prints "requests R bytes B spans S bad X" and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONN	64
#define MAX_HEADER	(64 * 1024)
#define MAX_BODY	(64 * 1024 * 1024)

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	int continued;		/* 100 Continue sent for the current request */
};

static volatile sig_atomic_t stop;
static uint64_t requests, body_bytes, spans, bad;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Protobuf wire format: read a varint; 0 on success. */
static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned int shift;

	*v = 0;
	for (shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/*
 * Count the messages at @path (field numbers, one per nesting level) of
 * the message in [p, end): ExportTraceServiceRequest.resource_spans(1)
 * .scope_spans(2).spans(2).  -1 if malformed.
 */
static int64_t pb_count(const uint8_t *p, const uint8_t *end,
			const unsigned int *path, int depth)
{
	int64_t n = 0, sub;
	uint64_t key, len;

	while (p < end) {
		if (pb_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (pb_varint(&p, end, &len))
				return -1;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			if (pb_varint(&p, end, &len) || len > (uint64_t)(end - p))
				return -1;
			if ((key >> 3) == path[0]) {
				if (depth == 1) {
					n++;
				} else {
					sub = pb_count(p, p + len, path + 1,
						       depth - 1);
					if (sub < 0)
						return -1;
					n += sub;
				}
			}
			p += len;
			break;
		default:
			return -1;
		}
	}
	return n;
}

static void send_all(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len) {
		n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

/* Value of header @name in [h, end), or NULL. */
static const char *header(const char *h, const char *end, const char *name)
{
	size_t n = strlen(name);
	const char *line;

	for (line = h; line < end; ) {
		const char *eol = memchr(line, '\n', end - line);

		if (!eol)
			break;
		if ((size_t)(eol - line) > n && !strncasecmp(line, name, n) &&
		    line[n] == ':') {
			line += n + 1;
			while (*line == ' ' || *line == '\t')
				line++;
			return line;
		}
		line = eol + 1;
	}
	return NULL;
}

/*
 * Decode a chunked body in [p, end) into @out (at most MAX_BODY): bytes
 * consumed, 0 if incomplete, -1 if malformed.
 */
static ssize_t dechunk(const char *p, const char *end, char *out,
		       size_t *out_len)
{
	const char *start = p;
	unsigned long size;
	char *eol;

	*out_len = 0;
	for (;;) {
		eol = memchr(p, '\n', end - p);
		if (!eol)
			return 0;
		errno = 0;
		size = strtoul(p, NULL, 16);
		if (errno || size > MAX_BODY - *out_len)
			return -1;
		p = eol + 1;
		if (!size)
			break;
		if ((size_t)(end - p) < size + 2)
			return 0;
		memcpy(out + *out_len, p, size);
		*out_len += size;
		p += size + 2;
	}
	/* Trailers, then an empty line. */
	for (;;) {
		eol = memchr(p, '\n', end - p);
		if (!eol)
			return 0;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			return eol + 1 - start;
		p = eol + 1;
	}
}

static void count_body(const char *body, size_t len)
{
	static const unsigned int path[] = { 1, 2, 2 };
	int64_t n;

	n = pb_count((const uint8_t *)body, (const uint8_t *)body + len,
		     path, 3);
	if (n < 0)
		bad++;
	else
		spans += n;
	requests++;
	body_bytes += len;
}

/* Handle every complete request in @c's buffer: 0, or -1 to close. */
static int serve(struct conn *c)
{
	static char *chunked_body;
	const char *hend, *v;
	size_t hlen, blen, used;
	ssize_t n;

	for (;;) {
		hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (!hend)
			return c->len > MAX_HEADER ? -1 : 0;
		hlen = hend + 4 - c->buf;
		v = header(c->buf, hend + 2, "Expect");
		if (v && !strncasecmp(v, "100-continue", 12) && !c->continued) {
			send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n");
			c->continued = 1;
		}
		v = header(c->buf, hend + 2, "Transfer-Encoding");
		if (v && !strncasecmp(v, "chunked", 7)) {
			if (!chunked_body)
				chunked_body = malloc(MAX_BODY);
			if (!chunked_body)
				return -1;
			n = dechunk(c->buf + hlen, c->buf + c->len,
				    chunked_body, &blen);
			if (n < 0)
				return -1;
			if (!n)
				return 0;
			count_body(chunked_body, blen);
			used = hlen + n;
		} else {
			v = header(c->buf, hend + 2, "Content-Length");
			blen = v ? strtoul(v, NULL, 10) : 0;
			if (blen > MAX_BODY)
				return -1;
			if (c->len < hlen + blen)
				return 0;
			count_body(c->buf + hlen, blen);
			used = hlen + blen;
		}
		send_all(c->fd, "HTTP/1.1 200 OK\r\n"
			 "Content-Type: application/x-protobuf\r\n"
			 "Content-Length: 0\r\n\r\n");
		c->continued = 0;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
}

/* Read what is there; 0, or -1 to close the connection. */
static int on_readable(struct conn *c)
{
	ssize_t n;

	if (c->cap - c->len < 65536) {
		size_t cap = c->cap ? c->cap * 2 : 256 * 1024;
		char *buf;

		if (cap > MAX_HEADER + 2 * (size_t)MAX_BODY)
			return -1;
		buf = realloc(c->buf, cap);
		if (!buf)
			return -1;
		c->buf = buf;
		c->cap = cap;
	}
	n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	c->len += n;
	return serve(c);
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	socklen_t alen = sizeof(a);
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		close(fd);
		return -1;
	}
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd[MAX_CONN + 1];
	struct conn conns[MAX_CONN];
	int lfd, nconn = 0, i, fd;

	lfd = listen_on(argc > 1 ? atoi(argv[1]) : 0);
	if (lfd < 0) {
		perror("null_receiver: listen");
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stop) {
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0; i < nconn; i++)
			pfd[i + 1] = (struct pollfd){ .fd = conns[i].fd,
						      .events = POLLIN };
		if (poll(pfd, nconn + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("null_receiver: poll");
			return 1;
		}
		for (i = nconn - 1; i >= 0; i--) {
			if (!pfd[i + 1].revents)
				continue;
			if (on_readable(&conns[i])) {
				close(conns[i].fd);
				free(conns[i].buf);
				conns[i] = conns[--nconn];
			}
		}
		if (pfd[0].revents & POLLIN) {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 && nconn == MAX_CONN)
				close(fd);
			else if (fd >= 0)
				conns[nconn++] = (struct conn){ .fd = fd };
		}
	}
	printf("requests %" PRIu64 " bytes %" PRIu64 " spans %" PRIu64
	       " bad %" PRIu64 "\n", requests, body_bytes, spans, bad);
	return 0;
}
