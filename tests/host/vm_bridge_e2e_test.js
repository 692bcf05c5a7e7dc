// SPDX-License-Identifier: GPL-2.0
/*
 * The bridges end to end: the reference receiver on host 127.0.0.1:PORT
 * (a free port), scripts/vm --fwd PORT --disk boots the test kernel with a
 * scratch disk, loads oteltrace.ko with the syscall and block bridges on,
 * runs oteld exporting to 10.0.2.100:PORT, and runs
 *   TRACEPARENT=00-<tid>-<sid>-01 otelctl exec -- dd if=/dev/zero of=/dev/vda
 *	bs=4096 count=8 oflag=direct
 * (CTX_EXEC below).  After the
 * export every span has trace id <tid>, the write spans are children of
 * <sid>, and each of the 8 block.write spans (4096 bytes) descends from a
 * write span.  TAP output.  Environment: TOP, RECEIVER.
 */
'use strict';

const assert = require('assert/strict');
const path = require('path');
const { spawn } = require('child_process');
const { start } = require(process.env.RECEIVER);

const TOP = process.env.TOP;
const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';
const CTX_EXEC = `${TOP}/build/otelctl exec --`;
const attrs = (l) => Object.fromEntries((l || []).map((kv) => [kv.key, kv.value]));

const guest = `
set -e
insmod ${TOP}/kmod/oteltrace.ko bridges=syscall,block
${TOP}/build/oteld --endpoint http://10.0.2.100:$1 --schedule-delay 200 \
	--stats-file /tmp/oteld.stats -v 2>/tmp/oteld.err &
pid=$!
i=0
until grep -q "exporting to" /tmp/oteld.err; do
	i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1
done
TRACEPARENT=00-${TID}-${SID}-01 ${CTX_EXEC} \
	dd if=/dev/zero of=/dev/vda bs=4096 count=8 oflag=direct status=none
${TOP}/build/otelctl bridges
sleep 1
kill -TERM $pid
wait $pid
cat /tmp/oteld.err
echo "STATS $(cat /tmp/oteld.stats)"
`;

(async () => {
  const tests = ['every exported span is in the traceparent\'s trace',
    'write spans are children of the given span; 8 block.write spans of 4096 bytes, each under a write',
    'relay accounting: every span complete, nothing dropped'];
  console.log(`1..${tests.length}`);
  const rcv = await start();
  const out = await new Promise((resolve) => {
    const p = spawn(path.join(TOP, 'scripts/vm'), ['--fwd', String(rcv.port),
      '--disk', '16', '--', 'sh', '-c', guest, 'sh', String(rcv.port)]);
    let s = '';
    p.stdout.on('data', (d) => { s += d; });
    p.stderr.on('data', (d) => { s += d; });
    p.on('close', (code) => resolve({ code, s }));
  });
  await rcv.close();
  let failed = 0;
  const check = (i, fn) => {
    try {
      fn();
      console.log(`ok ${i + 1} ${tests[i]}`);
    } catch (e) {
      failed++;
      console.log(`not ok ${i + 1} ${tests[i]}`);
      for (const l of String(e.stack || e).split('\n').slice(0, 10)) console.log(`# ${l}`);
      for (const l of out.s.split('\n').slice(-30)) console.log(`# vm: ${l}`);
    }
  };
  const spans = rcv.spans();
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  check(0, () => {
    assert.equal(out.code, 0, 'scripts/vm status');
    assert.ok(spans.length > 16, `${spans.length} spans`);
    for (const s of spans) assert.equal(s.traceId, TID, `${s.name} ${s.spanId}`);
  });
  check(1, () => {
    const writes = spans.filter((s) => s.name === 'write' && s.scope.name === 'oteltrace/syscall');
    assert.ok(writes.length >= 8, `${writes.length} write spans`);
    for (const w of writes) {
      assert.equal(w.parentSpanId, SID);
      assert.equal(w.kind, 1);
      assert.equal(attrs(w.attributes)['linux.syscall.nr'].intValue, '1');
    }
    const blocks = spans.filter((s) => s.scope.name === 'oteltrace/block');
    assert.equal(blocks.length, 8);
    for (const b of blocks) {
      assert.equal(b.name, 'block.write');
      assert.deepEqual(attrs(b.attributes)['linux.block.bytes'], { intValue: '4096' });
      assert.deepEqual(attrs(b.attributes)['disk.io.direction'], { stringValue: 'write' });
      assert.deepEqual(attrs(b.attributes)['system.device'], { stringValue: 'vda' });
      let p = byId.get(b.parentSpanId);
      for (let d = 0; p && p.name !== 'write' && d < 16; d++) p = byId.get(p.parentSpanId);
      assert.ok(p, `block.write ${b.spanId} has no write ancestor`);
      assert.ok(BigInt(b.startTimeUnixNano) >= BigInt(p.startTimeUnixNano));
      assert.ok(BigInt(b.endTimeUnixNano) <= BigInt(p.endTimeUnixNano));
    }
  });
  check(2, () => {
    const m = out.s.match(/STATS (\{.*\})/);
    assert.ok(m, 'stats file printed');
    const st = JSON.parse(m[1]);
    assert.equal(st.spans_exported, spans.length);
    assert.equal(st.spans_incomplete + st.kernel_dropped + st.dropped_queue_full +
      st.dropped_export_failed + st.records_corrupt, 0);
  });
  process.exit(failed ? 1 : 0);
})();
