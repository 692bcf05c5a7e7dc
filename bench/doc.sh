#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/doc.sh: put the figures of a `make bench` run (build/bench/
# results.txt) into docs/benchmarks.md, between its "bench:results" marker
# comments, as a table plus the run's notes.  Everything else in the page
# is left as written.
#
#   bench/doc.sh RESULTS DOC
set -euo pipefail
results=${1:?usage: doc.sh RESULTS DOC}
doc=${2:?usage: doc.sh RESULTS DOC}
begin='<!-- bench:results:begin -->'
end='<!-- bench:results:end -->'
if ! grep -qF "$begin" "$doc" || ! grep -qF "$end" "$doc"; then
	echo "doc.sh: $doc has no $begin ... $end section" >&2
	exit 1
fi
table=$(mktemp)
trap 'rm -f "$table"' EXIT
{
	echo "$begin"
	echo
	echo '| figure | value |'
	echo '|---|---|'
	# shellcheck disable=SC2016 # the backquotes are Markdown
	grep -E '^[a-z0-9_]+: ' "$results" |
		sed -e 's/|/\\|/g' -e 's/^\([a-z0-9_]*\): \(.*\)$/| `\1` | \2 |/'
	echo
	grep -E '^# ' "$results" | sed 's/^# /- /'
	echo
	echo "$end"
} >"$table"
awk -v begin="$begin" -v end="$end" -v table="$table" '
	$0 == begin { while ((getline l < table) > 0) print l; skip = 1; next }
	$0 == end { skip = 0; next }
	!skip { print }' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"
