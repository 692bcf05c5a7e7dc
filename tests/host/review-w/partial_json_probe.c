#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "oteld.h"
static void t(const char *label, const char *body, size_t len)
{
	char msg[64];
	long long n = otlp_json_rejected(body, len, msg, sizeof(msg));
	printf("%-28s -> %lld msg=\"", label, n);
	for (char *p = msg; *p; p++) printf(((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) ? "\\x%02x" : "%c", (unsigned char)*p);
	printf("\"\n");
}
#define T(l, s) t(l, s, sizeof(s) - 1)
int main(void)
{
	T("plain", "{\"partialSuccess\":{\"rejectedSpans\":\"5\",\"errorMessage\":\"x\"}}");
	T("num", "{\"partialSuccess\":{\"rejectedSpans\":5}}");
	T("str-space", "{\"partialSuccess\":{\"rejectedSpans\":\" 5\"}}");
	T("str-plus", "{\"partialSuccess\":{\"rejectedSpans\":\"+5\"}}");
	T("huge-num", "{\"partialSuccess\":{\"rejectedSpans\":99999999999999999999999}}");
	T("huge-str", "{\"partialSuccess\":{\"rejectedSpans\":\"99999999999999999999999\"}}");
	T("70digits", "{\"partialSuccess\":{\"rejectedSpans\":1234567890123456789012345678901234567890123456789012345678901234567890}}");
	T("exp", "{\"partialSuccess\":{\"rejectedSpans\":1e2}}");
	T("neg", "{\"partialSuccess\":{\"rejectedSpans\":-3,\"errorMessage\":\"neg\"}}");
	T("dup", "{\"partialSuccess\":{\"rejectedSpans\":3,\"rejectedSpans\":0}}");
	T("dup-obj", "{\"partialSuccess\":{\"rejectedSpans\":3},\"partialSuccess\":null}");
	T("unterminated", "{\"partialSuccess\":{\"errorMessage\":\"abc");
	T("nul-escape", "{\"partialSuccess\":{\"rejectedSpans\":1,\"errorMessage\":\"a\\u0000b\"}}");
	T("newline-log", "{\"partialSuccess\":{\"rejectedSpans\":1,\"errorMessage\":\"a\\nFAKE LOG LINE\\u001b[31m\"}}");
	T("bad-utf8", "{\"partialSuccess\":{\"rejectedSpans\":1,\"errorMessage\":\"\xff\xfe\xc0\x80\"}}");
	T("trailing", "{\"partialSuccess\":{\"rejectedSpans\":1}} x");
	T("null-msg", "{\"partialSuccess\":{\"rejectedSpans\":1,\"errorMessage\":null}}");
	T("null-rej", "{\"partialSuccess\":{\"rejectedSpans\":null,\"errorMessage\":\"w\"}}");
	T("bool-rej", "{\"partialSuccess\":{\"rejectedSpans\":true}}");
	/* long message: cut mid-character? */
	{
		char b[512]; strcpy(b, "{\"partialSuccess\":{\"rejectedSpans\":1,\"errorMessage\":\"");
		for (int i = 0; i < 40; i++) strcat(b, "\xc3\xa9"); strcat(b, "\"}}");
		t("cut-utf8", b, strlen(b));
	}
	/* deep nesting */
	{
		size_t n = 100000; char *b = malloc(2 * n + 64); size_t k = 0;
		k += sprintf(b, "{\"x\":");
		for (size_t i = 0; i < n; i++) b[k++] = '[';
		for (size_t i = 0; i < n; i++) b[k++] = ']';
		k += sprintf(b + k, ",\"partialSuccess\":{\"rejectedSpans\":2}}");
		t("deep-array", b, k);
		k = 0; k += sprintf(b, "{\"partialSuccess\":{\"a\":");
		for (size_t i = 0; i < 62; i++) b[k++] = '[';
		for (size_t i = 0; i < 62; i++) b[k++] = ']';
		k += sprintf(b + k, ",\"rejectedSpans\":2}}");
		t("depth-64", b, k);
		free(b);
	}
	return 0;
}
