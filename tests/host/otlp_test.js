// SPDX-License-Identifier: GPL-2.0
/*
 * oteld end to end on the host: synthetic captures (gencap) replayed with
 * --input into oteld (built with ASan + UBSan), exported over OTLP/HTTP to
 * the reference receiver (tests/otlp-receiver, the OpenTelemetry JS
 * schema) on 127.0.0.1, decoded and compared field by field.  TAP output.
 *
 * Environment: OTELD, GENCAP (binaries), RECEIVER (receiver.js).
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { makePki } = require('./pki.js');
const { spawn } = require('child_process');
const receiver = require(process.env.RECEIVER);

const OTELD = process.env.OTELD;
const GENCAP = process.env.GENCAP;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oteld-test-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const REAL0 = 1700000000000000000n;	/* gencap's anchor: mono 1 s */
/*
 * Every request is held to the strict check (tests/otlp-receiver/strict.js);
 * a replay's "wall clock at export" is its capture's clock.
 */
const start = (opts = {}) => receiver.start({ strict: { refNs: () => REAL0 }, ...opts });
const T = (monoNs) => String(REAL0 + BigInt(monoNs) - 1000000000n);

/* synth_id() of tests/host/synth.h */
function synthId(n, seed) {
  const b = [];
  for (let i = 0; i < n; i++)
    b.push((Math.floor(seed / 2 ** (8 * (i % 8))) + i * 17 + 1) % 256);
  return Buffer.from(b).toString('hex');
}
const traceId = (s) => synthId(16, s);
const spanId = (s) => synthId(8, s);

/*
 * killAfterMs: SIGTERM that long after @readyFile exists (oteld writes its
 * stats file once its signal handlers are in place), or after the start
 * when there is no such file: a loaded host may take longer than any fixed
 * delay to get oteld that far, and a SIGTERM before it kills it outright.
 */
