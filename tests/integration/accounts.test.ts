// Accounts end to end: `filehive-server user add` writes the users file, the built server enforces
// LOGIN, homes and read-only access, and the client library and CLI log in.
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { FilehiveClient, FilehiveClientError } from '../../src/client/index.js';
import { createChecksum } from '../../src/protocol/checksum.js';
import { addUser, runServerCommand } from '../_helpers/accounts.js';
import { runCli } from '../_helpers/cli.js';
import { RawClient } from '../_helpers/raw-client.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

const PASSWORDS = { alice: 'alice password 1', bob: 'bob=reader "2"', admin: 'admin-password-3' };

let server: RunningServer;
let dir: string;
let usersFile: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'filehive-accounts-'));
  usersFile = join(dir, 'users');
  await addUser(usersFile, 'alice', PASSWORDS.alice);
  await addUser(usersFile, 'bob', PASSWORDS.bob, ['--home', 'shared', '--read-only']);
  await addUser(usersFile, 'admin', PASSWORDS.admin, ['--home', '/']);
  const root = join(dir, 'root');
  await mkdir(join(root, 'alice/docs'), { recursive: true });
  await mkdir(join(root, 'shared/sub'), { recursive: true });
  await writeFile(join(root, 'top-secret.txt'), 'not for alice');
  await writeFile(join(root, 'alice/a.txt'), 'alice data');
  await writeFile(join(root, 'alice/big.bin'), 'old');
  await writeFile(join(root, 'shared/s.txt'), 'shared data');
  await symlink('../top-secret.txt', join(root, 'alice/escape'));
  await symlink('../shared', join(root, 'alice/to-shared'));
  await symlink('/etc', join(root, 'alice/etc'));
  // Failures from 127.0.0.1 stay below the ban; the ban test uses an address of its own.
  server = await startServer({
    root,
    args: ['--users', usersFile, '--login-delay', '0', '--login-failures', '3'],
  });
});

