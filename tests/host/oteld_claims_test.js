// SPDX-License-Identifier: GPL-2.0
/*
 * oteld's documented claims that no other host test pins (issue 14), each
 * checked against the line of docs/oteld.md quoted above it:
 *
 *  - the capture file layout, written here byte by byte from the docs (not
 *    with capture.c or synth.h), replayed; and a capture oteld writes,
 *    parsed field by field against the same layout;
 *  - Span.flags for a remote parent, read from the raw protobuf and JSON
 *    bodies (the reference receiver's schema has no Span.flags);
 *  - Retry-After as an HTTP date; 429, 502, 504 retried, 500 not; backoff
 *    with jitter and its cap, from the delays oteld logs (never wall time);
 *  - partial success (protobuf and JSON answers);
 *  - a single span too big for any request (byte cap, and 413);
 *  - a request timeout against a server that hangs, and the export timeout
 *    cutting a request short.
 *
 * Nothing here depends on timing: a run that hangs is killed by a 60 s
 * guard and fails on its exit status.  TAP output.
 * Environment: OTELD (ASan + UBSan build), RECEIVER (receiver.js).
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { start } = require(process.env.RECEIVER);

const OTELD = process.env.OTELD;
/*
 * The ABI of the records this file builds by hand (uapi/oteltrace.h
 * OTEL_ABI_VERSION; 3: COMM records, EVENT records 40 bytes, dropped counts
 * in LINK and ATTR records).  Checked against the header, so that the next
 * bump fails here first, saying the builders below need a look, instead of
 * as a refusal in every test.
 */
const ABI = 3;
const HEADER_ABI = Number(/^#define\s+OTEL_ABI_VERSION\s+(\d+)/m.exec(fs.readFileSync(
  path.join(__dirname, '..', '..', 'uapi', 'oteltrace.h'), 'utf8'))[1]);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oteld-claims-'));
let fileN = 0;
const tmpFile = (name) => path.join(tmp, `${fileN++}-${name}`);

/* ---- processes ---- */

