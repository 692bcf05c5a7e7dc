// SPDX-License-Identifier: GPL-2.0
/*
 * Review reproducers: oteld (ASan + UBSan) against hostile OTLP/gRPC
 * servers on 127.0.0.1 (node's http2, h2c, and raw TCP).  Each case runs
 * oteld on a 3-span capture and checks: no sanitizer report, exit 0, the
 * run bounded, and every span accounted for (exported + dropped_* +
 * partial == 3).  TAP output.
 *
 *   OTELD=build/tests/host-tools/oteld GENCAP=build/tests/host-tools/gencap \
 *     node tests/host/grpc_hostile_test.js [REGEX]
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const http2 = require('http2');
const net = require('net');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { spawn } = require('child_process');

const OTELD = process.env.OTELD;
const GENCAP = process.env.GENCAP;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oteld-grpc-hostile-'));
const only = process.argv[2] ? new RegExp(process.argv[2]) : null;

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(cmd, args, { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', ...env } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const guard = setTimeout(() => p.kill('SIGKILL'), 30000);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const prefix = (flag, len) => {
  const b = Buffer.alloc(5);
  b[0] = flag;
  b.writeUInt32BE(len >>> 0, 1);
  return b;
};
const varint = (n) => {
  const out = [];
  do { let c = n & 0x7f; n = Math.floor(n / 128); if (n) c |= 0x80; out.push(c); } while (n);
  return Buffer.from(out);
};
const ld = (field, buf) => Buffer.concat([varint(field << 3 | 2), varint(buf.length), buf]);
/* ExportTraceServiceResponse { partial_success { rejected_spans, error_message } } */
const partial = (n, msg) => ld(1, Buffer.concat([varint(1 << 3), varint(n), ld(2, Buffer.from(msg))]));

/* h2c server; @handler(stream, headers) answers */
function h2(handler) {
  return new Promise((resolve) => {
    const s = http2.createServer({ maxSessionMemory: 1000 });
    s.on('stream', (stream, headers) => {
      const chunks = [];
      stream.on('data', (d) => chunks.push(d));
      stream.on('error', () => {});
      stream.on('end', () => { try { handler(stream, headers, Buffer.concat(chunks)); } catch (e) { /* */ } });
    });
    s.on('sessionError', () => {});
    s.listen(0, '127.0.0.1', () => resolve({ port: s.address().port, close: () => new Promise((r) => { s.close(r); for (const x of socks) x.destroy(); }) }));
    const socks = new Set();
    s.on('connection', (c) => { socks.add(c); c.on('close', () => socks.delete(c)); });
  });
}
/* raw TCP server */
function raw(onConn) {
  return new Promise((resolve) => {
    const socks = new Set();
    const s = net.createServer((c) => { socks.add(c); c.on('error', () => {}); c.on('close', () => socks.delete(c)); onConn(c); });
    s.listen(0, '127.0.0.1', () => resolve({ port: s.address().port, close: () => new Promise((r) => { s.close(r); for (const x of socks) x.destroy(); }) }));
  });
}

const grpcHeaders = { ':status': 200, 'content-type': 'application/grpc' };
function answer(stream, { headers = grpcHeaders, body = null, trailers = { 'grpc-status': '0' } } = {}) {
  stream.respond(headers, { waitForTrailers: !!trailers });
  if (trailers) stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(body || undefined);
}

