// SPDX-License-Identifier: GPL-2.0
/*
 * oteld over OTLP/gRPC on the host: synthetic captures (gencap) replayed
 * with --input into oteld (ASan + UBSan build), exported with
 * OTEL_EXPORTER_OTLP_PROTOCOL=grpc to the reference gRPC receiver
 * (tests/otlp-receiver/grpc_receiver.js: @grpc/grpc-js and the OpenTelemetry
 * JS schema) on 127.0.0.1, random ports.  What arrives is compared with
 * what the OTLP/HTTP path delivers for the same capture.  TAP output.
 *
 * Environment: OTELD, GENCAP (binaries), RECEIVER (receiver.js),
 * GRPC_RECEIVER (grpc_receiver.js).
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { makePki } = require('./pki.js');
const { spawn } = require('child_process');
const http = require(process.env.RECEIVER);
const grpc = require(process.env.GRPC_RECEIVER);

const OTELD = process.env.OTELD;
const GENCAP = process.env.GENCAP;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oteld-grpc-test-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const UNAVAILABLE = 14;
const RESOURCE_EXHAUSTED = 8;

function run(cmd, args, { env = {}, killAfterMs = 0 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(cmd, args, {
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const guard = setTimeout(() => p.kill('SIGKILL'), 60000);
    if (killAfterMs) setTimeout(() => p.kill('SIGTERM'), killAfterMs);
    p.on('error', (e) => { stderr += String(e); });
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

let capN = 0;
async function gencap(...args) {
  const file = path.join(tmp, `cap${capN++}.cap`);
  const r = await run(GENCAP, [...args, file]);
  assert.equal(r.code, 0, r.stderr);
  return file;
}

/*
 * oteld on a capture; gRPC to 127.0.0.1:@port unless @env says otherwise.
 * Returns the run and its counters.
 */
