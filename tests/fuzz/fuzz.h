/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the fuzz targets share: a cursor over the input, the checks every
 * output of oteld must pass (valid UTF-8, well-formed JSON), and the one
 * way a target reports a broken promise (fz_fail(): abort, so that
 * libFuzzer and the replay program both see a crash).
 *
 * Each target is one file defining LLVMFuzzerTestOneInput() (and maybe
 * LLVMFuzzerInitialize()); it is linked either with libFuzzer (clang,
 * make fuzz) or with replay_main.c (gcc, make check).
 */
#ifndef OTEL_FUZZ_H
#define OTEL_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn, format(printf, 1, 2)))
static inline void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: broken promise: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * glibc's getopt() keeps where it was inside a cluster of short options
 * ("-vh" stopped at 'h'), and only optind = 0 forgets it; oteld and
 * otelctl parse one command line per process and set optind = 1.  A
 * target that parses many resets getopt first: otherwise a run goes on
 * with the last run's freed arguments (a use after free ASan cannot see,
 * inside libc), and runs depend on each other.
 */
static inline void fz_getopt_reset(void)
{
	char name[] = "fuzz", *argv[] = { name, NULL };

	optind = 0;
	getopt(1, argv, "");
	optind = 1;
}

/*
 * setenv() for millions of runs: glibc's setenv() never frees a value it
 * made (each new NAME=VALUE stays), which grows a long fuzzing run to its
 * memory limit.  These strings are the target's own, put with putenv() and
 * freed by fz_env_clear() once unset.
 */
#define FZ_MAX_ENV	256

static struct {
	char *s[FZ_MAX_ENV];
	size_t n;
} fz_env;

static inline int fz_env_set(const char *name, const char *value,
			     int overwrite)
{
	size_t ln = strlen(name), lv = strlen(value);
	char *s;

	if (!ln || ln >= 256 || strchr(name, '='))
		return -1;
	if (!overwrite && getenv(name))
		return 0;
	if (fz_env.n == FZ_MAX_ENV)
		return -1;
	s = malloc(ln + lv + 2);
	if (!s)
		abort();
	memcpy(s, name, ln);
	s[ln] = '=';
	memcpy(s + ln + 1, value, lv + 1);
	if (putenv(s)) {
		free(s);
		return -1;
	}
	fz_env.s[fz_env.n++] = s;
	return 0;
}

/* Unset what fz_env_set() set, and free it. */
static inline void fz_env_clear(void)
{
	char name[256];

	while (fz_env.n) {
		char *s = fz_env.s[--fz_env.n];
		size_t len = strcspn(s, "=");

		/* environ points into s: unset it by a copy of its name */
		if (len < sizeof(name)) {
			memcpy(name, s, len);
			name[len] = '\0';
			unsetenv(name);
			free(s);
		}
	}
}

/* ---- the input, read front to back ---- */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

/* Take @len bytes into @out (zeroed past the end of the input). */
static inline void fz_take(struct fz_in *in, void *out, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	fz_take(in, &v, 1);
	return v;
}

/*
 * The next NUL-ended token as a C string of its own (malloc'd, exact
 * size, so that ASan sees any read past it), or NULL at the end.
 */
static inline char *fz_token(struct fz_in *in)
{
	const uint8_t *nul;
	size_t len;
	char *s;

	if (!in->n)
		return NULL;
	nul = memchr(in->p, 0, in->n);
	len = nul ? (size_t)(nul - in->p) : in->n;
	s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len + (nul ? 1 : 0);
	in->n -= len + (nul ? 1 : 0);
	return s;
}

/* ---- checks on what oteld writes ---- */

