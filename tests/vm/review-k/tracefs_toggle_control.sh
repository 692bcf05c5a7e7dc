#!/bin/sh
# Control for review_k_test's toggle crash: the bridged tracepoints toggled
# through tracefs from two shells (no oteltrace loaded) under O_DIRECT I/O
# and a fork/exec loop, as in toggle_bridges_under_load_then_rmmod_in_flight.
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
T=/sys/kernel/tracing/events
io() { while :; do dd if=/dev/zero of=/dev/vda bs=4096 count=64 oflag=direct status=none; dd if=/dev/vda of=/dev/null bs=4096 count=64 iflag=direct status=none; done; }
fk() { while :; do /bin/true; done; }
io & a=$!
io & b=$!
fk & f=$!
tog() { end=$(( $(date +%s) + 40 )); n=0; while [ $(date +%s) -lt $end ]; do
	for e in block/block_getrq block/block_rq_issue block/block_rq_complete raw_syscalls/sys_enter raw_syscalls/sys_exit irq/irq_handler_entry irq/irq_handler_exit; do
		echo $(( (n + $1) & 1 )) > $T/$e/enable; done; n=$((n+1)); done; echo "toggles $n"; }
tog 0 & c=$!
tog 1 & d=$!
wait $c $d
kill $a $b $f
echo control-done