async function oteld(cap, port, { args = [], env = {}, grpc: useGrpc = true } = {}) {
  const stats = path.join(tmp, `stats${capN++}.json`);
  const r = await run(OTELD, ['--input', cap, '--stats-file', stats,
    '--schedule-delay', '100', ...args], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      ...(useGrpc ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } : {}), ...env },
  });
  assert.equal(r.code, 0, `oteld exited ${r.code} ${r.signal}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error/);
  r.stats = JSON.parse(fs.readFileSync(stats, 'utf8'));
  return r;
}

const sortSpans = (spans) => spans.map((s) => JSON.stringify(s)).sort();
const ids = (rcv) => new Set(rcv.spans().map((s) => s.spanId));

/* gencap's anchor (mono 1 s): the strict check's clock for its captures. */
const REAL0 = 1700000000000000000n;

/*
 * What the OTLP/HTTP (protobuf) path delivers for @cap: the reference,
 * held to the strict check with the capture's clock.
 */
async function overHttp(cap, env = {}) {
  const rcv = await http.start({ strict: { refNs: () => REAL0 } });
  try {
    await oteld(cap, rcv.port, { env, grpc: false });
    assert.deepEqual(rcv.errors, []);
    return rcv.spans();
  } finally { await rcv.close(); }
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const RESOURCE_ENV = {
  OTEL_SERVICE_NAME: 'svc-test',
  OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=ker%2Cnel',
};

test('every field round-trips: the same spans as over OTLP/HTTP (h2c)', async () => {
  const cap = await gencap('contract');
  const want = await overHttp(cap, RESOURCE_ENV);
  const rcv = await grpc.start();
  try {
    const r = await oteld(cap, rcv.port, { env: RESOURCE_ENV });
    assert.deepEqual(rcv.errors, []);
    const got = rcv.spans();
    assert.equal(got.length, 5);
    assert.deepEqual(sortSpans(got), sortSpans(want));
    /* a few fields by value, in case both paths were wrong alike */
    const req = got.find((s) => s.name === 'demo.request');
    assert.equal(req.kind, 2);
    assert.deepEqual(req.status, { code: 2, message: 'device timeout' });
    assert.equal(req.events.length, 2);
    assert.equal(req.links.length, 1);
    assert.deepEqual(req.scope, { name: 'oteltrace_demo', version: '1.2.3' });
    assert.equal(r.stats.spans_exported, 5);
    assert.equal(r.stats.export_requests, 1);
    /* the call as the server saw it */
    const s = rcv.streams[0].headers;
    assert.equal(s[':method'], 'POST');
    assert.equal(s[':scheme'], 'http');
    assert.equal(s[':path'], EXPORT_PATH);
    assert.equal(s['content-type'], 'application/grpc');
    assert.equal(s.te, 'trailers');
    assert.equal(s['grpc-timeout'], '10000m');
    assert.equal(s['grpc-encoding'], undefined);
    assert.match(s['user-agent'], /^oteld\//);
    assert.equal(rcv.streams[0].flag, 0);
  } finally { await rcv.close(); }
});

test('invalid UTF-8 repaired: the strict schema takes it, as over HTTP', async () => {
  const cap = await gencap('utf8');
  const env = { OTEL_RESOURCE_ATTRIBUTES: 'bad%FFkey=x%E2%82%ACy%E2%82' };
  const want = await overHttp(cap, env);
  const rcv = await grpc.start();
  try {
    const r = await oteld(cap, rcv.port, { env });
    assert.deepEqual(rcv.errors, []);
    assert.equal(r.stats.dropped_export_failed, 0);
    assert.deepEqual(sortSpans(rcv.spans()), sortSpans(want));
  } finally { await rcv.close(); }
});

test('gzip: grpc-encoding gzip, compressed flag 1, same spans', async () => {
  const cap = await gencap('contract');
  const rcv = await grpc.start();
  try {
    await oteld(cap, rcv.port, { env: { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip' } });
    assert.deepEqual(rcv.errors, []);
    assert.equal(rcv.streams[0].headers['grpc-encoding'], 'gzip');
    assert.equal(rcv.streams[0].flag, 1);
    assert.equal(rcv.spans().length, 5);
    const plain = await grpc.start();
    try {
      await oteld(cap, plain.port);
      assert.deepEqual(sortSpans(rcv.spans()), sortSpans(plain.spans()));
      assert.ok(rcv.streams[0].bytes < plain.streams[0].bytes, 'compressed is smaller');
    } finally { await plain.close(); }
  } finally { await rcv.close(); }
});

test('headers arrive as metadata (lowercase keys), timeout as grpc-timeout', async () => {
  const rcv = await grpc.start();
  try {
    await oteld(await gencap('many', '3'), rcv.port, { env: {
      OTEL_EXPORTER_OTLP_HEADERS: 'X-Api-Key=abc%20def, x-team = kernel',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '7000' } });
    assert.equal(rcv.spans().length, 3);
    assert.equal(rcv.requests[0].metadata['x-api-key'], 'abc def');
    assert.equal(rcv.requests[0].metadata['x-team'], 'kernel');
    assert.equal(rcv.streams[0].headers['grpc-timeout'], '7000m');
  } finally { await rcv.close(); }
});

test('TRACES_ENDPOINT is used as is; --protocol grpc; host:port with INSECURE=true is h2c', async () => {
  const rcv = await grpc.start();
  try {
    const cap = await gencap('many', '2');
    await oteld(cap, 9, { grpc: false, args: ['--protocol', 'grpc'],
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${rcv.port}/` } });
    await oteld(cap, 9, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${rcv.port}`,
      OTEL_EXPORTER_OTLP_INSECURE: 'true' } });
    assert.equal(rcv.spans().length, 4);
    assert.ok(rcv.streams.every((s) => s.headers[':path'] === EXPORT_PATH));
    /* without INSECURE, host:port means TLS: this server does not speak it */
    const r = await oteld(cap, 9, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${rcv.port}` },
      args: ['--export-timeout', '1000', '--retry-initial', '100'] });
    assert.equal(r.stats.dropped_export_failed, 2);
    assert.equal(rcv.spans().length, 4);
  } finally { await rcv.close(); }
});

