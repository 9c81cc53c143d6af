// The primary: validates the setup, forks the workers, prints the ready line, and runs the shutdown.

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AggregatorRegistry } from 'prom-client';
import { prepareAccounts } from '../accounts/reload.js';
import type { ServerConfig } from '../config/server-config.js';
import { ensureLockSettings, LockSettingsMismatch } from '../locks/lock-settings.js';
import { createLogger } from '../log/logger.js';
import { createPrimaryMetrics, type PrimaryMetrics } from '../metrics/primary-metrics.js';
import { Jail } from '../storage/jail.js';
import { checkServerTls } from '../tls/server-tls.js';
import { VERSION } from '../version.js';
import { startAdmissionService } from './admission-service.js';
import { Housekeeping } from './housekeeping.js';
import { createMetricsSidecar } from './metrics-sidecar.js';
import { Supervisor } from './supervisor.js';

/** Starts the metrics sidecar (unless --metrics-port off) and prints where it listens. */
async function startSidecar(
  config: ServerConfig,
  supervisor: Supervisor,
  primaryMetrics: PrimaryMetrics,
): Promise<FastifyInstance | null> {
  if (config.metricsPort === null) return null;
  const startedAt = Date.now();
  const app = createMetricsSidecar({
    aggregator: new AggregatorRegistry(),
    primary: primaryMetrics,
    workers: () => ({ ready: supervisor.readyCount, expected: supervisor.expectedCount }),
    transfers: () => supervisor.collectTransfers(1_000),
    startedAt,
  });
  try {
    await app.listen({ host: config.metricsHost, port: config.metricsPort });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'EADDRINUSE' ? 'address already in use' : (e.code ?? e.message);
    process.stderr.write(
      `filehive-server: cannot listen for metrics on ${config.metricsHost}:${config.metricsPort}: ${reason}\n`,
    );
    process.exit(1);
  }
  const address = app.server.address() as AddressInfo;
  process.stdout.write(
    `filehive metrics on http://${formatHost(config.metricsHost)}:${address.port}/metrics\n`,
  );
  return app;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startPrimary(input: ServerConfig): Promise<void> {
  const log = createLogger({ level: input.logLevel, format: input.logFormat, proc: 'primary' });
  const tls =
    input.tlsCert && input.tlsKey
      ? await checkServerTls({ certFile: input.tlsCert, keyFile: input.tlsKey })
      : null;
  if (tls && !tls.ok) {
    process.stderr.write(`filehive-server: ${tls.message}\n`);
    process.exit(2);
  }
  await prepareAccounts(input, log);
  let config = input;
  try {
    const jail = await Jail.open(input.root);
    config = Object.freeze({ ...input, root: jail.root });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`filehive-server: cannot use root ${input.root}: ${e.code ?? e.message}\n`);
    process.exit(1);
  }
  try {
    await ensureLockSettings(config.lockDir, { staleMs: config.lockStaleMs });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      err instanceof LockSettingsMismatch
        ? e.message
        : `cannot use lock folder ${config.lockDir}: ${e.code ?? e.message}`;
    process.stderr.write(`filehive-server: ${reason}\n`);
    process.exit(err instanceof LockSettingsMismatch ? 2 : 1);
  }
  log.info({ config }, 'starting');
  if (tls?.ok) log.info({ certificate: tls.info }, 'TLS on the file port');

  const instance = randomBytes(6).toString('hex');
  const primaryMetrics = createPrimaryMetrics();
  const admission = startAdmissionService(config, primaryMetrics, log);
  const housekeeping = await Housekeeping.create(config, log, instance, {
    onTakeover: (reason, futureMs) => primaryMetrics.lockTakenOver(reason, futureMs),
    onSwept: (count) => primaryMetrics.tempFilesSwept(count),
    onClockSkew: (skewMs) => primaryMetrics.clockSkewMeasured(skewMs),
  });
  const supervisor = new Supervisor(config, log, instance);
  supervisor.on('restart', () => primaryMetrics.workerRestarted());
  const sidecar = await startSidecar(config, supervisor, primaryMetrics);
  supervisor.on('exit', (_slot: number, pid: number | undefined) => {
    if (pid !== undefined) void housekeeping.janitor.releaseDeadWorker(pid);
  });
  let announced = false;
  supervisor.on('ready', (_slot: number, port: number) => {
    if (announced || supervisor.readyCount < supervisor.expectedCount) return;
    announced = true;
    const line = `filehive ${VERSION} listening on ${formatHost(config.host)}:${port} (${config.workers} workers, root ${config.root}${tls ? ', TLS' : ''})`;
    log.info({ host: config.host, port, workers: config.workers, root: config.root }, 'ready');
    housekeeping.start();
    if (admission.notice) process.stdout.write(`filehive: ${admission.notice}\n`);
    process.stdout.write(`${line}\n`);
  });
  supervisor.on('fatal', (message: string) => {
    process.stderr.write(`filehive-server: ${message}\n`);
    supervisor.killAll();
    process.exit(1);
  });

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // Ctrl-C twice means now; a repeated SIGTERM (a supervisor re-sending it) changes nothing.
      if (signal !== 'SIGINT') return;
      log.warn({ signal }, 'second interrupt, stopping now');
      supervisor.killAll();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    housekeeping.stop();
    // The sidecar closes first, so a last scrape does not wait on workers that are leaving.
    void (sidecar?.close() ?? Promise.resolve())
      .then(() => supervisor.stop(config.shutdownGraceMs))
      .then(() => {
        log.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  supervisor.start();
}
