// SPDX-License-Identifier: GPL-2.0
/*
 * What the --queue-dir tests share (queue_test.js, queue_outage_test.js):
 * oteld (ASan + UBSan) and spangen as child processes, waiting on
 * orderings with deadlines that only turn a hang into a failure, the
 * queue dir's files, and a count of every span received by its "seq"
 * attribute (spangen's, gencap many's "i").
 *
 * Environment: OTELD, SPANGEN, GENCAP (binaries), RECEIVER (receiver.js).
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/*
 * A child process: .lines (stdout, line by line), .stderr, .done (resolves
 * { code, signal, stdout, stderr } when it exits), .waitLine(re).
 */
function child(cmd, args, env = {}) {
  const p = spawn(cmd, args, {
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', ...env },
  });
  const c = { proc: p, lines: [], stdout: '', stderr: '', waiters: [] };
  let partial = '';
  p.stdout.on('data', (d) => {
    c.stdout += d;
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const l of parts) {
      c.lines.push(l);
      c.waiters = c.waiters.filter((w) => !(w.re.test(l) && (w.resolve(l), true)));
    }
  });
  p.stderr.on('data', (d) => { c.stderr += d; });
  c.done = new Promise((resolve) => {
    p.on('error', (e) => { c.stderr += String(e); });
    p.on('close', (code, signal) => {
      c.exited = true;
      for (const w of c.waiters) w.reject(new Error(`${cmd} exited before "${w.re}"`));
      resolve({ code, signal, stdout: c.stdout, stderr: c.stderr });
    });
  });
  /* the first line matching @re, now or later */
  c.waitLine = (re) => {
    const l = c.lines.find((x) => re.test(x));
    if (l !== undefined) return Promise.resolve(l);
    if (c.exited) return Promise.reject(new Error(`${cmd} exited before "${re}"`));
    return new Promise((resolve, reject) => c.waiters.push({ re, resolve, reject }));
  };
  return c;
}

/* Poll @cond until it holds; a deadline only turns a hang into a failure. */
async function until(cond, what, ms = 120000) {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/* Bound a promise: a hang fails the test rather than the whole run. */
function within(promise, ms, what) {
  let t;
  const guard = new Promise((resolve, reject) => {
    t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(t));
}

/* Files q-<seq> waiting in a queue dir. */
const queued = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
  .filter((f) => /^q-[0-9a-f]{16}$/.test(f)).sort();

/* oteld's exit: status 0, no sanitizer report; its counters. */
async function finished(c, statsFile) {
  const r = await c.done;
  assert.equal(r.code, 0, `oteld exited ${r.code} ${r.signal}: ${r.stderr.slice(-3000)}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
  r.stats = JSON.parse(fs.readFileSync(statsFile, 'utf8'));
  return r;
}

/*
 * Counts of spans received by their integer attribute @key (0..n-1): a
 * receiver keep() function that keeps only that, and the tally.
 */
function seqCounter(n, key = 'seq') {
  const seen = new Uint16Array(n);
  let other = 0;
  const keep = (entry) => {
    for (const rs of entry.obj.resourceSpans || [])
      for (const ss of rs.scopeSpans || [])
        for (const s of ss.spans || []) {
          const a = (s.attributes || []).find((kv) => kv.key === key);
          const v = a ? Number(a.value.intValue) : -1;
          if (v >= 0 && v < n) seen[v]++;
          else other++;
        }
    return { url: entry.url, type: entry.type, size: entry.size };
  };
  const tally = () => {
    let distinct = 0, dups = 0;
    const missing = [];
    for (let i = 0; i < n; i++) {
      if (seen[i]) distinct++;
      else if (missing.length < 10) missing.push(i);
      if (seen[i] > 1) dups += seen[i] - 1;
    }
    return { distinct, dups, missing, other };
  };
  return { keep, tally, seen };
}

function mkfifo(dir, name) {
  const f = path.join(dir, name);
  const r = require('child_process').spawnSync('mkfifo', [f]);
  assert.equal(r.status, 0, String(r.stderr));
  return f;
}

module.exports = { sleep, child, until, within, queued, finished, seqCounter, mkfifo };