function run(cmd, args, { env = {} } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, {
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1',
        UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1', ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    /* only catches a hang: the test then fails on the exit status */
    const guard = setTimeout(() => p.kill('SIGKILL'), 60000);
    p.on('error', (e) => { stderr += String(e); });
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/* oteld --input CAP exporting to 127.0.0.1:PORT; must exit 0, sanitizers silent. */
async function oteld(cap, port, { args = [], env = {} } = {}) {
  const statsFile = tmpFile('stats.json');
  const r = await run(OTELD, ['--input', cap, '--stats-file', statsFile,
    '--schedule-delay', '100', ...args], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, ...env },
  });
  assert.equal(r.code, 0, `oteld exited ${r.code} ${r.signal}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error/);
  r.stats = JSON.parse(fs.readFileSync(statsFile, 'utf8'));
  return r;
}

/* The delays oteld chose, in the order it logged them (export.c). */
const retryDelays = (stderr) =>
  [...stderr.matchAll(/export failed \((.*?)\), retrying in (\d+) ms/g)]
    .map((m) => ({ why: m[1], ms: Number(m[2]) }));

/* ---- a scriptable OTLP/HTTP server: raw bodies kept, answers chosen ---- */

/*
 * reply(req, n) for the n-th request (from 0) returns { status, headers,
 * body } or 'hang' (never answer; the socket stays open until close()).
 */
function serve(reply = () => ({})) {
  const srv = { requests: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const n = srv.requests.length;
      srv.requests.push({ url: req.url, headers: req.headers,
        body: Buffer.concat(chunks) });
      const a = reply(req, n);
      if (a === 'hang') return;
      const json = (req.headers['content-type'] || '').startsWith('application/json');
      res.writeHead(a.status || 200, { 'Content-Type': json ?
        'application/json' : 'application/x-protobuf', ...(a.headers || {}) });
      res.end(a.body !== undefined ? a.body : (json ? '{}' : Buffer.alloc(0)));
    });
  });
  srv.close = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    srv.port = server.address().port;
    resolve(srv);
  }));
}

/* ---- protobuf wire format, read by hand (opentelemetry-proto numbers) ---- */

function pbFields(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wt = key & 7;
    let value;
    if (wt === 0) value = varint();
    else if (wt === 1) { value = buf.readBigUInt64LE(i); i += 8; }
    else if (wt === 5) { value = buf.readUInt32LE(i); i += 4; }
    else if (wt === 2) {
      const len = Number(varint());
      value = buf.subarray(i, i + len);
      i += len;
    } else throw new Error(`wire type ${wt}`);
    out.push({ field, wt, value });
  }
  return out;
}
const pbGet = (buf, field) => pbFields(buf).filter((f) => f.field === field);

/* ExportTraceServiceRequest 1 ResourceSpans 2 ScopeSpans 2 Span */
function pbSpans(body) {
  const spans = [];
  for (const rs of pbGet(body, 1))
    for (const ss of pbGet(rs.value, 2))
      for (const sp of pbGet(ss.value, 2)) {
        const f = (n) => pbGet(sp.value, n);
        spans.push({
          name: f(5)[0].value.toString(),
          spanId: f(2)[0].value.toString('hex'),
          flags: f(16).length ? f(16)[0].value : undefined,
          flagsWireType: f(16).length ? f(16)[0].wt : undefined,
        });
      }
  return spans;
}

/* ---- captures, byte by byte from docs/oteld.md "Capture files" ---- */

const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const pad8 = (b) => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);

/*
 * struct capture_header (48 bytes): char magic[8] "OTELCAP\0"; u32 version
 * (1); u32 abi_version; u64 mono_ns; u64 real_ns; u32 nr_cpus; u32 flags
 * (0x1: PASS frames mark every pass); u32 reserved[2].  Frames: u32 type;
 * u32 len; len bytes; zero padding to 8.
 */
function capHeader({ magic = 'OTELCAP\0', version = 1, abi = ABI, mono, real, nrCpus = 2,
  flags = 0 }) {
  const h = Buffer.concat([Buffer.from(magic, 'latin1'), u32(version), u32(abi),
    u64(mono), u64(real), u32(nrCpus), u32(flags), Buffer.alloc(8)]);
  assert.equal(h.length, 48);
  return h;
}
const capFrame = (type, payload) =>
  Buffer.concat([u32(type), u32(payload.length), pad8(payload)]);
const RECORDS = 1;
const ANCHOR = 2;
const KSTATS = 3;
const PASS = 4;	/* empty: a pass over every ring ended */
const passFrame = () => capFrame(PASS, Buffer.alloc(0));
const anchorFrame = (mono, real) => capFrame(ANCHOR, Buffer.concat([u64(mono), u64(real)]));
/* struct otel_cpu_stats: 16 u64, records .. wakeups, reserved[8] */
function kstatsFrame(k) {
  const names = ['records', 'bytes', 'dropped_full', 'dropped_too_big',
    'dropped_nested', 'dropped_disabled', 'overwritten', 'wakeups'];
  return capFrame(KSTATS, Buffer.concat([...names.map((n) => u64(k[n] || 0)),
    Buffer.alloc(64)]));
}

/*
 * Records of uapi/oteltrace.h (ABI 3).  struct otel_attr_entry (16 bytes):
 * u8 value_type; u8 entry_flags; u16 key_len; u16 value_len; u16 size; s64
 * value; then the u64 denominator (OTEL_ATTRF_DEN), the key, the string
 * value, zero padding to size.
 */
const ATTR = { STRING: 1, BOOL: 2, INT: 3, DOUBLE: 4 };
const CTX = { TASK: 0, SOFTIRQ: 1, HARDIRQ: 2, NMI: 3 };	/* enum otel_context */
function attrEntry(type, key, { value = 0n, str = '', den = 0n } = {}) {
  const k = Buffer.from(key);
  const s = Buffer.from(str);
  const body = Buffer.concat([den ? u64(den) : Buffer.alloc(0), k, s]);
  const size = 16 + body.length + ((8 - (body.length % 8)) % 8);
  const e = Buffer.alloc(16);
  e.writeUInt8(type, 0);
  e.writeUInt8(den ? 1 : 0, 1);
  e.writeUInt16LE(k.length, 2);
  e.writeUInt16LE(s.length, 4);
  e.writeUInt16LE(size, 6);
  e.writeBigInt64LE(BigInt(value), 8);
  return pad8(Buffer.concat([e, body]));
}

/*
 * struct otel_rec_span (104 bytes): the 24-byte header (u16 type 8, u16
 * size, u16 cpu, u16 flags, u64 time_ns = the end, u8 span_id[8]), u8
 * trace_id[16], u8 parent_span_id[8], u64 start_ns, u8 trace_flags, u8
 * kind, u8 status_code, u8 span_flags, u16 begin_cpu, u8 begin_context, u8
 * reserved0, u16 name_len, scope_name_len, scope_version_len,
 * status_message_len, nr_attrs, attrs_offset, u32 nr_records,
 * dropped_attributes, dropped_events, dropped_links, pid, tgid, reserved1;
 * then name, scope name, scope version, status message, zero padding, the
 * attribute entries at attrs_offset.  @ctx is where it began (and, in
 * hdr.flags, where it ended); pid and tgid are 0 outside task context.
 */
function spanRecord({ trace, span, parent = '', start, end, name, scope = 'claims',
  version = '1', message = '', kind = 1, status = 0, traceFlags = 1, spanFlags = 0,
  cpu = 0, beginCpu = cpu, ctx = CTX.TASK, pid = ctx === CTX.TASK ? 42 : 0,
  tgid = ctx === CTX.TASK ? 41 : 0, attrs = [] }) {
  const strs = [name, scope, version, message].map((s) => Buffer.from(s));
  const fixed = Buffer.alloc(104);
  const strBytes = pad8(Buffer.concat(strs));
  const attrBytes = Buffer.concat(attrs);
  const size = 104 + strBytes.length + attrBytes.length;
  fixed.writeUInt16LE(8, 0);
  fixed.writeUInt16LE(size, 2);
  fixed.writeUInt16LE(cpu, 4);
  fixed.writeUInt16LE(ctx, 6);
  fixed.writeBigUInt64LE(BigInt(end), 8);
  Buffer.from(span, 'hex').copy(fixed, 16);
  Buffer.from(trace, 'hex').copy(fixed, 24);
  if (parent) Buffer.from(parent, 'hex').copy(fixed, 40);
  fixed.writeBigUInt64LE(BigInt(start), 48);
  fixed.writeUInt8(traceFlags, 56);
  fixed.writeUInt8(kind, 57);
  fixed.writeUInt8(status, 58);
  fixed.writeUInt8(spanFlags, 59);
  fixed.writeUInt16LE(beginCpu, 60);
  fixed.writeUInt8(ctx, 62);
  strs.forEach((s, i) => fixed.writeUInt16LE(s.length, 64 + 2 * i));
  fixed.writeUInt16LE(attrs.length, 72);
  fixed.writeUInt16LE(attrs.length ? 104 + strBytes.length : 0, 74);
  fixed.writeUInt32LE(0, 76);	/* nr_records: the whole span */
  fixed.writeUInt32LE(pid, 92);
  fixed.writeUInt32LE(tgid, 96);
  assert.ok(size <= 1024, 'OTEL_REC_MAX_SIZE');
  return Buffer.concat([fixed, strBytes, attrBytes]);
}

/*
 * struct otel_rec_comm (48 bytes): the header (type 9, size 48, cpu, flags
 * OTEL_CTX_TASK, time_ns, span_id zero), u32 pid, u32 tgid, char comm[16]
 * NUL-padded.  The kernel writes one into the ring of the CPU a span
 * begins on, before that span's SPAN record.
 */
function commRecord({ pid = 42, tgid = 41, comm = 'claims', cpu = 0, time = 0n }) {
  const r = Buffer.alloc(48);
  r.writeUInt16LE(9, 0);
  r.writeUInt16LE(48, 2);
  r.writeUInt16LE(cpu, 4);
  r.writeUInt16LE(CTX.TASK, 6);
  r.writeBigUInt64LE(BigInt(time), 8);
  r.writeUInt32LE(pid, 24);
  r.writeUInt32LE(tgid, 28);
  assert.ok(Buffer.byteLength(comm) <= 16, 'OTEL_COMM_LEN');
  r.write(comm, 32, 'latin1');
  return r;
}

const hex = (n, bytes) => n.toString(16).padStart(2 * bytes, '0');
const traceHex = (n) => hex(0xabc000 + n, 16);
const spanHex = (n) => hex(0x5000 + n, 8);

/*
 * @n one-attribute root spans at mono 1 s + i us of task 42, named by the
 * COMM before them, in one RECORDS frame and no PASS frame ("A capture
 * without PASS frames is replayed as if each RECORDS frame were a pass").
 */
function simpleCap(n, { extra = [] } = {}) {
  const MONO = 1000000000n;
  const recs = [commRecord({ time: MONO })];	/* names the spans' task, pid 42 */
  for (let i = 0; i < n; i++)
    recs.push(spanRecord({ trace: traceHex(i), span: spanHex(i), name: `s${i}`,
      start: MONO + BigInt(i) * 1000n, end: MONO + BigInt(i) * 1000n + 500n,
      attrs: [attrEntry(ATTR.INT, 'i', { value: i })] }));
  const file = tmpFile('simple.cap');
  fs.writeFileSync(file, Buffer.concat([capHeader({ mono: MONO, real: 1700000000000000000n }),
    capFrame(RECORDS, Buffer.concat([...recs, ...extra]))]));
  return file;
}

/* ---- the tests ---- */

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const attrsOf = (l) => Object.fromEntries((l || []).map((kv) => [kv.key, kv.value]));

/*
 * docs/oteld.md, "Capture files": "oteld's own captures set flag 0x1 ...:
 * they are replayed pass by pass, exactly as read."  Live, a span read in
 * one pass whose task is named by a COMM in the next pass gets its name;
 * with the flag, the replay of the very first pass does the same.
 */
test('a capture flagged as marking passes replays its first pass as live', async () => {
  const MONO = 1000000000n;
  const span = spanRecord({ trace: traceHex(90), span: spanHex(90), name: 'first',
    start: MONO, end: MONO + 500n, pid: 777, tgid: 777 });
  const comm = commRecord({ pid: 777, tgid: 777, comm: 'late-name', time: MONO - 1000n });
  const body = (flags) => Buffer.concat([
    capHeader({ mono: MONO, real: 1700000000000000000n, flags }),
    capFrame(RECORDS, span), passFrame(), capFrame(RECORDS, comm), passFrame()]);
  const names = {};
  for (const flags of [1, 0]) {
    const file = tmpFile(`pass${flags}.cap`);
    fs.writeFileSync(file, body(flags));
    const statsFile = tmpFile('stats.json');
    const r = await run(OTELD, ['--input', file, '--stdout', '--stats-file', statsFile]);
    assert.equal(r.code, 0, r.stderr);
    names[flags] = JSON.parse(fs.readFileSync(statsFile, 'utf8')).names_unresolved;
    if (flags) assert.match(r.stdout, /late-name/);
  }
  assert.equal(names[1], 0, 'flagged: named one pass later, as live');
  assert.equal(names[0], 1, 'unflagged: the first RECORDS frame was a pass of its own');
});

/*
 * docs/oteld.md, "Capture files": "struct capture_header { /+ 48 bytes +/
 * ... then frames: uint32_t type; uint32_t len; len bytes; zero padding to
 * 8 / type 1 RECORDS ... type 2 ANCHOR uint64_t mono_ns, real_ns: a new
 * clock anchor / type 3 KSTATS struct otel_cpu_stats summed over CPUs /
 * type 4 PASS empty: a pass over every ring ended (spans waiting for their
 * task's name wait one pass, as live)"; "Readers skip frame types they do
 * not know"; "A replay uses the anchors stored in the file, so its
 * timestamps are those of the original run."
 *
 * "Attributes oteld adds": cpu.logical_number and linux.context always;
 * thread.id, process.pid "task context, pid not 0"; thread.name "task
 * context, once named"; "a span whose task has no name yet waits until the
 * end of the next pass ..., then goes out without thread.name, counted
 * names_unresolved".  The passes below are those of a live oteld reading
 * two rings:
 *   pass 1: ring 0 [COMM 4343, hand.c]  c's task named before its span
 *   pass 2: ring 1 [hand.a]             a began on CPU 0, ended on CPU 1:
 *   pass 3: ring 0 [COMM 4242]          its COMM comes a pass later
 *   (an unknown frame, ANCHOR, KSTATS)
 *   pass 4: ring 1 [hand.b, hand.d]     b in softirq; d's task never named
 * Nothing is fed before the first PASS but whole passes.
 */
const M0 = 5000000000n;
const R0 = 1600000000123456789n;
const M1 = M0 + 10000000000n;	/* 10 s later, as oteld re-anchors */
/*
 * The wall clock moved 1.000777 ms more: past the 100 us by which oteld
 * keeps a new anchor (docs/oteld.md, "Clock"), so spans after it use it.
 */
const R1 = R0 + 10000000000n + 1000777n;
function handCapture() {
  const c0 = commRecord({ pid: 4343, tgid: 4340, comm: 'hand-named', cpu: 0, time: M0 + 1500n });
  const c = spanRecord({ trace: traceHex(1), span: spanHex(3), parent: spanHex(1),
    name: 'hand.c', start: M0 + 1500n, end: M0 + 1900n, cpu: 0, pid: 4343, tgid: 4340 });
  const a = spanRecord({ trace: traceHex(1), span: spanHex(1), name: 'hand.a',
    scope: 'hand_scope', version: '9.8.7', kind: 2, status: 2, message: 'it broke',
    start: M0 + 1000n, end: M0 + 3000n, cpu: 1, beginCpu: 0, pid: 4242, tgid: 4240,
    attrs: [
      attrEntry(ATTR.INT, 'n', { value: -5n }),
      attrEntry(ATTR.STRING, 's', { str: 'seven bytes' }),
      attrEntry(ATTR.BOOL, 'b', { value: 1n }),
      attrEntry(ATTR.DOUBLE, 'q', { value: 3n, den: 8n }),
      attrEntry(ATTR.DOUBLE, 'd', { value: Buffer.from(new Float64Array([2.5]).buffer).readBigInt64LE() }),
    ] });
  /* 16 bytes: not NUL-terminated */
  const c1 = commRecord({ pid: 4242, tgid: 4240, comm: 'hand-worker-0123', cpu: 0, time: M0 + 1000n });
  const b = spanRecord({ trace: traceHex(1), span: spanHex(2), parent: spanHex(1),
    name: 'hand.b', start: M1 + 100n, end: M1 + 200n, cpu: 1, ctx: CTX.SOFTIRQ });
  const d = spanRecord({ trace: traceHex(1), span: spanHex(4), parent: spanHex(1),
    name: 'hand.d', start: M1 + 300n, end: M1 + 400n, cpu: 1, pid: 4444, tgid: 4444 });
  const records = [Buffer.concat([c0, c]), a, c1, Buffer.concat([b, d])];
  return { records, bytes: Buffer.concat([
    capHeader({ mono: M0, real: R0 }),
    capFrame(RECORDS, records[0]), passFrame(),
    capFrame(RECORDS, records[1]), passFrame(),
    capFrame(RECORDS, records[2]), passFrame(),
    capFrame(77, Buffer.from('odd!!')),	/* unknown, 5 bytes + 3 padding */
    anchorFrame(M1, R1),
    kstatsFrame({ records: 3, dropped_full: 1, dropped_too_big: 2,
      dropped_nested: 3, dropped_disabled: 4, overwritten: 5 }),
    capFrame(RECORDS, records[3]), passFrame(),
  ]) };
}
/* The frame types of handCapture() that oteld copies, KSTATS left out. */
const HAND_FRAMES = [RECORDS, PASS, RECORDS, PASS, RECORDS, PASS, ANCHOR, RECORDS, PASS];

test('a capture built byte by byte from the documented layout replays exactly', async () => {
  assert.equal(HEADER_ABI, ABI, 'uapi/oteltrace.h moved on: update the record builders here');
  const cap = tmpFile('hand.cap');
  fs.writeFileSync(cap, handCapture().bytes);
  /* the strict check holds times to the capture's clock */
  const rcv = await start({ strict: { refNs: () => R0 } });
  try {
    const r = await oteld(cap, rcv.port);
    assert.deepEqual(rcv.errors, []);
    const s = Object.fromEntries(rcv.spans().map((x) => [x.name, x]));
    assert.deepEqual(Object.keys(s).sort(), ['hand.a', 'hand.b', 'hand.c', 'hand.d']);
    /* before the ANCHOR frame: the header's anchor */
    assert.equal(s['hand.a'].startTimeUnixNano, String(R0 + 1000n));
    assert.equal(s['hand.a'].endTimeUnixNano, String(R0 + 3000n));
    /* after it: the new one */
    assert.equal(s['hand.b'].startTimeUnixNano, String(R1 + 100n));
    assert.equal(s['hand.b'].endTimeUnixNano, String(R1 + 200n));
    assert.equal(s['hand.a'].traceId, traceHex(1));
    assert.equal(s['hand.a'].spanId, spanHex(1));
    assert.equal(s['hand.b'].parentSpanId, spanHex(1));
    assert.equal(s['hand.a'].kind, 2);
    assert.deepEqual(s['hand.a'].status, { code: 2, message: 'it broke' });
    assert.deepEqual(s['hand.a'].scope, { name: 'hand_scope', version: '9.8.7' });
    /* the driver's attributes, then where it began: CPU 0 (not 1, where it ended) */
    const where = (cpu, ctx) => ({ 'cpu.logical_number': { intValue: String(cpu) },
      'linux.context': { stringValue: ctx } });
    const task = (pid, tgid, name) => ({ 'thread.id': { intValue: String(pid) },
      'process.pid': { intValue: String(tgid) },
      ...(name ? { 'thread.name': { stringValue: name } } : {}) });
    assert.deepEqual(attrsOf(s['hand.a'].attributes), {
      n: { intValue: '-5' }, s: { stringValue: 'seven bytes' }, b: { boolValue: true },
      q: { doubleValue: 0.375 }, d: { doubleValue: 2.5 },
      ...where(0, 'task'), ...task(4242, 4240, 'hand-worker-0123') });
    assert.deepEqual(s['hand.a'].attributes.slice(0, 5).map((kv) => kv.key),
      ['n', 's', 'b', 'q', 'd'], 'the driver\'s first');
    assert.deepEqual(attrsOf(s['hand.c'].attributes),
      { ...where(0, 'task'), ...task(4343, 4340, 'hand-named') });
    /* interrupt context: CPU and context only */
    assert.deepEqual(attrsOf(s['hand.b'].attributes), where(1, 'softirq'));
    /* never named: no thread.name, counted */
    assert.deepEqual(attrsOf(s['hand.d'].attributes),
      { ...where(1, 'task'), ...task(4444, 4444) });
    assert.equal(r.stats.records, 6);
    assert.equal(r.stats.records_comm, 2);
    assert.equal(r.stats.names_unresolved, 1);
    assert.equal(r.stats.records_corrupt + r.stats.records_unknown, 0);
    assert.equal(r.stats.spans_complete, 4);
    /* KSTATS: kernel_dropped = full + too_big + nested + disabled */
    assert.equal(r.stats.kernel_dropped, 10);
    assert.equal(r.stats.kernel_overwritten, 5);
  } finally { await rcv.close(); }
});

/*
 * docs/oteld.md: "a file whose `abi_version` is not the one oteld reads is
 * refused (an ABI 2 capture cannot be replayed by an ABI 3 oteld)";
 * "Exit status: ... 1 a run-time failure (device, capture file)".
 */
for (const [what, hdr, msg] of [
  [`ABI ${ABI - 1} records`, { abi: ABI - 1 },
    new RegExp(`records of ABI ${ABI - 1}, oteld reads ABI ${ABI}`)],
  [`ABI ${ABI + 1} records`, { abi: ABI + 1 },
    new RegExp(`records of ABI ${ABI + 1}, oteld reads ABI ${ABI}`)],
  ['another magic', { magic: 'OTELCAQ\0' }, /not an oteld capture file/],
  ['layout version 2', { version: 2 }, /not an oteld capture file/],
]) {
  test(`a capture with ${what} is refused, exit 1`, async () => {
    const cap = tmpFile('bad.cap');
    fs.writeFileSync(cap, Buffer.concat([capHeader({ mono: M0, real: R0, ...hdr }),
      capFrame(RECORDS, handCapture().records[1]), passFrame()]));
    const r = await run(OTELD, ['--input', cap, '--no-export']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, msg);
  });
}

/*
 * docs/oteld.md, "Capture files": the layout above, "in the writer's byte
 * order (little endian on every supported machine)"; "type 1 RECORDS whole
 * records as read from one ring (PAD left out)"; "type 4 PASS empty: a pass
 * over every ring ended".  Here oteld writes one (--capture) while it
 * replays the hand-made file ("the copy gets the input's RECORDS, ANCHOR
 * and KSTATS frames, so it replays to the same spans", and its passes); it
 * is read back with the layout of the docs only.
 */
test('a capture oteld writes follows the documented layout field by field', async () => {
  const input = tmpFile('in.cap');
  const hand = handCapture();
  fs.writeFileSync(input, hand.bytes);
  const out = tmpFile('out.cap');
  const r = await run(OTELD, ['--input', input, '--capture', out, '--no-export']);
  assert.equal(r.code, 0, r.stderr);
  const c = fs.readFileSync(out);
  assert.ok(c.length >= 48);
  assert.equal(c.subarray(0, 8).toString('latin1'), 'OTELCAP\0', 'magic');
  assert.equal(c.readUInt32LE(8), 1, 'version');
  assert.equal(c.readUInt32LE(12), HEADER_ABI, 'abi_version: OTEL_ABI_VERSION');
  assert.equal(c.readBigUInt64LE(16), M0, 'mono_ns: the anchor at the start');
  assert.equal(c.readBigUInt64LE(24), R0, 'real_ns');
  /* flags are the input's (a hand-made capture: 0), then reserved[2] */
  assert.equal(c.readUInt32LE(36), 0, 'flags: the input\'s');
  assert.deepEqual([c.readUInt32LE(40), c.readUInt32LE(44)], [0, 0], 'reserved');
  const frames = [];
  let off = 48;
  while (off < c.length) {
    assert.ok(off + 8 <= c.length, 'a whole frame header');
    const type = c.readUInt32LE(off);
    const len = c.readUInt32LE(off + 4);
    const padded = len + ((8 - (len % 8)) % 8);
    assert.ok(off + 8 + padded <= c.length, 'a whole frame');
    assert.ok(c.subarray(off + 8 + len, off + 8 + padded).every((x) => x === 0),
      'zero padding');
    frames.push({ type, payload: c.subarray(off + 8, off + 8 + len) });
    off += 8 + padded;
  }
  assert.equal(off, c.length);
  const recs = frames.filter((f) => f.type === RECORDS);
  assert.ok(frames.every((f) => [RECORDS, ANCHOR, KSTATS, PASS].includes(f.type)),
    `frame types ${frames.map((f) => f.type)}`);
  assert.deepEqual(recs.map((f) => f.payload.toString('hex')),
    hand.records.map((x) => x.toString('hex')), 'the very records, in order');
  assert.ok(frames.filter((f) => f.type === PASS).every((f) => f.payload.length === 0),
    'PASS frames are empty');
  /* the passes and the clock anchor between them: the copy replays to the same times */
  assert.deepEqual(frames.filter((f) => f.type !== KSTATS).map((f) => f.type), HAND_FRAMES);
  const an = frames.find((f) => f.type === ANCHOR).payload;
  assert.deepEqual([an.readBigUInt64LE(0), an.readBigUInt64LE(8)], [M1, R1]);
});

/*
 * docs/oteld.md, "Span.flags": "the W3C trace flags, plus 0x100 ("is_remote
 * known") and 0x200 when the parent came from a remote W3C context
 * (`OTEL_BEGINF_REMOTE_PARENT`)"; and "including `Span.flags` = 16".
 */
for (const proto of ['http/protobuf', 'http/json']) {
  test(`Span.flags: 0x100 always, 0x200 for a remote parent (${proto})`, async () => {
    const MONO = 1000000000n;
    const rec = (n, parent, traceFlags, spanFlags) => spanRecord({ trace: traceHex(7),
      span: spanHex(n), parent, name: `f${n}`, start: MONO, end: MONO + 10n,
      traceFlags, spanFlags });
    const cap = tmpFile('flags.cap');
    fs.writeFileSync(cap, Buffer.concat([capHeader({ mono: MONO, real: 1700000000000000000n }),
      capFrame(RECORDS, Buffer.concat([
        commRecord({ time: MONO }),
        rec(1, '', 1, 0),			/* a local root */
        rec(2, spanHex(1), 1, 0),		/* a local parent */
        rec(3, spanHex(99), 1, 1),		/* remote parent, sampled */
        rec(4, spanHex(99), 0, 1),		/* remote parent, not sampled */
      ]))]));
    const srv = await serve();
    try {
      await oteld(cap, srv.port, { env: { OTEL_EXPORTER_OTLP_PROTOCOL: proto } });
      let flags;
      if (proto === 'http/json') {
        const spans = srv.requests.flatMap((q) => JSON.parse(q.body).resourceSpans)
          .flatMap((rs) => rs.scopeSpans).flatMap((ss) => ss.spans);
        flags = Object.fromEntries(spans.map((s) => [s.name, s.flags]));
      } else {
        const spans = srv.requests.flatMap((q) => pbSpans(q.body));
        /* fixed32 (wire type 5), as opentelemetry-proto declares it */
        assert.ok(spans.every((s) => s.flagsWireType === 5));
        flags = Object.fromEntries(spans.map((s) => [s.name, s.flags]));
      }
      assert.deepEqual(flags, { f1: 0x101, f2: 0x101, f3: 0x301, f4: 0x300 });
    } finally { await srv.close(); }
  });
}

/*
 * docs/oteld.md, "Retries": "a longer `Retry-After` (seconds or HTTP date)
 * wins ... when the next try would pass [the export timeout], the batch is
 * dropped (`dropped_export_failed`), logged with the reason."  A date an
 * hour ahead must make the wait an hour, so the batch is dropped at once;
 * a date in the past leaves the backoff (10 ms here) alone.
 */
for (const [form, value, waitMin, waitMax] of [
  ['an HTTP date an hour ahead', () => new Date(Date.now() + 3600000).toUTCString(),
    3590000, 3600000],
  ['delay-seconds 3600', () => '3600', 3600000, 3600000],
]) {
  test(`Retry-After as ${form}: the wait is the server's, past the export timeout: dropped`, async () => {
    const srv = await serve((req, n) => (n === 0 ?
      { status: 503, headers: { 'Retry-After': value() } } : {}));
    try {
      const r = await oteld(simpleCap(5), srv.port, { args: ['--retry-initial', '10'] });
      const d = retryDelays(r.stderr);
      assert.equal(d.length, 1, r.stderr);
      assert.equal(d[0].why, 'HTTP 503');
      assert.ok(d[0].ms >= waitMin && d[0].ms <= waitMax, `waits ${d[0].ms} ms`);
      assert.match(r.stderr, /dropped 5 spans: retries would outlast the export timeout/);
      assert.equal(srv.requests.length, 1);
      assert.equal(r.stats.dropped_export_failed, 5);
      assert.equal(r.stats.export_retries, 0);
    } finally { await srv.close(); }
  });
}

