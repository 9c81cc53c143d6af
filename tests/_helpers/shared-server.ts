// One real server for every test of a file, and sessions that each work in a folder of their own.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestFn } from 'ava';
import { RawClient } from './raw-client.js';
import { type RunningServer, type StartOptions, startServer } from './server.js';

export interface SharedServer {
  /** The running server (valid inside tests, after the before hook). */
  readonly current: () => RunningServer;
  /** A session whose current folder is `/folder` (created on disk if missing). */
  readonly session: (folder: string) => Promise<RawClient>;
}

export function useSharedServer(test: TestFn, options: StartOptions = { workers: 2 }): SharedServer {
  let server: RunningServer | undefined;
  test.before(async () => {
    server = await startServer(options);
  });
  test.after.always(async () => {
    await server?.stop();
  });
  const current = () => {
    if (!server) throw new Error('the shared server is not running');
    return server;
  };
  return {
    current,
    async session(folder) {
      const client = await RawClient.connect(current().port);
      await mkdir(join(current().root, folder), { recursive: true });
      const reply = await client.request(`CHDIR /${folder}`);
      if (reply.status !== 'OK') throw new Error(reply.line);
      return client;
    },
  };
}
