// SPDX-License-Identifier: GPL-2.0
/*
 * oteld end to end through the VM: the reference receiver on host
 * 127.0.0.1:PORT, scripts/vm --fwd PORT boots the test kernel, loads
 * oteltrace.ko and the demo driver, runs oteld (the ring reader, mmap and
 * poll) exporting to 10.0.2.100:PORT, writes N to /dev/otel_demo, stops
 * oteld with SIGTERM; the demo driver's contract (kmod/demo/otel_demo.c)
 * must arrive intact.  TAP output.  Environment: TOP, RECEIVER.
 */
'use strict';

const assert = require('assert/strict');
const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');
const { start } = require(process.env.RECEIVER);

const TOP = process.env.TOP;
const N = 10;
const attrs = (l) => Object.fromEntries((l || []).map((kv) => [kv.key, kv.value]));
/* What oteld adds to every span: where it began (docs/oteld.md). */
const WHERE = ['cpu.logical_number', 'linux.context', 'thread.id', 'process.pid',
  'thread.name'];
const own = (l) => (l || []).filter((kv) => !WHERE.includes(kv.key));

const guest = `
set -e
insmod ${TOP}/kmod/oteltrace.ko
insmod ${TOP}/kmod/demo/otel_demo.ko
${TOP}/build/oteld --endpoint http://10.0.2.100:$1 --schedule-delay 200 \
	--stats-file /tmp/oteld.stats --capture $2 -v 2>/tmp/oteld.err &
pid=$!
i=0
until grep -q "exporting to" /tmp/oteld.err; do
	i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1
done
echo ${N} >/dev/otel_demo
sleep 1
kill -TERM $pid
wait $pid
cat /tmp/oteld.err
echo "STATS $(cat /tmp/oteld.stats)"
echo "KSTATS $(${TOP}/build/otelctl stats --json | tr -d '\n')"
`;

