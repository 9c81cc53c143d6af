import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { q, sha256 } from '../_helpers/raw-client.js';
import { useSharedServer } from '../_helpers/shared-server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const shared = useSharedServer(test);
const session = shared.session;

test.serial('an upload cut off mid-way leaves the previous version and no temp file', async (t) => {
  const c = await session('cut');
  t.is((await c.upload('f.bin', Buffer.from('previous'))).status, 'OK');
  const go = await c.request(`UPLOAD f.bin ${10 << 20}`);
  t.is(go.status, 'GO');
  c.send(randomBytes(3 << 20));
  await waitFor(async () => (await leftovers(shared.current().root)).length > 0, 5_000, 10);
  c.close();
  t.true(await waitFor(async () => (await leftovers(shared.current().root)).length === 0));
  t.is(await readFile(join(shared.current().root, 'cut/f.bin'), 'utf8'), 'previous');
  const again = await session('cut');
  t.is((await again.upload('f.bin', Buffer.from('next'))).status, 'OK', 'the lock was released');
  again.close();
});

test.serial('a new file cut off mid-way never appears', async (t) => {
  const c = await session('cut-new');
  await c.request(`UPLOAD new.bin 1000`);
  c.send(Buffer.alloc(500));
  c.close();
  t.true(await waitFor(async () => (await leftovers(shared.current().root)).length === 0));
  const check = await session('cut-new');
  t.is((await check.list()).entries.length, 0);
  check.close();
});

test.serial('a checksum mismatch leaves the target unchanged', async (t) => {
  const c = await session('mismatch');
  await c.upload('f', Buffer.from('good'));
  const reply = await c.upload('f', Buffer.from('evil'), { checksumHex: '0123456789abcdef' });
  t.is(reply.code, 'CHECKSUM_MISMATCH');
  t.is(await readFile(join(shared.current().root, 'mismatch/f'), 'utf8'), 'good');
  t.deepEqual(await leftovers(shared.current().root), []);
  t.is((await c.request('PWD')).status, 'OK', 'the session goes on');
  c.close();
});

test.serial('a wrong trailer line discards the upload', async (t) => {
  const c = await session('trailer');
  await c.request('UPLOAD f 3');
  c.send('abcDIR\n');
  t.is((await c.reply()).code, 'BAD_REQUEST');
  t.is((await c.list()).entries.length, 0);
  c.close();
});

test.serial('more bytes than announced never change the target', async (t) => {
  const c = await session('extra');
  await c.upload('f', Buffer.from('kept'));
  await c.request('UPLOAD f 3');
  c.send('abcdefgh\n');
  t.is((await c.reply()).code, 'BAD_REQUEST');
  t.is(await readFile(join(shared.current().root, 'extra/f'), 'utf8'), 'kept');
  c.close();
});

const xxh3 = (data: string): string => {
  const hash = createChecksum('xxh3-64');
  hash.update(Buffer.from(data));
  return `CHECKSUM xxh3-64:${hash.digest()}\n`;
};

/** Byte counts that lie, each sent with and without waiting for GO (go=no). */
const LIES: { name: string; announced: number; send: string; leave: 'wait' | 'end' | 'destroy' }[] = [
  {
    name: 'more bytes, checksum of all of them',
    announced: 3,
    send: `abcdef${xxh3('abcdef')}`,
    leave: 'wait',
  },
  { name: 'bytes after announcing none', announced: 0, send: `abc${xxh3('abc')}`, leave: 'wait' },
  {
    name: 'fewer bytes and their checksum, then close',
    announced: 100,
    send: `abc${xxh3('abc')}`,
    leave: 'destroy',
  },
  { name: 'fewer bytes, then a half-close', announced: 100, send: 'abc', leave: 'end' },
  { name: 'no bytes, then a reset', announced: 5, send: '', leave: 'destroy' },
];

test.serial('byte counts that lie never change the target, with or without go=no', async (t) => {
  for (const [i, lie] of LIES.entries()) {
    for (const immediate of [false, true]) {
      const label = `${lie.name}${immediate ? ' (go=no)' : ''}`;
      const folder = `lies-${i}-${immediate}`;
      const c = await session(folder);
      t.is((await c.upload('f', Buffer.from('kept'))).status, 'OK');
      c.send(`UPLOAD f ${lie.announced}${immediate ? ' go=no' : ''}\n`);
      if (!immediate) t.is((await c.reply()).status, 'GO', label);
      c.send(lie.send);
      if (lie.leave === 'wait') {
        t.is((await c.reply()).code, 'BAD_REQUEST', label);
        t.is((await c.request('PWD')).status, 'OK', `${label}: the session is in step`);
      } else if (lie.leave === 'end') c.socket.end();
      else c.close();
      t.true(await waitFor(async () => (await leftovers(shared.current().root)).length === 0), label);
      t.is(await readFile(join(shared.current().root, folder, 'f'), 'utf8'), 'kept', label);
      c.close();
    }
  }
});

