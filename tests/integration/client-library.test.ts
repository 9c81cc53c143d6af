// The client library against the in-memory fake server: commands, transfers and their failures.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FilehiveClient, FilehiveClientError } from '../../src/client/index.js';
import {
  FAKE_MTIME,
  type FakeServer,
  type FakeServerOptions,
  startFakeServer,
} from '../_helpers/fake-server.js';

interface Env {
  server: FakeServer;
  client: FilehiveClient;
  dir: string;
}

/** Runs `body` with a fresh fake server, a connected client and a temp folder; tears all down. */
async function withClient(
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

async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: string,
): Promise<FilehiveClientError> {
  const err = await t.throwsAsync(promise, { instanceOf: FilehiveClientError });
  t.is(err?.code, code, err?.message);
  return err as FilehiveClientError;
}

test('connect reads the greeting and remembers the checksums', async (t) => {
  await withClient(t, async ({ client }) => {
    t.deepEqual(client.server.checksums, ['xxh3-64', 'sha256']);
    t.is(client.server.software, 'fake 0');
    t.is(client.cwd, '/');
  });
});

test('connect refuses another major protocol version', async (t) => {
  const server = await startFakeServer({ greeting: 'HELLO proto=filehive/2 checksums=xxh3-64' });
  try {
    const err = await rejectsWith(
      t,
      FilehiveClient.connect({ host: server.host, port: server.port }),
      'PROTOCOL_ERROR',
    );
    t.regex(err.message, /filehive\/2/);
  } finally {
    await server.close();
  }
});

test('connect accepts a newer minor version', async (t) => {
  const server = await startFakeServer({ greeting: 'HELLO proto=filehive/1.4 checksums=sha256' });
  try {
    const client = await FilehiveClient.connect({ host: server.host, port: server.port });
    t.deepEqual(client.server.checksums, ['sha256']);
    await client.close();
  } finally {
    await server.close();
  }
});

test('connect to a closed port is CONNECT_FAILED', async (t) => {
  const server = await startFakeServer();
  const { port } = server;
  await server.close();
  const err = await rejectsWith(t, FilehiveClient.connect({ host: '127.0.0.1', port }), 'CONNECT_FAILED');
  t.regex(err.message, /connection refused/);
});

test('folders: mkdir, chdir, pwd, list, move, delete, rmdir', async (t) => {
  await withClient(t, async ({ client, server }) => {
    t.is(await client.mkdir('docs'), '/docs');
    t.is(await client.chdir('docs'), '/docs');
    t.is(client.cwd, '/docs');
    server.files.set('/docs/my file.txt', Buffer.from('hello'));
    const entries = await client.list();
    t.deepEqual(entries, [{ name: 'my file.txt', type: 'file', size: 5, mtime: new Date(FAKE_MTIME) }]);
    t.deepEqual(await client.move('my file.txt', '/'), { from: '/docs/my file.txt', to: '/my file.txt' });
    t.is(await client.pwd(), '/docs');
    t.is(await client.delete('/my file.txt'), '/my file.txt');
    await client.chdir('..');
    t.is(await client.rmdir('docs'), '/docs');
    t.deepEqual(await client.list('/'), []);
  });
});

test('server errors carry the wire code, message and fields; the session goes on', async (t) => {
  await withClient(t, async ({ client, dir }) => {
    const err = await rejectsWith(t, client.chdir('missing'), 'NOT_FOUND');
    t.is(err.message, 'no such folder');
    await writeFile(join(dir, 'busy.bin'), 'x');
    const busy = await rejectsWith(t, client.upload(join(dir, 'busy.bin')), 'BUSY');
    t.deepEqual(busy.fields, { holder: 'upload' });
    t.deepEqual(await client.list(), []);
  });
});

for (const checksum of ['xxh3-64', 'sha256'] as const) {
  test(`upload and download round trip (${checksum}, several chunks)`, async (t) => {
    await withClient(t, async ({ client, server, dir }) => {
      const data = randomBytes(5 * 1024 * 1024 + 123);
      await writeFile(join(dir, 'big.bin'), data);
      const progress: number[] = [];
      const up = await client.upload(join(dir, 'big.bin'), {
        checksum,
        onProgress: (done) => progress.push(done),
      });
      t.is(up.name, 'big.bin');
      t.is(up.bytes, data.length);
      t.true(up.checksum.startsWith(`${checksum}:`));
      t.true(server.files.get('/big.bin')?.equals(data));
      t.is(progress.at(-1), data.length);
      t.true(progress.length >= 6);

      const into = join(dir, 'down');
      await import('node:fs/promises').then((fs) => fs.mkdir(into));
      const down = await client.download('/big.bin', { dir: into, checksum });
      t.is(down.localPath, join(into, 'big.bin'));
      t.is(down.bytes, data.length);
      t.true((await readFile(down.localPath)).equals(data));
      t.deepEqual(await readdir(into), ['big.bin']);
    });
  });
}