(async () => {
  const tests = ['demo contract arrives intact over OTLP from the guest',
    'every request passes the strict check (tests/otlp-receiver/strict.js)',
    'spans say where they began: CPU, context, thread, process, the shell\'s comm',
    'relay accounting: records read == OTEL_IOC_STATS records, kernel drops == its counters',
    'the guest capture (--capture) replays on the host (--input) to the very same spans'];
  const cap = path.join(TOP, 'build/tests', `vm-e2e-${process.pid}.cap`);
  console.log(`1..${tests.length}`);
  const rcv = await start();
  const out = await new Promise((resolve) => {
    const p = spawn(path.join(TOP, 'scripts/vm'), ['--fwd', String(rcv.port), '--',
      'sh', '-c', guest, 'sh', String(rcv.port), cap]);
    let s = '';
    p.stdout.on('data', (d) => { s += d; });
    p.stderr.on('data', (d) => { s += d; });
    p.on('close', (code) => resolve({ code, s }));
  });
  const strictErr = await rcv.close().then(() => null, (e) => e);
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
  check(0, () => {
    assert.equal(out.code, 0, 'scripts/vm status');
    const spans = rcv.spans();
    assert.equal(spans.length, 3 * N);
    const reqs = spans.filter((s) => s.name === 'otel_demo.request');
    assert.equal(reqs.length, N);
    for (const r of reqs) {
      const a = attrs(own(r.attributes));
      const seq = Number(a['demo.seq'].intValue);
      assert.deepEqual(a, { 'demo.seq': { intValue: String(seq) },
        'demo.name': { stringValue: 'demo' }, 'demo.ratio': { doubleValue: 0.5 },
        'demo.ok': { boolValue: true } });
      assert.equal(r.kind, 1);
      assert.equal(r.parentSpanId, undefined);
      assert.deepEqual(r.status, seq % 10 === 9 ?
        { code: 2, message: 'demo failure' } : { code: 1 });
      assert.deepEqual(r.scope, { name: 'otel_demo', version: '1.0.0' });
      const kids = spans.filter((s) => s.parentSpanId === r.spanId);
      assert.deepEqual(kids.map((s) => s.name).sort(), ['otel_demo.complete', 'otel_demo.work']);
      for (const k of kids) {
        assert.equal(k.traceId, r.traceId);
        assert.ok(BigInt(k.startTimeUnixNano) >= BigInt(r.startTimeUnixNano));
        assert.ok(BigInt(k.endTimeUnixNano) <= BigInt(r.endTimeUnixNano));
      }
      const w = kids.find((s) => s.name === 'otel_demo.work');
      assert.equal(w.events.length, 1);
      assert.equal(w.events[0].name, 'checkpoint');
      assert.deepEqual(w.events[0].attributes, [{ key: 'demo.step', value: { intValue: '1' } }]);
      /* wall clock: within a minute of the host's (the guest's RTC) */
      const ms = Number(BigInt(r.startTimeUnixNano) / 1000000n);
      assert.ok(Math.abs(ms - Date.now()) < 120000, `start ${ms} vs ${Date.now()}`);
    }
    const res = attrs(spans[0].resource.attributes);
    assert.equal(res['os.type'].stringValue, 'linux');
    assert.equal(res['service.name'].stringValue, 'unknown_service:oteld');
  });
  check(1, () => {
    assert.equal(strictErr, null, String(strictErr));
  });
  check(2, () => {
    const spans = rcv.spans();
    assert.equal(spans.length, 3 * N);
    const reqs = spans.filter((s) => s.name === 'otel_demo.request');
    for (const r of reqs) {
      /* the demo is written to from a shell: its write() runs the request */
      const a = attrs(r.attributes);
      assert.deepEqual(Object.keys(a).filter((k) => WHERE.includes(k)), WHERE,
        'the five, in order, after the driver\'s');
      assert.deepEqual(a['linux.context'], { stringValue: 'task' });
      assert.deepEqual(a['thread.name'], { stringValue: 'sh' });
      /* a single-threaded shell: thread id == process id, and not 0 */
      assert.ok(Number(a['thread.id'].intValue) > 1);
      assert.deepEqual(a['process.pid'], a['thread.id']);
      const cpu = Number(a['cpu.logical_number'].intValue);
      assert.ok(cpu >= 0 && cpu < 2, `cpu ${cpu} of 2`);
      for (const k of spans.filter((s) => s.parentSpanId === r.spanId)) {
        const ka = attrs(k.attributes);
        assert.deepEqual(ka['linux.context'], { stringValue: 'task' }, k.name);
        assert.deepEqual(ka['thread.name'], { stringValue: 'sh' }, k.name);
        assert.deepEqual(ka['thread.id'], a['thread.id'], k.name);
      }
    }
  });
  check(3, () => {
    const m = out.s.match(/STATS (\{.*\})/);
    assert.ok(m, 'stats file printed');
    const st = JSON.parse(m[1]);
    const km = out.s.match(/KSTATS (\{.*\})/);
    assert.ok(km, 'otelctl stats --json printed');
    const k = JSON.parse(km[1]).total;
    /* the kernel's own counters (OTEL_IOC_STATS), not a constant */
    assert.equal(st.records, k.records);
    assert.equal(st.kernel_dropped, k.dropped_full + k.dropped_too_big +
      k.dropped_nested + k.dropped_disabled);
    assert.equal(st.kernel_overwritten, k.overwritten);
    /*
     * Records per request: the request's SPAN (its four attributes
     * inline), work's EVENT and SPAN, complete's SPAN; an ERROR request
     * (seq % 10 == 9) also flushes its attributes as an ATTR record, its
     * message not fitting beside them in the handle's inline buffer.
     */
    assert.equal(k.records, 4 * N + Math.floor(N / 10) + st.records_comm);
    /* the shell named at least once (once per CPU it began spans on) */
    assert.ok(st.records_comm >= 1 && st.records_comm <= 2 * 2, `${st.records_comm} COMMs`);
    assert.equal(st.names_unresolved, 0);
    assert.equal(st.records_late, 0);
    assert.equal(st.spans_complete, 3 * N);
    assert.equal(st.spans_exported, 3 * N);
    assert.equal(st.spans_incomplete + st.kernel_dropped + st.dropped_queue_full +
      st.dropped_export_failed + st.records_corrupt, 0);
  });
  const rcv2 = await start();
  const replay = await new Promise((resolve) => {
    const p = spawn(path.join(TOP, 'build/oteld'), ['--input', cap,
      '--endpoint', `http://127.0.0.1:${rcv2.port}`, '--schedule-delay', '100']);
    let s = '';
    p.stderr.on('data', (d) => { s += d; });
    p.on('close', (code) => resolve({ code, s }));
  });
  const strictErr2 = await rcv2.close().then(() => null, (e) => e);
  check(4, () => {
    assert.equal(strictErr2, null, String(strictErr2));
    assert.equal(replay.code, 0, replay.s);
    /* the resource is the host's now, the spans must be identical */
    const norm = (r) => r.spans().map(({ resource, ...x }) => JSON.stringify(x)).sort();
    assert.equal(rcv2.spans().length, 3 * N);
    assert.deepEqual(norm(rcv2), norm(rcv));
  });
  fs.rmSync(cap, { force: true });
  process.exit(failed ? 1 : 0);
})();
