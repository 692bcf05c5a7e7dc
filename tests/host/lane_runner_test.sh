#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The VM lanes' runner, on the host (no VM): tests/vm/run-all fails a
# program it cannot run and a suite with no program (make check-debug
# PROGRAM with a typo passed, "0 failed"), scripts/tap-count.sh counts that
# as a failure, tests/vm/run-debug gives no kmemleak verdict when kmemleak
# refuses to scan, run-all fails a program that passes but leaves a module
# loaded, and scripts/vm's kernel-log patterns match the reports of
# Linux 6.1's checkers (and not its boot messages).  TAP output.
# Generated into build/tests/host/ by tests/host/Makefile.
top=@TOP@
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; sed 's/^/# /' "$tmp/log"; }
echo "1..6"

# tap_failures LOG: the failures scripts/check-debug counts in a run's log.
tap_failures() {
	(
		pass=0 fail=0 skip=0 failures=() skips=()
		. "$top/scripts/tap-count.sh"
		count "$1" vm 0
		count_vm "$1" vm 0
		echo "$fail"
	)
}

"$top/tests/vm/run-all" "$tmp/no_such_test" >"$tmp/log" 2>&1
if grep -q '^not ok 1 no_such_test' "$tmp/log" &&
	grep -q '^# exit: no_such_test 127$' "$tmp/log" &&
	[ "$(tap_failures "$tmp/log")" -ge 1 ]; then
	ok "run-all fails a named program that does not exist"
else
	nok "run-all fails a named program that does not exist"
fi

mkdir -p "$tmp/tree/tests/vm" "$tmp/tree/build/tests/vm"
cp "$top/tests/vm/run-all" "$tmp/tree/tests/vm/"
echo 'not a program' >"$tmp/tree/build/tests/vm/notes.txt"
"$tmp/tree/tests/vm/run-all" >"$tmp/log" 2>&1
if grep -q '^not ok 1 run-all: no test program' "$tmp/log" &&
	[ "$(tap_failures "$tmp/log")" -ge 1 ]; then
	ok "run-all fails a suite with no program"
else
	nok "run-all fails a suite with no program"
fi

# A program that passes but leaves a module loaded fails (the next one's
# insmod would get EEXIST); one that failed is only cleaned up after.
printf 'otel_spantest 16384 0 - Live 0x0\nfoo 1 0 - Live 0x0\n' >"$tmp/modules"
printf '#!/bin/sh\necho "1..1"\necho "ok 1 fine"\n' >"$tmp/pass_test"
printf '#!/bin/sh\necho "1..1"\necho "not ok 1 bad"\nexit 1\n' >"$tmp/fail_test"
chmod +x "$tmp/pass_test" "$tmp/fail_test"
OTEL_PROC_MODULES=$tmp/modules OTEL_RMMOD=: "$top/tests/vm/run-all" "$tmp/fail_test" \
	>"$tmp/log" 2>&1
grep -q '^# fail_test left modules loaded: otel_spantest (unloaded)$' "$tmp/log" &&
	! grep -q '^not ok 1 fail_test: passed' "$tmp/log"
failed_ok=$?
OTEL_PROC_MODULES=$tmp/modules OTEL_RMMOD=: "$top/tests/vm/run-all" "$tmp/pass_test" \
	>>"$tmp/log" 2>&1
if [ "$failed_ok" = 0 ] &&
	grep -q '^not ok 1 pass_test: passed but left modules loaded: otel_spantest$' "$tmp/log" &&
	[ "$(tap_failures "$tmp/log")" -ge 2 ]; then
	ok "run-all fails a program that passes but leaves a module loaded"
else
	nok "run-all fails a program that passes but leaves a module loaded"
fi

