// SPDX-License-Identifier: GPL-2.0
/*
 * Differential fuzzing of otel_ctx_parse_traceparent()
 * (userspace/include/oteltrace_context.h) against a reference written from
 * W3C Trace Context level 1/2 section 3.2 and against the kernel's
 * otel_traceparent_parse() rules (kmod/context.c, ported).
 *
 * Fuzz target "traceparent" (tests/fuzz/Makefile: make fuzz runs it with
 * traceparent.dict; make check replays its seeds and regressions).
 * Without libFuzzer or the Makefile: cc -DSTANDALONE ... runs a
 * random-input loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "userspace/include/oteltrace_context.h"

static int lhex(char c) { return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1; }

/* W3C: version-format = trace-id "-" parent-id "-" trace-flags */
static int ref(const char *s, size_t len, uint8_t tid[16], uint8_t sid[8], uint8_t *fl)
{
	int v, i, nz;

	if (len < 55 || lhex(s[0]) < 0 || lhex(s[1]) < 0 || s[2] != '-')
		return -1;
	v = lhex(s[0]) << 4 | lhex(s[1]);
	if (v == 0xff || (v == 0 && len != 55) || (len > 55 && s[55] != '-'))
		return -1;
	for (i = 0, nz = 0; i < 16; i++) {
		if (lhex(s[3 + 2 * i]) < 0 || lhex(s[4 + 2 * i]) < 0) return -1;
		tid[i] = lhex(s[3 + 2 * i]) << 4 | lhex(s[4 + 2 * i]); nz |= tid[i];
	}
	if (!nz || s[35] != '-') return -1;
	for (i = 0, nz = 0; i < 8; i++) {
		if (lhex(s[36 + 2 * i]) < 0 || lhex(s[37 + 2 * i]) < 0) return -1;
		sid[i] = lhex(s[36 + 2 * i]) << 4 | lhex(s[37 + 2 * i]); nz |= sid[i];
	}
	if (!nz || s[52] != '-' || lhex(s[53]) < 0 || lhex(s[54]) < 0) return -1;
	*fl = lhex(s[53]) << 4 | lhex(s[54]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);		/* exact size: ASan sees overreads */
	struct otel_context_req req;
	uint8_t tid[16], sid[8], fl;
	size_t len;
	int a, b;

	memcpy(s, d, n);
	s[n] = 0;
	len = strlen(s);
	a = otel_ctx_parse_traceparent(s, &req);
	b = ref(s, len, tid, sid, &fl);
	if ((a == 0) != (b == 0) ||
	    (!a && (memcmp(req.trace_id, tid, 16) || memcmp(req.span_id, sid, 8) || req.trace_flags != fl))) {
		fprintf(stderr, "MISMATCH header=%d ref=%d on '%s'\n", a, b, s);
		abort();
	}
	free(s);
	return 0;
}

#ifdef STANDALONE
int main(void)
{
	static const char seed[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	static const char alpha[] = "0123456789abcdefABCDEF-fz\0 ";
	uint8_t buf[80];
	unsigned long i;

	srand(1);
	for (i = 0; i < 5000000; i++) {
		size_t n = 50 + rand() % 20, k;
		memcpy(buf, seed, sizeof(seed) - 1);
		for (k = sizeof(seed) - 1; k < n; k++) buf[k] = '-';
		for (k = rand() % 4; k--;) buf[rand() % n] = alpha[rand() % (sizeof(alpha) - 1)];
		if (rand() % 3 == 0) memset(buf + 3 + (rand() % 2) * 33, '0', rand() % 2 ? 32 : 16);
		LLVMFuzzerTestOneInput(buf, n);
	}
	puts("standalone loop: no mismatch");
	return 0;
}
#endif
