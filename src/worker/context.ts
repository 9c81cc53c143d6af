import type { AccountStore } from '../accounts/account-store.js';
import type { ServerConfig } from '../config/server-config.js';
import type { LockManager } from '../locks/lock-manager.js';
import type { Logger } from '../log/logger.js';
import type { TransferRegistry } from '../metrics/transfers.js';
import type { Jail } from '../storage/jail.js';

/** What every session of a worker shares. */
export interface WorkerContext {
  readonly config: ServerConfig;
  readonly jail: Jail;
  readonly locks: LockManager;
  readonly log: Logger;
  readonly version: string;
  readonly transfers: TransferRegistry;
  /** With --users: the accounts LOGIN checks; sessions must log in first. Absent: no accounts. */
  readonly accounts?: AccountStore | null;
}
