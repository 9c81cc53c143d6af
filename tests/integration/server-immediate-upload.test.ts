// Immediate uploads (`UPLOAD name size go=no`, PROTOCOL.md#upload): the bytes follow the request
// without waiting for GO, so many small uploads can be pipelined on one session. A refusal must read
// and drop exactly those bytes, keeping the session in step.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { q } from '../_helpers/raw-client.js';
import { useSharedServer } from '../_helpers/shared-server.js';
import { leftovers } from '../_helpers/tree.js';

const shared = useSharedServer(test);

function immediate(name: string, data: Buffer, hex?: string): Buffer {
  const hash = createChecksum('xxh3-64');
  hash.update(data);
  return Buffer.concat([
    Buffer.from(`UPLOAD ${q(name)} ${data.length} go=no\n`),
    data,
    Buffer.from(`CHECKSUM xxh3-64:${hex ?? hash.digest()}\n`),
  ]);
}

test.serial('the greeting offers immediate uploads', async (t) => {
  const c = await shared.session('greet');
  t.regex(c.greeting, /features=[^ ]*immediate-upload/);
  c.close();
});

test.serial('pipelined immediate uploads are stored, answered in order, with no GO', async (t) => {
  const c = await shared.session('many');
  const files = Array.from({ length: 50 }, (_, i) => Buffer.from(`file number ${i}\n`.repeat(i + 1)));
  c.send(Buffer.concat(files.map((data, i) => immediate(`f${i}.txt`, data))));
  for (let i = 0; i < files.length; i++) {
    const reply = await c.reply();
    t.is(reply.status, 'OK', reply.line);
    t.is(reply.fields.msg, `stored /many/f${i}.txt`);
  }
  for (let i = 0; i < files.length; i++) {
    t.deepEqual(await readFile(join(shared.current().root, 'many', `f${i}.txt`)), files[i]);
  }
  t.is((await c.request('PWD')).status, 'OK');
  c.close();
});

test.serial('a refused immediate upload drops its bytes and the session goes on', async (t) => {
  const c = await shared.session('refused');
  await mkdir(join(shared.current().root, 'refused', 'folder'));
  // The body spells a request: were it read as commands, DELETE would run.
  t.is((await c.upload('keep.txt', Buffer.from('kept'))).status, 'OK');
  const sneaky = Buffer.from('DELETE keep.txt\n');
  c.send(
    Buffer.concat([
      immediate('folder', sneaky),
      immediate('missing/dir/x', sneaky),
      immediate('../../../escape', sneaky),
      immediate('bad.txt', sneaky, '0000000000000000'),
      immediate('ok.txt', Buffer.from('fine')),
    ]),
  );
  t.is((await c.reply()).code, 'IS_A_DIRECTORY');
  t.is((await c.reply()).code, 'NOT_FOUND');
  t.is((await c.reply()).code, 'BAD_PATH');
  t.is((await c.reply()).code, 'CHECKSUM_MISMATCH');
  t.is((await c.reply()).status, 'OK');
  t.is(await readFile(join(shared.current().root, 'refused', 'keep.txt'), 'utf8'), 'kept');
  t.is(await readFile(join(shared.current().root, 'refused', 'ok.txt'), 'utf8'), 'fine');
  t.deepEqual(await leftovers(shared.current().root), []);
  c.close();
});

test.serial('a busy name refuses an immediate upload without losing step', async (t) => {
  const holder = await shared.session('busy');
  const other = await shared.session('busy');
  t.is((await holder.request('UPLOAD f.bin 100')).status, 'GO');
  other.send(immediate('f.bin', Buffer.from('QUIT\n')));
  t.is((await other.reply()).code, 'BUSY');
  t.is((await other.request('PWD')).status, 'OK');
  holder.close();
  other.close();
});

test.serial('an unreadable request asking not to wait for GO closes the session', async (t) => {
  const c = await shared.session('unreadable');
  c.send('UPLOAD x notanumber go=no\nDELETE y\n');
  t.is((await c.reply()).code, 'BAD_REQUEST');
  await c.closed();
  t.pass();
});

test.serial('go takes only yes or no', async (t) => {
  const c = await shared.session('goval');
  t.is((await c.request('UPLOAD x 1 go=maybe')).code, 'BAD_REQUEST');
  c.close();
});
