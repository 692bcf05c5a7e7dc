// SPDX-License-Identifier: GPL-2.0
/*
 * oteld given bad input loses nothing it could keep (issue 11, item 6):
 * every bad setting is refused at start-up (exit 2, the setting named),
 * every span it cannot deliver is counted with its reason.  oteld (ASan +
 * UBSan) replays gencap captures to the reference receiver on 127.0.0.1:
 *
 *  - endpoints libcurl's URL API refuses; v1/traces joined to a base URL's
 *    path, its query kept;
 *  - redirects followed with the POST and its body (307, 308, 301), at
 *    most 5, never from https to http, never to another host (scheme,
 *    name, port) with configured headers (they hold API keys);
 *  - an exporter thread that cannot start (an LD_PRELOAD pthread_create
 *    that fails): exit 3, nothing read;
 *  - a capture cut inside a frame header or a frame: what is before the
 *    cut is exported, where it was cut is said, exit 1;
 *  - batches of large spans cut by bytes before they are encoded, and a
 *    server limit (413) learned once instead of halving every batch;
 *  - resource attributes trimmed, file options opened at start-up.
 *
 * Environment: OTELD, GENCAP, FAIL_THREAD_SO, RECEIVER.  TAP output.
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { makePki } = require('./pki.js');
const receiver = require(process.env.RECEIVER);

const OTELD = process.env.OTELD;
const GENCAP = process.env.GENCAP;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oteld-input-'));
const REAL0 = 1700000000000000000n;	/* gencap's anchor */
const start = (opts = {}) => receiver.start({ strict: { refNs: () => REAL0 }, ...opts });
const ASAN = 'detect_leaks=1';