test.after.always(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** LOGIN costs a scrypt on a machine that may be busy: a longer wait than other replies get. */
async function ask(c: RawClient, line: string) {
  c.send(`${line}\n`);
  return c.reply(60_000);
}

async function login(name: keyof typeof PASSWORDS, localAddress?: string): Promise<RawClient> {
  const c = await RawClient.connect(server.port, { localAddress });
  const reply = await ask(c, `LOGIN ${name} ${encode(PASSWORDS[name])}`);
  if (reply.status !== 'OK') throw new Error(reply.line);
  return c;
}

function encode(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

test('user add wrote a private users file that user list reads back', async (t) => {
  t.is((await stat(usersFile)).mode & 0o777, 0o600);
  const text = await readFile(usersFile, 'utf8');
  for (const password of Object.values(PASSWORDS)) t.false(text.includes(password));
  const list = await runServerCommand(['user', 'list'], '', { FILEHIVE_USERS: usersFile });
  t.is(list.code, 0, list.stderr);
  t.is(list.stdout, 'alice /alice read-write\nbob /shared read-only\nadmin / read-write\n');
  const again = await runServerCommand(['user', 'add', 'alice', '--users', usersFile], 'another password\n');
  t.is(again.code, 1);
  t.regex(again.stderr, /user alice exists/);
});

test('before LOGIN every command but NOOP and QUIT is AUTH_REQUIRED', async (t) => {
  const c = await RawClient.connect(server.port);
  for (const line of [
    'DIR',
    'PWD',
    'CHDIR alice',
    'DOWNLOAD alice/a.txt',
    'UPLOAD x.txt 1',
    'DELETE top-secret.txt',
    'MKDIR new',
    'RMDIR shared/sub',
    'MOVE top-secret.txt moved.txt',
    'CHECKSUM xxh3-64:0000000000000000',
  ]) {
    t.is((await c.request(line)).code, 'AUTH_REQUIRED', line);
  }
  t.like(await c.request('NOOP'), { status: 'OK' });
  t.like(await c.request('QUIT'), { status: 'OK' });
  await c.closed();
  await stat(join(server.root, 'top-secret.txt'));
  await t.throwsAsync(stat(join(server.root, 'new')));
});

test('an immediate upload before LOGIN is refused and ends the session', async (t) => {
  const c = await RawClient.connect(server.port);
  c.send('UPLOAD x.txt 5 go=no\nhello\nCHECKSUM xxh3-64:0000000000000000\nDIR\n');
  t.is((await c.reply()).code, 'AUTH_REQUIRED');
  await c.closed();
  t.true(c.isClosed);
});

test('wrong password and unknown user are both AUTH_FAILED; the session may try again', async (t) => {
  const c = await RawClient.connect(server.port, { localAddress: '127.0.0.2' });
  const wrong = await ask(c, 'LOGIN alice "not the password"');
  const unknown = await ask(c, `LOGIN mallory ${encode(PASSWORDS.alice)}`);
  t.is(wrong.code, 'AUTH_FAILED');
  t.is(unknown.code, 'AUTH_FAILED');
  t.is(wrong.fields.msg, unknown.fields.msg);
  t.is((await c.request('DIR')).code, 'AUTH_REQUIRED');
  t.like((await ask(c, `LOGIN alice ${encode(PASSWORDS.alice)}`)).fields, { user: 'alice', home: '/' });
  c.close();
});

test('LOGIN gives the session its home as / and nothing above it', async (t) => {
  const c = await login('alice');
  t.like((await c.request('PWD')).fields, { path: '/' });
  const { entries, final } = await c.list('/');
  t.is(final.status, 'OK');
  const names = Object.fromEntries(entries.map((e) => [e.fields.name, e.fields.type]));
  t.deepEqual(names, {
    'a.txt': 'file',
    'big.bin': 'file',
    docs: 'dir',
    escape: 'other',
    etc: 'other',
    'to-shared': 'other',
  });
  t.is((await c.download('a.txt')).data?.toString(), 'alice data');
  for (const line of [
    'CHDIR ..',
    'DIR /..',
    'DIR ../shared',
    'DOWNLOAD ../top-secret.txt',
    'UPLOAD ../x 1',
  ]) {
    t.is((await c.request(line)).code, 'BAD_PATH', line);
  }
  t.is((await c.request('CHDIR docs')).code, undefined);
  t.is((await c.request('CHDIR ../..')).code, 'BAD_PATH');
  t.like((await c.request('CHDIR ..')).fields, { path: '/' });
  c.close();
});

test('links in the home that lead out of it are refused, even to elsewhere in the root', async (t) => {
  const c = await login('alice');
  t.is((await c.download('escape')).reply.code, 'BAD_PATH');
  t.is((await c.request('CHDIR to-shared')).code, 'BAD_PATH');
  t.is((await c.request('DIR to-shared')).code, 'BAD_PATH');
  t.is((await c.download('to-shared/s.txt')).reply.code, 'BAD_PATH');
  t.is((await c.request('CHDIR etc')).code, 'BAD_PATH');
  t.is((await c.request('UPLOAD to-shared/new.txt 1')).code, 'BAD_PATH');
  t.is((await c.request('MOVE a.txt to-shared/')).code, 'BAD_PATH');
  t.is((await c.request('DELETE to-shared/s.txt')).code, 'BAD_PATH');
  await stat(join(server.root, 'shared/s.txt'));
  c.close();
});

test('a read-only account may list and download, and gets READ_ONLY for every write', async (t) => {
  const c = await login('bob');
  const { entries } = await c.list();
  t.deepEqual(entries.map((e) => e.fields.name).sort(), ['s.txt', 'sub']);
  t.is((await c.download('s.txt')).data?.toString(), 'shared data');
  t.like((await c.request('CHDIR sub')).fields, { path: '/sub' });
  t.like((await c.request('CHDIR /')).fields, { path: '/' });
  for (const line of ['UPLOAD new.txt 3', 'DELETE s.txt', 'MKDIR new', 'RMDIR sub', 'MOVE s.txt t.txt']) {
    t.is((await c.request(line)).code, 'READ_ONLY', line);
  }
  // An immediate upload's bytes are skipped: the session stays in step.
  const hash = createChecksum('xxh3-64');
  hash.update(Buffer.from('abc'));
  c.send(`UPLOAD new.txt 3 go=no\nabcCHECKSUM xxh3-64:${hash.digest()}\nNOOP\n`);
  t.is((await c.reply()).code, 'READ_ONLY');
  t.like(await c.reply(), { status: 'OK', fields: { msg: 'ok' } });
  await t.throwsAsync(stat(join(server.root, 'shared/new.txt')));
  await stat(join(server.root, 'shared/s.txt'));
  c.close();
});

test('lock keys are relative to the storage root: two accounts reaching one file contend', async (t) => {
  const alice = await login('alice');
  const admin = await login('admin');
  // Alice's upload holds the lock on /alice/big.bin (as the admin sees it) while its bytes are pending.
  const go = await alice.request('UPLOAD big.bin 10');
  t.is(go.status, 'GO');
  alice.send('12345');
  const busy = await admin.request('DELETE /alice/big.bin');
  t.is(busy.code, 'BUSY');
  t.is((await admin.download('/alice/big.bin')).reply.code, 'BUSY');
  const hash = createChecksum('xxh3-64');
  hash.update(Buffer.from('1234567890'));
  alice.send(`67890CHECKSUM xxh3-64:${hash.digest()}\n`);
  t.is((await alice.reply()).status, 'OK');
  t.is((await admin.download('/alice/big.bin')).data?.toString(), '1234567890');
  alice.close();
  admin.close();
});

test('the failure that reaches --login-failures is BANNED and closes the session', async (t) => {
  const c = await RawClient.connect(server.port, { localAddress: '127.0.0.9' });
  t.is((await ask(c, 'LOGIN alice wrong-1')).code, 'AUTH_FAILED');
  t.is((await ask(c, 'LOGIN alice wrong-2')).code, 'AUTH_FAILED');
  t.is((await ask(c, 'LOGIN alice wrong-3')).code, 'BANNED');
  await c.closed();
  t.true(c.isClosed);
});

test('the client library logs in with user and password; a wrong one is AUTH_FAILED', async (t) => {
  const client = await FilehiveClient.connect({
    host: '127.0.0.1',
    port: server.port,
    user: 'alice',
    password: PASSWORDS.alice,
  });
  t.is(client.user, 'alice');
  t.true((await client.list()).some((e) => e.name === 'a.txt'));
  await client.close();
  const err = await t.throwsAsync(
    FilehiveClient.connect({ host: '127.0.0.1', port: server.port, user: 'alice', password: 'nope' }),
  );
  t.true(err instanceof FilehiveClientError);
  t.is((err as FilehiveClientError).code, 'AUTH_FAILED');
  const anonymous = await FilehiveClient.connect({ host: '127.0.0.1', port: server.port });
  const refused = await t.throwsAsync(anonymous.list());
  t.is((refused as FilehiveClientError).code, 'AUTH_REQUIRED');
  await anonymous.close();
});

test('the CLI logs in with --user and FILEHIVE_PASSWORD, and with CONNECT host port user', async (t) => {
  const port = String(server.port);
  const env = { FILEHIVE_PASSWORD: PASSWORDS.bob };
  const listed = await runCli(['--user', 'bob', '-c', 'DIR; PWD', '127.0.0.1', port], { env });
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /s\.txt/);
  t.false(listed.stdout.includes('a.txt'));
  const refused = await runCli(['--user', 'bob', '-c', 'MKDIR x', '127.0.0.1', port], { env });
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^error: READ_ONLY: /m);
  const viaConnect = await runCli(['-c', `CONNECT 127.0.0.1 ${port} bob; DIR`], { env });
  t.is(viaConnect.code, 0, viaConnect.stderr);
  t.regex(viaConnect.stdout, /s\.txt/);
  const wrong = await runCli(['--user', 'bob', '-c', 'DIR', '127.0.0.1', port], {
    env: { FILEHIVE_PASSWORD: 'wrong' },
  });
  t.is(wrong.code, 4);
  t.regex(wrong.stderr, /^error: AUTH_FAILED: /m);
  const noPassword = await runCli(['--user', 'bob', '-c', 'DIR', '127.0.0.1', port], {
    env: { FILEHIVE_PASSWORD: '' },
  });
  t.is(noPassword.code, 2);
  t.regex(noPassword.stderr, /^error: USAGE: no password for bob: set FILEHIVE_PASSWORD/m);
  const anonymous = await runCli(['-c', 'DIR', '127.0.0.1', port]);
  t.is(anonymous.code, 4);
  t.regex(anonymous.stderr, /^error: AUTH_REQUIRED: /m);
});

