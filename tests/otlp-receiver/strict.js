// SPDX-License-Identifier: GPL-2.0
/*
 * A strict check of every ExportTraceServiceRequest oteld sends, field by
 * field, on what the receiver decoded with the official schema (and, for
 * the fields the pinned schema predates, Span.flags = 16 and Link.flags =
 * 6, on the raw protobuf):
 *
 *  - ids: trace 16 bytes, span and parent 8, never all zero; span ids
 *    unique within a request; links the same;
 *  - times: start and end set, end >= start, start within `windowNs` of
 *    the wall clock at export (`refNs()`, Date.now() by default; a replay
 *    passes its capture's clock), events inside their span, no child
 *    starting before its parent (checked across every request received);
 *  - strings: valid UTF-8 (the decoders refuse anything else), no lone
 *    surrogate from JSON escapes, attribute keys non-empty and unique in
 *    each list, every value exactly one of the scalar kinds oteld writes
 *    (an empty AnyValue is flagged);
 *  - flags: Span.flags bits 0-9 only, 0x200 only with 0x100; Link.flags
 *    the W3C flags only (a LINK record says nothing of is_remote);
 *  - kind 1..5 (0 only if the driver gave none), status code 0..2, a
 *    message only with ERROR; dropped counts uint32;
 *  - resource: service.name and telemetry.sdk.{name,language,version}
 *    strings, no dropped attributes.
 *
 * check(obj, raw, json) returns a list of violations (strings); the
 * receiver keeps them and the tests fail on any.
 */
'use strict';

const protobuf = require('protobufjs/minimal');

const MINUTE_NS = 60n * 1000000000n;
const U32 = 2 ** 32;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;

/* Span.flags and Link.flags of every span, in order, from raw protobuf. */
function rawFlags(buf) {
  const spans = [];
  const fields = (b, fn) => {
    const r = protobuf.Reader.create(b);
    while (r.pos < r.len) {
      const t = r.uint32();
      const no = t >>> 3, wt = t & 7;
      if (wt === 2) fn(no, r.bytes(), wt);
      else if (wt === 5) fn(no, r.fixed32(), wt);
      else r.skipType(wt);
    }
  };
  fields(buf, (no, rs) => no === 1 && fields(rs, (no2, ss) => no2 === 2 &&
    fields(ss, (no3, sp) => {
      if (no3 !== 2) return;
      const s = { flags: undefined, links: [] };
      fields(sp, (f, v, wt) => {
        if (f === 16 && wt === 5) s.flags = v;
        if (f === 13 && wt === 2) {
          let lf;
          fields(v, (g, w, wt2) => { if (g === 6 && wt2 === 5) lf = w; });
          s.links.push(lf);
        }
      });
      spans.push(s);
    })));
  return spans;
}

function isZeroHex(h) { return /^0*$/.test(h); }

function checkAttrs(v, where, list) {
  const seen = new Set();
  for (const kv of list || []) {
    if (typeof kv.key !== 'string') v.push(`${where}: attribute without a key`);
    else if (kv.key === '') v.push(`${where}: attribute with an empty key`);
    if (seen.has(kv.key)) v.push(`${where}: attribute key "${kv.key}" twice`);
    seen.add(kv.key);
    if (LONE_SURROGATE.test(kv.key)) v.push(`${where}: key "${kv.key}" has a lone surrogate`);
    const val = kv.value || {};
    const kinds = ['stringValue', 'boolValue', 'intValue', 'doubleValue']
      .filter((k) => val[k] !== undefined);
    const others = Object.keys(val).filter((k) => !['stringValue', 'boolValue',
      'intValue', 'doubleValue'].includes(k));
    if (kinds.length > 1 || others.length)
      v.push(`${where}: attribute "${kv.key}" has values ${Object.keys(val)}`);
    else if (!kinds.length)
      v.push(`${where}: attribute "${kv.key}" has no value`);
    if (typeof val.stringValue === 'string' && LONE_SURROGATE.test(val.stringValue))
      v.push(`${where}: attribute "${kv.key}" has a lone surrogate`);
  }
}

function checkCount(v, where, name, n) {
  if (n === undefined) return;
  if (!Number.isInteger(n) || n < 0 || n >= U32) v.push(`${where}: ${name} ${n} is not a uint32`);
}

function checkString(v, where, s) {
  if (s !== undefined && (typeof s !== 'string' || LONE_SURROGATE.test(s)))
    v.push(`${where}: not a valid string`);
}

/*
 * @obj: the receiver's normalized request (ids as hex, 64-bit as strings);
 * @raw: the protobuf body (or null); @json: the parsed JSON body (or null);
 * @opts: { refNs() -> BigInt, windowNs: BigInt, duplicateIds (a test that
 * sends one span again and again), starts: Map, children: [] }.
 */
