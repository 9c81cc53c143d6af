// Every row of docs/LOCKS.md's table, through the real server with 2 workers.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { holdForeignLock } from '../_helpers/locks.js';
import { RawClient } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { useSharedServer } from '../_helpers/shared-server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const shared = useSharedServer(test);
const session = shared.session;

test.serial('UPLOAD locks its name from GO until the rename', async (t) => {
  const writer = await session('row-upload');
  const other = await session('row-upload');
  await writer.upload('f', Buffer.from('v1'));
  t.is((await writer.request('UPLOAD f 4')).status, 'GO');
  writer.send('ab');
  const busy = await other.download('f');
  t.like(busy.reply, { code: 'BUSY' });
  t.is(busy.reply.fields.holder, 'upload');
  for (const line of ['UPLOAD f 1', 'DELETE f', 'MOVE f g', 'MKDIR f', 'RMDIR f']) {
    t.is((await other.request(line)).code, 'BUSY', line);
  }
  await other.upload('g', Buffer.from('g'));
  t.is((await other.request('MOVE g f')).code, 'BUSY', 'as a MOVE destination too');
  writer.send('cd');
  const hash = createChecksum('xxh3-64');
  hash.update(Buffer.from('abcd'));
  writer.send(`CHECKSUM xxh3-64:${hash.digest()}\n`);
  t.is((await writer.reply()).status, 'OK');
  t.is((await other.download('f')).data?.toString(), 'abcd', 'free again after the rename');
  writer.close();
  other.close();
});

test.serial(
  'DELETE, MOVE, MKDIR and RMDIR locks refuse every other command on the name, DOWNLOAD names the holder',
  async (t) => {
    const c = await session('row-foreign');
    await c.upload('f', Buffer.from('x'));
    for (const op of ['delete', 'move', 'mkdir', 'rmdir']) {
      const lock = await holdForeignLock(shared.current().root, 'row-foreign/f', { op, refreshMs: 500 });
      const refused = await c.download('f');
      t.is(refused.reply.code, 'BUSY', `${op} ${refused.reply.line}`);
      t.is(refused.reply.fields.holder, op);
      for (const line of ['UPLOAD f 1', 'DELETE f', 'MOVE f g', 'MKDIR f', 'RMDIR f']) {
        t.is((await c.request(line)).code, 'BUSY', `${op}: ${line}`);
      }
      await lock.release();
    }
    t.is((await c.download('f')).data?.toString(), 'x');
    c.close();
  },
);

test.serial('MOVE locks both names; crossing MOVEs never deadlock', async (t) => {
  const c = await session('row-move');
  await c.upload('a', Buffer.from('A'));
  const dst = await holdForeignLock(shared.current().root, 'row-move/b', { op: 'upload', refreshMs: 500 });
  t.is((await c.request('MOVE a b')).code, 'BUSY');
  await dst.release();
  t.is((await c.request('MOVE a b')).status, 'OK');
  await c.upload('a', Buffer.from('A'));
  await c.request('MKDIR x');
  await c.request('MKDIR y');
  const clients = await Promise.all(Array.from({ length: 8 }, () => session('row-move')));
  const results = (
    await Promise.all(
      clients.map(async (client, i) => [
        await client.request(i % 2 ? 'MOVE a b2' : 'MOVE b2 a'),
        await client.request(i % 2 ? 'MOVE x y/x' : 'MOVE y/x x'),
      ]),
    )
  ).flat();
  for (const r of results) t.true(['OK', 'BUSY', 'NOT_FOUND', 'EXISTS'].includes(r.code ?? r.status), r.line);
  for (const client of clients) client.close();
  c.close();
});

test.serial('an upload into a folder being removed fails cleanly either way', async (t) => {
  const c = await session('row-rmdir');
  const other = await session('row-rmdir');
  await c.request('MKDIR d');
  t.is((await c.request('UPLOAD d/f 10')).status, 'GO');
  t.is((await other.request('RMDIR d')).code, 'BUSY', 'RMDIR while an upload into it runs');
  c.close();
  t.true(await waitFor(async () => (await other.request('RMDIR d')).status === 'OK'));
  t.is((await other.request('UPLOAD d/f 10')).code, 'NOT_FOUND', 'upload into the removed folder');
  const lock = await holdForeignLock(shared.current().root, 'row-rmdir/e', { op: 'rmdir', refreshMs: 500 });
  t.is((await other.request('MKDIR e')).code, 'BUSY');
  await lock.release();
  other.close();
});

test.serial(
  'a download that has begun delivers the complete old file although it is deleted meanwhile',
  async (t) => {
    const c = await session('row-download');
    const data = Buffer.alloc(24 << 20, 3);
    await c.upload('f', data);
    const reader = await session('row-download');
    reader.socket.pause();
    reader.send('DOWNLOAD f\n');
    await new Promise((r) => setTimeout(r, 200));
    t.is((await c.request('DELETE f')).status, 'OK');
    reader.socket.resume();
    const head = await reader.reply();
    const body = await reader.bytes(Number(head.fields.size));
    t.is((await reader.reply()).status, 'OK');
    t.true(body.equals(data));
    t.is((await c.download('f')).reply.code, 'NOT_FOUND');
    c.close();
    reader.close();
  },
);

test.serial('--lock-wait lets a second UPLOAD wait for the first instead of BUSY', async (t) => {
  const waiting = await startServer({ workers: 2, args: ['--lock-wait', '5000'] });
  t.teardown(() => waiting.stop());
  const first = await RawClient.connect(waiting.port);
  const second = await RawClient.connect(waiting.port);
  t.is((await first.request('UPLOAD f 1')).status, 'GO');
  const started = Date.now();
  const pending = second.request('UPLOAD f 1');
  await new Promise((r) => setTimeout(r, 300));
  first.close();
  const reply = await pending;
  t.is(reply.status, 'GO');
  t.true(Date.now() - started >= 250, 'it waited for the first upload');
  const lock = await holdForeignLock(waiting.root, 'g', { refreshMs: 500 });
  const before = Date.now();
  t.is((await first.request('NOOP').catch(() => ({ status: 'closed' }))).status, 'closed');
  const third = await RawClient.connect(waiting.port);
  t.is((await third.request('DELETE g')).code, 'BUSY');
  t.true(Date.now() - before >= 4_500, 'BUSY only after the wait');
  await lock.release();
  second.close();
  third.close();
});

test.serial('the lock folder holds only settings after all this', async (t) => {
  t.true(
    await waitFor(async () => (await leftovers(shared.current().root)).length === 0),
    (await leftovers(shared.current().root)).join(),
  );
  t.is(
    JSON.parse(await readFile(join(shared.current().root, '.filehive/locks/settings.json'), 'utf8')).staleMs,
    10_000,
  );
});