test('SIGHUP reads the users file again: a user added while running can log in', async (t) => {
  await addUser(usersFile, 'carol', 'carol password 4');
  const reloaded = server.output().length;
  server.proc.kill('SIGHUP');
  // The primary checks the file, then each of the two workers reads it.
  const loaded = () => server.output().slice(reloaded).split('accounts loaded').length - 1;
  t.true(await waitFor(() => loaded() >= 2, 30_000), server.output().slice(reloaded));
  const c = await RawClient.connect(server.port, { localAddress: '127.0.0.3' });
  const reply = (await ask(c, 'LOGIN carol "carol password 4"')).line;
  c.close();
  t.regex(reply, /^OK user=carol /);
  await stat(join(server.root, 'carol'));
});

test('a users file with a bad line stops the server with one line and exit code 2', async (t) => {
  const bad = join(dir, 'bad-users');
  const good = (await readFile(usersFile, 'utf8')).split('\n').find((l) => l.startsWith('alice '));
  await writeFile(bad, `# accounts\n${good}\nbob hash=scrypt:1:2:3 home=/bob\n`, { mode: 0o600 });
  const run = await runServerCommand(['--users', bad, '--root', join(dir, 'root'), '--port', '0']);
  t.is(run.code, 2);
  t.is(run.stderr.trim().split('\n').length, 1);
  t.regex(run.stderr, /users file .*bad-users line 3: /);
  t.false(run.stdout.includes('listening'));
  // A good file where clients could download it is refused too.
  const exposed = join(server.root, 'users-copy');
  await writeFile(exposed, await readFile(usersFile), { mode: 0o600 });
  const inRoot = await runServerCommand(['--users', exposed, '--root', server.root, '--port', '0']);
  t.is(inRoot.code, 2);
  t.regex(
    inRoot.stderr,
    /^filehive-server: users file .* is inside the storage root, where clients could reach it; /,
  );
  await rm(exposed);
});
