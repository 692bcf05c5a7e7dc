// SPDX-License-Identifier: GPL-2.0
/*
 * Reference OTLP/HTTP trace receiver for oteld's host tests, built on the
 * protobuf schema that @opentelemetry/otlp-transformer (pinned in
 * package.json) generates from opentelemetry-proto.
 *
 * POST (any path, kept as .url; oteld's default is /v1/traces): application/x-protobuf or application/json, optionally
 * Content-Encoding: gzip.  Both are decoded to the same normalized object
 * (protobufjs toObject: 64-bit integers as strings, ids as hex), kept in
 * memory with the request's headers.
 *
 * Strict, as the Collector (Go's protobuf runtime) is: a string field that is
 * not valid UTF-8, or a JSON body that is not, fails the request with 400.
 *
 * Every request is also checked field by field (strict.js); violations are
 * kept in .violations and close() rejects when there are any, so a test
 * fails on them.  start({ strict: { refNs, windowNs } }) sets the clock the
 * times are held to (a replay's capture clock); strict: false turns it off.
 *
 * As a module: start({ port, host }) -> Promise<receiver> with .port,
 * .requests, .spans(), .failNext(n, status, headers), .maxBody (answer
 * 413 above it), .delayMs (wait that long before answering), .inFlight and
 * .maxInFlight (requests being answered, now and at most), .connections,
 * .close(), .down() (a collector shut down: the requests being answered
 * are, then the port is closed: connection refused) and .up() (the same
 * port again: start it on a quietPort()).  start({ keep }): what .requests keeps of each request,
 * keep(entry) instead of the entry (a long run keeps less; .spans() then
 * has nothing).
 * As a program: node receiver.js [PORT]; prints "listening PORT" and, for
 * every request, one JSON line of the normalized request.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const zlib = require('zlib');
const protobuf = require('protobufjs/minimal');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const strict = require('./strict');

// Every string field the generated decoders read comes through these.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function readStrictString() {
  try {
    return strictUtf8.decode(this.bytes());
  } catch (e) {
    throw new Error('string field contains invalid UTF-8');
  }
}
protobuf.Reader.prototype.string = readStrictString;
if (protobuf.BufferReader) protobuf.BufferReader.prototype.string = readStrictString;

const v1 = root.opentelemetry.proto.collector.trace.v1;
const Request = v1.ExportTraceServiceRequest;
const Response = v1.ExportTraceServiceResponse;
const toObjectOpts = { longs: String, enums: Number, bytes: String, defaults: false, oneofs: false };
const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

// Walk an object, mapping every id field with fn.
function mapIds(o, fn) {
  if (Array.isArray(o)) return o.map((x) => mapIds(x, fn));
  if (o && typeof o === 'object') {
    const r = {};
    for (const [k, v] of Object.entries(o))
      r[k] = ID_KEYS.has(k) && typeof v === 'string' ? fn(v) : mapIds(v, fn);
    return r;
  }
  return o;
}
const b64ToHex = (s) => Buffer.from(s, 'base64').toString('hex');
const hexToB64 = (s) => {
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error(`id is not lowercase hex: ${s}`);
  return Buffer.from(s, 'hex').toString('base64');
};

function decode(body, type) {
  if (type.startsWith('application/x-protobuf')) {
    const msg = Request.decode(body);
    return { msg, obj: mapIds(Request.toObject(msg, toObjectOpts), b64ToHex), raw: body };
  }
  if (type.startsWith('application/json')) {
    let text;
    try {
      text = strictUtf8.decode(body);
    } catch (e) {
      throw new Error('JSON body is not valid UTF-8');
    }
    const json = JSON.parse(text);
    // fromObject takes the OTLP/JSON conventions (64-bit integers as
    // strings); verify() would not, so none here: the tests compare the
    // result with the protobuf path's, which catches misnamed keys.
    if (!Array.isArray(json.resourceSpans)) throw new Error('no resourceSpans');
    const msg = Request.fromObject(mapIds(json, hexToB64));
    return { msg, obj: mapIds(Request.toObject(msg, toObjectOpts), b64ToHex), json };
  }
  throw new Error(`unsupported content type ${type}`);
}

function start({ port = 0, host = '127.0.0.1', log = null, tls = null, strict: strictOpts = {},
  keep = null } = {}) {
  const rcv = { requests: [], failures: [], errors: [], connections: 0,
    delayMs: 0, inFlight: 0, maxInFlight: 0, violations: [] };
  const checkOpts = strictOpts ? { ...strictOpts, starts: new Map(), children: [] } : null;
  rcv.failNext = (n, status, headers = {}) => {
    for (let i = 0; i < n; i++) rcv.failures.push({ status, headers });
  };
  rcv.spans = () => rcv.requests.flatMap((r) => (r.obj && r.obj.resourceSpans) || [])
    .flatMap((rs) => (rs.scopeSpans || []).flatMap((ss) => (ss.spans || [])
      .map((s) => ({ ...s, scope: ss.scope, resource: rs.resource }))));

  // tls: { key, cert, ca } (PEM); with ca, a client certificate is required
  const handler = (req, res) => {
    const chunks = [];
    rcv.inFlight++;
    rcv.maxInFlight = Math.max(rcv.maxInFlight, rcv.inFlight);
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => setTimeout(() => {
      const reply = (status, body, headers = {}) => {
        rcv.inFlight--;
        /* going down: the connection ends with this answer */
        res.writeHead(status, rcv.isDown ? { ...headers, Connection: 'close' } : headers);
        res.end(body);
      };
      if (req.method !== 'POST') return reply(405, 'POST only');
      const fail = rcv.failures.shift();
      if (fail) return reply(fail.status, 'failing on purpose', fail.headers);
      let body = Buffer.concat(chunks);
      if (rcv.maxBody && body.length > rcv.maxBody) {
        rcv.tooBig = (rcv.tooBig || 0) + 1;
        return reply(413, 'too big');
      }
      const type = req.headers['content-type'] || '';
      try {
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        else if (req.headers['content-encoding']) throw new Error('bad encoding');
        const d = decode(body, type);
        const peer = req.socket.getPeerCertificate ? req.socket.getPeerCertificate() : null;
        const entry = { url: req.url, headers: req.headers, type,
          clientCert: peer && peer.subject ? peer.subject.CN : undefined, size: body.length, obj: d.obj };
        rcv.requests.push(keep ? keep(entry) : entry);
        if (checkOpts)
          rcv.violations.push(...strict.check(d.obj, d.raw || null, d.json || null, checkOpts));
        if (log) log(JSON.stringify(entry));
      } catch (e) {
        rcv.errors.push(String(e));
        return reply(400, String(e));
      }
      if (type.startsWith('application/json'))
        return reply(200, '{}', { 'Content-Type': 'application/json' });
      return reply(200, Buffer.from(Response.encode(Response.create({})).finish()),
        { 'Content-Type': 'application/x-protobuf' });
    }, rcv.delayMs));
  };
  const server = tls ?
    https.createServer({ ...tls, requestCert: !!tls.ca, rejectUnauthorized: !!tls.ca }, handler) :
    http.createServer(handler);
  server.on(tls ? 'secureConnection' : 'connection', () => rcv.connections++);
  rcv.down = () => new Promise((resolve) => {
    rcv.isDown = true;
    server.close(() => resolve());
    if (server.closeIdleConnections) server.closeIdleConnections();
  });
  rcv.up = () => new Promise((resolve, reject) => {
    rcv.isDown = false;
    server.once('error', reject);
    server.listen(rcv.port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  rcv.close = () => new Promise((resolve, reject) => {
    server.close(() => {
      if (checkOpts)
        rcv.violations.push(...strict.checkParents(checkOpts.starts, checkOpts.children));
      if (rcv.violations.length)
        reject(new Error(`strict check: ${rcv.violations.slice(0, 10).join('; ')}`));
      else
        resolve();
    });
    if (server.closeAllConnections) server.closeAllConnections();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      rcv.port = server.address().port;
      resolve(rcv);
    });
  });
}

