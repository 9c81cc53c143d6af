// Messages between the primary and its workers: a typed union with namespaced types (prom-client owns
// the `prom-client:` namespace on the same channel).

import type { TransferInfo } from './metrics/transfers.js';
import type { RefusalReason } from './primary/admission.js';

export type PrimaryToWorker =
  | { type: 'filehive:shutdown'; graceMs: number }
  | { type: 'filehive:transfers-request'; id: number }
  /** SIGHUP: the users file was checked; read it again (src/accounts/reload.ts). */
  | { type: 'filehive:users-reload' }
  | AdmissionReply;

export type WorkerToPrimary =
  | { type: 'filehive:ready'; slot: number; port: number }
  | { type: 'filehive:fatal'; slot: number; message: string }
  | { type: 'filehive:transfers'; id: number; transfers: TransferInfo[] }
  | AdmissionRequest;

/** Connection limits and bans (src/primary/admission.ts): one round trip per connection, release one-way. */
export type AdmissionRequest =
  | { type: 'filehive:admit'; id: number; ip: string }
  | { type: 'filehive:release'; ip: string }
  | { type: 'filehive:login-failed'; id: number; ip: string }
  | { type: 'filehive:login-succeeded'; ip: string };

export type AdmissionReply =
  | { type: 'filehive:admit-result'; id: number; refused: RefusalReason | null }
  | { type: 'filehive:login-result'; id: number; delayMs: number; banned: boolean };

export function isWorkerMessage(value: unknown): value is WorkerToPrimary {
  return (
    typeof value === 'object' &&
    value !== null &&
    String((value as { type?: unknown }).type).startsWith('filehive:')
  );
}

export function isPrimaryMessage(value: unknown): value is PrimaryToWorker {
  return isWorkerMessage(value);
}

/** How the primary hands the parsed config and the slot to a worker. */
export const WORKER_CONFIG_ENV = 'FILEHIVE_WORKER_CONFIG';
export const WORKER_SLOT_ENV = 'FILEHIVE_WORKER_SLOT';
/** One id per running primary: lock holders record it, so the primary knows its own workers' locks. */
export const INSTANCE_ENV = 'FILEHIVE_INSTANCE';