test('upload of an empty file and a remote name with spaces', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    await writeFile(join(dir, 'empty'), '');
    const up = await client.upload(join(dir, 'empty'), { remoteName: 'my "empty" file' });
    t.is(up.bytes, 0);
    t.is(server.files.get('/my "empty" file')?.length, 0);
    const down = await client.download('my "empty" file', { dir });
    t.is((await readFile(down.localPath)).length, 0);
  });
});

test('upload of a missing local file is LOCAL_ERROR and sends nothing', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    const err = await rejectsWith(t, client.upload(join(dir, 'nope')), 'LOCAL_ERROR');
    t.regex(err.message, /no such file/);
    t.deepEqual(server.requests, []);
    t.false(client.closed);
  });
});

test('upload stops at an early ERR from the server', async (t) => {
  await withClient(
    t,
    async ({ client, dir }) => {
      await writeFile(join(dir, 'big.bin'), randomBytes(32 * 1024 * 1024));
      const err = await rejectsWith(t, client.upload(join(dir, 'big.bin')), 'NO_SPACE');
      t.is(err.message, 'disk full');
      t.true(client.closed);
    },
    { abortUploadAfter: 1024 * 1024 },
  );
});

test('a file that shrinks while uploading is LOCAL_ERROR and ends the session', async (t) => {
  await withClient(t, async ({ client, dir }) => {
    const path = join(dir, 'shrinks.bin');
    await writeFile(path, randomBytes(3 * 1024 * 1024));
    let truncated = false;
    const onProgress = () => {
      if (!truncated) void truncate(path, 1024 * 1024);
      truncated = true;
    };
    const err = await rejectsWith(t, client.upload(path, { onProgress }), 'LOCAL_ERROR');
    t.regex(err.message, /shrank/);
    t.true(client.closed);
  });
});

test('download with a wrong checksum is CHECKSUM_MISMATCH and leaves no file', async (t) => {
  await withClient(
    t,
    async ({ client, server, dir }) => {
      server.files.set('/a.bin', randomBytes(100_000));
      await rejectsWith(t, client.download('a.bin', { dir }), 'CHECKSUM_MISMATCH');
      t.deepEqual(await readdir(dir), []);
      t.false(client.closed);
    },
    { wrongDownloadChecksum: true },
  );
});

test('download cut off by the server is CONNECTION_LOST and leaves no file', async (t) => {
  await withClient(
    t,
    async ({ client, server, dir }) => {
      server.files.set('/a.bin', randomBytes(3 * 1024 * 1024));
      await rejectsWith(t, client.download('a.bin', { dir }), 'CONNECTION_LOST');
      t.deepEqual(await readdir(dir), []);
      t.true(client.closed);
      await rejectsWith(t, client.pwd(), 'CONNECTION_LOST');
    },
    { dropDownloadAfter: 1024 * 1024 },
  );
});

test('download replaces an existing local file', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    server.files.set('/a.txt', Buffer.from('new'));
    await writeFile(join(dir, 'a.txt'), 'old contents');
    await client.download('a.txt', { dir });
    t.is(await readFile(join(dir, 'a.txt'), 'utf8'), 'new');
  });
});

test('download refuses names that cannot be saved, before sending anything', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    for (const bad of ['', '.', '..', 'docs/..', 'docs/', '/']) {
      await rejectsWith(t, client.download(bad, { dir }), 'BAD_PATH');
    }
    t.deepEqual(server.requests, []);
  });
});

test('download of a missing file is NOT_FOUND and leaves no temp file', async (t) => {
  await withClient(t, async ({ client, dir }) => {
    await rejectsWith(t, client.download('missing.bin', { dir }), 'NOT_FOUND');
    t.deepEqual(await readdir(dir), []);
  });
});

test('download into a missing local folder is LOCAL_ERROR', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    server.files.set('/a.txt', Buffer.from('x'));
    await rejectsWith(t, client.download('a.txt', { dir: join(dir, 'nope') }), 'LOCAL_ERROR');
    t.deepEqual(server.requests, []);
  });
});

test('pipelined requests are answered in order', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    server.files.set('/a.txt', Buffer.from('aaa'));
    await writeFile(join(dir, 'b.txt'), 'bbb');
    // Transfers open their local file before sending, so only the plain requests have a fixed order.
    const [made, listing, cwd, down, up] = await Promise.all([
      client.mkdir('x'),
      client.list('/'),
      client.chdir('x'),
      client.download('/a.txt', { dir }),
      client.upload(join(dir, 'b.txt')),
    ]);
    t.is(made, '/x');
    t.deepEqual(
      listing.map((e) => e.name),
      ['a.txt', 'x'],
    );
    t.is(cwd, '/x');
    t.is(down.bytes, 3);
    t.is(up.bytes, 3);
    t.true(server.files.has('/x/b.txt'));
  });
});

test('close says QUIT and ends the session', async (t) => {
  await withClient(t, async ({ client, server }) => {
    await client.close();
    t.true(client.closed);
    t.deepEqual(server.requests, ['QUIT']);
  });
});
