// SPDX-License-Identifier: GPL-2.0
/*
 * A throwaway PKI for the TLS tests (otlp_test.js, otlp_grpc_test.js): a CA,
 * a server certificate for 127.0.0.1 and a client certificate, made with
 * openssl (installed by scripts/setup: its absence fails the test).
 * makePki(dir) returns f(name) -> the path of ca.pem, server.key, ...
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

function makePki(parent) {
  const d = fs.mkdtempSync(path.join(parent, 'pki-'));
  const f = (n) => path.join(d, n);
  const ssl = (...a) => execFileSync('openssl', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=oteld-test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  for (const [n, cn] of [['server', '127.0.0.1'], ['client', 'oteld-client']]) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`,
      '-keyout', f(`${n}.key`), '-out', f(`${n}.csr`));
    ssl('x509', '-req', '-in', f(`${n}.csr`), '-CA', f('ca.pem'), '-CAkey',
      f('ca.key'), '-CAcreateserial', '-days', '2', '-out', f(`${n}.pem`),
      ...(n === 'server' ? ['-extfile', f('san.ext')] : []));
  }
  return f;
}

module.exports = { makePki };
