#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/lttng.sh: can LTTng be measured beside oteltrace?  Debian's
# lttng-modules-dkms is built against the test kernel's headers, outside the
# tree (/var/tmp), and the outcome is remembered in the project cache.  The
# build takes minutes, so it runs only with OTEL_BENCH_LTTNG=1; later runs
# reuse the cached outcome.  Prints one line:
#   lttng_event: skipped (reason)      or      lttng: built DIR
#
#   bench/lttng.sh KERNEL_RELEASE CACHE_DIR
set -uo pipefail
krel=${1:?usage: lttng.sh KERNEL_RELEASE CACHE_DIR}
cache=${2:?usage: lttng.sh KERNEL_RELEASE CACHE_DIR}

ver=$(apt-cache policy lttng-modules-dkms 2>/dev/null |
      awk '/Candidate:/ { print $2 }')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	echo "lttng_event: skipped (no lttng-modules-dkms package in apt)"
	exit 0
fi
stamp=$cache/bench-lttng-$ver-$krel.result
work=/var/tmp/oteltrace-bench-lttng-$ver-$krel

if [ ! -f "$stamp" ] && [ "${OTEL_BENCH_LTTNG:-0}" != 1 ]; then
	echo "lttng_event: skipped (lttng-modules-dkms $ver not tried against $krel: OTEL_BENCH_LTTNG=1 builds it, several minutes)"
	exit 0
fi
if [ ! -f "$stamp" ] || [ "${OTEL_BENCH_LTTNG:-0}" = 1 ]; then
	rm -rf "$work"
	mkdir -p "$work" "$cache"
	echo "# building lttng-modules-dkms $ver against $krel in $work" >&2
	if ! (cd "$work" && apt-get download "lttng-modules-dkms=$ver" &&
	      dpkg-deb -x lttng-modules-dkms_*.deb root) >"$work/fetch.log" 2>&1; then
		echo "fail: cannot download lttng-modules-dkms $ver" >"$stamp"
	else
		src=$(echo "$work"/root/usr/src/lttng-modules-*)
		if timeout 900 nice make -C "$src" -j"$(nproc)" \
			KERNELDIR="/lib/modules/$krel/build" >"$work/build.log" 2>&1; then
			echo "ok $src" >"$stamp"
		else
			err=$(grep -m1 'error:' "$work/build.log" |
			      sed -e 's/^.*error: //' -e "s/\xe2\x80\x98/'/g" -e "s/\xe2\x80\x99/'/g")
			echo "fail: lttng-modules-dkms $ver does not build against $krel: ${err:-see $work/build.log}" >"$stamp"
		fi
	fi
fi
read -r state rest <"$stamp"
if [ "$state" = ok ]; then
	echo "lttng_event: skipped (lttng-modules $ver builds, but its probe for otel_bench's event is not written yet)"
else
	echo "lttng_event: skipped (${rest})"
fi
