// The built filehive server (dist/server.js) as the bench starts it, and a client session on it.
import { FilehiveClient } from '../../src/client/client.js';
import { type RunningServer, startServer } from '../../tests/_helpers/server.js';
import { childrenOf } from './sampler.js';

export type { RunningServer };

/**
 * Starts dist/server.js on free ports with a temporary root. `env` sets FILEHIVE_* settings, which a build
 * that does not know a setting ignores (a flag it does not know would stop it).
 */
export function startFilehive(
  workers: number,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<RunningServer> {
  return startServer({ workers, args: ['--log-level', 'warn', ...args], env });
}

/** The worker PIDs of a running server (the primary's children). */
export function workersOf(server: RunningServer): Promise<number[]> {
  return childrenOf(server.proc.pid as number);
}

export async function withClient<T>(port: number, fn: (c: FilehiveClient) => Promise<T>): Promise<T> {
  const client = await FilehiveClient.connect({ host: '127.0.0.1', port });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