test('Retry-After as an HTTP date in the past: the backoff is used, then delivered', async () => {
  const srv = await serve((req, n) => (n === 0 ? { status: 503,
    headers: { 'Retry-After': new Date(Date.now() - 3600000).toUTCString() } } : {}));
  try {
    const r = await oteld(simpleCap(5), srv.port, { args: ['--retry-initial', '10'] });
    const d = retryDelays(r.stderr);
    assert.equal(d.length, 1);
    /* 10 ms +-50% */
    assert.ok(d[0].ms >= 5 && d[0].ms <= 15, `waits ${d[0].ms} ms`);
    assert.equal(srv.requests.length, 2);
    assert.equal(r.stats.export_retries, 1);
    assert.equal(r.stats.spans_exported, 5);
  } finally { await srv.close(); }
});

/*
 * docs/oteld.md, "Retries": "on 429, 502, 503, 504 and connection errors,
 * exponential backoff"; "Not retryable (other 4xx/5xx ...): the batch is
 * dropped at once, counted and logged".
 */
test('429, 502 and 504 are retried until delivered; 500 is not', async () => {
  const codes = [429, 502, 504];
  let srv = await serve((req, n) => (n < codes.length ? { status: codes[n] } : {}));
  try {
    const r = await oteld(simpleCap(5), srv.port, { args: ['--retry-initial', '10'] });
    assert.deepEqual(retryDelays(r.stderr).map((d) => d.why),
      ['HTTP 429', 'HTTP 502', 'HTTP 504']);
    assert.equal(srv.requests.length, 4);
    assert.equal(r.stats.export_retries, 3);
    assert.equal(r.stats.spans_exported, 5);
    assert.equal(r.stats.dropped_export_failed, 0);
  } finally { await srv.close(); }
  srv = await serve((req, n) => (n === 0 ? { status: 500 } : {}));
  try {
    const r = await oteld(simpleCap(5), srv.port, { args: ['--retry-initial', '10'] });
    assert.equal(srv.requests.length, 1);
    assert.equal(r.stats.export_retries, 0);
    assert.equal(r.stats.dropped_export_failed, 5);
    assert.match(r.stderr, /dropped 5 spans: HTTP 500/);
  } finally { await srv.close(); }
});

