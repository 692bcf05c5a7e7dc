/* SPDX-License-Identifier: GPL-2.0 */
/* UTF-8 repair (utf8.c): what every string oteld emits goes through. */
#ifndef OTELD_UTF8_H
#define OTELD_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */
#define UTF8_REPLACEMENT_LEN	3

enum utf8_kind {
	UTF8_OK,	/* a well-formed character */
	UTF8_BAD,	/* an ill-formed sequence: becomes one U+FFFD */
	UTF8_CUT,	/* the start of a character cut by the end: dropped */
};

/* What starts at @p (@n > 0 bytes left); *len: the bytes it covers. */
enum utf8_kind utf8_next(const unsigned char *p, size_t n, size_t *len);
/* Bytes of the longest valid prefix of @s: @n when all of it is valid. */
size_t utf8_valid_prefix(const char *s, size_t n);
/* Bytes utf8_repair() writes for @s. */
size_t utf8_repaired_len(const char *s, size_t n);
/* Write @s repaired to @out (utf8_repaired_len() bytes); returns that. */
size_t utf8_repair(const char *s, size_t n, char *out);
/*
 * @s for a log line or a terminal, NUL-ended in @out (@cap > 0 bytes,
 * whole characters only): ill-formed sequences repaired, control
 * characters (C0, DEL, C1) and '\\' written as \xNN, \u00NN and \\.
 * Returns the bytes written.
 */
size_t utf8_escape(const char *s, size_t n, char *out, size_t cap);

#endif
