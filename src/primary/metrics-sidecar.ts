// The metrics sidecar in the primary: GET /metrics (all workers aggregated, plus the primary's own
// metrics), GET /healthz and GET /transfers. Built apart from listen(), so tests can inject requests.
import Fastify, { type FastifyInstance } from 'fastify';
import type { AggregatorRegistry, PrometheusContentType } from 'prom-client';
import type { PrimaryMetrics } from '../metrics/primary-metrics.js';
import type { TransferInfo } from '../metrics/transfers.js';

/** prom-client waits 5 s for a silent worker; a scrape gets its 503 sooner. */
const AGGREGATION_TIMEOUT_MS = 3_000;

export interface SidecarDeps {
  readonly aggregator: AggregatorRegistry<PrometheusContentType>;
  readonly primary: PrimaryMetrics;
  readonly workers: () => { ready: number; expected: number };
  readonly transfers: () => Promise<TransferInfo[]>;
  readonly startedAt: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export function createMetricsSidecar(deps: SidecarDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const { ready, expected } = deps.workers();
    deps.primary.setWorkers(ready, expected);
    try {
      const workers = await withTimeout(deps.aggregator.clusterMetrics(), AGGREGATION_TIMEOUT_MS);
      const own = await deps.primary.registry.metrics();
      return reply.type(deps.aggregator.contentType).send(`${workers.trimEnd()}\n${own}`);
    } catch {
      deps.primary.aggregationFailed();
      return reply.code(503).type('text/plain').send('a worker did not report its metrics in time\n');
    }
  });
  app.get('/healthz', async (_request, reply) => {
    const { ready, expected } = deps.workers();
    const body = {
      status: ready === expected ? 'ok' : 'degraded',
      workers: { ready, expected },
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    };
    return reply.code(ready === expected ? 200 : 503).send(body);
  });
  app.get('/transfers', async () => ({ transfers: await deps.transfers() }));
  return app;
}
