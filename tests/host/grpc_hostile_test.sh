#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# oteld (ASan + UBSan) against hostile OTLP/gRPC servers on 127.0.0.1
# (grpc_hostile_test.js: node's http2 and raw TCP, no npm packages); TAP.
# Generated into build/tests/host/ by tests/host/Makefile.
top=@TOP@
tools=@TOOLS@
if ! command -v node >/dev/null 2>&1; then
	# setup installs node: its absence is a broken setup, not a skip
	echo "1..1"
	echo "not ok 1 node is not installed (scripts/setup installs it)"
	exit 1
fi
OTELD=$tools/oteld GENCAP=$tools/gencap \
	exec node "$top/tests/host/grpc_hostile_test.js"
