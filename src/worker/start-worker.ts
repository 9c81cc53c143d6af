// A worker process: serves the file protocol on the port the primary shares with it.
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import { openAccountStore } from '../accounts/reload.js';
import type { ServerConfig } from '../config/server-config.js';
import {
  INSTANCE_ENV,
  isPrimaryMessage,
  WORKER_CONFIG_ENV,
  WORKER_SLOT_ENV,
  type WorkerToPrimary,
} from '../ipc.js';
import { LockManager } from '../locks/lock-manager.js';
import { createLogger } from '../log/logger.js';
import { TransferRegistry } from '../metrics/transfers.js';
import { initWorkerMetrics, metrics } from '../metrics/worker-metrics.js';
import { Jail } from '../storage/jail.js';
import { VERSION } from '../version.js';
import type { WorkerContext } from './context.js';
import { createFileServer } from './file-server.js';

function send(message: WorkerToPrimary): void {
  process.send?.(message);
}

export async function startWorker(): Promise<void> {
  const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as ServerConfig;
  const slot = Number(process.env[WORKER_SLOT_ENV] ?? 0);
  // prom-client answers the primary's aggregation only where an AggregatorRegistry was constructed.
  new AggregatorRegistry();
  initWorkerMetrics(slot);
  const log = createLogger({ level: config.logLevel, format: config.logFormat, proc: `worker ${slot}` });
  const jail = await Jail.open(config.root);
  const locks = await LockManager.open({
    dir: config.lockDir,
    staleMs: config.lockStaleMs,
    waitMs: config.lockWaitMs,
    instance: process.env[INSTANCE_ENV] ?? 'unknown',
    onCompromised: (key, err) => {
      metrics.lockCompromised();
      log.error({ key, reason: err.message }, 'lock compromised, aborting its operation');
    },
    onBusy: (op) => metrics.lockBusy(op),
    onAcquired: (op, waitedMs) => metrics.lockAcquired(op, waitedMs),
  });
  const transfers = new TransferRegistry(slot);
  const accounts = await openAccountStore(config, log);
  const ctx: WorkerContext = { config, jail, locks, log, version: VERSION, transfers, accounts };
  const { server, sessions } = createFileServer(ctx);

  let stopping = false;
  const shutdown = (graceMs: number): void => {
    if (stopping) return;
    stopping = true;
    log.info({ sessions: sessions.size, graceMs }, 'shutting down');
    server.close();
    for (const session of sessions.keys()) session.shutdown();
    const deadline = setTimeout(() => {
      if (sessions.size > 0) log.warn({ sessions: sessions.size }, 'grace period over, aborting sessions');
      for (const session of sessions.keys()) session.abort();
    }, graceMs);
    deadline.unref();
    void (async () => {
      while (sessions.size > 0) await Promise.allSettled([...sessions.values()]);
      clearTimeout(deadline);
      process.exit(0);
    })();
  };

  process.on('message', (message) => {
    if (!isPrimaryMessage(message)) return;
    if (message.type === 'filehive:shutdown') shutdown(message.graceMs);
    else if (message.type === 'filehive:transfers-request') {
      send({ type: 'filehive:transfers', id: message.id, transfers: transfers.list() });
    }
  });
  // A terminal's Ctrl-C reaches the whole process group: the primary coordinates that shutdown, so a
  // worker must not leave on its own first (the primary would take it for a crash). A SIGTERM aimed
  // at one worker stops that worker gracefully; the primary then replaces it.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => shutdown(config.shutdownGraceMs));

  server.on('error', (err: NodeJS.ErrnoException) => {
    const reason = err.code === 'EADDRINUSE' ? 'address already in use' : (err.code ?? err.message);
    send({
      type: 'filehive:fatal',
      slot,
      message: `cannot listen on ${config.host}:${config.port}: ${reason}`,
    });
    setTimeout(() => process.exit(1), 100);
  });
  server.listen({ host: config.host, port: config.port }, () => {
    log.debug('listening');
    send({ type: 'filehive:ready', slot, port: (server.address() as AddressInfo).port });
  });
}
