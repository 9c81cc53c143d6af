// The primary's side of admission: answers the workers' admit and login messages from the one
// AdmissionAuthority, forgets the sessions of a worker that exits, and counts refusals and bans.
import cluster, { type Worker } from 'node:cluster';
import type { ServerConfig } from '../config/server-config.js';
import type { AdmissionReply, AdmissionRequest } from '../ipc.js';
import type { Logger } from '../log/logger.js';
import type { PrimaryMetrics } from '../metrics/primary-metrics.js';
import { AdmissionAuthority, admissionLimits } from './admission.js';

const SWEEP_INTERVAL_MS = 60_000;

export interface AdmissionService {
  readonly authority: AdmissionAuthority;
  /** One line for the operator about who may connect without an account, or null with accounts. */
  readonly notice: string | null;
  stop(): void;
}

function isAdmissionRequest(message: unknown): message is AdmissionRequest {
  const type = (message as { type?: unknown } | null)?.type;
  return (
    type === 'filehive:admit' ||
    type === 'filehive:release' ||
    type === 'filehive:login-failed' ||
    type === 'filehive:login-succeeded'
  );
}

/** Who may connect without logging in, said once at start (docs/SECURITY.md#connection-limits-and-bans). */
export function describeAnonymousAccess(config: ServerConfig): string | null {
  if (config.usersFile !== null) return null;
  return config.allowAnonymous
    ? 'anonymous access from any address (--allow-anonymous, no --users): anyone who can reach the port can read and write'
    : 'anonymous access for loopback clients only (no --users); other addresses are refused with AUTH_REQUIRED';
}

/** Starts answering admission messages from every worker of this primary. */
export function startAdmissionService(
  config: ServerConfig,
  metrics: PrimaryMetrics,
  log: Logger,
): AdmissionService {
  const authority = new AdmissionAuthority(admissionLimits(config));
  metrics.countActiveBansWith(() => authority.activeBans());

  const reply = (worker: Worker, message: AdmissionReply): void => {
    if (worker.isConnected()) worker.send(message);
  };
  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isAdmissionRequest(message) || typeof message.ip !== 'string') return;
    // A message that raced the worker's exit must not count a session nobody will release.
    if (worker.isDead()) return;
    switch (message.type) {
      case 'filehive:admit': {
        const decision = authority.admit(worker.id, message.ip);
        if (!decision.ok) metrics.connectionRefused(decision.reason);
        reply(worker, {
          type: 'filehive:admit-result',
          id: message.id,
          refused: decision.ok ? null : decision.reason,
        });
        break;
      }
      case 'filehive:release':
        authority.release(worker.id, message.ip);
        break;
      case 'filehive:login-failed': {
        const result = authority.loginFailed(message.ip);
        metrics.loginFailed(result.newlyBanned);
        if (result.newlyBanned) {
          log.warn(
            { address: message.ip, failures: config.loginFailures, banSeconds: config.loginBanMs / 1000 },
            'address banned after failed logins',
          );
        }
        reply(worker, {
          type: 'filehive:login-result',
          id: message.id,
          delayMs: result.delayMs,
          banned: result.banned,
        });
        break;
      }
      case 'filehive:login-succeeded':
        authority.loginSucceeded(message.ip);
        break;
    }
  };
  const onExit = (worker: Worker): void => {
    const dropped = authority.workerGone(worker.id);
    if (dropped > 0)
      log.info({ worker: worker.id, sessions: dropped }, 'sessions of an exited worker released');
  };
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  const sweeper = setInterval(() => authority.sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();

  const notice = describeAnonymousAccess(config);
  if (notice) log[config.allowAnonymous ? 'warn' : 'info']({ allowAnonymous: config.allowAnonymous }, notice);
  return {
    authority,
    notice,
    stop() {
      clearInterval(sweeper);
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
    },
  };
}
