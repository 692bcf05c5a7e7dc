#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/apt-mirror, which setup uses to add bookworm-backports from the
# machine's own mirror: deb822 sources, a one-line sources.list, both, and
# neither (a machine with only debian.sources has no sources.list; setup
# died there under set -e).  TAP output.
# Generated into build/tests/host/ by tests/host/Makefile.
top=@TOP@
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
check() { # NAME DIR EXPECTED
	local out rc
	out=$("$top/scripts/apt-mirror" "$2" 2>&1)
	rc=$?
	n=$((n + 1))
	if [ "$rc" -eq 0 ] && [ "$out" = "$3" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		echo "# exit $rc, printed: $out"
	fi
}
echo "1..4"

mkdir -p "$tmp/deb822/sources.list.d"
cat >"$tmp/deb822/sources.list.d/debian.sources" <<'SRC'
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
SRC
check "deb822 sources only, no sources.list" "$tmp/deb822" \
	"http://mirror.example/debian"

mkdir -p "$tmp/legacy"
echo 'deb http://old.example/debian bookworm main' >"$tmp/legacy/sources.list"
check "a one-line sources.list only" "$tmp/legacy" "http://old.example/debian"

mkdir -p "$tmp/both/sources.list.d"
cp "$tmp/deb822/sources.list.d/debian.sources" "$tmp/both/sources.list.d/"
cp "$tmp/legacy/sources.list" "$tmp/both/"
check "both: deb822 first" "$tmp/both" \
	"$(printf '%s\n%s' http://mirror.example/debian http://old.example/debian)"

mkdir -p "$tmp/none/sources.list.d"
echo 'deb http://x.example/debian bullseye main' >"$tmp/none/sources.list"
check "no bookworm source: prints nothing, exits 0" "$tmp/none" ""
