// SPDX-License-Identifier: GPL-2.0
/*
 * oteld --queue-dir end to end (ASan + UBSan build): what an oteld left in
 * its queue dir is sent by the next one, oldest first, over OTLP/HTTP
 * (protobuf, JSON, gzip) and OTLP/gRPC; damaged files are counted and
 * removed, never sent; one dir, one oteld; the byte bound and a full disk
 * are logged and counted; after SIGKILL what was written is sent again (at
 * least once); a request is not sent in another encoding; deep batches
 * reach the writers whole; bad settings exit 2.  TAP output.
 *
 * Environment: OTELD, GENCAP, RECEIVER, GRPC_RECEIVER.
 */
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const httpRcv = require(process.env.RECEIVER);
const grpcRcv = require(process.env.GRPC_RECEIVER);
const q = require('./queue_util.js');

const OTELD = process.env.OTELD;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oteld-queue-'));
let n = 0;
const fresh = (name) => path.join(tmp, `${name}${n++}`);

function gencap(...args) {
  const file = fresh('cap');
  const r = spawnSync(process.env.GENCAP, [...args, file]);
  assert.equal(r.status, 0, String(r.stderr));
  return file;
}

/*
 * A port nothing listens on, where a receiver starts later: below the
 * ephemeral range, so that no connection takes it meanwhile.
 */
const downPort = () => httpRcv.quietPort();

const endpointEnv = (port, proto) => (proto === 'grpc' ?
  { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } :
  { OTEL_EXPORTER_OTLP_PROTOCOL: proto, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });

/*
 * oteld on @input to the end, with the queue dir @dir; its counters.  No
 * fsync (quicker on a busy disk) unless @sync.
 */
async function oteld(input, dir, { args = [], env = {}, sync = false } = {}) {
  const statsFile = fresh('stats');
  const c = q.child(OTELD, ['--input', input, '--queue-dir', dir, '--stats-file', statsFile,
    '--schedule-delay', '100', '--retry-initial', '50', '--retry-max', '100',
    ...(sync ? [] : ['--queue-sync', 'none']), ...args], env);
  return q.within(q.finished(c, statsFile), 120000, 'oteld to exit');
}

/* Spans by gencap's "i", from a receiver's requests (HTTP or gRPC). */
function seqs(rcv) {
  return rcv.requests.map((r) => iOf(r.obj));
}

/* gencap's "i" of the spans in an OTLP request, decoded as a receiver would. */
function iOf(obj) {
  return (obj.resourceSpans || []).flatMap((rs) => rs.scopeSpans || [])
    .flatMap((ss) => ss.spans || [])
    .map((s) => Number(s.attributes.find((kv) => kv.key === 'i').value.intValue));
}

/* The spans of each q- file of @dir, oldest first (the body: byte 48 on). */
function filesSpans(dir) {
  return q.queued(dir).map((f) => {
    const b = fs.readFileSync(path.join(dir, f));
    const body = b.subarray(48);
    return iOf(b.readUInt32LE(32) === 2 ? JSON.parse(body.toString('utf8')) :
      httpRcv.normalize(httpRcv.Request.decode(body)));
  });
}

/* nr_spans of every q- file (struct spool_header: at byte 36, LE). */
function spansOnDisk(dir) {
  return q.queued(dir).reduce((sum, f) => {
    try {
      const b = fs.readFileSync(path.join(dir, f));
      return sum + (b.length >= 48 ? b.readUInt32LE(36) : 0);
    } catch (e) {
      return sum;	/* sent and removed meanwhile */
    }
  }, 0);
}

/* gencap's captures are of 2023: the strict check's clock (otlp_test.js) */
const REAL0 = 1700000000000000000n;
const startHttp = (opts = {}) => httpRcv.start({ strict: { refNs: () => REAL0 }, ...opts });

const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
class Skip { constructor(reason) { this.reason = reason; } }

/*
 * The collector down: oteld writes the requests to DIR and exits 0 with
 * them there; the next oteld sends them first, in order.
 */
