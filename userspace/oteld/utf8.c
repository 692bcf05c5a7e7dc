// SPDX-License-Identifier: GPL-2.0
/*
 * UTF-8 repair for every string oteld emits.  A protobuf string field must
 * hold valid UTF-8 (a strict receiver answers 400 and the whole batch is
 * lost), and so must JSON text, but the kernel cuts strings by bytes and a
 * driver may pass any bytes.  So:
 *
 *  - an ill-formed sequence becomes U+FFFD, one per maximal subpart (the
 *    longest start of a well-formed sequence, or one byte), as the Unicode
 *    standard recommends (chapter 3, "U+FFFD Substitution of Maximal
 *    Subparts");
 *  - a sequence cut short by the end of the string (the kernel truncated it
 *    in the middle of a character) is dropped.
 *
 * Well-formed sequences (Unicode table 3-7): 00..7F; C2..DF 80..BF;
 * E0 A0..BF 80..BF; E1..EC 80..BF 80..BF; ED 80..9F 80..BF;
 * EE..EF 80..BF 80..BF; F0 90..BF 80..BF 80..BF; F1..F3 80..BF x3;
 * F4 80..8F 80..BF 80..BF.  No overlong forms, surrogates or code points
 * past U+10FFFF.
 */
#include <stdio.h>
#include <string.h>

#include "utf8.h"

enum utf8_kind utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	unsigned char lo = 0x80, hi = 0xbf, b = p[0];
	size_t need, i;

	if (b < 0x80) {
		*len = 1;
		return UTF8_OK;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 2;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 3;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 4;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		*len = 1;	/* 80..C1, F5..FF never start a character */
		return UTF8_BAD;
	}
	for (i = 1; i < need; i++) {
		if (i == n) {
			*len = n;
			return UTF8_CUT;
		}
		if (p[i] < lo || p[i] > hi) {
			*len = i;
			return UTF8_BAD;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*len = need;
	return UTF8_OK;
}

size_t utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	uint64_t v;

	for (;;) {
		/* ASCII eight bytes at a time: the common case */
		while (n - i >= 8) {
			memcpy(&v, p + i, sizeof(v));
			if (v & 0x8080808080808080ull)
				break;
			i += 8;
		}
		while (i < n && p[i] < 0x80)
			i++;
		if (i == n)
			return n;
		if (utf8_next(p + i, n - i, &len) != UTF8_OK)
			return i;
		i += len;
	}
}

size_t utf8_repaired_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = utf8_valid_prefix(s, n), out = i, len;

	while (i < n) {
		switch (utf8_next(p + i, n - i, &len)) {
		case UTF8_OK:
			out += len;
			break;
		case UTF8_BAD:
			out += UTF8_REPLACEMENT_LEN;
			break;
		case UTF8_CUT:
			return out;
		}
		i += len;
	}
	return out;
}

size_t utf8_repair(const char *s, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = utf8_valid_prefix(s, n), o = i, len;

	memcpy(out, s, i);
	while (i < n) {
		switch (utf8_next(p + i, n - i, &len)) {
		case UTF8_OK:
			memcpy(out + o, p + i, len);
			o += len;
			break;
		case UTF8_BAD:
			memcpy(out + o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
			o += UTF8_REPLACEMENT_LEN;
			break;
		case UTF8_CUT:
			return o;
		}
		i += len;
	}
	return o;
}

size_t utf8_escape(const char *s, size_t n, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, len, k;
	char esc[8];
	const char *put;

	if (!cap)
		return 0;
	while (n) {
		enum utf8_kind kind = utf8_next(p, n, &len);

		put = esc;
		if (kind == UTF8_CUT)
			break;
		if (kind == UTF8_BAD) {
			put = UTF8_REPLACEMENT;
			k = UTF8_REPLACEMENT_LEN;
		} else if (len == 1 && (*p < 0x20 || *p == 0x7f)) {
			k = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
		} else if (len == 1 && *p == '\\') {
			k = 2;
			memcpy(esc, "\\\\", 2);
		} else if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			/* U+0080..U+009F: C1 controls (0x9b is CSI) */
			k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x",
					     (unsigned int)p[1]);
		} else {
			put = (const char *)p;
			k = len;
		}
		if (o + k >= cap)
			break;
		memcpy(out + o, put, k);
		o += k;
		p += len;
		n -= len;
	}
	out[o] = '\0';
	return o;
}
