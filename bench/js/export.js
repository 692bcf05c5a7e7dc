// SPDX-License-Identifier: GPL-2.0
//
// make bench: the reference exporter.  Makes N spans with the OpenTelemetry
// JavaScript SDK, each like one oteld exports for a kernel span (name
// otel_bench.span, kind INTERNAL, two int64 attributes, scope otel_bench),
// and sends them in batches of 512 (the BatchSpanProcessor's default batch)
// through @opentelemetry/exporter-trace-otlp-proto: protobuf over HTTP, one
// request in flight, like oteld.  scripts/bench measures this process's CPU
// time and peak RSS.
//
//   node export.js --url http://127.0.0.1:PORT/v1/traces --spans N
'use strict';

const { SpanKind } = require('@opentelemetry/api');
const { ExportResultCode } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
const {
  OTLPTraceExporter,
} = require('@opentelemetry/exporter-trace-otlp-proto');

function parseArgs(argv) {
  const opts = { url: null, spans: 1000000, batch: 512 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i];
    const val = argv[i + 1];
    if (key === '--url') opts.url = val;
    else if (key === '--spans') opts.spans = Number(val);
    else if (key === '--batch') opts.batch = Number(val);
    else throw new Error(`unknown option ${key}`);
  }
  if (!opts.url || !(opts.spans > 0) || !(opts.batch > 0))
    throw new Error('usage: export.js --url URL --spans N [--batch N]');
  return opts;
}

// Collects ended spans; the loop below hands them to the exporter.
class Collector {
  constructor() {
    this.spans = [];
  }
  onStart() {}
  onEnd(span) {
    this.spans.push(span);
  }
  take() {
    const out = this.spans;
    this.spans = [];
    return out;
  }
  forceFlush() {
    return Promise.resolve();
  }
  shutdown() {
    return Promise.resolve();
  }
}

function exportBatch(exporter, spans) {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) resolve();
      else reject(result.error || new Error('export failed'));
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv);
  const collector = new Collector();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otel-bench' }),
    spanProcessors: [collector],
  });
  const tracer = provider.getTracer('otel_bench', '0.1.0');
  const exporter = new OTLPTraceExporter({
    url: opts.url,
    timeoutMillis: 30000,
  });

  for (let done = 0; done < opts.spans;) {
    const n = Math.min(opts.batch, opts.spans - done);
    for (let i = 0; i < n; i++) {
      const span = tracer.startSpan('otel_bench.span', {
        kind: SpanKind.INTERNAL,
      });
      span.setAttribute('bench.a', done + i);
      span.setAttribute('bench.b', -(done + i));
      span.end();
    }
    await exportBatch(exporter, collector.take());
    done += n;
  }
  await exporter.shutdown();
  console.log(`exported ${opts.spans} spans`);
}

main().catch((err) => {
  console.error(`export.js: ${err.message || err}`);
  process.exit(1);
});
