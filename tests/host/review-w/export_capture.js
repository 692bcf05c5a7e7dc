const TOP = require('path').resolve(__dirname, '../../..');
// node run.js CAPTURE [json|protobuf]: export a capture to the reference receiver, print spans + strict violations
const { spawnSync, spawn } = require('child_process');
const rcvmod = require(TOP + '/tests/otlp-receiver/receiver.js');
const strict = require(TOP + '/tests/otlp-receiver/strict.js');
(async () => {
  const cap = process.argv[2], proto = process.argv[3] || 'protobuf';
  const r = await rcvmod.start({ strict: { refNs: () => 1700000000000000000n, windowNs: 10n ** 18n } });
  const p = spawn(TOP + '/build/tests/host-tools/oteld', ['--input', cap, '--endpoint', `http://127.0.0.1:${r.port}`,
    '--protocol', 'http/' + proto, '--schedule-delay', '100'], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise((res) => p.on('exit', (c) => { console.log('oteld exit', c); res(); }));
  for (const q of r.requests) for (const rs of q.obj.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans)
    console.log(JSON.stringify({ name: s.name, start: s.startTimeUnixNano, end: s.endTimeUnixNano, attrs: (s.attributes||[]).map(a=>a.key+'='+JSON.stringify(a.value)).join(' '),
      da: s.droppedAttributesCount, de: s.droppedEventsCount, dl: s.droppedLinksCount,
      events: (s.events||[]).map(e => ({ n: e.name, t: e.timeUnixNano, d: e.droppedAttributesCount })),
      links: (s.links||[]).map(l => ({ d: l.droppedAttributesCount, f: l.flags })) }));
  console.log('errors', r.errors);
  try { await r.close(); console.log('strict: ok'); } catch (e) { console.log(String(e)); }
})();