function run(cmd, args, { env = {}, killAfterMs = 0, onStderr = null, readyFile = null } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(cmd, args, {
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; if (onStderr) onStderr(stderr); });
    const guard = setTimeout(() => p.kill('SIGKILL'), 60000);
    if (killAfterMs && !readyFile) setTimeout(() => p.kill('SIGTERM'), killAfterMs);
    if (killAfterMs && readyFile) {
      const poll = setInterval(() => {
        if (!fs.existsSync(readyFile)) return;
        clearInterval(poll);
        setTimeout(() => p.kill('SIGTERM'), killAfterMs);
      }, 20);
      p.on('close', () => clearInterval(poll));
    }
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
 * A FIFO to replay a capture through: oteld reads what is written and then
 * waits for more, as it waits on the rings, until the writer closes it.
 */
async function mkfifo() {
  const fifo = path.join(tmp, `fifo${capN++}`);
  const r = await run('mkfifo', [fifo]);
  assert.equal(r.code, 0, r.stderr);
  return fifo;
}

function feed(fifo, cap) {
  const ws = fs.createWriteStream(fifo);
  ws.on('error', () => {});	/* oteld may be gone before the last write */
  ws.write(fs.readFileSync(cap));
  return ws;
}

/*
 * Spans that trickle in, as from the rings: a capture of one span (gencap
 * many 1: the 48-byte header, then one frame) whose frame is written @count
 * times, @ms apart.  Resolves once all are written; the FIFO stays open.
 */
async function trickle(fifo, cap, count, ms) {
  const c = fs.readFileSync(cap);
  const ws = fs.createWriteStream(fifo);
  ws.on('error', () => {});
  ws.write(c.subarray(0, 48));
  for (let i = 0; i < count; i++) {
    ws.write(c.subarray(48));
    await sleep(ms);
  }
  return ws;
}

/* Run oteld on a capture against the receiver; returns the run + stats. */
async function oteld(cap, rcvPort, { args = [], env = {}, killAfterMs = 0, onStderr = null } = {}) {
  const stats = path.join(tmp, `stats${capN++}.json`);
  const r = await run(OTELD, ['--input', cap, '--stats-file', stats,
    '--schedule-delay', '100', ...args], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${rcvPort}`, ...env },
    killAfterMs, onStderr, readyFile: stats,
  });
  assert.equal(r.code, 0, `oteld exited ${r.code} ${r.signal}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error/);
  r.stats = JSON.parse(fs.readFileSync(stats, 'utf8'));
  return r;
}

const attrsOf = (list) => Object.fromEntries((list || []).map((kv) => [kv.key, kv.value]));
/* What oteld adds to every span: where it began (docs/oteld.md). */
const WHERE_KEYS = new Set(['cpu.logical_number', 'linux.context', 'thread.id',
  'process.pid', 'thread.name']);
const own = (list) => {
  const l = (list || []).filter((kv) => !WHERE_KEYS.has(kv.key));
  return l.length ? l : undefined;
};
const whereOf = (list) => attrsOf((list || []).filter((kv) => WHERE_KEYS.has(kv.key)));
const byName = (spans) => Object.fromEntries(spans.map((s) => [s.name, s]));

/* The contract scenario of gencap.c, as the receiver must decode it. */
function checkContract(rcv) {
  const spans = rcv.spans();
  assert.equal(spans.length, 5, 'five spans');
  const s = byName(spans);
  const r = s['demo.request'];
  assert.equal(r.traceId, traceId(1));
  assert.equal(r.spanId, spanId(101));
  assert.equal(r.parentSpanId, undefined);
  assert.equal(r.kind, 2);
  assert.equal(r.startTimeUnixNano, T(1000000000 + 1000));
  assert.equal(r.endTimeUnixNano, T(1000000000 + 2001000));
  assert.deepEqual(attrsOf(own(r.attributes)), {
    'demo.str': { stringValue: 'hello "world"\n' },
    'demo.int': { intValue: '-42' },
    'demo.big': { intValue: '9007199254740993' },
    'demo.bool': { boolValue: true },
    'demo.ratio': { doubleValue: 0.75 },
    'demo.pi': { doubleValue: 3.14159 },
  });
  /* after the driver's attributes, where it began; the name from a COMM */
  assert.deepEqual(r.attributes.slice(-5), [
    { key: 'cpu.logical_number', value: { intValue: '0' } },
    { key: 'linux.context', value: { stringValue: 'task' } },
    { key: 'thread.id', value: { intValue: '4242' } },
    { key: 'process.pid', value: { intValue: '4240' } },
    { key: 'thread.name', value: { stringValue: 'sh' } },
  ]);
  assert.equal(r.droppedAttributesCount, 2);
  assert.equal(r.droppedEventsCount, 1);
  assert.equal(r.droppedLinksCount, undefined);
  assert.deepEqual(r.events, [
    { timeUnixNano: T(1000001500), name: 'queued',
      attributes: [{ key: 'queue.depth', value: { intValue: '7' } }],
      droppedAttributesCount: 2 },
    { timeUnixNano: T(1000001800), name: 'dispatched' },
  ]);
  assert.deepEqual(r.links, [{ traceId: traceId(9), spanId: spanId(109),
    attributes: [{ key: 'link.why', value: { stringValue: 'retry' } }],
    droppedAttributesCount: 1 }]);
  assert.deepEqual(r.status, { code: 2, message: 'device timeout' });
  assert.deepEqual(r.scope, { name: 'oteltrace_demo', version: '1.2.3' });

  const c = s['demo.child'];
  assert.equal(c.traceId, traceId(1));
  assert.equal(c.parentSpanId, r.spanId);
  assert.equal(c.kind, 3);
  assert.deepEqual(c.status, { code: 1 });
  assert.equal(own(c.attributes), undefined);
  assert.deepEqual(whereOf(c.attributes), {
    'cpu.logical_number': { intValue: '1' },
    'linux.context': { stringValue: 'softirq' },
  });

  assert.deepEqual(attrsOf(own(s['demo.unended'].attributes)), {
    'demo.int': { intValue: '1' },
    'oteltrace.incomplete': { boolValue: true },
  });
  assert.deepEqual(attrsOf(own(s['demo.lossy'].attributes)), {
    'oteltrace.incomplete': { boolValue: true },
    'oteltrace.missing_records': { intValue: '1' },
  });
  assert.deepEqual(s['demo.lossy'].scope, { name: 'oteltrace_other' });
  assert.equal(own(s['demo.late'].attributes), undefined);

  const res = attrsOf(spans[0].resource.attributes);
  assert.equal(res['os.type'].stringValue, 'linux');
  assert.equal(res['os.version'].stringValue, os.release());
  assert.equal(res['host.name'].stringValue, os.hostname());
  assert.equal(res['telemetry.sdk.name'].stringValue, 'oteltrace');
  assert.equal(res['telemetry.sdk.language'].stringValue, 'c');
  assert.ok(res['host.arch'].stringValue);
  assert.ok(res['os.description'].stringValue);
  return spans;
}

const RESOURCE_ENV = {
  OTEL_SERVICE_NAME: 'svc-test',
  OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=ker%2Cnel,service.name=overridden',
};

function checkResourceEnv(rcv) {
  const res = attrsOf(rcv.spans()[0].resource.attributes);
  assert.deepEqual(res['service.name'], { stringValue: 'svc-test' });
  assert.deepEqual(res.team, { stringValue: 'ker,nel' });
  assert.deepEqual(res['deployment.environment'], { stringValue: 'test' });
}

function checkContractStats(st) {
  assert.equal(st.kernel_dropped, 6, 'kernel drops from the KSTATS frame');
  assert.equal(st.spans_complete, 3);
  assert.equal(st.spans_incomplete, 2);
  assert.equal(st.records_unknown, 1);
  assert.equal(st.records_corrupt, 0);
  assert.equal(st.records_late, 0);
  assert.equal(st.records, 13, 'one SPAN per span, the rest only when written, one COMM');
  assert.equal(st.records_comm, 1);
  assert.equal(st.names_unresolved, 0);
  assert.equal(st.spans_exported, 5);
}

const sortSpans = (spans) => spans.map((s) => JSON.stringify(s)).sort();
let protoSpans = null;

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
/* A test that cannot make its check here returns skip(reason): TAP "# SKIP". */
class Skip { constructor(reason) { this.reason = reason; } }
const skip = (reason) => new Skip(reason);

test('protobuf: every field of the contract decodes exactly', async () => {
  const rcv = await start();
  try {
    const r = await oteld(await gencap('contract'), rcv.port, { env: RESOURCE_ENV });
    assert.deepEqual(rcv.errors, []);
    assert.equal(rcv.requests[0].type, 'application/x-protobuf');
    assert.equal(rcv.requests[0].url, '/v1/traces');
    assert.match(rcv.requests[0].headers['user-agent'], /^oteld\//);
    protoSpans = checkContract(rcv);
    checkResourceEnv(rcv);
    checkContractStats(r.stats);
    assert.match(r.stderr, /stats \(exit\):.*kernel_dropped=6/);
  } finally { await rcv.close(); }
});

test('json: same decoded spans as protobuf, ids as hex', async () => {
  const rcv = await start();
  try {
    await oteld(await gencap('contract'), rcv.port, {
      env: { ...RESOURCE_ENV, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    });
    assert.deepEqual(rcv.errors, []);
    assert.equal(rcv.requests[0].type, 'application/json');
    const spans = checkContract(rcv);
    checkResourceEnv(rcv);
    if (protoSpans) assert.deepEqual(sortSpans(spans), sortSpans(protoSpans));
  } finally { await rcv.close(); }
});

for (const proto of ['http/protobuf', 'http/json']) {
  test(`gzip (${proto})`, async () => {
    const rcv = await start();
    try {
      await oteld(await gencap('contract'), rcv.port, {
        env: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: proto,
               OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' },
      });
      assert.deepEqual(rcv.errors, []);
      assert.equal(rcv.requests[0].headers['content-encoding'], 'gzip');
      checkContract(rcv);
    } finally { await rcv.close(); }
  });
}

test('headers and traces endpoint used as is', async () => {
  const rcv = await start();
  try {
    await oteld(await gencap('many', '3'), rcv.port, {
      env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%20def, x-team = kernel',
             OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${rcv.port}/custom/path` },
    });
    assert.equal(rcv.requests[0].url, '/custom/path');
    assert.equal(rcv.requests[0].headers['x-api-key'], 'abc def');
    assert.equal(rcv.requests[0].headers['x-team'], 'kernel');
    assert.equal(rcv.spans().length, 3);
  } finally { await rcv.close(); }
});

test('503 with Retry-After: waits, retries, then delivers', async () => {
  const rcv = await start();
  try {
    rcv.failNext(2, 503, { 'Retry-After': '1' });
    const r = await oteld(await gencap('many', '20'), rcv.port,
      { args: ['--retry-initial', '10'] });
    assert.equal(rcv.spans().length, 20);
    assert.equal(r.stats.export_retries, 2);
    assert.equal(r.stats.dropped_export_failed, 0);
    /* two 1 s Retry-After waits, though the backoff alone is ~10 ms */
    assert.ok(r.ms >= 1900, `took ${r.ms} ms`);
  } finally { await rcv.close(); }
});

test('receiver down then up: nothing lost within the queue', async () => {
  const port = await receiver.quietPort();	/* no connection takes it meanwhile */
  const cap = await gencap('many', '300');
  /* up again once oteld has logged a failed attempt: an order, not a delay */
  let failed;
  const attempted = new Promise((resolve) => { failed = resolve; });
  const done = oteld(cap, port, { args: ['--retry-initial', '100', '--retry-max', '300'],
    onStderr: (s) => { if (/export failed \(.*\), retrying in/.test(s)) failed(); } });
  await Promise.race([attempted, done]);
  const rcv = await start({ port });
  try {
    const r = await done;
    const ids = new Set(rcv.spans().map((s) => s.spanId));
    assert.equal(ids.size, 300);
    assert.ok(r.stats.export_retries >= 1);
    assert.equal(r.stats.dropped_export_failed + r.stats.dropped_queue_full, 0);
  } finally { await rcv.close(); }
});

test('a replay waits for queue room: nothing dropped with a small queue', async () => {
  const rcv = await start();
  try {
    rcv.failNext(1, 503, { 'Retry-After': '1' });
    const r = await oteld(await gencap('many', '300'), rcv.port, {
      args: ['--max-queue-size', '50', '--max-export-batch-size', '50'],
    });
    assert.equal(r.stats.dropped_queue_full, 0);
    assert.equal(rcv.spans().length, 300);
  } finally { await rcv.close(); }
});

test('queue overflow is counted: received + dropped == produced', async () => {
  const rcv = await start();
  try {
    rcv.failNext(1, 503, { 'Retry-After': '1' });
    const r = await oteld(await gencap('many', '300'), rcv.port, {
      args: ['--max-queue-size', '50', '--max-export-batch-size', '50', '--replay-drop'],
    });
    const got = rcv.spans().length;
    assert.ok(r.stats.dropped_queue_full > 0, 'some dropped');
    assert.equal(got + r.stats.dropped_queue_full, 300);
    assert.equal(r.stats.spans_exported, got);
    assert.match(r.stderr, /dropped_queue_full=[1-9]/);
  } finally { await rcv.close(); }
});

test('non-retryable 400 drops the batch, counted and logged', async () => {
  const rcv = await start();
  try {
    rcv.failNext(1, 400);
    const r = await oteld(await gencap('many', '10'), rcv.port);
    assert.equal(rcv.spans().length, 0);
    assert.equal(r.stats.dropped_export_failed, 10);
    assert.equal(r.stats.export_retries, 0);
    assert.match(r.stderr, /dropped 10 spans: HTTP 400/);
  } finally { await rcv.close(); }
});

test('HTTP 413 splits the batch until it fits', async () => {
  const rcv = await start();
  try {
    rcv.maxBody = 1500;
    const r = await oteld(await gencap('many', '40'), rcv.port);
    assert.equal(new Set(rcv.spans().map((s) => s.spanId)).size, 40);
    assert.ok(rcv.tooBig >= 1);
    assert.equal(r.stats.dropped_too_big + r.stats.dropped_export_failed, 0);
  } finally { await rcv.close(); }
});

test('byte cap splits before sending', async () => {
  const rcv = await start();
  try {
    const r = await oteld(await gencap('many', '200'), rcv.port,
      { args: ['--max-request-bytes', '4096'] });
    assert.equal(rcv.spans().length, 200);
    assert.ok(rcv.requests.length > 1);
    assert.ok(rcv.requests.every((q) => q.size <= 4096));
    assert.equal(r.stats.dropped_too_big, 0);
  } finally { await rcv.close(); }
});

test('keep-alive: one connection for several requests', async () => {
  const rcv = await start();
  try {
    await oteld(await gencap('many', '300'), rcv.port,
      { args: ['--max-export-batch-size', '50', '--exporters', '1'] });
    assert.equal(rcv.spans().length, 300);
    assert.ok(rcv.requests.length >= 6);
    assert.equal(rcv.connections, 1);
  } finally { await rcv.close(); }
});

test('keep-alive: one connection per exporter thread at most', async () => {
  const rcv = await start();
  try {
    await oteld(await gencap('many', '1000'), rcv.port,
      { args: ['--max-export-batch-size', '50'] });
    assert.equal(rcv.spans().length, 1000);
    assert.equal(rcv.requests.length, 20);
    assert.ok(rcv.connections <= 4, `${rcv.connections} connections`);
  } finally { await rcv.close(); }
});

test('--exporters 4: four requests in flight to a slow receiver', async () => {
  const rcv = await start();
  try {
    rcv.delayMs = 400;
    const r = await oteld(await gencap('many', '2000'), rcv.port, {
      args: ['--max-export-batch-size', '250', '--exporters', '4'] });
    assert.equal(new Set(rcv.spans().map((s) => s.spanId)).size, 2000);
    assert.equal(rcv.maxInFlight, 4);
    assert.equal(r.stats.spans_exported, 2000);
    /* concurrency is maxInFlight's to show: no wall-clock bound here */
  } finally { await rcv.close(); }
});

test('OTELD_EXPORT_CONCURRENCY=1: one request at a time', async () => {
  const rcv = await start();
  try {
    rcv.delayMs = 100;
    await oteld(await gencap('many', '1000'), rcv.port, {
      args: ['--max-export-batch-size', '250'],
      env: { OTELD_EXPORT_CONCURRENCY: '1' } });
    assert.equal(rcv.spans().length, 1000);
    assert.equal(rcv.maxInFlight, 1);
  } finally { await rcv.close(); }
});

test('a full batch goes at once, not after the schedule delay', async () => {
  /* the one span of the trickled capture, sent again and again */
  const rcv = await start({ strict: { refNs: () => REAL0, duplicateIds: true } });
  try {
    /* a batch of 100 (not a multiple of 64), live drops (a queue deep enough that a slow host does not fill it) */
    const fifo = await mkfifo();
    const done = oteld(fifo, rcv.port, { args: ['--schedule-delay', '60000',
      '--max-export-batch-size', '100', '--max-queue-size', '1000', '--replay-drop'] });
    const ws = await trickle(fifo, await gencap('many', '1'), 130, 10);
    const t0 = Date.now();
    while (rcv.spans().length < 100 && Date.now() - t0 < 30000) await sleep(50);	/* < the 60 s delay */
    const got = rcv.spans().length;
    ws.end();
    const r = await done;
    assert.equal(got, 100, 'the full batch was not sent before the schedule delay');
    assert.equal(r.stats.dropped_queue_full, 0);
    assert.equal(r.stats.spans_exported, 130);
  } finally { await rcv.close(); }
});

test('SIGTERM: every request in flight and the queue are drained', async () => {
  const rcv = await start();
  try {
    rcv.delayMs = 1000;
    const cap = await gencap('many', '2000');
    const fifo = await mkfifo();
    /* a schedule delay of an hour: only SIGTERM's drain can send the rest */
    const done = oteld(fifo, rcv.port, { args: ['--max-export-batch-size', '250',
      '--exporters', '4', '--schedule-delay', '3600000'], killAfterMs: 500 });
    const ws = feed(fifo, cap);
    const r = await done;
    ws.destroy();
    assert.equal(rcv.maxInFlight, 4);
    assert.equal(r.stats.spans_queued, 2000);
    assert.equal(r.stats.spans_exported, 2000);
    assert.equal(r.stats.dropped_export_failed + r.stats.dropped_queue_full, 0);
    assert.equal(new Set(rcv.spans().map((s) => s.spanId)).size, 2000);
  } finally { await rcv.close(); }
});

/* gencap utf8: what each string must become (utf8.c) */
function checkUtf8Span(rcv) {
  assert.deepEqual(rcv.errors, []);
  const spans = rcv.spans();
  assert.equal(spans.length, 1);
  const s = spans[0];
  assert.equal(s.name, 'caf\u00e9.');
  assert.deepEqual(s.scope, { name: 'mod\ufffdule', version: '1.0' });
  assert.deepEqual(own(s.attributes), [{ key: 'key\ufffd',
    value: { stringValue: 'val\ufffd\ufffd\ufffdue' } }]);
  assert.deepEqual(s.events, [{ timeUnixNano: T(1000000010), name: 'ev\ufffdent',
    attributes: [{ key: 'note', value: { stringValue: 'cut ' } }] }]);
  assert.deepEqual(s.status, { code: 2, message: 'timeout \u20ac' });
  assert.deepEqual(attrsOf(s.resource.attributes)['bad\ufffdkey'],
    { stringValue: 'x\u20acy' });
  return spans;
}

let utf8Spans = null;
for (const proto of ['http/protobuf', 'http/json']) {
  test(`invalid UTF-8 is repaired: a strict receiver takes the span (${proto})`, async () => {
    const rcv = await start();
    try {
      const r = await oteld(await gencap('utf8'), rcv.port, { env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: proto,
        OTEL_RESOURCE_ATTRIBUTES: 'bad%FFkey=x%E2%82%ACy%E2%82' } });
      assert.equal(r.stats.dropped_export_failed, 0, r.stderr);
      const spans = checkUtf8Span(rcv);
      if (utf8Spans) assert.deepEqual(sortSpans(spans), sortSpans(utf8Spans));
      utf8Spans = spans;
    } finally { await rcv.close(); }
  });
}

test('SIGTERM while the receiver is down: exit 0 within the export timeout, drops counted', async () => {
  const port = await receiver.quietPort();	/* nothing listens there */
  const r = await oteld(await gencap('many', '30'), port, {
    args: ['--export-timeout', '2000', '--retry-initial', '100'],
    killAfterMs: 500,
  });
  /* a hang past the export timeout is caught by run()'s guard (exit status) */
  assert.match(r.stderr, /dropped \d+ spans: (export timeout spent|retries would outlast the export timeout)/);
  assert.equal(r.stats.dropped_export_failed, 30);
});

test('OTEL_SDK_DISABLED=true exports nothing and exits 0', async () => {
  const rcv = await start();
  try {
    const r = await run(OTELD, ['--input', await gencap('many', '3')], {
      env: { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${rcv.port}` },
    });
    assert.equal(r.code, 0);
    await sleep(100);
    assert.equal(rcv.requests.length, 0);
  } finally { await rcv.close(); }
});

test('--help lists every OTEL_ and OTELD_ variable', async () => {
  const r = await run(OTELD, ['--help']);
  assert.equal(r.code, 0);
  for (const v of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_HEADERS',
    'OTEL_EXPORTER_OTLP_COMPRESSION', 'OTEL_EXPORTER_OTLP_TIMEOUT',
    'OTEL_EXPORTER_OTLP_CERTIFICATE', 'OTEL_EXPORTER_OTLP_CLIENT_KEY',
    'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', 'OTEL_SERVICE_NAME',
    'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_BSP_MAX_QUEUE_SIZE',
    'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'OTEL_BSP_EXPORT_TIMEOUT', 'OTEL_SDK_DISABLED',
    'OTELD_EXPORT_CONCURRENCY'])
    assert.ok(r.stdout.includes(v), `${v} missing from --help`);
});

const BAD = [
  [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, [], /OTEL_EXPORTER_OTLP_PROTOCOL: invalid value 'thrift'/],
  [{ OTEL_BSP_MAX_QUEUE_SIZE: 'abc' }, [], /OTEL_BSP_MAX_QUEUE_SIZE: invalid value 'abc'/],
  [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli' }, [], /COMPRESSION: invalid value 'brotli'/],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }, [], /ENDPOINT: invalid value 'ftp:\/\/x'/],
  [{ OTEL_EXPORTER_OTLP_TIMEOUT: '-1' }, [], /TIMEOUT: invalid value '-1'/],
  [{ OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, [], /HEADERS: invalid value/],
  [{ OTEL_RESOURCE_ATTRIBUTES: 'novalue' }, [], /OTEL_RESOURCE_ATTRIBUTES: invalid value/],
  [{}, ['--max-export-batch-size', '5000'], /--max-export-batch-size: invalid value '5000'/],
  [{ OTEL_BSP_SCHEDULE_DELAY: '1' }, ['--schedule-delay', 'soon'], /--schedule-delay: invalid value 'soon'/],
  [{}, ['--no-such-flag'], /unrecognized option/],
  [{ OTELD_EXPORT_CONCURRENCY: '0' }, [], /OTELD_EXPORT_CONCURRENCY: invalid value '0'/],
  [{}, ['--exporters', '65'], /--exporters: invalid value '65'/],
];
for (const [env, args, msg] of BAD) {
  test(`bad configuration rejected: ${JSON.stringify(env)} ${args.join(' ')}`, async () => {
    const r = await run(OTELD, ['--input', '/nonexistent', ...args], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, msg);
  });
}

test('the strict check flags an attribute with no value ({}) and one with an empty key', async () => {
  const strict = require(path.join(path.dirname(process.env.RECEIVER), 'strict.js'));
  const attr = (kv) => ({ resourceSpans: [{ resource: { attributes: [
    { key: 'service.name', value: { stringValue: 's' } },
    { key: 'telemetry.sdk.name', value: { stringValue: 'x' } },
    { key: 'telemetry.sdk.language', value: { stringValue: 'c' } },
    { key: 'telemetry.sdk.version', value: { stringValue: '1' } }] },
  scopeSpans: [{ scope: { name: 'sc' }, spans: [{ traceId: traceId(1),
    spanId: spanId(2), name: 'n', kind: 1, flags: 0x100, startTimeUnixNano: T(1e9),
    endTimeUnixNano: T(1e9 + 10), attributes: [kv] }] }] }] });
  /* what it says of attributes (Span.flags needs the raw protobuf) */
  const said = (kv) => strict.check(attr(kv), null, null, { refNs: () => REAL0 })
    .filter((x) => /attribute/.test(x)).join('\n');
  assert.equal(said({ key: 'a', value: { intValue: 1 } }), '');
  assert.match(said({ key: 'a', value: {} }), /attribute "a" has no value/);
  assert.match(said({ key: '', value: { intValue: 1 } }), /attribute with an empty key/);
});

test('--stdout prints one tree per trace', async () => {
  const r = await run(OTELD, ['--input', await gencap('contract'), '--stdout']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^trace ${traceId(1)}\\n  demo\\.request \\[server\\] 2\\.000 ms`, 'm'));
  assert.match(r.stdout, /^    demo\.child \[client\] 1\.400 ms/m);
  assert.match(r.stdout, /status ERROR: device timeout/);
  assert.match(r.stdout, /event queued \{queue\.depth=7\}/);
  assert.match(r.stdout, /demo\.unended .* INCOMPLETE/);
});

test('TLS: CA-verified server, client certificate and key (mTLS)', async () => {
  /* setup installs openssl: makePki() fails loudly without it */
  const f = makePki(tmp);
  const rd = (n) => fs.readFileSync(f(n));
  const rcv = await start({ tls: { key: rd('server.key'), cert: rd('server.pem'), ca: rd('ca.pem') } });
  try {
    const cap = await gencap('many', '5');
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${rcv.port}`,
      OTEL_EXPORTER_OTLP_CERTIFICATE: f('ca.pem') };
    /* without a client certificate the server refuses: counted, not hung */
    const r1 = await oteld(cap, rcv.port, { env, args: ['--export-timeout', '1500', '--retry-initial', '100'] });
    assert.equal(rcv.spans().length, 0);
    assert.equal(r1.stats.dropped_export_failed, 5);
    const r2 = await oteld(cap, rcv.port, { env: { ...env,
      OTEL_EXPORTER_OTLP_CLIENT_KEY: f('client.key'),
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: f('client.pem') } });
    assert.equal(rcv.spans().length, 5);
    assert.equal(rcv.requests[0].clientCert, 'oteld-client');
    assert.equal(r2.stats.dropped_export_failed, 0);
    /* a server the CA did not sign is not trusted */
    const r3 = await oteld(cap, rcv.port, { env: { ...env,
      OTEL_EXPORTER_OTLP_CERTIFICATE: f('client.pem'),
      OTEL_EXPORTER_OTLP_CLIENT_KEY: f('client.key'),
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: f('client.pem') },
      args: ['--export-timeout', '1500', '--retry-initial', '100'] });
    assert.equal(r3.stats.dropped_export_failed, 5);
    assert.equal(rcv.spans().length, 5);
  } finally { await rcv.close(); }
});

test('--user: drops to the user after opening its input (root only), unknown user refused', async () => {
  const cap = await gencap('many', '2');
  const bad = await run(OTELD, ['--input', cap, '--stdout', '--user', 'no-such-user-oteld']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--user no-such-user-oteld: no such user/);
  if (process.getuid() !== 0) return skip('dropping to another user needs root');
  fs.chmodSync(tmp, 0o700);	/* nobody cannot reopen it: opened before */
  const r = await run(OTELD, ['--input', cap, '--stdout', '--user', 'nobody', '-v']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /running as nobody/);
  assert.equal((r.stdout.match(/^trace /gm) || []).length, 2);
});

(async () => {
  console.log(`1..${tests.length}`);
  let failed = 0;
  for (let i = 0; i < tests.length; i++) {
    try {
      const r = await tests[i].fn();
      const note = r instanceof Skip ? ` # SKIP ${r.reason}` : '';
      console.log(`ok ${i + 1} ${tests[i].name}${note}`);
    } catch (e) {
      failed++;
      console.log(`not ok ${i + 1} ${tests[i].name}`);
      for (const l of String(e.stack || e).split('\n').slice(0, 12)) console.log(`# ${l}`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
})();