function run(cmd, args, { env = {} } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ASAN_OPTIONS: ASAN, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const guard = setTimeout(() => p.kill('SIGKILL'), 120000);
    p.on('error', (e) => { stderr += String(e); });
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let fileN = 0;
const tmpFile = (name) => path.join(tmp, `${fileN++}-${name}`);

async function gencap(...args) {
  const file = tmpFile('cap');
  const r = await run(GENCAP, [...args, file]);
  assert.equal(r.code, 0, r.stderr);
  return file;
}

/* oteld on @cap, exporting to @port; the exit status it must have. */
async function oteld(cap, port, { args = [], env = {}, code = 0 } = {}) {
  const stats = tmpFile('stats.json');
  const r = await run(OTELD, ['--input', cap, '--stats-file', stats,
    '--schedule-delay', '100', ...args], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, ...env },
  });
  assert.equal(r.code, code, `oteld exited ${r.code} ${r.signal}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
  r.stats = JSON.parse(fs.readFileSync(stats, 'utf8'));
  return r;
}

/* oteld refusing its configuration: exit 2, @msg on stderr. */
async function refused(args, env, msg) {
  const r = await run(OTELD, ['--input', '/nonexistent', ...args], { env });
  assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
  assert.match(r.stderr, msg);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error/);
}

const spanIds = (rcv) => new Set(rcv.spans().map((s) => s.spanId));
const attrsOf = (list) => Object.fromEntries((list || []).map((kv) => [kv.key, kv.value]));

const tests = [];
/* OTELD_TEST_ONLY=regexp: only the tests whose name matches (debugging) */
const only = process.env.OTELD_TEST_ONLY ? new RegExp(process.env.OTELD_TEST_ONLY) : null;
const test = (name, fn) => { if (!only || only.test(name)) tests.push({ name, fn }); };

test('endpoints libcurl refuses: exit 2 at start-up, the setting named', async () => {
  const bad = [
    ['http://[::1', /Bad IPv6 address/],
    ['http://h:99999', /Port number/],
    ['http://a b/', /Bad hostname/],
    ['http:///v1/traces', /no host/],
    ['http://h:0/', /port 0/],
    ['ftp://h/', /expected an http:\/\/ or https:\/\/ URL/],
  ];
  for (const [url, why] of bad) {
    const q = url.replace(/[[\]/.?*+()]/g, '\\$&');
    await refused(['--endpoint', url], {},
      new RegExp(`^oteld: --endpoint: invalid value '${q}': .*${why.source}`, 'm'));
    await refused([], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url },
      new RegExp(`^oteld: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: invalid value '${q}'`, 'm'));
  }
});

test('a base endpoint gets v1/traces after its path, its query kept; a traces endpoint is used as is', async () => {
  const rcv = await start();
  try {
    const cap = await gencap('many', '3');
    const base = `http://127.0.0.1:${rcv.port}`;
    await oteld(cap, rcv.port, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${base}/?tenant=a%20b&x=1` } });
    await oteld(cap, rcv.port, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${base}/otlp?k=v#frag` } });
    await oteld(cap, rcv.port, { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${base}` } });
    await oteld(cap, rcv.port, { args: ['--traces-endpoint', `${base}/t?q=1`] });
    assert.deepEqual(rcv.requests.map((q) => q.url),
      ['/v1/traces?tenant=a%20b&x=1', '/otlp/v1/traces?k=v', '/', '/t?q=1']);
    assert.equal(rcv.spans().length, 12);
  } finally { await rcv.close(); }
});

test('307 (relative Location): the POST and its body go to the new place', async () => {
  const rcv = await start();
  try {
    rcv.failNext(1, 307, { Location: '/moved?a=1' });
    const r = await oteld(await gencap('many', '5'), rcv.port);
    assert.deepEqual(rcv.requests.map((q) => q.url), ['/moved?a=1']);
    assert.equal(rcv.requests[0].type, 'application/x-protobuf');
    assert.equal(spanIds(rcv).size, 5);
    assert.equal(r.stats.spans_exported, 5);
    assert.equal(r.stats.dropped_export_failed, 0);
    assert.match(r.stderr, /redirects to http:\/\/127\.0\.0\.1:\d+\/moved\?a=1 \(1 redirect followed/);
  } finally { await rcv.close(); }
});

test('308 and 301 to another server: followed, the POST kept', async () => {
  const a = await start();
  const b = await start();
  try {
    a.failNext(1, 308, { Location: `http://127.0.0.1:${b.port}/v1/traces` });
    b.failNext(1, 301, { Location: '/again' });
    const r = await oteld(await gencap('many', '4'), a.port,
      { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
    assert.equal(a.requests.length, 0);
    assert.deepEqual(b.requests.map((q) => q.url), ['/again']);
    assert.equal(b.requests[0].type, 'application/json');
    assert.equal(spanIds(b).size, 4);
    assert.equal(r.stats.spans_exported, 4);
  } finally { await a.close(); await b.close(); }
});

test('a redirect loop: 5 followed, then the batch dropped, counted, not retried', async () => {
  const rcv = await start();
  try {
    rcv.failNext(100, 307, { Location: '/loop' });
    const r = await oteld(await gencap('many', '3'), rcv.port);
    assert.equal(rcv.failures.length, 100 - 6, 'the request and 5 redirects');
    assert.equal(r.stats.dropped_export_failed, 3);
    assert.equal(r.stats.export_retries, 0);
    assert.match(r.stderr, /dropped 3 spans: more than 5 redirects from http:/);
  } finally { await rcv.close(); }
});

test('a redirect from https to http is not followed: dropped, counted', async () => {
  const f = makePki(tmp);
  const rd = (n) => fs.readFileSync(f(n));
  const tls = await start({ tls: { key: rd('server.key'), cert: rd('server.pem') } });
  const plain = await start();
  try {
    const to = `http://127.0.0.1:${plain.port}/v1/traces`;
    tls.failNext(1, 307, { Location: to });
    const r = await oteld(await gencap('many', '2'), tls.port, { env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${tls.port}`,
      OTEL_EXPORTER_OTLP_CERTIFICATE: f('ca.pem') } });
    assert.equal(plain.requests.length, 0);
    assert.equal(r.stats.dropped_export_failed, 2);
    assert.equal(r.stats.export_retries, 0);
    assert.ok(r.stderr.includes(`dropped 2 spans: a redirect to ${to} not followed`), r.stderr);
  } finally { await tls.close(); await plain.close(); }
});

test('configured headers never go to another host: a redirect there is not followed', async () => {
  const a = await start();
  const b = await start();
  try {
    const to = `http://127.0.0.1:${b.port}/v1/traces`;
    a.failNext(1, 307, { Location: to });
    a.failNext(1, 308, { Location: `http://localhost:${a.port}/v1/traces` });
    a.failNext(1, 307, { Location: '/same' });
    const cap = await gencap('many', '2');
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s3cret' };
    const r = await oteld(cap, a.port, { env });
    assert.equal(b.requests.length, 0, 'nothing sent to the other host');
    assert.equal(r.stats.dropped_export_failed, 2);
    assert.equal(r.stats.export_retries, 0);
    assert.ok(r.stderr.includes(`dropped 2 spans: a redirect to ${to} not followed`), r.stderr);
    /* another name of the host is another host too; the same host is fine */
    const r2 = await oteld(cap, a.port, { env });
    assert.equal(r2.stats.dropped_export_failed, 2);
    const r3 = await oteld(cap, a.port, { env });
    assert.equal(r3.stats.spans_exported, 2);
    assert.deepEqual(a.requests.map((q) => [q.url, q.headers['api-key']]), [['/same', 's3cret']]);
    /* without headers, the redirect to another host is followed */
    a.failNext(1, 307, { Location: to });
    const r4 = await oteld(cap, a.port);
    assert.equal(r4.stats.spans_exported, 2);
    assert.equal(b.requests.length, 1);
  } finally { await a.close(); await b.close(); }
});

test('an exporter thread that cannot start: exit 3, said why, nothing read', async () => {
  const rcv = await start();
  try {
    const cap = await gencap('many', '20');
    for (const at of ['1', '3']) {
      const r = await oteld(cap, rcv.port, { code: 3, env: {
        LD_PRELOAD: process.env.FAIL_THREAD_SO, FAIL_THREAD_AT: at,
        /* the shim comes before the ASan runtime in the list */
        ASAN_OPTIONS: `${ASAN}:verify_asan_link_order=0` } });
      assert.match(r.stderr, new RegExp(`cannot start thread ${at} of 4: Resource temporarily unavailable`));
      assert.match(r.stderr, /cannot start the exporter: exiting \(status 3\)/);
      assert.equal(r.stats.records, 0, 'nothing read, so nothing lost');
      assert.equal(r.stats.spans_queued, 0);
    }
    assert.equal(rcv.requests.length, 0);
  } finally { await rcv.close(); }
});

/* The frames of a capture file: [{ at, type, len, records }]. */
function frames(file) {
  const b = fs.readFileSync(file);
  const out = [];
  for (let at = 48; at + 8 <= b.length;) {
    const type = b.readUInt32LE(at);
    const len = b.readUInt32LE(at + 4);
    const records = [];
    for (let r = 0; type === 1 && r + 4 <= len;) {
      const size = b.readUInt16LE(at + 8 + r + 2);
      records.push({ at: r, type: b.readUInt16LE(at + 8 + r), size });
      r += size;
    }
    out.push({ at, type, len, records });
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return out;
}

function cutCopy(file, bytes) {
  const out = tmpFile('cut.cap');
  fs.writeFileSync(out, fs.readFileSync(file).subarray(0, bytes));
  return out;
}

test('a capture cut inside a frame header: what came before is exported, the cut said, exit 1', async () => {
  const rcv = await start();
  try {
    const cap = await gencap('many', '1000');
    const fr = frames(cap);
    assert.ok(fr.length >= 3, `${fr.length} frames`);
    const r = await oteld(cutCopy(cap, fr[1].at + 3), rcv.port, { code: 1 });
    assert.match(r.stderr, new RegExp(`cut at byte ${fr[1].at + 3}, inside the header of frame 2 \\(3 of its 8 bytes\\)`));
    assert.equal(spanIds(rcv).size, fr[0].records.length);
    assert.equal(r.stats.spans_exported, fr[0].records.length);
  } finally { await rcv.close(); }
});

test('a capture cut inside a frame: its whole records exported, the cut one counted, exit 1', async () => {
  const rcv = await start();
  try {
    const cap = await gencap('many', '1000');
    const fr = frames(cap);
    const rec = fr[1].records[3];
    const into = rec.at + rec.size / 2;	/* the fourth record cut in two */
    const r = await oteld(cutCopy(cap, fr[1].at + 8 + into), rcv.port, { code: 1 });
    assert.match(r.stderr, new RegExp(`cut at byte ${fr[1].at + 8 + into}, inside frame 2 \\(type 1, ${into} of its ${fr[1].len} bytes\\)`));
    assert.equal(spanIds(rcv).size, fr[0].records.length + 3);
    assert.equal(r.stats.records_corrupt, 1);
  } finally { await rcv.close(); }
});

test('a server limit (413) is learned once: no batch halved again and again, nothing lost', async () => {
  const rcv = await start();
  try {
    rcv.maxBody = 1 << 20;
    const r = await oteld(await gencap('big', '60', '230'), rcv.port);
    assert.equal(spanIds(rcv).size, 60);
    assert.equal(rcv.spans().length, 60, 'each span once');
    assert.equal(r.stats.dropped_too_big + r.stats.dropped_export_failed, 0);
    /* 4 MiB, then 2 MiB, then under 1 MiB: two refusals, three at worst */
    assert.ok(rcv.tooBig >= 1 && rcv.tooBig <= 3, `${rcv.tooBig} answers 413`);
    assert.match(r.stderr, /the endpoint refused \d+ bytes as too large: requests are cut at \d+ bytes from now on/);
  } finally { await rcv.close(); }
});

test('a batch over --max-request-bytes is cut by span sizes: each request as full as the cap allows', async () => {
  const rcv = await start();
  try {
    /* 40 spans of 234 KB: 17 fit 4 MiB; halving would send 4 x 10 */
    const r = await oteld(await gencap('big', '40', '230'), rcv.port, { args: [
      '--max-export-batch-size', '40', '--schedule-delay', '60000', '--exporters', '1'] });
    assert.deepEqual(rcv.requests.map((q) => q.obj.resourceSpans[0].scopeSpans[0].spans.length), [17, 17, 6]);
    assert.ok(rcv.requests.every((q) => q.size <= 4194304));
    assert.equal(spanIds(rcv).size, 40);
    assert.equal(r.stats.export_requests, 3);
    assert.equal(r.stats.dropped_too_big, 0);
  } finally { await rcv.close(); }
});

test('a span larger than --max-request-bytes: dropped before it is sent, counted with its size', async () => {
  const rcv = await start();
  try {
    const r = await oteld(await gencap('big', '2', '100'), rcv.port,
      { args: ['--max-request-bytes', '65536'] });
    assert.equal(r.stats.dropped_too_big, 2);
    assert.equal(r.stats.export_requests, 0);
    assert.match(r.stderr, /dropped 1 spans: span larger than --max-request-bytes \(\d{6} bytes encoded, 65536 at most\)/);
  } finally { await rcv.close(); }
});

test('spans exactly at --max-request-bytes, batched together: each sent alone, none dropped', async () => {
  const rcv = await start();
  try {
    const cap = await gencap('big', '2', '100');
    for (const protocol of ['http/protobuf', 'http/json']) {
      const env = { OTEL_EXPORTER_OTLP_PROTOCOL: protocol };
      rcv.requests.length = 0;
      await oteld(cap, rcv.port, { env, args: ['--max-export-batch-size', '1'] });
      const sizes = rcv.requests.map((q) => q.size);
      assert.equal(sizes.length, 2);
      assert.equal(sizes[0], sizes[1], 'two spans of one size');
      rcv.requests.length = 0;
      /* one batch of both: too big together, each exactly at the cap */
      const r = await oteld(cap, rcv.port, { env, args: ['--max-export-batch-size', '2',
        '--schedule-delay', '60000', '--max-request-bytes', String(sizes[0])] });
      assert.equal(r.stats.dropped_too_big, 0, `${protocol}: ${r.stderr}`);
      assert.equal(r.stats.spans_exported, 2);
      assert.deepEqual(rcv.requests.map((q) => q.size), sizes);
    }
  } finally { await rcv.close(); }
});

test('resource attributes: spaces around keys, values and commas trimmed; an empty key refused', async () => {
  const rcv = await start();
  try {
    await oteld(await gencap('many', '1'), rcv.port, { env:
      { OTEL_RESOURCE_ATTRIBUTES: ' a = b ,\tteam\t=\tker%2Cnel\t, ,x=' } });
    const res = attrsOf(rcv.spans()[0].resource.attributes);
    assert.deepEqual(res.a, { stringValue: 'b' });
    assert.deepEqual(res.team, { stringValue: 'ker,nel' });
    assert.deepEqual(res.x, { stringValue: '' });
    assert.ok(!Object.keys(res).some((k) => /\s/.test(k)), Object.keys(res).join());
  } finally { await rcv.close(); }
  await refused([], { OTEL_RESOURCE_ATTRIBUTES: 'a=1, = 2' },
    /OTEL_RESOURCE_ATTRIBUTES: invalid value 'a=1, = 2': member 2: an empty key/);
  await refused(['--resource-attributes', 'k=a%00b'], {},
    /--resource-attributes: invalid value 'k=a%00b': member 1: a NUL \(%00\) in the value/);
});

test('file options opened at start-up, numbers parsed whole, a %00 in a header: exit 2, the option named', async () => {
  await refused(['--certificate', '/nonexistent/ca.pem'], {},
    /--certificate: invalid value '\/nonexistent\/ca.pem': No such file or directory/);
  await refused([], { OTEL_EXPORTER_OTLP_CLIENT_KEY: '/nonexistent/k', OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/nonexistent/c' },
    /OTEL_EXPORTER_OTLP_CLIENT_KEY: invalid value '\/nonexistent\/k': No such file/);
  await refused(['--headers', 'x-key=a%00b'], {},
    /--headers: invalid value: header 'x-key': the value has a NUL \(%00\)/);
  await refused(['--timeout', ' 100'], {}, /--timeout: invalid value ' 100'/);
  await refused(['--max-queue-size', '+5'], {}, /--max-queue-size: invalid value '\+5'/);
  await refused(['--retry-initial', '5000', '--retry-max', '1000'], {},
    /--retry-initial: invalid value '5000': must not exceed --retry-max/);
  const r = await run(OTELD, ['--input', await gencap('many', '1'), '--no-export',
    '--stats-file', '/nonexistent/stats.json']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--stats-file: cannot write '\/nonexistent\/stats.json': No such file or directory/);
});

(async () => {
  console.log(`1..${tests.length}`);
  let failed = 0;
  for (let i = 0; i < tests.length; i++) {
    try {
      await tests[i].fn();
      console.log(`ok ${i + 1} ${tests[i].name}`);
    } catch (e) {
      failed++;
      console.log(`not ok ${i + 1} ${tests[i].name}`);
      for (const l of String(e.stack || e).split('\n').slice(0, 12)) console.log(`# ${l}`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
})();
