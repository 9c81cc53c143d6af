// A benchmark-only server process: one worker's file server without the cluster, with real locks or
// with locks replaced by no-ops, so the cost of locking can be measured against the same code path.
// Prints `port N` when listening. Not part of the product: there is no way to turn locks off there.
import type { AddressInfo } from 'node:net';
import { loadServerConfig } from '../../src/config/server-config.js';
import { LockManager } from '../../src/locks/lock-manager.js';
import { createLogger } from '../../src/log/logger.js';
import { TransferRegistry } from '../../src/metrics/transfers.js';
import { Jail } from '../../src/storage/jail.js';
import type { WorkerContext } from '../../src/worker/context.js';
import { createFileServer } from '../../src/worker/file-server.js';

const [root, mode, lockDir] = process.argv.slice(2) as [string, 'locks' | 'no-locks', string | undefined];
const loaded = loadServerConfig(
  ['--root', root, ...(lockDir ? ['--lock-dir', lockDir] : [])],
  {},
  process.cwd(),
);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const config = loaded.config;
const jail = await Jail.open(config.root);
const real = await LockManager.open({
  dir: config.lockDir,
  staleMs: config.lockStaleMs,
  waitMs: 0,
  instance: 'bench',
});
const noop = {
  idOf: (key: string) => real.idOf(key),
  acquire: async () => ({ signal: new AbortController().signal, release: async () => undefined }),
  assertReadable: async () => undefined,
  isHeld: async () => false,
} as unknown as LockManager;
const ctx: WorkerContext = {
  config,
  jail,
  locks: mode === 'locks' ? real : noop,
  log: createLogger({ level: 'silent', format: 'json', proc: 'bench' }),
  version: 'bench',
  transfers: new TransferRegistry(0),
};
const { server } = createFileServer(ctx);
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