/*
 * docs/oteld.md, "Retries": "exponential backoff from `--retry-initial`
 * (1 s), x1.5 per try up to `--retry-max` (30 s), each wait drawn uniformly
 * within +-50% of it".  Checked on the delays oteld logs, not on time:
 * each within +-50% of its step (40, 60, 90, then the cap 100), and not
 * all at the step itself (the jitter).  Without the cap the 6th step would
 * be 303 ms, every draw of which is above 150.
 */
test('backoff: x1.5 per try, capped by --retry-max, each wait jittered +-50%', async () => {
  const srv = await serve((req, n) => (n < 6 ? { status: 503 } : {}));
  try {
    const r = await oteld(simpleCap(3), srv.port,
      { args: ['--retry-initial', '40', '--retry-max', '100'] });
    const waits = retryDelays(r.stderr).map((d) => d.ms);
    const steps = [40, 60, 90, 100, 100, 100];
    assert.equal(waits.length, 6, r.stderr);
    waits.forEach((w, i) => {
      const b = steps[i];
      assert.ok(w >= Math.floor(b / 2) && w <= Math.floor(b / 2) + b,
        `wait ${i} is ${w} ms, step ${b}: ${waits}`);
    });
    assert.ok(waits.some((w, i) => w !== steps[i]), `no jitter: ${waits}`);
    assert.ok(new Set(waits.map((w, i) => w / steps[i])).size > 1, `constant: ${waits}`);
    assert.equal(r.stats.export_retries, 6);
    assert.equal(r.stats.spans_exported, 3);
  } finally { await srv.close(); }
});

