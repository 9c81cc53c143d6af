// A connected client against a fresh in-memory fake server, for library tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { FilehiveClient, FilehiveClientError } from '../../src/client/index.js';
import { type FakeServer, type FakeServerOptions, startFakeServer } from './fake-server.js';

export interface Env {
  server: FakeServer;
  client: FilehiveClient;
  dir: string;
}

/** Runs `body` with a fresh fake server, a connected client and a temp folder; tears all down. */
export async function withClient(
  t: ExecutionContext,
  body: (env: Env) => Promise<void>,
  options: FakeServerOptions = {},
): Promise<void> {
  const server = await startFakeServer(options);
  const dir = await mkdtemp(join(tmpdir(), 'filehive-client-'));
  const client = await FilehiveClient.connect({ host: server.host, port: server.port });
  try {
    await body({ server, client, dir });
  } finally {
    client.destroy();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  t.pass();
}

export async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: string,
): Promise<FilehiveClientError> {
  const err = await t.throwsAsync(promise, { instanceOf: FilehiveClientError });
  t.is(err?.code, code, err?.message);
  return err as FilehiveClientError;
}