test('default endpoint http://localhost:4317, used as is', async () => {
  /* an empty capture: oteld starts, says where it exports, sends nothing */
  const empty = path.join(tmp, 'empty.cap');
  fs.writeFileSync(empty, fs.readFileSync(await gencap('many', '1')).subarray(0, 48));
  const r = await run(OTELD, ['--input', empty, '-v'], { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`exporting to http://localhost:4317${EXPORT_PATH}\n`));
  const r2 = await run(OTELD, ['--input', empty, '-v', '--endpoint', 'https://otel.example:443'],
    { env: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' } });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`exporting to https://otel.example:443${EXPORT_PATH}\n`));
});

test('UNAVAILABLE (and every other retryable code) is retried, then delivered', async () => {
  const rcv = await grpc.start();
  try {
    /* CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS */
    for (const code of [UNAVAILABLE, 1, 4, 10, 11, 15])
      rcv.failNext(1, { code, details: `failing with ${code}` });
    const r = await oteld(await gencap('many', '20'), rcv.port,
      { args: ['--retry-initial', '10', '--retry-max', '20'] });
    assert.equal(rcv.spans().length, 20);
    assert.equal(rcv.failures.length, 0);
    assert.equal(r.stats.export_retries, 6);
    assert.equal(r.stats.export_requests, 7);
    assert.equal(r.stats.dropped_export_failed, 0);
    assert.match(r.stderr, /export failed \(gRPC UNAVAILABLE: failing with 14\), retrying/);
    assert.match(r.stderr, /export failed \(gRPC DATA_LOSS: failing with 15\), retrying/);
  } finally { await rcv.close(); }
});

test('RESOURCE_EXHAUSTED with RetryInfo: retried after the server\'s delay', async () => {
  const rcv = await grpc.start();
  try {
    rcv.failNext(1, { code: RESOURCE_EXHAUSTED, details: 'slow down', retryDelayMs: 1500 });
    const r = await oteld(await gencap('many', '10'), rcv.port, { args: ['--retry-initial', '10'] });
    assert.equal(rcv.spans().length, 10);
    assert.equal(r.stats.export_retries, 1);
    assert.match(r.stderr, /gRPC RESOURCE_EXHAUSTED: slow down \(RetryInfo\)\), retrying in 1500 ms/);
    assert.ok(r.ms >= 1400, `took ${r.ms} ms`);
  } finally { await rcv.close(); }
});

test('UNAVAILABLE with RetryInfo: the server\'s delay wins over the backoff', async () => {
  const rcv = await grpc.start();
  try {
    rcv.failNext(1, { code: UNAVAILABLE, retryDelayMs: 1200 });
    const r = await oteld(await gencap('many', '4'), rcv.port, { args: ['--retry-initial', '10'] });
    assert.equal(rcv.spans().length, 4);
    assert.match(r.stderr, /retrying in 1200 ms/);
  } finally { await rcv.close(); }
});

test('not retried: RESOURCE_EXHAUSTED without RetryInfo, INVALID_ARGUMENT, UNIMPLEMENTED, UNAUTHENTICATED', async () => {
  const rcv = await grpc.start();
  try {
    for (const code of [RESOURCE_EXHAUSTED, 3, 12, 16])
      rcv.failNext(1, { code, details: `no ${code}` });
    /* four batches of one span, one at a time: each meets one failure */
    const r = await oteld(await gencap('many', '5'), rcv.port,
      { args: ['--max-export-batch-size', '1', '--exporters', '1'] });
    assert.equal(r.stats.export_retries, 0);
    assert.equal(r.stats.dropped_export_failed, 4);
    assert.equal(r.stats.spans_exported, 1);
    assert.equal(rcv.spans().length, 1);
    assert.match(r.stderr, /dropped 1 spans: gRPC RESOURCE_EXHAUSTED: no 8\n/);
    assert.match(r.stderr, /dropped 1 spans: gRPC INVALID_ARGUMENT: no 3\n/);
    assert.match(r.stderr, /dropped 1 spans: gRPC UNIMPLEMENTED: no 12\n/);
    assert.match(r.stderr, /dropped 1 spans: gRPC UNAUTHENTICATED: no 16\n/);
  } finally { await rcv.close(); }
});

test('server down then up: retried until it listens, nothing lost', async () => {
  const port = await http.quietPort();	/* no connection takes it meanwhile */
  const done = oteld(await gencap('many', '300'), port,
    { args: ['--retry-initial', '100', '--retry-max', '300'] });
  await sleep(1500);
  const rcv = await grpc.start({ port });
  try {
    const r = await done;
    assert.equal(ids(rcv).size, 300);
    assert.ok(r.stats.export_retries >= 1);
    assert.equal(r.stats.dropped_export_failed + r.stats.dropped_queue_full, 0);
    assert.equal(r.stats.spans_exported, 300);
  } finally { await rcv.close(); }
});

test('partial success in the reply: counted and logged, not retried', async () => {
  const rcv = await grpc.start();
  try {
    rcv.partialNext(2, 'two spans too old');
    const r = await oteld(await gencap('many', '6'), rcv.port);
    assert.equal(r.stats.partial_rejected, 2);
    assert.equal(r.stats.export_retries, 0);
    assert.match(r.stderr, /partial success: the receiver rejected 2 spans: two spans too old/);
  } finally { await rcv.close(); }
});

test('gRPC partial success goes through the shared check: a warning counted, logged once; rejected clamped to the spans sent, escaped', async () => {
  const rcv = await grpc.start();
  try {
    rcv.partialNext(0, 'slow down');
    rcv.partialNext(0, 'slow down');
    rcv.partialNext(1000, 'too many\x1b[31m');
    const r = await oteld(await gencap('many', '6'), rcv.port,
      { args: ['--max-export-batch-size', '2'] });
    assert.equal(r.stats.partial_warnings, 2);
    assert.equal(r.stats.partial_rejected, 2);
    assert.equal(r.stderr.match(/warning from the receiver \(logged once\): slow down/g).length, 1);
    assert.match(r.stderr, /rejected 2 spans: too many\\x1b\[31m/);
    assert.doesNotMatch(r.stderr, /\x1b/);
  } finally { await rcv.close(); }
});

test('four calls in flight to a slow server', async () => {
  const rcv = await grpc.start();
  try {
    rcv.delayMs = 400;
    const r = await oteld(await gencap('many', '2000'), rcv.port,
      { args: ['--max-export-batch-size', '250', '--exporters', '4'] });
    assert.equal(ids(rcv).size, 2000);
    assert.equal(rcv.maxInFlight, 4);
    assert.equal(rcv.requests.length, 8);
    /* concurrency is maxInFlight's to show: no wall-clock bound here */
  } finally { await rcv.close(); }
});

test('a message over the server\'s limit: RESOURCE_EXHAUSTED, dropped and counted', async () => {
  const rcv = await grpc.start({ maxReceive: 5000 });
  try {
    const cap = await gencap('many', '200');
    const r = await oteld(cap, rcv.port);
    assert.equal(r.stats.dropped_export_failed, 200);
    assert.equal(r.stats.export_retries, 0);
    assert.match(r.stderr, /dropped 200 spans: gRPC RESOURCE_EXHAUSTED/);
    /* --max-request-bytes under the server's limit splits before sending */
    const r2 = await oteld(cap, rcv.port, { args: ['--max-request-bytes', '4096'] });
    assert.equal(r2.stats.dropped_export_failed, 0);
    assert.equal(ids(rcv).size, 200);
  } finally { await rcv.close(); }
});

test('TLS (ALPN h2): CA-verified server, mTLS, host:port means TLS', async () => {
  /* setup installs openssl: makePki() fails loudly without it */
  const f = makePki(tmp);
  const rd = (n) => fs.readFileSync(f(n));
  const rcv = await grpc.start({ tls: { key: rd('server.key'), cert: rd('server.pem'), ca: rd('ca.pem') } });
  try {
    const cap = await gencap('many', '5');
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${rcv.port}`,
      OTEL_EXPORTER_OTLP_CERTIFICATE: f('ca.pem') };
    const short = ['--export-timeout', '1500', '--retry-initial', '100'];
    /* the server wants a client certificate */
    const r1 = await oteld(cap, 9, { env, args: short });
    assert.equal(r1.stats.dropped_export_failed, 5);
    assert.equal(rcv.spans().length, 0);
    const mtls = { ...env, OTEL_EXPORTER_OTLP_CLIENT_KEY: f('client.key'),
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: f('client.pem') };
    /* three calls, one thread: one connection, kept alive */
    const c0 = rcv.connections;
    const r2 = await oteld(cap, 9, { env: mtls,
      args: ['--max-export-batch-size', '2', '--exporters', '1'] });
    assert.equal(r2.stats.dropped_export_failed, 0);
    assert.equal(rcv.spans().length, 5);
    assert.equal(rcv.requests.length, 3);
    assert.equal(rcv.connections - c0, 1);
    assert.equal(rcv.streams[rcv.streams.length - 1].headers[':scheme'], 'https');
    /* no scheme, INSECURE unset: TLS */
    const r3 = await oteld(cap, 9, { env: { ...mtls, OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${rcv.port}` } });
    assert.equal(r3.stats.dropped_export_failed, 0);
    assert.equal(rcv.spans().length, 10);
    /* a server the CA did not sign is not trusted */
    const r4 = await oteld(cap, 9, { env: { ...mtls, OTEL_EXPORTER_OTLP_CERTIFICATE: f('client.pem') },
      args: short });
    assert.equal(r4.stats.dropped_export_failed, 5);
    assert.equal(rcv.spans().length, 10);
  } finally { await rcv.close(); }
});