/*
 * docs/oteld.md, "Exporting": "**Partial success** in a 200 answer is
 * logged and counted (`partial_rejected`), never retried."
 * ExportTraceServiceResponse { 1 partial_success { 1 int64 rejected_spans,
 * 2 string error_message } }, written here by hand; in JSON the int64 is a
 * string (OTLP/JSON).
 */
for (const proto of ['http/protobuf', 'http/json']) {
  test(`partial success is counted and logged, not retried (${proto})`, async () => {
    const msg = Buffer.from('3 spans had no name');
    const inner = Buffer.concat([Buffer.from([0x08, 3, 0x12, msg.length]), msg]);
    const body = proto === 'http/json' ?
      JSON.stringify({ partialSuccess: { rejectedSpans: '3', errorMessage: msg.toString() } }) :
      Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
    const srv = await serve((req, n) => (n === 0 ? { body } : {}));
    try {
      const r = await oteld(simpleCap(10), srv.port,
        { env: { OTEL_EXPORTER_OTLP_PROTOCOL: proto } });
      assert.equal(srv.requests.length, 1, 'never retried');
      assert.equal(r.stats.partial_rejected, 3);
      assert.equal(r.stats.export_retries, 0);
      assert.match(r.stderr, /partial success: the receiver rejected 3 spans/);
      if (proto === 'http/protobuf') assert.match(r.stderr, /rejected 3 spans: 3 spans had no name/);
    } finally { await srv.close(); }
  });
}

