// Accounts in the running server: each worker reads the users file at start; SIGHUP to the primary
// checks the file again and, when it is good, has every worker read it (docs/SECURITY.md#accounts).
import cluster from 'node:cluster';
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { ServerConfig } from '../config/server-config.js';
import type { PrimaryToWorker } from '../ipc.js';
import type { Logger } from '../log/logger.js';
import { AccountStore } from './account-store.js';
import { loadUsersFile, UsersFileError } from './user-store.js';
import { isServedByRoot } from './users-file.js';

/** The worker's accounts, or null without --users. A file that cannot be read leaves no account (fail closed). */
export async function openAccountStore(config: ServerConfig, log: Logger): Promise<AccountStore | null> {
  if (config.usersFile === null) return null;
  const store = new AccountStore([]);
  await reloadAccounts(store, config.usersFile, log, 'debug');
  // A terminal's hangup reaches the whole process group: the primary turns it into a reload.
  process.on('SIGHUP', () => undefined);
  process.on('message', (message: PrimaryToWorker) => {
    if (message?.type === 'filehive:users-reload') {
      void reloadAccounts(store, config.usersFile as string, log, 'info');
    }
  });
  return store;
}

async function reloadAccounts(
  store: AccountStore,
  file: string,
  log: Logger,
  level: 'debug' | 'info',
): Promise<void> {
  try {
    const { users } = await loadUsersFile(file);
    store.replace(users);
    log[level]({ users: users.length }, 'accounts loaded');
  } catch (err) {
    log.error({ reason: (err as Error).message }, 'users file unusable, keeping the accounts read before');
  }
}

/** In the primary: SIGHUP checks the users file and, if it is good, tells every worker to read it. */
export function handleUsersReload(config: ServerConfig, log: Logger): void {
  const file = config.usersFile;
  if (file === null) return;
  process.on('SIGHUP', () => {
    loadUsersFile(file).then(
      ({ users, warnings }) => {
        for (const warning of warnings) log.warn(warning);
        const message: PrimaryToWorker = { type: 'filehive:users-reload' };
        for (const worker of Object.values(cluster.workers ?? {})) {
          if (worker?.isConnected()) worker.send(message);
        }
        log.info({ users: users.length }, 'users file read again');
      },
      (err: unknown) => log.error({ reason: (err as Error).message }, 'users file not reloaded'),
    );
  });
}

/**
 * In the primary, before any worker starts: a users file that cannot be used stops the server with
 * one line and exit code 2; a good one is announced, and SIGHUP reloads it from then on.
 */
export async function prepareAccounts(config: ServerConfig, log: Logger): Promise<void> {
  if (config.usersFile === null) return;
  try {
    const { users, warnings } = await loadUsersFile(config.usersFile);
    // An account whose home holds the file could download the hashes, or with write access add itself
    // an account: the file must live outside what clients reach.
    const realRoot = await realpath(config.root).catch(() => resolve(config.root));
    if (isServedByRoot(await realpath(config.usersFile), realRoot, sep)) {
      throw new UsersFileError(
        `users file ${config.usersFile} is inside the storage root, where clients could reach it; move it out of the root (or into ROOT/.filehive/)`,
      );
    }
    for (const warning of warnings) log.warn(warning);
    log.info({ usersFile: config.usersFile, users: users.length }, 'accounts: sessions must log in');
  } catch (err) {
    process.stderr.write(`filehive-server: ${(err as Error).message}\n`);
    process.exit(2);
  }
  handleUsersReload(config, log);
}
