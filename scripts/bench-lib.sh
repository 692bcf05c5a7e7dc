# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/bench-lib.sh: what the benchmark scripts share (sourced, not run).
# Needs $top (the tree); bench_irqs_on_module() calls the caller's die().

# One benchmark at a time: they share build/bench and the CPUs.  Holds the
# lock on fd 9 until the caller exits.  $1: the caller's name.
bench_lock() {
	local lock=${BUILD:-$top/build}/bench/.lock

	mkdir -p "${lock%/*}" || exit 1
	exec 9>"$lock"
	if ! flock -n 9; then
		echo "$1: another benchmark is running; waiting for it" >&2
		flock 9
	fi
}

# otel_bench.ko built again with OTEL_BENCH_IRQS_ON=1 into $2/kmod (a copy
# of its sources), against kernel release $1: its batches leave interrupts
# on, so that perf's sampling timer can land in them.
bench_irqs_on_module() {
	local krel=$1 dir=$2/kmod kspan=0 ring=0

	mkdir -p "$dir" || die "cannot create $dir"
	cp "$top"/bench/kmod/Kbuild "$top"/bench/kmod/*.c \
		"$top"/bench/kmod/*.h "$dir/" ||
		die "cannot copy otel_bench.ko's sources to $dir"
	grep -qw __otel_kspan_begin "$top/Module.symvers" && kspan=1
	grep -qw otel_ring_reserve "$top/Module.symvers" && ring=1
	make -C "/lib/modules/$krel/build" M="$dir" \
		KBUILD_EXTRA_SYMBOLS="$top/Module.symvers" OTELTRACE="$top" \
		OTEL_BENCH_KSPAN=$kspan OTEL_BENCH_RING=$ring \
		OTEL_BENCH_IRQS_ON=1 modules >"$2/kmod-build.log" 2>&1 ||
		die "otel_bench.ko does not build (see $2/kmod-build.log)"
}
