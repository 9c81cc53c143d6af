// The client library and the built CLI against the real server (dist/server.js), one server per test.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FilehiveClient, FilehiveClientError } from '../../src/client/index.js';
import { runCli } from '../_helpers/cli.js';
import { type RunningServer, startServer } from '../_helpers/server.js';

interface Env {
  server: RunningServer;
  client: FilehiveClient;
  local: string;
}

async function withServer(t: ExecutionContext, body: (env: Env) => Promise<void>): Promise<void> {
  const server = await startServer({ workers: 2 });
  const local = await mkdtemp(join(tmpdir(), 'filehive-local-'));
  let client: FilehiveClient | undefined;
  try {
    client = await FilehiveClient.connect({ host: server.host, port: server.port });
    await body({ server, client, local });
  } finally {
    await client?.close();
    await server.stop();
    await rm(local, { recursive: true, force: true });
  }
  t.pass();
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return err instanceof FilehiveClientError ? err.code : String(err);
  }
}

test('greeting, folders and listing against the real server', async (t) => {
  await withServer(t, async ({ client }) => {
    t.true(client.server.checksums.includes('xxh3-64'));
    t.is(await client.mkdir('docs'), '/docs');
    t.is(await client.chdir('docs'), '/docs');
    t.is(await client.pwd(), '/docs');
    t.is(await client.mkdir('sub'), '/docs/sub');
    const [entry] = await client.list();
    t.is(entry?.name, 'sub');
    t.is(entry?.type, 'dir');
    t.true(Math.abs((entry?.mtime.getTime() ?? 0) - Date.now()) < 60_000);
  });
});

for (const checksum of ['xxh3-64', 'sha256'] as const) {
  test(`upload and download round trip through the real server (${checksum})`, async (t) => {
    await withServer(t, async ({ server, client, local }) => {
      const data = randomBytes(3 * 1024 * 1024 + 7);
      await writeFile(join(local, 'data.bin'), data);
      await client.mkdir('in');
      const up = await client.upload(join(local, 'data.bin'), { remoteName: 'in/data copy.bin', checksum });
      t.is(up.bytes, data.length);
      t.true((await readFile(join(server.root, 'in', 'data copy.bin'))).equals(data));
      const into = await mkdtemp(join(local, 'down-'));
      const down = await client.download('/in/data copy.bin', { dir: into, checksum });
      t.true((await readFile(down.localPath)).equals(data));
      t.deepEqual(await readdir(into), ['data copy.bin']);
      const listing = await client.list('in');
      t.deepEqual(
        listing.map((e) => [e.name, e.type, e.size]),
        [['data copy.bin', 'file', data.length]],
      );
    });
  });
}

test('server error codes reach the caller and the session goes on', async (t) => {
  await withServer(t, async ({ client, local }) => {
    await client.mkdir('full');
    await client.mkdir('full/child');
    t.is(await codeOf(client.chdir('missing')), 'NOT_FOUND');
    t.is(await codeOf(client.mkdir('full')), 'EXISTS');
    t.is(await codeOf(client.rmdir('full')), 'NOT_EMPTY');
    t.is(await codeOf(client.delete('full')), 'IS_A_DIRECTORY');
    t.is(await codeOf(client.chdir('..')), 'BAD_PATH');
    t.is(await codeOf(client.download('full', { dir: local })), 'IS_A_DIRECTORY');
    t.deepEqual(await readdir(local), []);
    t.is(await client.pwd(), '/');
  });
});

test('an upload to a name another session is uploading is BUSY', async (t) => {
  await withServer(t, async ({ server, client, local }) => {
    const other = net.connect(server.port, server.host);
    let seen = '';
    other.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    other.write('UPLOAD same.bin 1000\n');
    await new Promise<void>((done) => {
      const check = () => (seen.includes('GO') ? done() : setTimeout(check, 10));
      check();
    });
    await writeFile(join(local, 'same.bin'), 'mine');
    const err = await t.throwsAsync(client.upload(join(local, 'same.bin')), {
      instanceOf: FilehiveClientError,
    });
    t.is(err?.code, 'BUSY');
    t.is(err?.fields.holder, 'upload');
    other.destroy();
  });
});

test('pipelined requests against the real server', async (t) => {
  await withServer(t, async ({ client }) => {
    const results = await Promise.all([
      client.mkdir('a'),
      client.chdir('a'),
      client.mkdir('b'),
      client.pwd(),
    ]);
    t.deepEqual(results, ['/a', '/a', '/a/b', '/a']);
  });
});

test('the CLI in batch mode against the real server', async (t) => {
  await withServer(t, async ({ server, local }) => {
    await writeFile(join(local, 'notes.txt'), 'some notes');
    const where = [server.host, String(server.port)];
    const run = await runCli(
      [
        '--download-dir',
        local,
        '-c',
        'MKDIR n; CD n; UPLOAD notes.txt; DIR; DELETE notes.txt; DIR; DOWNLOAD x',
        ...where,
      ],
      { cwd: local },
    );
    t.is(run.code, 5);
    const lines = run.stdout.trimEnd().split('\n');
    t.deepEqual(lines.slice(0, 2), ['created /n', 'now in /n']);
    t.regex(lines[2] ?? '', /^uploaded notes\.txt 10 B in \d+\.\d\d s/);
    t.regex(lines[3] ?? '', /^- 10 \d{4}-\d\d-\d\d \d\d:\d\d notes\.txt$/);
    t.is(lines[4], 'deleted /n/notes.txt');
    t.is(lines.length, 5);
    t.regex(run.stderr, /^error: NOT_FOUND: .+ \(command 7\)\n$/);
  });
});
