#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# oteld given bad input (oteld_input_test.js): bad endpoints, redirects,
# an exporter that cannot start, cut captures, batches too large; TAP.
# Generated into build/tests/host/ by tests/host/Makefile.
top=@TOP@
tools=@TOOLS@
if ! command -v node >/dev/null 2>&1; then
	# setup installs node: its absence is a broken setup, not a skip
	echo "1..1"
	echo "not ok 1 node is not installed (scripts/setup installs it)"
	exit 1
fi
if ! "$top/tests/otlp-receiver/setup" >&2; then
	echo "1..1"
	echo "not ok 1 npm ci in tests/otlp-receiver failed"
	exit 1
fi
OTELD=$tools/oteld GENCAP=$tools/gencap FAIL_THREAD_SO=$tools/fail_thread.so \
RECEIVER=$top/tests/otlp-receiver/receiver.js \
	exec node "$top/tests/host/oteld_input_test.js"
