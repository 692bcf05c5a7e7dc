#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# oteltrace_context.h as an application sees it: installed by
# `make install DESTDIR=` (headers only, no source tree on the include
# path), and in strict ISO C (-std=c11 -pedantic).  TAP output.
# Generated into build/tests/host/ by tests/host/Makefile.
top=@TOP@
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; sed 's/^/# /' "$tmp/log"; }
echo "1..5"
cat >"$tmp/app.c" <<'C'
#include <oteltrace/oteltrace_context.h>
int main(void)
{
	struct otel_context_req req;

	if (otel_ctx_parse_traceparent(
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &req))
		return 1;
	return req.trace_flags == OTEL_TRACE_FLAG_SAMPLED ? 0 : 1;
}
C
printf '#include "oteltrace_context.h"\nint main(void){return otel_ctx_clear() == 0;}\n' \
	>"$tmp/tree.c"
if make -s -C "$top/userspace/include" install TOP="$top" PREFIX=/usr \
	DESTDIR="$tmp/root" >"$tmp/log" 2>&1 &&
	[ -f "$tmp/root/usr/include/oteltrace/oteltrace.h" ] &&
	[ -f "$tmp/root/usr/include/oteltrace/oteltrace_context.h" ]; then
	ok "make install puts both headers in PREFIX/include/oteltrace/"
else
	nok "make install puts both headers in PREFIX/include/oteltrace/"
fi
for std in "-std=c11 -pedantic" "-std=c99 -pedantic" "-std=gnu11 -D_GNU_SOURCE"; do
	# shellcheck disable=SC2086
	if cc $std -Wall -Wextra -Werror -I"$tmp/root/usr/include" \
		-o "$tmp/app" "$tmp/app.c" >"$tmp/log" 2>&1 && "$tmp/app"; then
		ok "installed headers only, $std: compiles and parses"
	else
		nok "installed headers only, $std: compiles and parses"
	fi
done
if cc -std=c11 -pedantic -Wall -Wextra -Werror -I"$top/userspace/include" \
	-c -o "$tmp/tree.o" "$tmp/tree.c" >"$tmp/log" 2>&1; then
	ok "in the source tree (-I userspace/include), -std=c11 -pedantic"
else
	nok "in the source tree (-I userspace/include), -std=c11 -pedantic"
fi
exit $fail
