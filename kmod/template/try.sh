#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Try mydrv, as root, on the machine it was built for: load oteltrace.ko and
# mydrv.ko (in that order, unless loaded), run oteld --stdout, write to
# /dev/mydrv (6 bytes, then 5000: too many, an error), and print the spans
# oteld saw.  `make vm` runs it in oteltrace's test VM.
#
#   try.sh /path/to/oteltrace
set -eu
top=${1:?usage: try.sh /path/to/oteltrace}
here=$(cd "$(dirname "$0")" && pwd)

[ -d /sys/module/oteltrace ] || insmod "$top/kmod/oteltrace.ko"
[ -d /sys/module/mydrv ] || insmod "$here/mydrv.ko"
out=$(mktemp)
"$top/build/oteld" --stdout >"$out" &
oteld=$!
# Write once oteld holds the device.
i=0
until ls -l "/proc/$oteld/fd" 2>/dev/null | grep -q oteltrace; do
	i=$((i + 1))
	[ $i -lt 300 ] || break
	sleep 0.1
done
echo hello >/dev/mydrv
dd if=/dev/zero of=/dev/mydrv bs=5000 count=1 2>/dev/null || true
sleep 1
kill -TERM "$oteld"		# oteld drains the rings and exits
wait "$oteld" || true
cat "$out"
rm -f "$out"
rmmod mydrv
