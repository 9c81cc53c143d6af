// Metrics of the primary itself, in a registry of their own with names no worker uses, so the
// concatenated /metrics output never has a family twice.
import { Counter, Gauge, Registry } from 'prom-client';

export function createPrimaryMetrics() {
  const registry = new Registry();
  const workersReady = new Gauge({
    name: 'filehive_workers_ready',
    help: 'Workers listening and serving.',
    registers: [registry],
  });
  const workersExpected = new Gauge({
    name: 'filehive_workers_expected',
    help: 'Workers the server is configured to run (--workers).',
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'filehive_worker_restarts_total',
    help: 'Workers that died and were replaced.',
    registers: [registry],
  });
  const aggregationFailures = new Counter({
    name: 'filehive_metrics_aggregation_failures_total',
    help: 'Scrapes answered 503 because a worker did not report its metrics in time.',
    registers: [registry],
  });
  const takeovers = new Counter({
    name: 'filehive_lock_stale_takeovers_total',
    help: 'Locks taken over because their holder was gone, by how that was known.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const futureLocks = new Counter({
    name: 'filehive_lock_future_dated_total',
    help: 'Taken-over locks whose mtime lay in the future (clock jump or host skew).',
    registers: [registry],
  });
  const swept = new Counter({
    name: 'filehive_temp_files_swept_total',
    help: 'Orphaned upload temp files removed by the sweep.',
    registers: [registry],
  });
  takeovers.inc({ reason: 'stale' }, 0);
  takeovers.inc({ reason: 'dead-worker' }, 0);
  return {
    registry,
    setWorkers(ready: number, expected: number): void {
      workersReady.set(ready);
      workersExpected.set(expected);
    },
    workerRestarted(): void {
      restarts.inc();
    },
    aggregationFailed(): void {
      aggregationFailures.inc();
    },
    lockTakenOver(reason: 'stale' | 'dead-worker', futureMs: number): void {
      takeovers.inc({ reason });
      if (futureMs > 1000) futureLocks.inc();
    },
    tempFilesSwept(count: number): void {
      swept.inc(count);
    },
  };
}

export type PrimaryMetrics = ReturnType<typeof createPrimaryMetrics>;
