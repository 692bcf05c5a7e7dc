#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/doc.sh: put the figures of a `make bench` run (build/bench/
# results.txt) into docs/benchmarks.md: between its "bench:results" marker
# comments as a table plus the run's notes, and between its "bench:targets"
# markers as the targets with the run's value and whether each is met.
# Everything else in the page is left as written.
#
#   bench/doc.sh RESULTS DOC
set -euo pipefail
results=${1:?usage: doc.sh RESULTS DOC}
doc=${2:?usage: doc.sh RESULTS DOC}

# The targets: figure, comparison (== <= < >= or "report"), bound, and what
# the target says.
targets='kspan_records_per_span	==	1	one ring record per span
kspan_vs_trace_event_pair	<=	0.3	span begin+end <= 0.3x an ftrace trace event pair
kspan_vs_floor	<=	3	span begin+end <= 3x the floor
ring_span_vs_trace_event_pair	report	-	the record alone, no span API around it, against the trace event pair (a bound, reported)
ring_span_vs_floor	report	-	the record alone against the floor (a bound, reported)
unsampled_vs_recorded	<=	0.1	unsampled span <= 0.1x a recorded one
noop_vs_recorded	report	-	no-op span (noop_spans=Y under always_off) against a recorded one (reported)
disabled_vs_empty_loop	<=	2	disabled span <= 2x the empty loop
ring_bytes_per_span	report	-	ring bytes per span (reported)
oteld_vs_mmap_delivered	>=	0.8	oteld delivers >= 0.8x what the minimal mmap reader does
relay_vs_mmap_delivered	report	-	the relay floor (records over loopback TCP, nothing else) against the mmap reader (a bound, reported)
oteld_spans_per_s_per_core	>=	3000000	oteld >= 3,000,000 spans/s per core
kspan_vs_bpf_span	<	1	span cheaper than the same span made with BPF (ebpf_exporter style)
oteld_vs_js_cpu_per_span	<=	0.1	oteld <= 0.1x the CPU per span of the JS exporter
scaling_vs_floor_scaling	>=	0.9	all-CPU throughput >= 0.9 x CPUs x one-CPU (first round)'

# replace DOC NAME FILE: put FILE between DOC's "bench:NAME" markers.
replace() {
	local begin="<!-- bench:$1:begin -->" end="<!-- bench:$1:end -->"
	if ! grep -qF "$begin" "$doc" || ! grep -qF "$end" "$doc"; then
		echo "doc.sh: $doc has no $begin ... $end section" >&2
		exit 1
	fi
	awk -v begin="$begin" -v end="$end" -v table="$2" '
		$0 == begin { print; while ((getline l < table) > 0) print l
			      skip = 1; next }
		$0 == end { skip = 0 }
		!skip { print }' "$doc" >"$doc.tmp"
	mv "$doc.tmp" "$doc"
}

table=$(mktemp)
trap 'rm -f "$table"' EXIT
{
	echo
	echo '| figure | value |'
	echo '|---|---|'
	# shellcheck disable=SC2016 # the backquotes are Markdown
	grep -E '^[a-z0-9_]+: ' "$results" |
		sed -e 's/|/\\|/g' -e 's/^\([a-z0-9_]*\): \(.*\)$/| `\1` | \2 |/'
	echo
	grep -E '^# ' "$results" | sed 's/^# /- /'
	echo
} >"$table"
replace results "$table"

{
	echo
	echo '| target | figure | latest run | |'
	echo '|---|---|---|---|'
	printf '%s\n' "$targets" | while IFS='	' read -r fig op bound what; do
		line=$(grep -m1 -E "^$fig: " "$results" | sed "s/^$fig: //") || true
		awk -v fig="$fig" -v op="$op" -v bound="$bound" -v what="$what" \
		    -v line="$line" 'BEGIN {
			gsub(/\|/, "\\|", line)
			if (line == "") { v = "not run"; s = "" }
			else if (line ~ /^skipped/) { v = line; s = "skipped" }
			else {
				v = line
				n = line; sub(/[^0-9.eE+-].*$/, "", n); n += 0
				if (op == "report") s = "reported"
				else if (op == "==") s = n == bound ? "met" : "missed"
				else if (op == "<=") s = n <= bound ? "met" : "missed"
				else if (op == "<") s = n < bound ? "met" : "missed"
				else if (op == ">=") s = n >= bound ? "met" : "missed"
				else s = "?"
			}
			printf "| %s | `%s` | %s | %s |\n", what, fig, v, s
		}'
	done
	echo
} >"$table"
replace targets "$table"