/*
 * docs/oteld.md, "Size": "a body larger than `--max-request-bytes` ... is
 * split in halves until it fits; a single span that does not fit is
 * dropped (`dropped_too_big`). HTTP 413 splits the same way."
 */
const BIG = () => spanRecord({ trace: traceHex(50), span: spanHex(50), name: 'big',
  start: 1000000000n, end: 1000000100n,
  attrs: [attrEntry(ATTR.STRING, 'blob', { str: 'x'.repeat(800) })] });

/*
 * struct otel_rec_attr (32 bytes): the header (type 3), u16 target (0: the
 * span), u16 nr_attrs, u32 dropped_attributes (0 for the span), then the
 * entries.
 */
function attrRecord({ span, time, entries }) {
  const fixed = Buffer.alloc(32);
  const body = Buffer.concat(entries);
  fixed.writeUInt16LE(3, 0);
  fixed.writeUInt16LE(32 + body.length, 2);
  fixed.writeBigUInt64LE(BigInt(time), 8);
  Buffer.from(span, 'hex').copy(fixed, 16);
  fixed.writeUInt16LE(entries.length, 26);
  return Buffer.concat([fixed, body]);
}

/* A span of 6 x 900 bytes of attributes, in ATTR records: over 4096 bytes. */
function hugeSpan() {
  const span = spanHex(60);
  const parts = [];
  for (let i = 0; i < 6; i++)
    parts.push(attrRecord({ span, time: 1000000050n + BigInt(i), entries: [
      attrEntry(ATTR.STRING, `blob${i}`, { str: String(i).repeat(900) })] }));
  const end = spanRecord({ trace: traceHex(60), span, name: 'huge',
    start: 1000000000n, end: 1000000100n });
  end.writeUInt32LE(parts.length, 76);	/* nr_records */
  return Buffer.concat([...parts, end]);
}

