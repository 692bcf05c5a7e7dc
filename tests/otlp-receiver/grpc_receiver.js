// SPDX-License-Identifier: GPL-2.0
/*
 * Reference OTLP/gRPC trace receiver for oteld's host tests: a
 * @grpc/grpc-js server (pinned in package.json) of
 * opentelemetry.proto.collector.trace.v1.TraceService/Export whose messages
 * are (de)serialized by the protobuf schema that
 * @opentelemetry/otlp-transformer generates from opentelemetry-proto, the
 * one receiver.js uses (strict UTF-8 included), so requests decode to the
 * same normalized objects as OTLP/HTTP ones.
 *
 * start({ port, host, tls, maxReceive }) -> Promise<receiver> with .port,
 * .requests (each: metadata, obj), .streams (each HTTP/2 stream as the
 * server saw it: headers, compressed flag byte), .spans(), .errors,
 * .failNext(n, { code, details, retryDelayMs }) (a RetryInfo detail in
 * grpc-status-details-bin when retryDelayMs is given),
 * .partialNext(rejected, message), .delayMs, .inFlight, .maxInFlight,
 * .connections, .close().
 * tls: { key, cert, ca } (PEM); with ca, a client certificate is required.
 * As a program: node grpc_receiver.js [PORT]; prints "listening PORT" and
 * one JSON line per request.
 */
'use strict';

const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');
const { Request, Response, normalize } = require('./receiver.js');

/*
 * google.rpc.Status and google.rpc.RetryInfo as googleapis defines them
 * (google/rpc/status.proto, error_details.proto), for the error details.
 */
const rpc = protobuf.Root.fromJSON({ nested: {
  google: { nested: {
    protobuf: { nested: {
      Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
      Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
    } },
    rpc: { nested: {
      Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 },
        details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } } },
      RetryInfo: { fields: { retry_delay: { type: 'google.protobuf.Duration', id: 1 } } },
    } },
  } },
} });
const Status = rpc.lookupType('google.rpc.Status');
const RetryInfo = rpc.lookupType('google.rpc.RetryInfo');

function statusDetails(code, message, retryDelayMs) {
  const info = RetryInfo.encode(RetryInfo.create({ retry_delay: {
    seconds: Math.floor(retryDelayMs / 1000), nanos: (retryDelayMs % 1000) * 1e6 } })).finish();
  return Buffer.from(Status.encode(Status.create({ code, message, details: [
    { type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: info }] })).finish());
}

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

function start({ port = 0, host = '127.0.0.1', tls = null, maxReceive, log = null } = {}) {
  const rcv = { requests: [], streams: [], failures: [], partials: [], errors: [],
    connections: 0, delayMs: 0, inFlight: 0, maxInFlight: 0 };
  rcv.failNext = (n, f) => { for (let i = 0; i < n; i++) rcv.failures.push(f); };
  rcv.partialNext = (rejected, message) => rcv.partials.push({ rejected, message });
  rcv.spans = () => rcv.requests.flatMap((r) => r.obj.resourceSpans || [])
    .flatMap((rs) => (rs.scopeSpans || []).flatMap((ss) => (ss.spans || [])
      .map((s) => ({ ...s, scope: ss.scope, resource: rs.resource }))));

  const service = {
    Export: {
      path: EXPORT_PATH, requestStream: false, responseStream: false,
      requestSerialize: (m) => Buffer.from(Request.encode(m).finish()),
      requestDeserialize: (b) => {
        try {
          return Request.decode(b);
        } catch (e) {
          rcv.errors.push(String(e));
          throw e;
        }
      },
      responseSerialize: (m) => Buffer.from(Response.encode(m).finish()),
      responseDeserialize: (b) => Response.decode(b),
    },
  };
  const impl = {
    Export: (call, callback) => {
      rcv.inFlight++;
      rcv.maxInFlight = Math.max(rcv.maxInFlight, rcv.inFlight);
      setTimeout(() => {
        rcv.inFlight--;
        const fail = rcv.failures.shift();
        if (fail) {
          const metadata = new grpc.Metadata();
          if (fail.retryDelayMs !== undefined)
            metadata.set('grpc-status-details-bin',
              statusDetails(fail.code, fail.details || '', fail.retryDelayMs));
          return callback({ code: fail.code, details: fail.details || '', metadata });
        }
        const entry = { metadata: call.metadata.getMap(), obj: normalize(call.request) };
        rcv.requests.push(entry);
        if (log) log(JSON.stringify(entry));
        const p = rcv.partials.shift();
        callback(null, Response.create(p ? { partialSuccess: {
          rejectedSpans: p.rejected, errorMessage: p.message } } : {}));
      }, rcv.delayMs);
    },
  };
  const opts = maxReceive ? { 'grpc.max_receive_message_length': maxReceive } : {};
  const server = new grpc.Server(opts);
  server.addService(service, impl);
  const creds = tls ?
    grpc.ServerCredentials.createSsl(tls.ca || null,
      [{ private_key: tls.key, cert_chain: tls.cert }], !!tls.ca) :
    grpc.ServerCredentials.createInsecure();
  rcv.close = () => new Promise((resolve) => {
    server.forceShutdown();
    resolve();
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, creds, (err, bound) => {
      if (err) return reject(err);
      rcv.port = bound;
      /*
       * What grpc-js keeps from the handler: the HTTP/2 headers as sent
       * (grpc-encoding, grpc-timeout, te, content-type) and the message's
       * compressed flag, read off the raw stream.
       */
      // eslint-disable-next-line dot-notation
      for (const h2 of server['http2Servers'].keys()) {
        h2.on(tls ? 'secureConnection' : 'connection', () => rcv.connections++);
        h2.on('stream', (stream, headers) => {
          const s = { headers: { ...headers }, flag: null, bytes: 0 };
          rcv.streams.push(s);
          stream.on('data', (d) => {
            if (s.flag === null && d.length) s.flag = d[0];
            s.bytes += d.length;
          });
        });
      }
      resolve(rcv);
    });
  });
}

module.exports = { start, EXPORT_PATH };

if (require.main === module) {
  start({ port: Number(process.argv[2] || 0), log: (l) => console.log(l) })
    .then((r) => console.log(`listening ${r.port}`));
}
