// Metrics of the primary itself, in a registry of their own with names no worker uses, so the
// concatenated /metrics output never has a family twice.
import { Counter, Gauge, Registry } from 'prom-client';
import { REFUSAL_REASONS, type RefusalReason } from '../primary/admission.js';

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
  const refused = new Counter({
    name: 'filehive_connections_refused_total',
    help: 'Connections refused at the greeting, by reason (limits, bans, anonymous access from a remote address).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const loginFailures = new Counter({
    name: 'filehive_login_failures_total',
    help: 'Failed logins, from every address.',
    registers: [registry],
  });
  const bans = new Counter({
    name: 'filehive_bans_total',
    help: 'Addresses banned after too many failed logins.',
    registers: [registry],
  });
  const clockSkew = new Gauge({
    name: 'filehive_clock_skew_seconds',
    help: "This host's clock minus the shared filesystem's (positive: this host is ahead), from the last probe.",
    registers: [registry],
  });
  let activeBans: () => number = () => 0;
  new Gauge({
    name: 'filehive_bans_active',
    help: 'Addresses banned now.',
    registers: [registry],
    collect() {
      this.set(activeBans());
    },
  });
  for (const reason of REFUSAL_REASONS) refused.inc({ reason }, 0);
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
    clockSkewMeasured(skewMs: number): void {
      clockSkew.set(skewMs / 1000);
    },
    tempFilesSwept(count: number): void {
      swept.inc(count);
    },
    connectionRefused(reason: RefusalReason): void {
      refused.inc({ reason });
    },
    loginFailed(newlyBanned: boolean): void {
      loginFailures.inc();
      if (newlyBanned) bans.inc();
    },
    /** Where the bans gauge reads its value at each scrape. */
    countActiveBansWith(source: () => number): void {
      activeBans = source;
    },
  };
}

export type PrimaryMetrics = ReturnType<typeof createPrimaryMetrics>;
