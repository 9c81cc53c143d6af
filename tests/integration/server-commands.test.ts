import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { RawClient } from '../_helpers/raw-client.js';
import { useSharedServer } from '../_helpers/shared-server.js';

const shared = useSharedServer(test);
const session = shared.session;

test('greets with the protocol name, version and checksums', async (t) => {
  const client = await RawClient.connect(shared.current().port);
  t.regex(client.greeting, /^HELLO proto=filehive\/1 /);
  t.regex(client.greeting, /checksums=xxh3-64,sha256/);
  client.close();
});

test('upload then download returns the same bytes, and the file is a plain file under the root', async (t) => {
  const c = await session('roundtrip');
  const data = Buffer.from('hello filehive\n');
  const up = await c.upload('a.txt', data);
  t.is(up.status, 'OK', up.line);
  t.regex(up.fields.checksum ?? '', /^xxh3-64:[0-9a-f]{16}$/);
  t.deepEqual(await readFile(join(shared.current().root, 'roundtrip/a.txt')), data);
  const down = await c.download('a.txt');
  t.deepEqual(down.data, data);
  t.is(down.reply.fields.checksum, up.fields.checksum);
  c.close();
});

test('upload replaces an existing file in one step', async (t) => {
  const c = await session('replace');
  t.is((await c.upload('f', Buffer.from('one'))).status, 'OK');
  t.is((await c.upload('f', Buffer.from('second version'))).status, 'OK');
  t.is(await readFile(join(shared.current().root, 'replace/f'), 'utf8'), 'second version');
  c.close();
});

