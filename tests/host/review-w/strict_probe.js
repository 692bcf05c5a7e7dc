const TOP = require('path').resolve(__dirname, '../../..');
// Feed crafted requests to the reference receiver; does strict.js flag them?
const http = require('http');
const rcvmod = require(TOP + '/tests/otlp-receiver/receiver.js');
const root = require(TOP + '/tests/otlp-receiver/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root');
const Req = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const now = BigInt(Date.now()) * 1000000n;
const id = (n, b) => Buffer.alloc(n, b);
function req(span) {
  return { resourceSpans: [{ resource: { attributes: [
    { key: 'service.name', value: { stringValue: 's' } }, { key: 'telemetry.sdk.name', value: { stringValue: 'x' } },
    { key: 'telemetry.sdk.language', value: { stringValue: 'c' } }, { key: 'telemetry.sdk.version', value: { stringValue: '1' } }] },
    scopeSpans: [{ scope: { name: 'sc' }, spans: [Object.assign({ traceId: id(16, 1), spanId: id(8, 2), name: 'n', kind: 1,
      startTimeUnixNano: now.toString(), endTimeUnixNano: (now + 10n).toString(), flags: 0x100 }, span)] }] }] };
}
function post(port, body, type) {
  return new Promise((res) => { const r = http.request({ port, method: 'POST', path: '/v1/traces', headers: { 'content-type': type } },
    (rs) => { let d = ''; rs.on('data', (c) => d += c); rs.on('end', () => res(rs.statusCode)); }); r.end(body); });
}
const cases = {
  'ok (control)': {},
  'zero trace id': { traceId: id(16, 0) },
  '7-byte span id': { spanId: id(7, 2) },
  '7-byte parent': { parentSpanId: id(7, 3) },
  'zero parent (8 bytes)': { parentSpanId: id(8, 0) },
  'end < start': { endTimeUnixNano: (now - 10n).toString() },
  'start 0': { startTimeUnixNano: '0', endTimeUnixNano: '0' },
  'kind 9': { kind: 9 },
  'status msg w/o error': { status: { code: 1, message: 'm' } },
  'flags 0x200 w/o 0x100': { flags: 0x200 },
  'no flags': { flags: undefined },
  'event outside': { events: [{ timeUnixNano: (now + 100n).toString(), name: 'e' }] },
  'link flags 0x100': { links: [{ traceId: id(16, 4), spanId: id(8, 5), flags: 0x100 }] },
  'link zero ids': { links: [{ traceId: id(16, 0), spanId: id(8, 0) }] },
  'dup attr key': { attributes: [{ key: 'a', value: { intValue: 1 } }, { key: 'a', value: { intValue: 2 } }] },
  'empty attr value': { attributes: [{ key: 'a', value: {} }] },
  'array attr value': { attributes: [{ key: 'a', value: { arrayValue: { values: [] } } }] },
  'empty name': { name: '' },
  'trace state': { traceState: 'a=b' },
  'empty attr key': { attributes: [{ key: '', value: { intValue: 1 } }] },
};

const protobuf = require(TOP + '/tests/otlp-receiver/node_modules/protobufjs/minimal');
const T = root.opentelemetry.proto.trace.v1, R = root.opentelemetry.proto.resource.v1, C = root.opentelemetry.proto.common.v1;
function encodeWithFlags(rq, span) {
  const rs = rq.resourceSpans[0], ss = rs.scopeSpans[0], sp = ss.spans[0];
  const flags = span.hasOwnProperty('flags') ? span.flags : 0x100;
  const links = (sp.links || []); delete sp.links;
  let spanBytes = Buffer.from(T.Span.encode(T.Span.fromObject(sp)).finish());
  const w0 = protobuf.Writer.create();
  for (const l of links) {
    const lf = l.flags; delete l.flags;
    let lb = Buffer.from(T.Span.Link.encode(T.Span.Link.fromObject(l)).finish());
    if (lf !== undefined) { const fw = protobuf.Writer.create(); fw.uint32(6 << 3 | 5).fixed32(lf); lb = Buffer.concat([lb, Buffer.from(fw.finish())]); }
    w0.uint32(13 << 3 | 2).bytes(lb);
  }
  if (flags !== undefined) w0.uint32(16 << 3 | 5).fixed32(flags);
  spanBytes = Buffer.concat([spanBytes, Buffer.from(w0.finish())]);
  const w1 = protobuf.Writer.create();
  w1.uint32(1 << 3 | 2).bytes(C.InstrumentationScope.encode(C.InstrumentationScope.fromObject(ss.scope)).finish());
  w1.uint32(2 << 3 | 2).bytes(spanBytes);
  const w2 = protobuf.Writer.create();
  w2.uint32(1 << 3 | 2).bytes(R.Resource.encode(R.Resource.fromObject(rs.resource)).finish());
  w2.uint32(2 << 3 | 2).bytes(w1.finish());
  const w3 = protobuf.Writer.create();
  w3.uint32(1 << 3 | 2).bytes(w2.finish());
  return Buffer.from(w3.finish());
}
(async () => {
  for (const [name, span] of Object.entries(cases)) {
    const r = await rcvmod.start({ strict: {} });
    const body = encodeWithFlags(req(span), span);
    const code = await post(r.port, body, 'application/x-protobuf');
    let verdict = 'ACCEPTED';
    try { await r.close(); } catch (e) { verdict = 'flagged: ' + String(e.message).slice(14, 110); }
    console.log(`${name.padEnd(24)} HTTP ${code}  ${verdict}`);
  }
  // invalid UTF-8 in span name, raw protobuf
  const r = await rcvmod.start({ strict: {} });
  let body = Buffer.from(Req.encode(Req.fromObject(req({ name: 'AB' }))).finish());
  const i = body.indexOf(Buffer.from('AB')); body[i] = 0xff;
  const code = await post(r.port, body, 'application/x-protobuf');
  let verdict = 'ACCEPTED'; try { await r.close(); } catch (e) { verdict = 'flagged'; }
  console.log(`${'invalid UTF-8 name'.padEnd(24)} HTTP ${code}  ${verdict} errors=${JSON.stringify(r.errors).slice(0,80)}`);
})();
