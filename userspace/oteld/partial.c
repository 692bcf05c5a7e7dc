// SPDX-License-Identifier: GPL-2.0
/*
 * The partial success of an OTLP answer (ExportTraceServiceResponse), in
 * protobuf (protobuf-c, otlp_proto.c) or OTLP/JSON (a small strict parser,
 * below): rejected spans are counted and logged; a message with nothing
 * rejected is a warning from the receiver, logged once per distinct
 * message (a collector repeats it on every request), counted each time.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "oteld.h"
#include "utf8.h"

#define JSON_MAX_DEPTH	64
#define WARNINGS_KEPT	64	/* distinct warnings remembered */

/* ---- OTLP/JSON: a recursive-descent parser of RFC 8259 ---- */

struct json {
	const char *p, *end;
	int depth;
};

static void ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool eat(struct json *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static int hex4(const char *p)
{
	int v = 0, i, d;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		d = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Append code point @cp as UTF-8 to @out (cut at @cap - 1, NUL ended). */
static void put_cp(char *out, size_t cap, size_t *n, uint32_t cp)
{
	char u[4];
	size_t k, len;

	if (cp < 0x80) {
		u[0] = (char)cp;
		len = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		len = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		len = 4;
	}
	if (!out || *n + len >= cap)
		return;		/* whole characters only */
	for (k = 0; k < len; k++)
		out[(*n)++] = u[k];
	out[*n] = '\0';
}

/* A string, decoded into @out (may be NULL: skipped); false if invalid. */
static bool string(struct json *j, char *out, size_t cap)
{
	size_t n = 0;
	int cp, lo;

	if (out && cap)
		out[0] = '\0';
	if (!eat(j, '"'))
		return false;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return false;
		if (c != '\\') {
			if (out && n + 1 < cap) {
				out[n++] = (char)c;	/* UTF-8 bytes as they are */
				out[n] = '\0';
			}
			j->p++;
			continue;
		}
		if (j->end - j->p < 2)
			return false;
		switch (j->p[1]) {
		case '"': case '\\': case '/':
			put_cp(out, cap, &n, (unsigned char)j->p[1]);
			break;
		case 'b': put_cp(out, cap, &n, '\b'); break;
		case 'f': put_cp(out, cap, &n, '\f'); break;
		case 'n': put_cp(out, cap, &n, '\n'); break;
		case 'r': put_cp(out, cap, &n, '\r'); break;
		case 't': put_cp(out, cap, &n, '\t'); break;
		case 'u':
			if (j->end - j->p < 6 || (cp = hex4(j->p + 2)) < 0)
				return false;
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 12 &&
			    j->p[6] == '\\' && j->p[7] == 'u' &&
			    (lo = hex4(j->p + 8)) >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				j->p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;	/* a lone surrogate */
			}
			put_cp(out, cap, &n, (uint32_t)cp);
			j->p += 4;
			break;
		default:
			return false;
		}
		j->p += 2;
	}
	return eat(j, '"');
}

/*
 * An int64 in decimal, the whole of @s[0..@n): an optional '-', then digits
 * only (no sign '+', no space); false when not one, or out of range.
 */
static bool int64_of(const char *s, size_t n, long long *v)
{
	unsigned long long u = 0, max = (unsigned long long)INT64_MAX;
	bool neg = n && *s == '-';
	size_t i = neg;

	if (i == n)
		return false;
	if (neg)
		max++;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (u > (max - (unsigned)(s[i] - '0')) / 10)
			return false;
		u = u * 10 + (unsigned)(s[i] - '0');
	}
	*v = neg ? (long long)(0 - u) : (long long)u;
	return true;
}

/*
 * A number; *@integer says whether it is written as an integer, and *@v
 * gets its value then (@v may be NULL); false when invalid, or an integer
 * out of int64's range asked for in @v.
 */