test('a single span larger than --max-request-bytes is dropped, the others sent', async () => {
  const srv = await serve();
  try {
    const r = await oteld(simpleCap(6, { extra: [hugeSpan()] }), srv.port,
      { args: ['--max-request-bytes', '4096'] });
    assert.equal(r.stats.spans_complete, 7);
    assert.equal(r.stats.dropped_too_big, 1);
    assert.equal(r.stats.spans_exported, 6);
    assert.match(r.stderr, /dropped 1 spans: span larger than --max-request-bytes/);
    assert.ok(srv.requests.length >= 1);
    assert.ok(srv.requests.every((q) => q.body.length <= 4096));
    const names = srv.requests.flatMap((q) => pbSpans(q.body)).map((s) => s.name).sort();
    assert.deepEqual(names, ['s0', 's1', 's2', 's3', 's4', 's5']);
  } finally { await srv.close(); }
});

test('a single span the server answers 413 for is dropped, the others sent', async () => {
  let limit = 0;
  const srv = await serve((req, n) => (limit && srv.requests[n].body.length > limit ?
    { status: 413 } : {}));
  try {
    const r0 = await oteld(simpleCap(1, { extra: [BIG()] }), srv.port,
      { args: ['--max-export-batch-size', '1', '--exporters', '1'] });
    assert.equal(r0.stats.spans_exported, 2);
    const [small, big] = srv.requests.map((q) => q.body.length);
    srv.requests.length = 0;
    limit = Math.floor((small * 4 + big) / 5) + 20;
    const r = await oteld(simpleCap(6, { extra: [BIG()] }), srv.port);
    assert.equal(r.stats.dropped_too_big, 1);
    assert.equal(r.stats.spans_exported, 6);
    assert.match(r.stderr, /dropped 1 spans: HTTP 413 for one span/);
    const names = srv.requests.filter((q) => q.body.length <= limit)
      .flatMap((q) => pbSpans(q.body)).map((s) => s.name).sort();
    assert.deepEqual(names, ['s0', 's1', 's2', 's3', 's4', 's5']);
  } finally { await srv.close(); }
});