function check(obj, raw, json, opts = {}) {
  const v = [];
  const refNs = (opts.refNs || (() => BigInt(Date.now()) * 1000000n))();
  const windowNs = opts.windowNs || MINUTE_NS;
  const starts = opts.starts || new Map();	/* spanId -> start, all requests */
  const children = opts.children || [];		/* checked once parents are in */
  const flags = raw ? rawFlags(raw) : null;
  const ids = new Set();
  let k = 0;

  if (!Array.isArray(obj.resourceSpans) || !obj.resourceSpans.length)
    v.push('request: no resourceSpans');
  (obj.resourceSpans || []).forEach((rs, ri) => {
    const res = rs.resource || {};
    const ra = Object.fromEntries((res.attributes || []).map((kv) => [kv.key, kv.value]));
    checkAttrs(v, `resource ${ri}`, res.attributes);
    for (const key of ['service.name', 'telemetry.sdk.name', 'telemetry.sdk.language',
      'telemetry.sdk.version'])
      if (!ra[key] || typeof ra[key].stringValue !== 'string' || !ra[key].stringValue)
        v.push(`resource ${ri}: no ${key}`);
    if (res.droppedAttributesCount) v.push(`resource ${ri}: dropped attributes`);
    (rs.scopeSpans || []).forEach((ss, si) => {
      if (!ss.scope || typeof ss.scope.name !== 'string' || !ss.scope.name)
        v.push(`scope ${ri}.${si}: no name`);
      checkString(v, `scope ${ri}.${si} version`, ss.scope && ss.scope.version);
      if (!(ss.spans || []).length) v.push(`scope ${ri}.${si}: no spans`);
      (ss.spans || []).forEach((s, i) => {
        const where = `span ${s.name} ${s.spanId}`;
        const jspan = json ? json.resourceSpans[ri].scopeSpans[si].spans[i] : null;
        const f = flags ? flags[k] : null;
        k++;
        if (!/^[0-9a-f]{32}$/.test(s.traceId || '') || isZeroHex(s.traceId))
          v.push(`${where}: bad trace id ${s.traceId}`);
        if (!/^[0-9a-f]{16}$/.test(s.spanId || '') || isZeroHex(s.spanId))
          v.push(`${where}: bad span id`);
        if (ids.has(s.spanId) && !opts.duplicateIds) v.push(`${where}: span id twice in one request`);
        ids.add(s.spanId);
        if (s.parentSpanId !== undefined &&
            (!/^[0-9a-f]{16}$/.test(s.parentSpanId) || isZeroHex(s.parentSpanId)))
          v.push(`${where}: bad parent span id ${s.parentSpanId}`);
        if (s.traceState) v.push(`${where}: a trace state oteld never has`);
        checkString(v, `${where} name`, s.name);
        if (!s.startTimeUnixNano || !s.endTimeUnixNano) {
          v.push(`${where}: a time is missing`);
          return;
        }
        const start = BigInt(s.startTimeUnixNano), end = BigInt(s.endTimeUnixNano);
        if (end < start) v.push(`${where}: ends ${start - end} ns before it starts`);
        const off = start > refNs ? start - refNs : refNs - start;
        if (off > windowNs) v.push(`${where}: starts ${off / 1000000n} ms from the clock at export`);
        starts.set(s.spanId, start);
        if (s.parentSpanId) children.push({ where, parent: s.parentSpanId, start });
        if (s.kind !== undefined && !(s.kind >= 0 && s.kind <= 5)) v.push(`${where}: kind ${s.kind}`);
        const st = s.status || {};
        if (st.code !== undefined && !(st.code >= 0 && st.code <= 2)) v.push(`${where}: status ${st.code}`);
        if (st.message && st.code !== 2) v.push(`${where}: a status message without ERROR`);
        checkString(v, `${where} status`, st.message);
        checkAttrs(v, where, s.attributes);
        for (const c of ['droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount'])
          checkCount(v, where, c, s[c]);
        (s.events || []).forEach((e, ei) => {
          const ew = `${where} event ${ei} ${e.name}`;
          checkString(v, ew, e.name);
          if (!e.timeUnixNano) v.push(`${ew}: no time`);
          else if (BigInt(e.timeUnixNano) < start || BigInt(e.timeUnixNano) > end)
            v.push(`${ew}: outside its span`);
          checkAttrs(v, ew, e.attributes);
          checkCount(v, ew, 'droppedAttributesCount', e.droppedAttributesCount);
        });
        const linkFlags = f ? f.links : (jspan ? (jspan.links || []).map((l) => l.flags) : []);
        (s.links || []).forEach((l, li) => {
          const lw = `${where} link ${li}`;
          if (!/^[0-9a-f]{32}$/.test(l.traceId || '') || isZeroHex(l.traceId)) v.push(`${lw}: trace id`);
          if (!/^[0-9a-f]{16}$/.test(l.spanId || '') || isZeroHex(l.spanId)) v.push(`${lw}: span id`);
          checkAttrs(v, lw, l.attributes);
          checkCount(v, lw, 'droppedAttributesCount', l.droppedAttributesCount);
          const lf = linkFlags[li];
          if (lf !== undefined && (lf & ~0xff))
            v.push(`${lw}: flags 0x${lf.toString(16)} claim more than the W3C flags`);
        });
        const sf = f ? f.flags : (jspan ? jspan.flags : undefined);
        if (sf === undefined) v.push(`${where}: no Span.flags`);
        else if ((sf & ~0x3ff) || ((sf & 0x200) && !(sf & 0x100)))
          v.push(`${where}: flags 0x${sf.toString(16)}`);
      });
    });
  });
  return v;
}

/* Children whose parent was received: none may start before it. */
function checkParents(starts, children) {
  const v = [];
  for (const c of children) {
    const p = starts.get(c.parent);
    if (p !== undefined && c.start < p) v.push(`${c.where}: starts ${p - c.start} ns before its parent`);
  }
  return v;
}

module.exports = { check, checkParents, rawFlags };