/*
 * A free port outside the kernel's ephemeral range, for a receiver that
 * goes down and comes back on the same port (.down()/.up(), or a new
 * start({ port })).  A port listen(0) handed out is in that range, and
 * while nothing listens on it the kernel may give it to any outgoing
 * connection on the machine, so coming back on it can fail with
 * EADDRINUSE; outside the range only an explicit bind takes it.  Below the
 * range (from 10000) or above it; with no room outside it, a listen(0)
 * port, as before.
 */
async function quietPort(host = '127.0.0.1') {
  let low = 32768, high = 60999;
  try {
    [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim().split(/\s+/).map(Number);
  } catch (e) { /* not Linux: Linux's default range */ }
  const free = [];
  if (low > 10000) free.push([10000, low - 1]);
  if (high < 65535) free.push([high + 1, 65535]);
  const size = free.reduce((n, [a, b]) => n + b - a + 1, 0);
  const pick = () => {
    let k = Math.floor(Math.random() * size);
    for (const [a, b] of free) {
      if (k <= b - a) return a + k;
      k -= b - a + 1;
    }
    return 0;
  };
  /* resolves to the port it could listen on (then closed), or 0 */
  const tryListen = (port) => new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(0));
    s.listen(port, host, () => {
      const got = s.address().port;
      s.close(() => resolve(got));
    });
  });
  for (let i = 0; i < 200 && size > 0; i++) {
    const port = await tryListen(pick());
    if (port) return port;
  }
  return tryListen(0);	/* no room outside the range: as before */
}

/* The normalized object of a decoded request (for grpc_receiver.js). */
const normalize = (msg) => mapIds(Request.toObject(msg, toObjectOpts), b64ToHex);

module.exports = { start, quietPort, Request, Response, normalize };

if (require.main === module) {
  start({ port: Number(process.argv[2] || 0), log: (l) => console.log(l) })
    .then((r) => console.log(`listening ${r.port}`));
}