test.serial(
  'the announced count frames the body: bytes after it and their checksum are the next line',
  async (t) => {
    const c = await session('framing');
    t.is((await c.request('UPLOAD f 3')).status, 'GO');
    c.send(`abc${xxh3('abc')}zzz\n`);
    t.is((await c.reply()).status, 'OK');
    t.is((await c.reply()).code, 'BAD_REQUEST', 'zzz is a request of its own');
    t.is((await c.request('PWD')).status, 'OK', 'the session is in step');
    t.is(await readFile(join(shared.current().root, 'framing/f'), 'utf8'), 'abc');
    c.close();
  },
);

test.serial('DOWNLOAD of a file being uploaded is refused with BUSY naming the holder', async (t) => {
  const writer = await session('busy');
  await writer.upload('f', Buffer.from('v1'));
  t.is((await writer.request('UPLOAD f 100')).status, 'GO');
  writer.send(Buffer.alloc(10));
  const reader = await session('busy');
  const refused = await reader.download('f');
  t.is(refused.reply.code, 'BUSY');
  t.is(refused.reply.fields.holder, 'upload');
  t.regex(refused.reply.fields.since ?? '', /^\d{4}-\d\d-\d\dT/);
  t.is((await reader.request('UPLOAD f 1')).code, 'BUSY');
  t.is((await reader.request('DELETE f')).code, 'BUSY');
  t.is((await reader.request('MOVE f g')).code, 'BUSY');
  writer.close();
  t.true(await waitFor(async () => (await reader.download('f')).reply.status === 'OK'));
  reader.close();
});

test.serial('RMDIR of a folder with an upload running is BUSY', async (t) => {
  const c = await session('rmdir-busy');
  await c.request('MKDIR d');
  t.is((await c.request('UPLOAD d/f 100')).status, 'GO');
  const other = await session('rmdir-busy');
  t.is((await other.request('RMDIR d')).code, 'BUSY');
  c.close();
  t.true(await waitFor(async () => (await other.request('RMDIR d')).status === 'OK'));
  other.close();
});

test.serial(
  'a download that has begun delivers one complete version while an upload replaces it',
  async (t) => {
    const c = await session('consistent');
    const v1 = randomBytes(32 << 20);
    const v2 = randomBytes(32 << 20);
    await c.upload('big', v1);
    const reader = await session('consistent');
    reader.socket.pause();
    reader.send(`DOWNLOAD big\n`);
    await new Promise((r) => setTimeout(r, 200));
    t.is((await c.upload('big', v2)).status, 'OK');
    reader.socket.resume();
    const head = await reader.reply();
    const data = await reader.bytes(Number(head.fields.size));
    const tail = await reader.reply();
    t.is(tail.status, 'OK');
    t.is(sha256(data), sha256(v1));
    t.is(sha256((await c.download('big')).data as Buffer), sha256(v2));
    c.close();
    reader.close();
  },
);

test.serial('a 100 MiB round trip returns identical bytes, with both checksums', async (t) => {
  t.timeout(120_000);
  const c = await session('large');
  const data = randomBytes(100 << 20);
  for (const algo of ['xxh3-64', 'sha256']) {
    const name = `big-${algo}.bin`;
    t.is((await c.request(`UPLOAD ${q(name)} ${data.length} checksum=${algo}`)).status, 'GO');
    c.send(data);
    const hash = createChecksum(algo as 'sha256');
    hash.update(data);
    const expected = `${algo}:${hash.digest()}`;
    c.send(`CHECKSUM ${expected}\n`);
    t.is((await c.reply(60_000)).status, 'OK');
    c.send(`DOWNLOAD ${q(name)} checksum=${algo}\n`);
    const head = await c.reply();
    t.is(head.fields.size, String(data.length));
    const back = await c.bytes(data.length);
    const tail = await c.reply();
    t.is(sha256(back), sha256(data));
    t.is(tail.fields.checksum, expected);
  }
  c.close();
});