static bool number(struct json *j, long long *v, bool *integer)
{
	const char *s = j->p;

	ws(j);
	s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	*integer = true;
	if (j->p < j->end && *j->p == '.') {
		*integer = false;
		if (++j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		*integer = false;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (*integer && v)
		return int64_of(s, (size_t)(j->p - s), v);
	return true;
}

static bool literal(struct json *j, const char *word)
{
	size_t n = strlen(word);

	ws(j);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return false;
	j->p += n;
	return true;
}

static bool value(struct json *j);

/*
 * An object; @member (may be NULL) is called at each key with the parser
 * before the value, and parses the value itself (returns false if invalid).
 */
static bool object(struct json *j,
		   bool (*member)(struct json *j, const char *key, void *arg),
		   void *arg)
{
	char key[64];

	if (++j->depth > JSON_MAX_DEPTH || !eat(j, '{'))
		return false;
	if (!eat(j, '}')) {
		do {
			if (!string(j, key, sizeof(key)) || !eat(j, ':'))
				return false;
			if (!(member ? member(j, key, arg) : value(j)))
				return false;
		} while (eat(j, ','));
		if (!eat(j, '}'))
			return false;
	}
	j->depth--;
	return true;
}

static bool array(struct json *j)
{
	if (++j->depth > JSON_MAX_DEPTH || !eat(j, '['))
		return false;
	if (!eat(j, ']')) {
		do {
			if (!value(j))
				return false;
		} while (eat(j, ','));
		if (!eat(j, ']'))
			return false;
	}
	j->depth--;
	return true;
}

static bool value(struct json *j)
{
	bool integer;

	ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		return object(j, NULL, NULL);
	case '[':
		return array(j);
	case '"':
		return string(j, NULL, 0);
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	case 'n':
		return literal(j, "null");
	default:
		return number(j, NULL, &integer);
	}
}

struct partial {
	bool present;
	long long rejected;
	char *msg;
	size_t msglen;
};

/*
 * ExportTracePartialSuccess, as proto3 JSON maps it: rejectedSpans is an
 * int64, a number or a decimal string (in range, no '+' or space); null
 * is a field's default (0, "").
 */
static bool partial_member(struct json *j, const char *key, void *arg)
{
	struct partial *ps = arg;
	char num[32];
	bool integer;

	if (!strcmp(key, "rejectedSpans") || !strcmp(key, "rejected_spans")) {
		ps->rejected = 0;
		if (literal(j, "null"))
			return true;
		ws(j);
		if (j->p < j->end && *j->p == '"') {
			/* 20 digits and a sign at most: longer is too long */
			if (!string(j, num, sizeof(num)) ||
			    strlen(num) > 20)
				return false;
			return int64_of(num, strlen(num), &ps->rejected);
		}
		return number(j, &ps->rejected, &integer) && integer;
	}
	if (!strcmp(key, "errorMessage") || !strcmp(key, "error_message")) {
		if (ps->msglen)
			ps->msg[0] = '\0';
		if (literal(j, "null"))
			return true;
		return string(j, ps->msg, ps->msglen);
	}
	return value(j);
}

static bool response_member(struct json *j, const char *key, void *arg)
{
	struct partial *ps = arg;

	if (!strcmp(key, "partialSuccess") || !strcmp(key, "partial_success")) {
		ws(j);
		if (literal(j, "null"))
			return true;
		ps->present = true;
		return object(j, partial_member, ps);
	}
	return value(j);
}

long long otlp_json_rejected(const void *body, size_t len, char *msg,
			     size_t msglen)
{
	struct json j = { body, (const char *)body + len, 0 };
	struct partial ps = { false, 0, msg, msglen };

	if (msglen)
		msg[0] = '\0';
	if (!object(&j, response_member, &ps))
		return -1;
	ws(&j);
	if (j.p != j.end || !ps.present)
		return -1;
	return ps.rejected < 0 ? 0 : ps.rejected;
}

/* ---- what is logged ---- */

/* Spans in the request this thread sent last (partial_set_sent()). */
static _Thread_local size_t sent_spans;

void partial_set_sent(size_t n)
{
	sent_spans = n;
}

static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t warned[WARNINGS_KEPT];
static size_t nr_warned;

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* First time this message is seen (of the last WARNINGS_KEPT)? */
static bool first_time(const char *msg)
{
	uint64_t h = fnv1a(msg);
	bool first = true;
	size_t i;

	pthread_mutex_lock(&warn_lock);
	for (i = 0; i < nr_warned && i < WARNINGS_KEPT; i++)
		if (warned[i] == h)
			first = false;
	if (first)
		warned[nr_warned++ % WARNINGS_KEPT] = h;
	pthread_mutex_unlock(&warn_lock);
	return first;
}

/*
 * The receiver's text goes to the log escaped (utf8_escape()): no control
 * byte or invalid UTF-8 from the network reaches a terminal or a log file.
 * Rejected spans are at most the spans sent (partial_set_sent()): a
 * receiver saying more is believed for those only.
 */
void partial_success_check(bool json, const void *body, size_t len)
{
	char msg[512], esc[512];
	long long n;

	if (!len)
		return;
	n = json ? otlp_json_rejected(body, len, msg, sizeof(msg)) :
		   otlp_proto_rejected(body, len, msg, sizeof(msg));
	utf8_escape(msg, strlen(msg), esc, sizeof(esc));
	if (n > 0 && sent_spans && (unsigned long long)n > sent_spans)
		n = (long long)sent_spans;
	if (n > 0) {
		atomic_fetch_add(&stats.partial_rejected, n);
		log_msg("partial success: the receiver rejected %lld spans: %s",
			n, esc[0] ? esc : "(no message)");
	} else if (n == 0 && msg[0]) {
		atomic_fetch_add(&stats.partial_warnings, 1);
		if (first_time(msg))
			log_msg("partial success: warning from the receiver "
				"(logged once): %s", esc);
	}
}