/*
 * docs/oteld.md, "Exporting": "each request's timeout is
 * `OTEL_EXPORTER_OTLP_TIMEOUT` (10 s) or what is left of the export
 * timeout, whichever is shorter"; connection errors are retried.  A server
 * that never answers the first request: the request is cut after the
 * 300 ms timeout and retried (without the timeout it would hang for the
 * whole 30 s export timeout and the batch would be dropped).
 */
test('a server that hangs: the request times out and is retried', async () => {
  const srv = await serve((req, n) => (n === 0 ? 'hang' : {}));
  try {
    const r = await oteld(simpleCap(5), srv.port, {
      args: ['--retry-initial', '10', '--export-timeout', '30000'],
      env: { OTEL_EXPORTER_OTLP_TIMEOUT: '300' } });
    const d = retryDelays(r.stderr);
    assert.ok(d.length >= 1);
    assert.match(d[0].why, /timeout|timed out/i);
    assert.equal(r.stats.spans_exported, 5);
    assert.equal(r.stats.dropped_export_failed, 0);
    assert.ok(srv.requests.length >= 2);
  } finally { await srv.close(); }
});

/* The other side of the same line: the export timeout shorter than the request's. */
test('a server that hangs: the export timeout cuts the request, the batch is dropped', async () => {
  const srv = await serve(() => 'hang');
  try {
    const r = await oteld(simpleCap(5), srv.port, {
      args: ['--retry-initial', '10', '--export-timeout', '1000'],
      env: { OTEL_EXPORTER_OTLP_TIMEOUT: '600000' } });
    assert.equal(r.stats.dropped_export_failed, 5);
    assert.equal(r.stats.spans_exported, 0);
    assert.match(r.stderr, /dropped 5 spans: (export timeout spent|retries would outlast the export timeout)/);
  } finally { await srv.close(); }
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
      for (const l of String(e.stack || e).split('\n').slice(0, 14)) console.log(`# ${l}`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
})();