/* Is @s (@n bytes) well-formed UTF-8 (RFC 3629: no surrogates, <= U+10FFFF)? */
static inline bool fz_utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp, min;

	while (i < n) {
		uint8_t c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* A small JSON (RFC 8259) recogniser: is [*pos, n) one value? */
struct fz_json {
	const uint8_t *s;
	size_t n, pos;
	int depth;
};

static inline void fz_json_ws(struct fz_json *j)
{
	while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
				 j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

static inline bool fz_json_lit(struct fz_json *j, const char *lit)
{
	size_t len = strlen(lit);

	if (j->n - j->pos < len || memcmp(j->s + j->pos, lit, len))
		return false;
	j->pos += len;
	return true;
}

static inline bool fz_json_string(struct fz_json *j)
{
	size_t k;

	if (j->pos >= j->n || j->s[j->pos] != '"')
		return false;
	for (j->pos++; j->pos < j->n; j->pos++) {
		uint8_t c = j->s[j->pos];

		if (c == '"') {
			j->pos++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (++j->pos >= j->n)
			return false;
		c = j->s[j->pos];
		if (c == 'u') {
			for (k = 1; k <= 4; k++)
				if (j->pos + k >= j->n ||
				    !strchr("0123456789abcdefABCDEF",
					    j->s[j->pos + k]) ||
				    !j->s[j->pos + k])
					return false;
			j->pos += 4;
		} else if (!strchr("\"\\/bfnrt", c) || !c) {
			return false;
		}
	}
	return false;
}

static inline bool fz_json_number(struct fz_json *j)
{
	size_t start = j->pos, digits;

	if (j->pos < j->n && j->s[j->pos] == '-')
		j->pos++;
	if (j->pos < j->n && j->s[j->pos] == '0') {
		j->pos++;
	} else {
		for (digits = 0; j->pos < j->n && j->s[j->pos] >= '0' &&
		     j->s[j->pos] <= '9'; j->pos++)
			digits++;
		if (!digits)
			return false;
	}
	if (j->pos < j->n && j->s[j->pos] == '.') {
		for (j->pos++, digits = 0; j->pos < j->n &&
		     j->s[j->pos] >= '0' && j->s[j->pos] <= '9'; j->pos++)
			digits++;
		if (!digits)
			return false;
	}
	if (j->pos < j->n && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->n && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		for (digits = 0; j->pos < j->n && j->s[j->pos] >= '0' &&
		     j->s[j->pos] <= '9'; j->pos++)
			digits++;
		if (!digits)
			return false;
	}
	return j->pos > start;
}

static inline bool fz_json_value(struct fz_json *j);

/* An object (@close '}') or an array (']'), its opening byte read. */
static inline bool fz_json_members(struct fz_json *j, char close)
{
	fz_json_ws(j);
	if (j->pos < j->n && j->s[j->pos] == close) {
		j->pos++;
		return true;
	}
	for (;;) {
		if (close == '}') {
			fz_json_ws(j);
			if (!fz_json_string(j))
				return false;
			fz_json_ws(j);
			if (j->pos >= j->n || j->s[j->pos++] != ':')
				return false;
		}
		if (!fz_json_value(j))
			return false;
		fz_json_ws(j);
		if (j->pos >= j->n)
			return false;
		if (j->s[j->pos] == close) {
			j->pos++;
			return true;
		}
		if (j->s[j->pos++] != ',')
			return false;
	}
}

static inline bool fz_json_value(struct fz_json *j)
{
	bool ok;

	fz_json_ws(j);
	if (j->pos >= j->n)
		return false;
	switch (j->s[j->pos]) {
	case '{':
	case '[':
		if (++j->depth > 64)
			return false;
		ok = fz_json_members(j, j->s[j->pos++] == '{' ? '}' : ']');
		j->depth--;
		return ok;
	case '"':
		return fz_json_string(j);
	case 't':
		return fz_json_lit(j, "true");
	case 'f':
		return fz_json_lit(j, "false");
	case 'n':
		return fz_json_lit(j, "null");
	default:
		return fz_json_number(j);
	}
}

/* Is @s (@n bytes) exactly one JSON value, in valid UTF-8? */
static inline bool fz_json_ok(const uint8_t *s, size_t n)
{
	struct fz_json j = { s, n, 0, 0 };

	if (!fz_utf8_ok(s, n) || !fz_json_value(&j))
		return false;
	fz_json_ws(&j);
	return j.pos == n;
}

#endif /* OTEL_FUZZ_H */