test('--help: the protocol, the INSECURE variables, the gRPC endpoint rule', async () => {
  const r = await run(OTELD, ['--help']);
  assert.equal(r.code, 0);
  for (const v of ['OTEL_EXPORTER_OTLP_INSECURE', 'OTEL_EXPORTER_OTLP_TRACES_INSECURE',
    'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/protobuf, http/json or grpc', '--insecure',
    'http://localhost:4317'])
    assert.ok(r.stdout.includes(v), `${v} missing from --help`);
});

const BAD = [
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317/v1/traces' }, /ENDPOINT: invalid value 'http:\/\/collector:4317\/v1\/traces': a gRPC endpoint has no path/],
  [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector' }, /TRACES_ENDPOINT: invalid value 'collector': expected host:port/],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:99999' }, /invalid value 'collector:99999': expected a port/],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector:4317' }, /invalid value 'ftp:\/\/collector:4317'/],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user@collector:4317' }, /invalid value 'http:\/\/user@collector:4317'/],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://[::1:4317' }, /unterminated \[IPv6\]/],
  [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc+json' }, /TRACES_PROTOCOL: invalid value 'grpc\+json'/],
];
for (const [env, msg] of BAD) {
  test(`bad gRPC configuration exits 2: ${JSON.stringify(env)}`, async () => {
    const r = await run(OTELD, ['--input', '/nonexistent'],
      { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', ...env } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, msg);
  });
}

/* GRPC_TEST_ONLY=REGEX runs the tests whose name matches */
if (process.env.GRPC_TEST_ONLY) {
  const only = new RegExp(process.env.GRPC_TEST_ONLY);
  tests.splice(0, tests.length, ...tests.filter((t) => only.test(t.name)));
}

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
