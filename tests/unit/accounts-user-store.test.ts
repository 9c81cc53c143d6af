// The users file on disk: atomic writes with mode 0600, and one clear line for a file that cannot be used.
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { hashPassword } from '../../src/accounts/password-hash.js';
import { loadUsersFile, UsersFileError, writeUsersFile } from '../../src/accounts/user-store.js';

const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-users-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('write then load gives the users back; the file is 0600 and no temp file is left', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'users');
  const users = [
    { name: 'a', hash: await hashPassword('pw', CHEAP), home: '/a', access: 'read-only' as const },
  ];
  await writeUsersFile(file, users);
  t.is((await stat(file)).mode & 0o777, 0o600);
  t.deepEqual(await readdir(dir), ['users']);
  t.deepEqual((await loadUsersFile(file)).users, users);
  await writeUsersFile(file, []);
  t.deepEqual((await loadUsersFile(file)).users, []);
  t.deepEqual(await readdir(dir), ['users']);
});

test('a bad line is one line naming the file and the line number, with a count of the rest', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'users');
  await writeFile(file, '# x\nalice hash=nope\nbob\ncarol\n', { mode: 0o600 });
  const err = await t.throwsAsync(loadUsersFile(file), { instanceOf: UsersFileError });
  t.is(err?.message, `users file ${file} line 2: the hash must start with scrypt: (and 2 more problems)`);
});

test('a missing file is an error, unless missingOk; a folder is an error', async (t) => {
  const dir = await tempDir(t);
  await t.throwsAsync(loadUsersFile(join(dir, 'none')), {
    message: /cannot read users file .*: no such file$/,
  });
  t.deepEqual((await loadUsersFile(join(dir, 'none'), { missingOk: true })).users, []);
  await t.throwsAsync(loadUsersFile(dir), { message: /is not a regular file/ });
});

test('a file others may write is refused; one others may read gives a warning', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'users');
  await writeFile(file, '');
  await chmod(file, 0o620);
  await t.throwsAsync(loadUsersFile(file), { message: /writable by other users \(mode 620\); chmod 600/ });
  await chmod(file, 0o644);
  t.deepEqual((await loadUsersFile(file)).warnings, [
    `users file ${file} is readable by other users; chmod 600 ${file}`,
  ]);
  await chmod(file, 0o600);
  t.deepEqual((await loadUsersFile(file)).warnings, []);
});
