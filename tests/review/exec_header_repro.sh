#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Review reproducers for otelctl exec and oteltrace_context.h (no module
# needed).  Each line prints what happens; the expected behaviour follows '#'.
#   tests/review/exec_header_repro.sh [build/otelctl]
O=${1:-build/otelctl}
top=$(cd "$(dirname "$0")/../.." && pwd)
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01

echo "1. inherited malformed \$TRACEPARENT blocks CMD even with --optional (want: warn, run CMD)"
TRACEPARENT=garbage "$O" exec --optional -- echo "   CMD ran"; echo "   rc=$?"

echo "2. --traceparent does not reach CMD's \$TRACEPARENT (want: TRACEPARENT=$TP)"
TRACEPARENT=00-11111111111111111111111111111111-1111111111111111-01 \
	"$O" exec --optional --traceparent "$TP" -- sh -c 'echo "   CMD sees TRACEPARENT=$TRACEPARENT"' 2>/dev/null

echo "3. control characters of TP echoed to the terminal (want: escaped)"
"$O" exec --traceparent "$(printf '\033]0;pwned\007')" -- true 2>&1 | od -c | sed -n 3,4p

echo "4. the header does not compile with -std=c11 (O_CLOEXEC needs _POSIX_C_SOURCE >= 200809L)"
tmp=$(mktemp -d)
printf '#include "oteltrace_context.h"\nint main(void){return otel_ctx_clear();}\n' >"$tmp/a.c"
cc -std=c11 -I"$top/userspace/include" -c "$tmp/a.c" -o /dev/null 2>&1 | grep -m1 error

echo "5. the header only works inside the source tree (relative ../../uapi include)"
cp "$top/userspace/include/oteltrace_context.h" "$tmp/"
cc -I"$tmp" -c "$tmp/a.c" -o /dev/null 2>&1 | grep -m1 error
rm -rf "$tmp"
