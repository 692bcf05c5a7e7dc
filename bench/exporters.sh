#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/exporters.sh: the host half of `make bench` (scripts/bench runs it).
# CPU time per exported span and peak RSS of oteld replaying a capture of
# SPANS spans, and of the OpenTelemetry JavaScript SDK's OTLP protobuf
# exporter sending as many equivalent spans, both to the same null OTLP/HTTP
# receiver on loopback.  Prints `name: value unit` lines.
#
#   bench/exporters.sh BUILD_DIR SPANS
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: exporters.sh BUILD_DIR SPANS}
spans=${2:?usage: exporters.sh BUILD_DIR SPANS}
bin=$out
mkdir -p "$out"

rx_pid=
rx_port=
# Start a fresh null receiver (its own counters) for one exporter.
rx_start() {
	local _
	# emptied first: the receiver's shell truncates it only once it runs,
	# and the last run's port must not be read meanwhile
	: >"$out/receiver.$1"
	"$bin/null_receiver" >"$out/receiver.$1" 2>&1 &
	rx_pid=$!
	for _ in $(seq 50); do
		rx_port=$(awk '/^port/ { print $2 }' "$out/receiver.$1" 2>/dev/null)
		[ -n "$rx_port" ] && return 0
		sleep 0.1
	done
	echo "# null receiver did not start" >&2
	return 1
}

# Stop it; rx_line="requests R bytes B spans S bad X".  Not called as
# $(rx_stop ...): in a subshell, wait cannot wait for the receiver (its
# totals may not be written yet) and rx_pid stays set for the EXIT trap.
rx_line=
rx_stop() {
	kill -TERM "$rx_pid" 2>/dev/null
	wait "$rx_pid" 2>/dev/null
	rx_pid=
	rx_line=$(grep '^requests' "$out/receiver.$1")
}
trap '[ -n "$rx_pid" ] && kill "$rx_pid" 2>/dev/null' EXIT

# report NAME RUSAGE_FILE RECEIVER_LINE: the figures of one exporter.
report() {
	local name=$1 ru=$2 rx=$3
	awk -v name="$name" -v want="$spans" -v rx="$rx" '
	{
		for (i = 1; i < NF; i += 2)
			v[$i] = $(i + 1)
		split(rx, r, " ")
		got = r[6]; bytes = r[4]; bad = r[8]
		cpu = v["user_s"] + v["sys_s"]
		if (v["status"] != 0 || got != want) {
			printf "%s_cpu_per_span: skipped (exit status %d, receiver got %d of %d spans)\n",
				name, v["status"], got, want
			exit 1
		}
		printf "%s_cpu_per_span: %.3f us/span\n", name, cpu * 1e6 / want
		printf "%s_spans_per_s_per_core: %.0f spans/s\n", name, want / cpu
		printf "%s_peak_rss: %.1f MiB\n", name, v["maxrss_kb"] / 1024
		printf "%s_wall: %.2f s\n", name, v["wall_s"]
		printf "%s_bytes_per_span: %.1f bytes\n", name, bytes / want
		if (bad)
			printf "# %s: receiver could not parse %d requests\n",
				name, bad
	}' "$ru"
}

cpu_per_span() {
	awk '{ for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
	       print (v["user_s"] + v["sys_s"]) }' "$1"
}

# --- The JavaScript reference exporter ---------------------------------
js_ok=0
js() {
	local dir=$top/bench/js rx
	if ! command -v node >/dev/null; then
		echo "js_cpu_per_span: skipped (node is not installed)"
		return
	fi
	if [ ! -d "$dir/node_modules/@opentelemetry/exporter-trace-otlp-proto" ] ||
	   [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		if ! (cd "$dir" && NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt} \
			npm ci --no-audit --no-fund --loglevel=error) \
		    >"$out/npm.log" 2>&1; then
			echo "js_cpu_per_span: skipped (npm ci failed, see $out/npm.log)"
			return
		fi
	fi
	rx_start js || return
	"$bin/rusage" "$out/js.rusage" node "$dir/export.js" \
		--url "http://127.0.0.1:$rx_port/v1/traces" --spans "$spans" \
		>"$out/js.log" 2>&1
	rx_stop js
	rx=$rx_line
	report js "$out/js.rusage" "$rx" && js_ok=1
}

# --- oteld replaying a capture -----------------------------------------
oteld_ok=0
oteld() {
	local exe="" rx c
	for c in "$top/build/oteld" "$top/userspace/oteld/oteld"; do
		[ -x "$c" ] && exe=$c && break
	done
	if [ -z "$exe" ]; then
		echo "oteld_cpu_per_span: skipped (oteld is not built yet)"
		return
	fi
	if ! "$exe" --help 2>&1 | grep -q -- '--input'; then
		echo "oteld_cpu_per_span: skipped (oteld has no --input replay yet)"
		return
	fi
	if [ ! -x "$bin/gencapture" ]; then
		echo "oteld_cpu_per_span: skipped (no capture generator: docs/oteld.md has no capture format yet)"
		return
	fi
	if ! "$bin/gencapture" "$out/capture.bin" "$spans" >"$out/gencapture.log" 2>&1; then
		echo "oteld_cpu_per_span: skipped (gencapture failed: $(tail -1 "$out/gencapture.log"))"
		return
	fi
	# A replay that does not wait for the export queue drops what does not
	# fit (counted); then the queue must hold the whole capture, and the
	# peak RSS counts it.  Probe with a small capture and the default queue.
	local queue=() probe=20000
	"$bin/gencapture" "$out/probe.bin" $probe >/dev/null 2>&1
	rx_start probe || return
	run_oteld "$exe" "$out/probe.bin" "$out/probe.rusage" >"$out/probe.log" 2>&1
	rx_stop probe
	rx=$rx_line
	rm -f "$out/probe.bin"
	if [ "$(echo "$rx" | awk '{ print $6 }')" != $probe ]; then
		queue=(--max-queue-size "$spans")
		echo "# oteld: --input does not wait for the export queue (a replay with the default queue lost spans): --max-queue-size $spans, so its peak RSS includes the whole capture queued"
	fi
	rx_start oteld || return
	run_oteld "$exe" "$out/capture.bin" "$out/oteld.rusage" "${queue[@]}" \
		>"$out/oteld.log" 2>&1
	rx_stop oteld
	rx=$rx_line
	rm -f "$out/capture.bin"
	report oteld "$out/oteld.rusage" "$rx" && oteld_ok=1
}

# run_oteld EXE CAPTURE RUSAGE [FLAGS...]: replay to the receiver.
run_oteld() {
	local exe=$1 capture=$2 ru=$3
	shift 3
	OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
		"$bin/rusage" "$ru" "$exe" --input "$capture" \
		--endpoint "http://127.0.0.1:$rx_port" --service-name otel-bench \
		"$@"
}

echo "# exporters: $spans spans each, protobuf over OTLP/HTTP to a null receiver on 127.0.0.1"
oteld
js
if [ "$oteld_ok" = 1 ] && [ "$js_ok" = 1 ]; then
	awk -v o="$(cpu_per_span "$out/oteld.rusage")" \
	    -v j="$(cpu_per_span "$out/js.rusage")" \
	    'BEGIN { printf "oteld_vs_js_cpu_per_span: %.3fx\n", o / j }'
else
	echo "oteld_vs_js_cpu_per_span: skipped (needs both exporters)"
fi