test('names with spaces, quotes and non-ASCII letters are kept byte for byte', async (t) => {
  const c = await session('names');
  const names = [
    'my file.txt',
    'résumé.pdf',
    '日本語 ファイル',
    'quote "q" and \\ slash',
    'e\u0301.txt',
    '\u00e9.txt',
  ];
  for (const name of names) t.is((await c.upload(name, Buffer.from(name))).status, 'OK', name);
  const { entries, final } = await c.list();
  t.is(final.fields.count, String(names.length));
  t.deepEqual(
    entries.map((e) => e.fields.name),
    [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  for (const name of names) {
    t.is(await readFile(join(shared.current().root, 'names', name), 'utf8'), name);
    t.is((await c.download(name)).data?.toString(), name);
  }
  c.close();
});

test('files put into the root by other means are listed and served', async (t) => {
  const c = await session('foreign');
  await writeFile(join(shared.current().root, 'foreign/outside-made.bin'), Buffer.alloc(1000, 7));
  const { entries } = await c.list();
  t.like(entries[0]?.fields, { type: 'file', size: '1000', name: 'outside-made.bin' });
  t.deepEqual((await c.download('outside-made.bin')).data, Buffer.alloc(1000, 7));
  c.close();
});

test('DIR lists type, size and mtime sorted by name and hides the server own files', async (t) => {
  const c = await session('listing');
  await c.request('MKDIR sub');
  await c.upload('b.bin', Buffer.alloc(10));
  await c.upload('a.bin', Buffer.alloc(3));
  await writeFile(join(shared.current().root, 'listing/.filehive-leftover.tmp'), 'x');
  const { entries, final } = await c.list();
  t.deepEqual(
    entries.map((e) => [e.fields.name, e.fields.type, e.fields.size]),
    [
      ['a.bin', 'file', '3'],
      ['b.bin', 'file', '10'],
      ['sub', 'dir', '0'],
    ],
  );
  const mtime = Date.parse(entries[0]?.fields.mtime ?? '');
  t.true(Math.abs(mtime - (await stat(join(shared.current().root, 'listing/a.bin'))).mtimeMs) < 2);
  t.is(final.status, 'OK');
  t.is((await c.request('DIR a.bin')).code, 'NOT_A_DIRECTORY');
  t.is((await c.request('DIR nothing')).code, 'NOT_FOUND');
  c.close();
});

test('MKDIR, CHDIR, PWD and RMDIR with their errors', async (t) => {
  const c = await session('folders');
  t.is((await c.request('MKDIR d')).status, 'OK');
  t.is((await c.request('MKDIR d')).code, 'EXISTS');
  t.is((await c.request('MKDIR missing/d')).code, 'NOT_FOUND');
  await c.upload('file', Buffer.from('x'));
  t.is((await c.request('MKDIR file/d')).code, 'NOT_A_DIRECTORY');
  t.is((await c.request('CHDIR file')).code, 'NOT_A_DIRECTORY');
  t.is((await c.request('CHDIR nowhere')).code, 'NOT_FOUND');
  t.like((await c.request('CHDIR d')).fields, { path: '/folders/d' });
  t.like((await c.request('PWD')).fields, { path: '/folders/d' });
  t.like((await c.request('CHDIR ..')).fields, { path: '/folders' });
  await c.upload('d/inner', Buffer.from('x'));
  t.is((await c.request('RMDIR d')).code, 'NOT_EMPTY');
  t.is((await c.request('RMDIR file')).code, 'NOT_A_DIRECTORY');
  t.is((await c.request('RMDIR gone')).code, 'NOT_FOUND');
  t.is((await c.request('DELETE d/inner')).status, 'OK');
  t.is((await c.request('RMDIR d')).status, 'OK');
  t.is((await c.request('RMDIR /')).code, 'BAD_PATH');
  c.close();
});

test('DELETE removes files only', async (t) => {
  const c = await session('delete');
  await c.upload('f', Buffer.from('x'));
  await c.request('MKDIR d');
  t.is((await c.request('DELETE d')).code, 'IS_A_DIRECTORY');
  t.is((await c.request('DELETE f')).status, 'OK');
  t.is((await c.request('DELETE f')).code, 'NOT_FOUND');
  t.is((await c.download('f')).reply.code, 'NOT_FOUND');
  t.is((await c.download('d')).reply.code, 'IS_A_DIRECTORY');
  c.close();
});

test('MOVE renames, moves into folders, and never overwrites', async (t) => {
  const c = await session('move');
  await c.upload('a', Buffer.from('A'));
  await c.upload('b', Buffer.from('B'));
  await c.request('MKDIR dir');
  t.is((await c.request('MOVE a b')).code, 'EXISTS');
  t.like((await c.request('MOVE a dir')).fields, { from: '/move/a', to: '/move/dir/a' });
  t.is(await readFile(join(shared.current().root, 'move/dir/a'), 'utf8'), 'A');
  t.like((await c.request('MOVE b renamed')).fields, { to: '/move/renamed' });
  await c.upload('a', Buffer.from('A2'));
  t.is((await c.request('MOVE a dir')).code, 'EXISTS');
  t.is(await readFile(join(shared.current().root, 'move/dir/a'), 'utf8'), 'A');
  t.is((await c.request('MOVE nothing x')).code, 'NOT_FOUND');
  t.is((await c.request('MOVE dir dir/sub')).code, 'BAD_PATH');
  t.is((await c.request('MOVE / x')).code, 'BAD_PATH');
  t.like((await c.request('MOVE dir moved-dir')).fields, { to: '/move/moved-dir' });
  t.is(await readFile(join(shared.current().root, 'move/moved-dir/a'), 'utf8'), 'A');
  c.close();
});

test('bad requests are answered and the session goes on', async (t) => {
  const c = await session('bad');
  t.is((await c.request('FROB x')).code, 'BAD_REQUEST');
  t.is((await c.request('UPLOAD onlyname')).code, 'BAD_REQUEST');
  t.is((await c.request('UPLOAD f -1')).code, 'BAD_REQUEST');
  t.is((await c.request('UPLOAD f 10 checksum=md5')).code, 'BAD_REQUEST');
  t.is((await c.request('UPLOAD "unterminated 10')).code, 'BAD_REQUEST');
  t.is((await c.request('CHECKSUM xxh3-64:00')).code, 'BAD_REQUEST');
  c.send(Buffer.from([0x44, 0x49, 0x52, 0x20, 0xff, 0xfe, 0x0a]));
  t.is((await c.reply()).code, 'BAD_REQUEST');
  t.is((await c.request('noop')).status, 'OK');
  c.close();
});

test('pipelined requests are answered in order', async (t) => {
  const c = await session('pipeline');
  c.send('MKDIR p1\nMKDIR p2\nCHDIR p1\nPWD\nMKDIR p1\n');
  const replies = [await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()];
  t.deepEqual(
    replies.map((r) => r.status),
    ['OK', 'OK', 'OK', 'OK', 'OK'],
  );
  t.is(replies[3]?.fields.path, '/pipeline/p1');
  c.close();
});

test('QUIT ends the session', async (t) => {
  const c = await RawClient.connect(shared.current().port);
  t.is((await c.request('QUIT')).status, 'OK');
  await c.closed();
  t.true(c.isClosed);
});
