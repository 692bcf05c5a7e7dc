# shellcheck shell=bash
# scripts/tap-count.sh: the TAP counting that scripts/check and
# scripts/check-debug share (sourced).  The caller defines pass, fail, skip
# (numbers) and failures, skips (arrays).

# count LOG LABEL STATUS: add LOG's TAP verdicts to the totals.  A program
# that skips itself whole ("1..0 # SKIP reason") counts as one skip; every
# skip's reason is kept for the summary.
count() {
	local log=$1 label=$2 status=$3 p f s l
	p=$(grep -aE '^ok [0-9]+' "$log" | grep -avcE '# (SKIP|skip)')
	s=$(grep -aE '^ok [0-9]+' "$log" | grep -acE '# (SKIP|skip)')
	f=$(grep -acE '^not ok [0-9]+' "$log")
	while IFS= read -r l; do failures+=("$label: ${l#not ok }"); done \
		< <(grep -aE '^not ok [0-9]+' "$log")
	while IFS= read -r l; do skips+=("$label: ${l#ok }"); done \
		< <(grep -aE '^ok [0-9]+.*# (SKIP|skip)' "$log")
	if l=$(grep -aE -m1 '^1\.\.0( |$)' "$log"); then
		s=$((s + 1))
		skips+=("$label: whole program${l#1..0}")
	fi
	if [ "$status" != 0 ] && [ "$f" = 0 ]; then
		f=1
		failures+=("$label: exited with status $status")
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

# count_vm LOG LABEL STATUS: after count LOG LABEL 0 on the output of
# tests/vm/run-all (or run-debug) under scripts/vm with exit STATUS: a
# program that exited non-zero with no "not ok" of its own ("# exit: NAME
# STATUS" lines) is a failure, and so is a VM that failed (kernel report,
# crash, timeout) or a run that never started a program.
count_vm() {
	local log=$1 label=$2 status=$3 l
	while IFS= read -r l; do
		fail=$((fail + 1)); failures+=("$label: $l")
	done < <(awk '/^# run: /{bad=0} /^not ok /{bad=1}
		/^# exit: /{ if ($4 != 0 && !bad) print $3 " exited with status " $4 }' "$log")
	if [ "$status" -ge 124 ] || { [ "$status" != 0 ] && ! grep -aq '^# exit: ' "$log"; }; then
		fail=$((fail + 1)); failures+=("$label: scripts/vm exited $status (kernel report, crash or timeout)")
	fi
}