let cap;
async function oteld(port, extraEnv = {}, args = []) {
  const stats = path.join(tmp, `stats${Math.random()}.json`);
  const r = await run(OTELD, ['--input', cap, '--stats-file', stats, '--schedule-delay', '50',
    '--export-timeout', '3000', '--retry-initial', '200', '--timeout', '1500', ...args], {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', ...extraEnv });
  try { r.stats = JSON.parse(fs.readFileSync(stats, 'utf8')); } catch (e) { r.stats = null; }
  return r;
}
function accounted(r, n = 3) {
  assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/, r.stderr);
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stderr}`);
  assert.ok(r.stats, 'stats written');
  const s = r.stats;
  const dropped = Object.keys(s).filter((k) => k.startsWith('dropped_')).reduce((a, k) => a + Number(s[k]), 0);
  assert.equal(s.spans_exported + dropped, n, JSON.stringify(s));
  /* a hang guard only (a loaded 2-core host is slow, never this slow) */
  assert.ok(r.ms < 45000, `took ${r.ms} ms`);
  return s;
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('reply frame length 0xffffffff, then OK: exported, no overread', async () => {
  const s = await h2((st) => answer(st, { body: Buffer.concat([prefix(0, 0xffffffff), Buffer.alloc(10)]) }));
  try { const r = await oteld(s.port); assert.equal(accounted(r).spans_exported, 3); } finally { await s.close(); }
});

test('reply frame truncated (prefix says 100, 3 bytes follow), then OK', async () => {
  const s = await h2((st) => answer(st, { body: Buffer.concat([prefix(0, 100), Buffer.from([8, 1, 2])]) }));
  try { const r = await oteld(s.port); assert.equal(accounted(r).spans_exported, 3); } finally { await s.close(); }
});

test('reply split into 1-byte DATA frames: partial success still counted', async () => {
  const msg = partial(2, 'too old');
  const s = await h2((st) => {
    st.respond(grpcHeaders, { waitForTrailers: true });
    st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
    const all = Buffer.concat([prefix(0, msg.length), msg]);
    let i = 0;
    const step = () => { if (i < all.length) { st.write(all.subarray(i, i + 1)); i++; setTimeout(step, 2); } else st.end(); };
    step();
  });
  try { const r = await oteld(s.port); const st = accounted(r); assert.equal(st.partial_rejected, 2, r.stderr); } finally { await s.close(); }
});

test('compressed reply (grpc-encoding gzip, flag 1) with partial success', async () => {
  const msg = zlib.gzipSync(partial(1, 'gz'));
  const s = await h2((st) => answer(st, { headers: { ...grpcHeaders, 'grpc-encoding': 'gzip' },
    body: Buffer.concat([prefix(1, msg.length), msg]) }));
  try { const r = await oteld(s.port); const st = accounted(r); assert.equal(st.partial_rejected, 1, r.stderr); } finally { await s.close(); }
});

test('gzip bomb reply (64 MiB of zeros): bounded', async () => {
  const msg = zlib.gzipSync(Buffer.alloc(64 << 20));
  const s = await h2((st) => answer(st, { headers: { ...grpcHeaders, 'grpc-encoding': 'gzip' },
    body: Buffer.concat([prefix(1, msg.length), msg]) }));
  try { const r = await oteld(s.port); assert.equal(accounted(r).spans_exported, 3); } finally { await s.close(); }
});

test('garbage grpc-status "14abc": UNKNOWN, dropped and counted', async () => {
  const s = await h2((st) => answer(st, { trailers: { 'grpc-status': '14abc' } }));
  try { const r = await oteld(s.port); assert.equal(accounted(r).dropped_export_failed, 3); } finally { await s.close(); }
});

test('grpc-status 99: not retried, dropped and counted', async () => {
  let calls = 0;
  const s = await h2((st) => { calls++; answer(st, { trailers: { 'grpc-status': '99', 'grpc-message': 'x' } }); });
  try {
    const r = await oteld(s.port);
    assert.equal(accounted(r).dropped_export_failed, 3);
    assert.equal(calls, 1);
    assert.match(r.stderr, /CODE_99/);
  } finally { await s.close(); }
});

test('giant grpc-message (60 KB, percent-encoded, control chars): one log line', async () => {
  const m = '%0A%1B[31m' + 'A'.repeat(60000);
  const s = await h2((st) => answer(st, { trailers: { 'grpc-status': '3', 'grpc-message': m } }));
  try {
    const r = await oteld(s.port);
    assert.equal(accounted(r).dropped_export_failed, 3);
    assert.doesNotMatch(r.stderr, /\x1b/);
  } finally { await s.close(); }
});

test('grpc-status-details-bin: malformed protobufs do not crash', async () => {
  const bad = [Buffer.from([0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0x1a, 0x05, 0x0a, 0x7f]),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    Buffer.from([0x1a, 0x03, 0x12, 0x01, 0x0b]), Buffer.alloc(8000, 0x1a)];
  let i = 0;
  const s = await h2((st) => answer(st, { trailers: { 'grpc-status': '8',
    'grpc-status-details-bin': bad[i++ % bad.length].toString('base64') } }));
  try {
    for (let k = 0; k < bad.length; k++) {
      const r = await oteld(s.port);
      assert.equal(accounted(r).dropped_export_failed, 3);
    }
  } finally { await s.close(); }
});

test('RESOURCE_EXHAUSTED with RetryInfo inside a >4 KiB Status: retried (RetryInfo honoured)', async () => {
  /* Status { code 8, message 5000 x 'm', details [Any RetryInfo 0.1s] } */
  const dur = Buffer.concat([varint(2 << 3), varint(100000000)]);
  const any = Buffer.concat([ld(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), ld(2, ld(1, dur))]);
  const status = Buffer.concat([varint(1 << 3), varint(8), ld(2, Buffer.alloc(5000, 'm')), ld(3, any)]);
  let calls = 0;
  const s = await h2((st) => {
    if (calls++ === 0) answer(st, { trailers: { 'grpc-status': '8', 'grpc-status-details-bin': status.toString('base64') } });
    else answer(st);
  });
  try {
    const r = await oteld(s.port);
    const st = accounted(r);
    assert.equal(st.spans_exported, 3, `calls ${calls}; ${r.stderr}`);
  } finally { await s.close(); }
});

test('HTTP/1.1 answer to the h2c preface: retried, then dropped and counted', async () => {
  const s = await raw((c) => c.once('data', () => c.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')));
  try { const r = await oteld(s.port); assert.equal(accounted(r).dropped_export_failed, 3); } finally { await s.close(); }
});

test('never answers: bounded by the export timeout, counted', async () => {
  const s = await raw(() => {});
  try { const r = await oteld(s.port); assert.equal(accounted(r).dropped_export_failed, 3); } finally { await s.close(); }
});

for (const [name, code] of [['REFUSED_STREAM (UNAVAILABLE)', http2.constants.NGHTTP2_REFUSED_STREAM],
  ['CANCEL (CANCELLED)', http2.constants.NGHTTP2_CANCEL]]) {
  test(`RST_STREAM ${name} after the headers: retried (gRPC maps it to a retryable code)`, async () => {
    let calls = 0;
    const s = await h2((st) => {
      if (calls++) { answer(st); return; }
      st.respond(grpcHeaders); st.write(prefix(0, 50)); setTimeout(() => st.close(code), 10);
    });
    try {
      const r = await oteld(s.port);
      assert.equal(accounted(r).spans_exported, 3, `calls ${calls}; ${r.stderr.split('\n').filter((l) => /dropped|failed/.test(l)).join(' ')}`);
    } finally { await s.close(); }
  });
}

test('connection closed mid-response: retried, then exported', async () => {
  let calls = 0;
  const s = await h2((st) => {
    if (calls++) { answer(st); return; }
    st.respond(grpcHeaders); st.write(prefix(0, 50)); setTimeout(() => st.session.destroy(), 10);
  });
  try { const r = await oteld(s.port); assert.equal(accounted(r).spans_exported, 3, r.stderr); } finally { await s.close(); }
});

test('huge body (32 MiB) then OK: memory bounded, exported', async () => {
  const s = await h2((st) => answer(st, { body: Buffer.alloc(32 << 20, 7) }));
  try { const r = await oteld(s.port); assert.equal(accounted(r).spans_exported, 3); } finally { await s.close(); }
});

test('metadata "te=foo" from OTEL_EXPORTER_OTLP_HEADERS: refused at start, not every batch lost', async () => {
  const seen = [];
  const s = await h2((st, h) => { seen.push(h); answer(st); });
  try {
    const r = await oteld(s.port, { OTEL_EXPORTER_OTLP_HEADERS: 'te=foo' });
    assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error/);
    /* rejected by the config check: exit 2, the header named */
    assert.equal(r.code, 2, `${r.code} ${JSON.stringify(r.stats)} ${r.stderr.slice(-400)}`);
    assert.match(r.stderr, /OTEL_EXPORTER_OTLP_HEADERS: invalid value: header 'te': reserved/);
    assert.equal(seen.length, 0);
  } finally { await s.close(); }
});

test('metadata "content-type=text/plain" and "grpc-timeout=1S": reserved names refused', async () => {
  const seen = [];
  const s = await h2((st, h) => { seen.push(h); answer(st); });
  try {
    const r = await oteld(s.port, { OTEL_EXPORTER_OTLP_HEADERS: 'content-type=text/plain,grpc-timeout=1S' });
    assert.equal(r.code, 2, `${r.code}: server saw content-type=${seen[0] && seen[0]['content-type']} grpc-timeout=${seen[0] && seen[0]['grpc-timeout']}`);
    assert.match(r.stderr, /header 'content-type': reserved/);
  } finally { await s.close(); }
});

test('metadata value with %00, and -bin not base64: refused at start (exit 2)', async () => {
  for (const [h, re] of [['x-key=a%00b', /header 'x-key': the value has a NUL/],
    ['x-key-bin=!!!', /header 'x-key-bin': a -bin value must be base64/]]) {
    const r = await oteld(1, { OTEL_EXPORTER_OTLP_HEADERS: h });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
  /* HTTP too: a NUL would cut the value, CR/LF would split the request */
  const r = await run(OTELD, ['--input', cap, '--no-export'], {
    OTEL_EXPORTER_OTLP_HEADERS: 'x-key=a%0D%0AHost: evil' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /header 'x-key': the value has a CR or LF/);
});

(async () => {
  cap = path.join(tmp, 'cap');
  const g = await run(GENCAP, ['many', '3', cap]);
  assert.equal(g.code, 0, g.stderr);
  const sel = tests.filter((t) => !only || only.test(t.name));
  console.log(`1..${sel.length}`);
  let fail = 0, n = 0;
  for (const t of sel) {
    n++;
    try { await t.fn(); console.log(`ok ${n} - ${t.name}`); } catch (e) {
      fail++;
      console.log(`not ok ${n} - ${t.name}`);
      console.log(String(e && e.stack || e).split('\n').slice(0, 12).map((l) => `# ${l}`).join('\n'));
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(fail ? 1 : 0);
})();
