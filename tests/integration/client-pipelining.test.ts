// The client library pipelines: calls made without awaiting the previous one share the session, and
// small files go as immediate uploads (no round trip for GO). Against the real server.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { FilehiveClient, type FilehiveClientError } from '../../src/client/index.js';
import { IMMEDIATE_MAX_BYTES } from '../../src/client/upload.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';

let server: RunningServer;
let local: string;
test.before(async () => {
  server = await startServer({ workers: 1 });
  local = await mkdtemp(join(tmpdir(), 'filehive-pipe-'));
});
test.after.always(async () => {
  await server?.stop();
  await rm(local, { recursive: true, force: true });
});

test.serial('the client sees the immediate-upload feature', async (t) => {
  const c = await FilehiveClient.connect({ host: '127.0.0.1', port: server.port });
  t.true(c.server.features.includes('immediate-upload'));
  await c.close();
});

test.serial('200 uploads and downloads issued at once all arrive intact', async (t) => {
  const sizes = Array.from({ length: 200 }, (_, i) =>
    i % 50 === 0 ? IMMEDIATE_MAX_BYTES + 1 : i % 7 === 0 ? 0 : 1 + ((i * 997) % 8192),
  );
  const files = sizes.map((n) => randomBytes(n));
  const src = join(local, 'src');
  await mkdir(src);
  await Promise.all(files.map((data, i) => writeFile(join(src, `f${i}`), data)));
  const c = await FilehiveClient.connect({ host: '127.0.0.1', port: server.port });
  await c.mkdir('pipe');
  await c.chdir('pipe');
  const uploaded = await Promise.all(files.map((_, i) => c.upload(join(src, `f${i}`))));
  t.deepEqual(
    uploaded.map((u) => u.bytes),
    sizes,
  );
  const dst = join(local, 'dst');
  await mkdir(dst);
  await Promise.all(files.map((_, i) => c.download(`f${i}`, { dir: dst })));
  for (let i = 0; i < files.length; i++) {
    t.deepEqual(await readFile(join(server.root, 'pipe', `f${i}`)), files[i]);
    t.deepEqual(await readFile(join(dst, `f${i}`)), files[i]);
  }
  t.deepEqual(await leftovers(server.root), []);
  await c.close();
});

test.serial('a refused upload among pipelined ones fails alone', async (t) => {
  const c = await FilehiveClient.connect({ host: '127.0.0.1', port: server.port });
  await c.mkdir('mixed');
  await c.chdir('mixed');
  await c.mkdir('taken');
  const small = join(local, 'small.txt');
  await writeFile(small, 'hello');
  const results = await Promise.allSettled([
    c.upload(small, { remoteName: 'a.txt' }),
    c.upload(small, { remoteName: 'taken' }),
    c.upload(small, { remoteName: 'b.txt' }),
  ]);
  t.is(results[0].status, 'fulfilled');
  t.is(results[1].status, 'rejected');
  t.is((results[1] as PromiseRejectedResult).reason.code as FilehiveClientError['code'], 'IS_A_DIRECTORY');
  t.is(results[2].status, 'fulfilled');
  t.is(await readFile(join(server.root, 'mixed', 'b.txt'), 'utf8'), 'hello');
  await c.close();
});
