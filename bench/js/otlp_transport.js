// SPDX-License-Identifier: GPL-2.0
/*
 * OTLP/HTTP vs OTLP/gRPC on loopback: build/oteld replays a capture of N
 * spans (build/tests/host-tools/gencap many N FILE) to the reference
 * receivers of tests/otlp-receiver (node, every request decoded: at these
 * rates they, not oteld, set the pace), with and without gzip; prints
 * spans/s, oteld's CPU time per span (/usr/bin/time) and peak RSS.
 * Not part of make bench.
 *
 *   node bench/js/otlp_transport.js CAPTURE N
 */
'use strict';

const path = require('path');
const { spawn } = require('child_process');

const top = path.join(__dirname, '..', '..');
const http = require(path.join(top, 'tests/otlp-receiver/receiver.js'));
const grpc = require(path.join(top, 'tests/otlp-receiver/grpc_receiver.js'));
const oteldBin = process.env.OTELD || path.join(top, 'build/oteld');
const [cap, n] = [process.argv[2], Number(process.argv[3])];
async function one(kind, extraEnv) {
  const rcv = await (kind === 'http' ? http : grpc).start();
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${rcv.port}`,
    ...(kind === 'http' ? {} : { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), ...extraEnv };
  const t0 = process.hrtime.bigint();
  const r = await new Promise((res) => {
    const p = spawn('/usr/bin/time', ['-f', '%U %S %M', oteldBin, '--input', cap, '--schedule-delay', '100'], { env });
    let err = ''; p.stderr.on('data', (d) => { err += d; });
    p.on('close', () => res(err));
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const [u, s, rss] = r.trim().split('\n').pop().split(' ').map(Number);
  const got = rcv.spans().length;
  await rcv.close();
  console.log(`${kind}${extraEnv.OTEL_EXPORTER_OTLP_COMPRESSION ? '+gzip' : ''}: ${got}/${n} spans in ${ms.toFixed(0)} ms = ${(got / ms * 1000).toFixed(0)} spans/s; oteld CPU ${((u + s) * 1e6 / n).toFixed(2)} us/span, max RSS ${(rss / 1024).toFixed(1)} MB`);
}
(async () => {
  for (const k of ['http', 'grpc']) for (const z of [{}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }]) await one(k, z);
})();
