#!/usr/bin/env bash
# Reproducers from the review of b92b0fd..8165bee (COMM records, ABI 3).
# Not part of scripts/check: each "not ok" is a finding, expected to fail
# until fixed.  Needs `make all` and the host tools (OTEL_CHECK_ONLY=host
# scripts/check builds build/tests/host-tools/oteld).
#   tests/host/review-w/run.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
b=$top/build; tools=$b/tests/host-tools; gen=$b/oteld-gen; o=$top/userspace/oteld
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
lib=$(for f in config resource ring capture assemble pool queue buf group utf8 otlp_wire otlp_proto otlp_json partial encode http grpc grpc_wire export console stats log; do echo $o/$f.c; done)
pb="$gen/common.pb-c.c $gen/resource.pb-c.c $gen/trace.pb-c.c $gen/trace_service.pb-c.c"
cc -std=gnu11 -O1 -g -D_GNU_SOURCE -pthread $san -I$top -I$o -I$gen -I$top/tests/host \
	-o $tmp/hostcap $here/hostcap.c $lib $pb -lprotobuf-c -lcurl -lz -lm 2>/dev/null || exit 1
cc -std=gnu11 -O1 -g -D_GNU_SOURCE -pthread $san -I$top -I$o -I$gen \
	-o $tmp/pj $here/partial_json_probe.c $lib $pb -lprotobuf-c -lcurl -lz -lm 2>/dev/null || exit 1
n=0
verdict() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi; }
run() { $tmp/hostcap "$@" $tmp/cap && $tools/oteld --input $tmp/cap --stdout 2>&1; }
echo "1..8"

o=$(run empty-comm)
! grep -q 'records_corrupt=[1-9]' <<<"$o"; verdict $? "a COMM with comm \"\" (prctl(PR_SET_NAME, \"\")) is not counted corrupt"
[ "$(grep -c 'thread.name="oldname"' <<<"$o")" = 1 ]; verdict $? "a task renamed to \"\" does not keep its old name"

o=$(run pid-reuse)
! grep -q 'process.pid=200, thread.name="oldproc"' <<<"$o"; verdict $? "a recycled pid in another process does not get the old process's name"

o=$(run rename)
grep -q 's2-after-rename' -A1 <<<"$o" && ! grep -A1 's2-after-rename' <<<"$o" | grep -q 'thread.name="before"'
verdict $? "a span begun after a rename is not named with the name before it (COMM time <= span start)"

o=$(run comm-bad)
! grep -q $'\x1b' <<<"$o"; verdict $? "--stdout: a thread name with ESC / control bytes is escaped"

o=$(run old-anchor)
# the span began before the 64 anchors kept: not silently converted with a
# later one (7 h off here); at least counted
! grep -q 'older-than-history' <<<"$o" || grep -qE 'clock_(jumps|steps)=[1-9]' <<<"$o"
verdict $? "a span older than the oldest anchor kept is not silently converted with a later one"

p=$($tmp/pj 2>&1)
! grep -qE '^(huge-num|huge-str) +-> 9223372036854775807' <<<"$p"; verdict $? "partial success: an int64 overflow is not counted as 2^63-1 rejected spans"
! grep -qE '^null-msg +-> -1' <<<"$p"; verdict $? "partial success: \"errorMessage\":null (proto3 JSON default) does not lose the rejected count"
