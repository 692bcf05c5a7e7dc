#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# oteld --queue-dir end to end: restarts, corrupt files, the lock, a full
# disk, each protocol (queue_test.js); TAP output.  Generated into
# build/tests/host/ by tests/host/Makefile.
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
GRPC_RECEIVER=$top/tests/otlp-receiver/grpc_receiver.js \
	exec node "$top/tests/host/queue_test.js"
