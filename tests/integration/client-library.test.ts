// The client library against the in-memory fake server: connecting, folder commands, pipelining.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { FilehiveClient } from '../../src/client/index.js';
import { rejectsWith, withClient } from '../_helpers/fake-client.js';
import { FAKE_MTIME, startFakeServer } from '../_helpers/fake-server.js';

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