async function leftThenSent(proto, { gzip = false, sync = false } = {}) {
  const kind = proto === 'grpc' ? 'grpc' : 'http';
  const port = await downPort();
  const dir = fresh('q');
  const r1 = await oteld(gencap('many', '300'), dir, { env: endpointEnv(port, proto), sync,
    args: ['--max-export-batch-size', '50', '--exporters', '1'] });
  assert.equal(r1.stats.spans_spooled, 300);
  assert.equal(r1.stats.spool_left, 300);
  assert.equal(r1.stats.spans_exported + r1.stats.dropped_export_failed, 0);
  assert.deepEqual(q.queued(dir), range(1, 7).map((i) => `q-${i.toString(16).padStart(16, '0')}`));
  assert.match(r1.stderr, /spans stay in the queue dir/);
  /* each file one batch of 50 (the two writers may number them out of turn) */
  const files = filesSpans(dir);
  assert.deepEqual([...files].sort((a, b) => a[0] - b[0]),
    range(0, 6).map((k) => range(50 * k, 50 * k + 50)));

  const rcv = await (kind === 'grpc' ? grpcRcv.start({ port }) : startHttp({ port }));
  try {
    const env = { ...endpointEnv(port, proto),
      ...(gzip ? { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' } : {}) };
    const r2 = await oteld(gencap('many', '0'), dir, { env, args: ['--exporters', '1'] });
    assert.equal(r2.stats.spool_loaded, 300);
    assert.equal(r2.stats.spans_exported, 300);
    assert.equal(r2.stats.spool_left, 0);
    assert.deepEqual(q.queued(dir), []);
    assert.match(r2.stderr, /6 requests \(300 spans, \d+ bytes\) from an earlier run, sent first/);
    /* one request per file, oldest file first */
    assert.deepEqual(seqs(rcv), files);
    if (kind === 'http') {
      assert.deepEqual(rcv.errors, []);
      assert.equal(rcv.requests[0].type, proto === 'http/json' ? 'application/json' :
        'application/x-protobuf');
      assert.equal(rcv.requests[0].headers['content-encoding'], gzip ? 'gzip' : undefined);
    } else {
      assert.equal(rcv.streams[0].flag, gzip ? 1 : 0);
    }
  } finally { await rcv.close(); }
}

test('left by an oteld that stopped with the collector down, sent by the next, oldest first (http/protobuf, fsync)',
  () => leftThenSent('http/protobuf', { sync: true }));
test('the same over http/json', () => leftThenSent('http/json'));
test('the same over http/protobuf with gzip (files hold the request uncompressed)',
  () => leftThenSent('http/protobuf', { gzip: true }));
test('the same over OTLP/gRPC, gzip', () => leftThenSent('grpc', { gzip: true }));

test('cut, corrupt and half-written files are counted and removed, never sent', async () => {
  const port = await downPort();
  const dir = fresh('q');
  const env = endpointEnv(port, 'http/protobuf');
  await oteld(gencap('many', '300'), dir, { env,
    args: ['--max-export-batch-size', '50', '--exporters', '1'] });
  const files = q.queued(dir);
  const before = filesSpans(dir);
  assert.equal(files.length, 6);
  /* file 2 cut (as when the machine stopped mid-write); file 3 altered */
  const f2 = path.join(dir, files[1]), f3 = path.join(dir, files[2]);
  fs.truncateSync(f2, fs.statSync(f2).size - 100);
  const b = fs.readFileSync(f3);
  b[b.length - 10] ^= 1;
  fs.writeFileSync(f3, b);
  fs.writeFileSync(path.join(dir, 'tmp-0000000000000007'), 'OTELSPQ\0');
  const rcv = await startHttp({ port });
  try {
    const r = await oteld(gencap('many', '0'), dir, { env, args: ['--exporters', '1'] });
    assert.equal(r.stats.spool_corrupt, 3);
    assert.equal(r.stats.spool_loaded, 200);
    assert.equal(r.stats.spans_exported, 200);
    assert.match(r.stderr, new RegExp(`${files[1]}: cut short .*removed, not sent`));
    assert.match(r.stderr, new RegExp(`${files[2]}: body CRC mismatch; removed, not sent`));
    assert.match(r.stderr, /tmp-0000000000000007: a write that never finished; removed/);
    assert.deepEqual(seqs(rcv), [before[0], ...before.slice(3)]);
    assert.deepEqual(fs.readdirSync(dir), ['lock']);
  } finally { await rcv.close(); }
});

test('one queue dir, one oteld: a second is refused (exit 1, the holder named)', async () => {
  const dir = fresh('q');
  const fifo = q.mkfifo(tmp, `fifo${n++}`);
  const port = await downPort();
  const statsFile = fresh('stats');
  const a = q.child(OTELD, ['--input', fifo, '--queue-dir', dir, '--stats-file', statsFile],
    endpointEnv(port, 'http/protobuf'));
  /* a writer lets oteld's open of the FIFO return; the header starts it */
  const w = await fs.promises.open(fifo, 'w');
  await w.write(fs.readFileSync(gencap('many', '0')));
  try {
    await q.until(() => fs.existsSync(path.join(dir, 'lock')) &&
      fs.readFileSync(path.join(dir, 'lock'), 'utf8') === `${a.proc.pid}\n`, 'the lock');
    const b = spawnSync(OTELD, ['--input', gencap('many', '1'), '--queue-dir', dir],
      { env: { ...process.env, ...endpointEnv(port, 'http/protobuf') } });
    assert.equal(b.status, 1, String(b.stderr));
    assert.match(String(b.stderr), new RegExp(`--queue-dir ${dir}: in use by another oteld \\(pid ${a.proc.pid}\\)`));
  } finally {
    await w.close();	/* end of input: the first one stops */
  }
  await q.within(q.finished(a, statsFile), 60000, 'the first oteld to exit');
});

test('--queue-max-bytes: requests past it are dropped, counted and logged once', async () => {
  const port = await downPort();
  const dir = fresh('q');
  const r = await oteld(gencap('many', '1000'), dir, { env: endpointEnv(port, 'http/protobuf'),
    args: ['--max-export-batch-size', '100', '--queue-max-bytes', '40000'] });
  const st = r.stats;
  assert.ok(st.spans_spooled > 0 && st.dropped_spool_full > 0, JSON.stringify(st));
  assert.equal(st.spans_spooled + st.dropped_spool_full, 1000);
  assert.equal(st.spool_left, st.spans_spooled);
  assert.equal(spansOnDisk(dir), st.spans_spooled);
  assert.ok(st.spool_bytes_max <= 40000);
  assert.equal(st.spool_write_errors, 0);
  assert.equal((r.stderr.match(/--queue-max-bytes \(40000\) reached: dropping new requests \(counted dropped_spool_full\)/g) || []).length, 1);
});

test('a full disk (a 64 KiB tmpfs, ENOSPC) is logged and counted', async () => {
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']);
  if (process.getuid() !== 0 || probe.status !== 0)
    return new Skip('mounting a tmpfs needs root and unshare -m');
  const port = await downPort();
  const dir = fresh('q');
  fs.mkdirSync(dir);
  const statsFile = fresh('stats');
  const c = q.child('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
    'mount -t tmpfs -o size=64k oteld-test "$0" && exec "$@"', dir,
    OTELD, '--input', gencap('many', '2000'), '--queue-dir', dir, '--stats-file', statsFile,
    '--max-export-batch-size', '100', '--queue-sync', 'file', '--retry-initial', '50',
    '--schedule-delay', '100'], endpointEnv(port, 'http/protobuf'));
  const r = await q.within(q.finished(c, statsFile), 120000, 'oteld to exit');
  const st = r.stats;
  assert.ok(st.spool_write_errors >= 1, JSON.stringify(st));
  assert.ok(st.spans_spooled > 0 && st.dropped_spool_full > 0, JSON.stringify(st));
  assert.equal(st.spans_spooled + st.dropped_spool_full, 2000);
  assert.match(r.stderr, /writing a request: No space left on device: dropping new requests/);
  /* the tmpfs went with its namespace: nothing is left in the real dir */
  assert.deepEqual(fs.readdirSync(dir), []);
  return undefined;
});

test('SIGKILL with requests in flight: the next oteld sends them again (at least once)', async () => {
  const dir = fresh('q');
  const rcv = await startHttp();
  const counter = q.seqCounter(1000, 'i');
  try {
    rcv.delayMs = 1500;
    const statsFile = fresh('stats');
    const c = q.child(OTELD, ['--input', gencap('many', '1000'), '--queue-dir', dir,
      '--stats-file', statsFile, '--max-export-batch-size', '100', '--exporters', '2',
      '--schedule-delay', '100'], endpointEnv(rcv.port, 'http/protobuf'));
    /* every span on disk, and requests in flight: then the kill */
    await q.until(() => rcv.inFlight >= 1 && spansOnDisk(dir) === 1000, 'requests in flight');
    c.proc.kill('SIGKILL');
    const k = await c.done;
    assert.equal(k.signal, 'SIGKILL');
    await q.until(() => rcv.inFlight === 0, 'the receiver to answer the dead oteld');
    const before = rcv.requests.length;
    assert.ok(before >= 1);
    rcv.delayMs = 0;
    const r = await oteld(gencap('many', '0'), dir, { env: endpointEnv(rcv.port, 'http/protobuf') });
    assert.equal(r.stats.spool_loaded, 1000);
    for (const req of rcv.requests) counter.keep(req);
    const t = counter.tally();
    console.log(`# SIGKILL: ${before} requests answered to the dead oteld, ` +
      `${t.dups} spans received twice`);
    assert.equal(t.distinct, 1000);
    assert.ok(t.dups >= 100, 'the requests in flight at the kill are sent again');
    assert.deepEqual(q.queued(dir), []);
  } finally { await rcv.close(); }
});

test('a request queued as JSON is not sent as protobuf: dropped, counted, logged', async () => {
  const port = await downPort();
  const dir = fresh('q');
  await oteld(gencap('many', '30'), dir, { env: endpointEnv(port, 'http/json') });
  const rcv = await startHttp({ port });
  try {
    const r = await oteld(gencap('many', '0'), dir, { env: endpointEnv(port, 'http/protobuf') });
    assert.equal(r.stats.dropped_export_failed, 30);
    assert.match(r.stderr, /dropped 30 spans: queued as OTLP\/JSON, which this --protocol cannot send/);
    assert.equal(rcv.requests.length, 0);
    assert.deepEqual(q.queued(dir), []);
  } finally { await rcv.close(); }
});

/*
 * With the default batch size a writer takes everything waiting, up to the
 * queue's size (a deep batch), as the exporters do: each span is written
 * once, in files of up to 2048 spans (ASan fails a writer whose batch
 * array holds only a batch).
 */
test('deep batches reach the writers: every span written once', async () => {
  const port = await downPort();
  const dir = fresh('q');
  const r = await oteld(gencap('many', '20000'), dir,
    { env: endpointEnv(port, 'http/protobuf'), args: ['--exporters', '1'] });
  assert.equal(r.stats.spans_spooled, 20000);
  assert.equal(r.stats.spool_left, 20000);
  const files = filesSpans(dir);
  assert.ok(files.every((f) => f.length <= 2048), 'no file past the queue size');
  assert.deepEqual(files.flat().sort((a, b) => a - b), range(0, 20000));
});

const BAD = [
  [{}, ['--queue-dir', '/tmp/x', '--stdout'], /--queue-dir: invalid value '\/tmp\/x': --stdout has no export queue/],
  [{}, ['--queue-dir', '/tmp/x', '--no-export'], /--no-export has no export queue/],
  [{}, ['--queue-sync', 'always'], /--queue-sync: invalid value 'always': expected file or none/],
  [{}, ['--queue-max-bytes', '100'], /--queue-max-bytes: invalid value '100'/],
  [{ OTELD_QUEUE_MAX_BYTES: 'lots' }, [], /OTELD_QUEUE_MAX_BYTES: invalid value 'lots'/],
];
for (const [env, args, msg] of BAD) {
  test(`bad setting refused (exit 2): ${JSON.stringify(env)} ${args.join(' ')}`, async () => {
    const r = spawnSync(OTELD, ['--input', '/nonexistent', ...args],
      { env: { ...process.env, ...env } });
    assert.equal(r.status, 2, String(r.stderr));
    assert.match(String(r.stderr), msg);
  });
}

test('a queue dir oteld cannot write is refused at start (exit 1)', async () => {
  const file = fresh('file');
  fs.writeFileSync(file, '');
  const r = spawnSync(OTELD, ['--input', gencap('many', '1'), '--queue-dir', file]);
  assert.equal(r.status, 1, String(r.stderr));
  assert.match(String(r.stderr), new RegExp(`--queue-dir ${file}: Not a directory`));
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
