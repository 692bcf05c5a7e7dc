#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# oteld in the VM exporting to the reference receiver on the host (boots a
# guest: run by `make -C tests/host vm-e2e`, not by the host suite).  @JS@
# is the test: vm_e2e_test.js (the demo driver) or vm_bridge_e2e_test.js.
top=@TOP@
if ! command -v node >/dev/null 2>&1; then
	echo "1..1"
	echo "not ok 1 node is not installed (scripts/setup installs it)"
	exit 1
fi
"$top/tests/otlp-receiver/setup" >&2 || exit 1
TOP=$top RECEIVER=$top/tests/otlp-receiver/receiver.js \
	exec node "$top/tests/host/@JS@"