# kmemleak turned off refuses "scan" (EPERM) and lists nothing; here a
# directory stands for it (writes fail, reads give nothing).
mkdir "$tmp/kmemleak_off"
printf '#!/bin/sh\necho "1..1"\necho "ok 1 fine"\n' >"$tmp/fine_test"
chmod +x "$tmp/fine_test"
OTEL_KMEMLEAK=$tmp/kmemleak_off "$top/tests/vm/run-debug" "$tmp/fine_test" >"$tmp/log" 2>&1
if grep -q '^ok 1 fine' "$tmp/log" &&
	grep -q '^not ok 2 kmemleak.no_leak' "$tmp/log" &&
	[ "$(tap_failures "$tmp/log")" -ge 1 ]; then
	ok "run-debug fails when kmemleak refuses to scan"
else
	nok "run-debug fails when kmemleak refuses to scan"
fi

# Linux 6.1's strings (kernel/locking/lockdep.c, kernel/sched/core.c,
# mm/kasan/report.c, mm/kfence/report.c, lib/ubsan.c, mm/kmemleak.c,
# lib/debugobjects.c, lib/list_debug.c, lib/refcount.c, kernel/hung_task.c,
# kernel/watchdog.c, kernel/rcu/tree_stall.h, kernel/panic.c).
eval "$(grep '^report_re=' "$top/scripts/vm")"
cat >"$tmp/reports" <<'LOG'
[   12.3] WARNING: possible circular locking dependency detected
[   12.3] WARNING: inconsistent lock state
[   12.3] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580
[   12.3] BUG: scheduling while atomic: insmod/123/0x00000002
[   12.3] BUG: using smp_processor_id() in preemptible [00000000] code: x/1
[   12.3] BUG: KASAN: slab-out-of-bounds in canary_oob+0x3c/0x60 [otel_kasan_canary]
[   12.3] BUG: KFENCE: use-after-free read in ring_free+0x1/0x2
[   12.3] UBSAN: shift-out-of-bounds in kmod/ring.c:12:3
[   12.3] WARNING: CPU: 1 PID: 99 at lib/debugobjects.c:505 debug_print_object+0x1/0x2
[   12.3] list_add corruption. prev->next should be next (ffff), but was 0000.
[   12.3] refcount_t: underflow; use-after-free.
[   12.3] INFO: task otel_test:77 blocked for more than 30 seconds.
[   12.3] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [x:1]
[   12.3] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[   12.3] Kernel panic - not syncing: Fatal exception
[   12.3] INFO: trying to register non-static key.
[   12.3] turning off the locking correctness validator.
[   12.3] kmemleak: Kernel memory leak detector disabled
[   12.3] kmemleak: Freeing unknown object at 0xffff888012345678
[   12.3] kmemleak: Trying to color unknown object at 0xffff888012345678 as Grey
[   12.3] kmemleak: Found object by alias at 0xffff888012345678
[   12.3] ODEBUG: Out of memory. ODEBUG disabled
[   12.3] Disabling lock debugging due to kernel taint
LOG
cat >"$tmp/clean" <<'LOG'
[    0.1] kasan: KernelAddressSanitizer initialized (generic)
[    0.2] kmemleak: Kernel memory leak detector initialized (mem pool available: 15843)
[    0.2] kmemleak: Automatic memory scanning thread started
[    0.3] rcu: 	RCU CPU stall warnings timeout set to 60 (rcu_cpu_stall_timeout).
[    0.4] kfence: initialized - using 2097152 bytes for 255 objects
[    9.9] oteltrace: loading out-of-tree module taints kernel.
LOG
missed=$(grep -v -E "$report_re" "$tmp/reports")
false=$(grep -E "$report_re" "$tmp/clean")
printf '%s\n' "$missed" >"$tmp/log"
if [ -z "$missed" ]; then
	ok "scripts/vm's patterns match every 6.1 checker report"
else
	nok "scripts/vm's patterns match every 6.1 checker report (missed above)"
fi
printf '%s\n' "$false" >"$tmp/log"
if [ -z "$false" ]; then
	ok "scripts/vm's patterns pass clean boot messages"
else
	nok "scripts/vm's patterns pass clean boot messages (matched above)"
fi
exit $fail
