// SPDX-License-Identifier: GPL-2.0
/*
 * The --queue-dir scenario of issue 11: the collector down for OUTAGE
 * seconds while spans come at RATE a second, and oteld restarted (SIGTERM)
 * in the middle of the outage; when the collector is back, every span
 * arrives, once.  TAP output.
 *
 *   spangen (tests/host/spangen.c): RATE spans/s, each with "seq", into a
 *     FIFO that outlives the oteld reading it (the rings, across a restart)
 *   oteld (ASan + UBSan) --input FIFO --queue-dir DIR
 *   the reference receiver (tests/otlp-receiver), down then up
 *
 * Timeline (seconds): 0 spans start; BEFORE (2) the receiver goes down
 * (.down(): it answers what it holds, then refuses connections); half the
 * outage later, once DIR holds requests, SIGTERM: oteld writes what it
 * holds to DIR and exits 0; once spangen saw it go, a new oteld starts on
 * the same DIR and FIFO; OUTAGE after the down, the receiver is up again;
 * AFTER (3) more seconds of spans, then spangen closes the FIFO (end of
 * input: the second oteld sends what DIR holds, exits 0).
 *
 * Environment: OUTAGE_SECONDS (5; issue 11's full run: 60), RATE (10000),
 * QUEUE_OUTAGE_ARGS (more oteld flags, e.g. --replay-drop: drop when the
 * memory queue is full, as live reading does), QUEUE_OUTAGE_NO_QUEUE_DIR=1
 * (the same without --queue-dir: spans are lost, the test fails).
 * OTELD, SPANGEN, RECEIVER: as queue_util.js says.
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const receiver = require(process.env.RECEIVER);
const q = require('./queue_util.js');

const OUTAGE = Number(process.env.OUTAGE_SECONDS || 5);
const RATE = Number(process.env.RATE || 10000);
const BEFORE = 2, AFTER = 3;
const SECONDS = BEFORE + OUTAGE + AFTER;
const N = RATE * SECONDS;
const EXTRA = (process.env.QUEUE_OUTAGE_ARGS || '').split(/\s+/).filter(Boolean);
const NO_QUEUE_DIR = process.env.QUEUE_OUTAGE_NO_QUEUE_DIR === '1';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oteld-outage-'));
const dir = path.join(tmp, 'queue');
const HOUR_NS = 3600n * 1000000000n;

const results = [];
const ok = (cond, name, diag = []) => results.push({ cond, name, diag });
const note = (s) => console.log(`# ${s}`);

function oteld(fifo, port, statsFile) {
  const args = ['--input', fifo, '--stats-file', statsFile,
    '--schedule-delay', '200', '--retry-initial', '100', '--retry-max', '500',
    /* the end of input sends what DIR holds: time enough for a backlog */
    '--export-timeout', NO_QUEUE_DIR ? '2000' : '600000', ...EXTRA];
  if (!NO_QUEUE_DIR) args.push('--queue-dir', dir);
  return q.child(process.env.OTELD, args,
    { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
}

async function scenario() {
  const counter = q.seqCounter(N);
  /* spans are up to OUTAGE old when they arrive: the strict check's window */
  /* it comes back on the same port: one no connection takes meanwhile */
  const rcv = await receiver.start({ port: await receiver.quietPort(), keep: counter.keep,
    strict: { windowNs: HOUR_NS } });
  const fifo = q.mkfifo(tmp, 'rings');
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  const gen = q.child(process.env.SPANGEN, [fifo, String(RATE), String(SECONDS)]);
  const s1 = path.join(tmp, 'stats1.json'), s2 = path.join(tmp, 'stats2.json');
  let o2 = null;
  try {
    const o1 = oteld(fifo, rcv.port, s1);
    await gen.waitLine(/^attached/);
    /* the collector takes spans, then goes down */
    await q.until(() => rcv.requests.length > 0, 'a first request');
    await q.until(() => Date.now() - t0 >= BEFORE * 1000, 'the outage');
    await rcv.down();
    const tDown = Date.now();
    note(`${secs()} s: receiver down (${rcv.requests.length} requests so far)`);
    /* half the outage, and requests on disk: the restart */
    await q.until(() => Date.now() - tDown >= OUTAGE * 500 &&
      (NO_QUEUE_DIR || q.queued(dir).length > 0), 'requests in the queue dir');
    o1.proc.kill('SIGTERM');
    const r1 = await q.within(q.finished(o1, s1), 120000, 'the first oteld to exit');
    const gone = await q.within(gen.waitLine(/^detached/), 60000, 'spangen to see oteld go');
    note(`${secs()} s: first oteld stopped (${q.queued(dir).length} requests in ` +
      `the queue dir, spool_left=${r1.stats.spool_left}); spangen: ${gone}`);
    o2 = oteld(fifo, rcv.port, s2);
    await gen.waitLine(/^attached/);
    await q.until(() => Date.now() - tDown >= OUTAGE * 1000, 'the end of the outage');
    await rcv.up();
    const tUp = Date.now();
    note(`${secs()} s: receiver up`);
    const done = await q.within(gen.waitLine(/^done/), (SECONDS + 600) * 1000,
      'spangen to finish');
    const r2 = await q.within(q.finished(o2, s2), 900000, 'the second oteld to exit');
    o2 = null;
    const total = Date.now() - t0;
    const t = counter.tally();
    const st = [r1.stats, r2.stats];
    const sum = (k) => st[0][k] + st[1][k];
    const peak = Math.max(st[0].spool_bytes_max, st[1].spool_bytes_max);

    note(`spans generated ${N} (${done}), received ${t.distinct} distinct, ` +
      `duplicates ${t.dups}, missing ${N - t.distinct}`);
    note(`oteld: exported ${st[0].spans_exported} + ${st[1].spans_exported}, ` +
      `left on disk at the restart ${st[0].spool_left}, loaded ${st[1].spool_loaded}, ` +
      `queue dir peak ${peak} bytes, ${rcv.requests.length} requests`);
    note(`time: ${(total / 1000).toFixed(1)} s in all, ` +
      `${((Date.now() - tUp) / 1000).toFixed(1)} s from the receiver's return to the end`);
    for (const [i, s] of st.entries())
      note(`oteld ${i + 1}: queued ${s.spans_queued} spooled ${s.spans_spooled} ` +
        `dropped queue_full ${s.dropped_queue_full} export_failed ${s.dropped_export_failed} ` +
        `too_big ${s.dropped_too_big} spool_full ${s.dropped_spool_full} ` +
        `corrupt ${s.spool_corrupt} retries ${s.export_retries}`);

    ok(t.distinct === N && t.other === 0, 'every span arrives',
      [`missing ${N - t.distinct}, first ${t.missing.join(' ')}; other ${t.other}`]);
    ok(t.dups === 0, 'no span arrives twice (SIGTERM: nothing sent is sent again)',
      [`${t.dups} duplicates`]);
    ok(NO_QUEUE_DIR || (st[0].spool_left > 0 && st[0].spool_left === st[1].spool_loaded),
      'the first oteld left requests on disk and the second sent them',
      [`left ${st[0].spool_left}, loaded ${st[1].spool_loaded}`]);
    const drops = ['dropped_queue_full', 'dropped_export_failed', 'dropped_too_big',
      'dropped_spool_full', 'spool_corrupt', 'spool_write_errors'];
    ok(drops.every((k) => sum(k) === 0) && st[1].spool_left === 0 &&
      q.queued(dir).length === 0 &&
      sum('spans_queued') + st[1].spool_loaded ===
        sum('spans_exported') + st[0].spool_left &&
      sum('spans_exported') === N,
    'accounting: nothing dropped, queued + loaded = exported + left, the dir empty',
    drops.map((k) => `${k} ${sum(k)}`));
    ok(st[1].export_retries > 0 || st[0].export_retries > 0,
      'the outage was seen (export retries)');
    assert.deepEqual(rcv.errors, []);
  } finally {
    if (o2) o2.proc.kill('SIGKILL');
    gen.proc.kill('SIGKILL');
    await rcv.close().catch((e) => ok(false, 'strict check of every request', [String(e)]));
  }
}

(async () => {
  let failed = false;
  try {
    await scenario();
  } catch (e) {
    results.push({ cond: false, name: 'the scenario ran', diag: String(e.stack || e).split('\n') });
  }
  console.log(`1..${results.length}`);
  results.forEach((r, i) => {
    console.log(`${r.cond ? 'ok' : 'not ok'} ${i + 1} ${r.name}`);
    if (!r.cond) {
      failed = true;
      for (const l of r.diag.slice(0, 12)) console.log(`# ${l}`);
    }
  });
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
})();
