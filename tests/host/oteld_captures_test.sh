#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# oteld on hostile and edge-case captures (hostcap.c): task names from COMM
# records (empty, recycled pid, rename, control bytes), old anchors, item
# drop counts.  oteld --input ... --stdout (ASan + UBSan build); TAP output.
# Generated into build/tests/host/ by tests/host/Makefile.
set -u
tools=@TOOLS@
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
verdict() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fails=$((fails + 1))
	fi
}
run() {
	"$tools/hostcap" "$@" "$tmp/cap" &&
		"$tools/oteld" --input "$tmp/cap" --stdout 2>&1
}
echo "1..10"

o=$(run empty-comm)
! grep -q 'records_corrupt=[1-9]' <<<"$o"
verdict $? 'a COMM with comm "" (prctl(PR_SET_NAME, "")) is not counted corrupt'
[ "$(grep -c 'thread.name="oldname"' <<<"$o")" = 1 ] &&
	grep -A1 after-rename-to-empty <<<"$o" | grep -q 'thread.id=100' &&
	! grep -A1 after-rename-to-empty <<<"$o" | grep -q 'thread.name'
verdict $? 'a task renamed to "" keeps no name, and shows no thread.name'

o=$(run pid-reuse)
! grep -q 'process.pid=200, thread.name="oldproc"' <<<"$o" &&
	grep -q 'process.pid=200, thread.name="newproc"' <<<"$o"
verdict $? "a recycled pid in another process is named by its own COMM"

o=$(run rename)
grep -A1 's2-after-rename' <<<"$o" | grep -q 'thread.name="after"'
verdict $? "a span begun after a rename gets the new name (its COMM read later in the pass)"

o=$(run comm-bad)
! grep -q $'\x1b' <<<"$o" && ! grep -q $'\r' <<<"$o" &&
	grep -q 'thread.name="\\x1b\[31mred\\x0a\\x0d\\x09\\x7f"' <<<"$o"
verdict $? "--stdout: a thread name with ESC / control bytes is escaped"
# too small: corrupt; longer (a later ABI's fields) and 16 bytes without
# a NUL (TASK_COMM_LEN) are names; pid 0 is not corrupt and names nothing
grep -qE 'records_corrupt=1( |$)' <<<"$o" &&
	grep -q 'thread.name="toolarge"' <<<"$o" &&
	grep -q 'thread.name="sixteen_bytes_NO"' <<<"$o" &&
	! grep -A1 pid0-task <<<"$o" | grep -q 'thread.id'
verdict $? "COMM too small: corrupt; longer, unterminated, pid 0: not"

o=$(run old-anchor)
grep -qE 'clock_too_old=1( |$)' <<<"$o"
verdict $? "a span older than the oldest anchor kept is counted (clock_too_old)"

o=$(run dropped-max)
# the counts aimed at event 9 and link 9, which never come: not the span's
grep -qE 'item_attrs_lost=2( |$)' <<<"$o" &&
	! grep -qE 'records_corrupt=[1-9]' <<<"$o"
verdict $? "dropped counts of events and links not there: counted apart, not the span's"

start=$(date +%s)
o=$(run item-drops 65534)
end=$(date +%s)
[ $((end - start)) -lt 20 ] && grep -qE 'item_attrs_lost=[1-9]' <<<"$o"
verdict $? "65,534 distinct event/link drop targets: bounded ($((end - start)) s), counted"

o=$(run comm-flood 20000)
grep -qE 'names_evicted=[1-9]' <<<"$o"
verdict $? "names pushed out of the 16,384-slot table are counted (names_evicted)"
exit $((fails > 0))
