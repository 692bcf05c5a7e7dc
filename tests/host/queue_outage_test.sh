#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# oteld --queue-dir: a collector outage with a restart in the middle, nothing
# lost (queue_outage_test.js); TAP output.  OUTAGE_SECONDS=60 for issue 11's
# full run (make check runs 5).  Generated into build/tests/host/ by
# tests/host/Makefile.
top=@TOP@
tools=@TOOLS@
if ! command -v node >/dev/null 2>&1; then
	echo "1..1"
	echo "not ok 1 node is not installed (scripts/setup installs it)"
	exit 1
fi
if ! "$top/tests/otlp-receiver/setup" >&2; then
	echo "1..1"
	echo "not ok 1 npm ci in tests/otlp-receiver failed"
	exit 1
fi
OTELD=$tools/oteld SPANGEN=$tools/spangen GENCAP=$tools/gencap \
RECEIVER=$top/tests/otlp-receiver/receiver.js \
	exec node "$top/tests/host/queue_outage_test.js"
