import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';
import { createPrimaryMetrics } from '../../src/metrics/primary-metrics.js';
import { createMetricsSidecar } from '../../src/primary/metrics-sidecar.js';

function sidecar(options: { clusterMetrics?: () => Promise<string>; ready?: number } = {}) {
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  aggregator.clusterMetrics =
    options.clusterMetrics ?? (async () => 'filehive_upload_bytes_total{worker="0"} 5\n');
  const primary = createPrimaryMetrics();
  const app = createMetricsSidecar({
    aggregator,
    primary,
    workers: () => ({ ready: options.ready ?? 2, expected: 2 }),
    transfers: async () => [
      {
        direction: 'upload',
        path: '/a',
        bytes: 1,
        expectedBytes: 2,
        bytesPerSecond: 3,
        startedAt: new Date(0).toISOString(),
        worker: 0,
      },
    ],
    startedAt: Date.now() - 5_000,
  });
  return { app, primary };
}

test('GET /metrics joins the workers and the primary, each family once', async (t) => {
  const { app } = sidecar();
  const res = await app.inject('/metrics');
  t.is(res.statusCode, 200);
  t.regex(res.headers['content-type'] as string, /text\/plain/);
  t.regex(res.body, /filehive_upload_bytes_total\{worker="0"\} 5/);
  t.regex(res.body, /filehive_workers_ready 2/);
  const helps = res.body.split('\n').filter((l) => l.startsWith('# HELP '));
  t.is(new Set(helps.map((l) => l.split(' ')[2])).size, helps.length, 'no family twice');
});

test('a worker that does not answer makes /metrics answer 503 quickly and is counted', async (t) => {
  const { app, primary } = sidecar({ clusterMetrics: () => new Promise(() => undefined) });
  const started = Date.now();
  const res = await app.inject('/metrics');
  t.is(res.statusCode, 503);
  t.true(Date.now() - started < 4_500);
  t.regex(await primary.registry.metrics(), /filehive_metrics_aggregation_failures_total 1/);
});

test('GET /healthz is 200 with all workers ready, 503 otherwise', async (t) => {
  const ok = await sidecar().app.inject('/healthz');
  t.is(ok.statusCode, 200);
  t.like(ok.json(), { status: 'ok', workers: { ready: 2, expected: 2 } });
  t.true(ok.json().uptimeSeconds >= 5);
  const degraded = await sidecar({ ready: 1 }).app.inject('/healthz');
  t.is(degraded.statusCode, 503);
  t.like(degraded.json(), { status: 'degraded', workers: { ready: 1, expected: 2 } });
});

test('GET /transfers lists the transfers in flight', async (t) => {
  const res = await sidecar().app.inject('/transfers');
  t.is(res.statusCode, 200);
  t.like(res.json().transfers[0], { direction: 'upload', path: '/a', bytes: 1, expectedBytes: 2, worker: 0 });
});

test('every filehive_ metric defined in src/metrics is documented in docs/METRICS.md', (t) => {
  const doc = readFileSync('docs/METRICS.md', 'utf8');
  const names = readdirSync('src/metrics')
    .flatMap((file) => [
      ...readFileSync(`src/metrics/${file}`, 'utf8').matchAll(/name: '(filehive_[a-z_]+)'/g),
    ])
    .map((m) => m[1] as string);
  t.true(names.length > 20);
  for (const name of names) t.true(doc.includes(`\`${name}\``), name);
});
