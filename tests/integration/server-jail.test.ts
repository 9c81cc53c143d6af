import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { RawClient } from '../_helpers/raw-client.js';
import { type RunningServer, startServer } from '../_helpers/server.js';

let server: RunningServer;
let outside: string;
test.before(async () => {
  server = await startServer({ workers: 2 });
  outside = join(tmpdir(), `filehive-outside-${process.pid}`);
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await mkdir(join(server.root, 'jail'), { recursive: true });
  await symlink(outside, join(server.root, 'jail/out-dir'));
  await symlink(join(outside, 'secret.txt'), join(server.root, 'jail/out-file'));
  await writeFile(join(server.root, 'jail/inside.txt'), 'inside');
  await symlink(join(server.root, 'jail/inside.txt'), join(server.root, 'jail/in-link'));
});
test.after.always(async () => {
  await server?.stop();
});

async function jailed(): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  await c.request('CHDIR /jail');
  return c;
}

test('.. above the root is refused, not clamped', async (t) => {
  const c = await jailed();
  for (const path of ['../../etc/passwd', '/../etc/passwd', '../..', 'a/../../../x', '/..']) {
    t.is((await c.download(path)).reply.code, 'BAD_PATH', path);
  }
  t.is((await c.request('CHDIR ../..')).code, 'BAD_PATH');
  t.is((await c.request('UPLOAD ../../escape.txt 1')).code, 'BAD_PATH');
  t.like((await c.request('CHDIR ..')).fields, { path: '/' });
  c.close();
});

test('symbolic links that lead outside the root are refused for every command', async (t) => {
  const c = await jailed();
  t.is((await c.download('out-file')).reply.code, 'BAD_PATH');
  t.is((await c.download('out-dir/secret.txt')).reply.code, 'BAD_PATH');
  t.is((await c.request('CHDIR out-dir')).code, 'BAD_PATH');
  t.is((await c.request('DIR out-dir')).code, 'BAD_PATH');
  t.is((await c.request('UPLOAD out-dir/new.txt 1')).code, 'BAD_PATH');
  t.is((await c.request('MKDIR out-dir/sub')).code, 'BAD_PATH');
  t.is((await c.request('DELETE out-dir/secret.txt')).code, 'BAD_PATH');
  t.is((await c.request('MOVE out-dir/secret.txt stolen')).code, 'BAD_PATH');
  t.is((await c.request('MOVE inside.txt out-dir/')).code, 'BAD_PATH');
  t.deepEqual(await readdir(outside), ['secret.txt']);
  c.close();
});

test('DIR shows links leading outside as other, without their size', async (t) => {
  const c = await jailed();
  const { entries } = await c.list();
  const byName = Object.fromEntries(entries.map((e) => [e.fields.name, e.fields]));
  t.like(byName['out-file'], { type: 'other', size: '0' });
  t.like(byName['out-dir'], { type: 'other' });
  t.like(byName['in-link'], { type: 'file', size: '6' });
  t.is((await c.download('in-link')).data?.toString(), 'inside');
  c.close();
});

test('NUL bytes, reserved names and over-long names are BAD_PATH', async (t) => {
  const c = await jailed();
  t.is((await c.request('DOWNLOAD "a\\x00b"')).code, 'BAD_PATH');
  t.is((await c.request('MKDIR "x\\x00"')).code, 'BAD_PATH');
  for (const name of ['.filehive', '.filehive/locks', '.FileHive-x.tmp', 'a/.filehive-1.tmp']) {
    t.is((await c.request(`MKDIR "${name}"`)).code, 'BAD_PATH', name);
    t.is((await c.download(name)).reply.code, 'BAD_PATH', name);
  }
  t.is((await c.request(`MKDIR ${'n'.repeat(256)}`)).code, 'BAD_PATH');
  t.is((await c.request(`MKDIR ${'n'.repeat(255)}`)).status, 'OK');
  t.is((await c.request(`DIR ${'d/'.repeat(2100)}`)).code, 'BAD_PATH');
  c.close();
});

test('a line over the limit is answered BAD_REQUEST and the session is closed', async (t) => {
  const c = await jailed();
  c.send(`MKDIR ${'x'.repeat(20_000)}`);
  const reply = await c.reply();
  t.is(reply.code, 'BAD_REQUEST');
  t.regex(reply.fields.msg ?? '', /too long/);
  c.close();
  const again = await jailed();
  t.is((await again.request('PWD')).status, 'OK');
  again.close();
});
