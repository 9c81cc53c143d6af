// The protocol fuzz of hostile-fuzz.test.ts against a server with accounts: most sessions log in (as a
// read-write account or a read-only one) and then send garbage, one never logs in. Nothing may change
// outside the read-write account's home: not the rest of the root, not the read-only home, not what
// lies outside the root, not through the links planted in the homes. Replay with FILEHIVE_FUZZ_SEED.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { formatScryptHash, hashPassword } from '../../src/accounts/password-hash.js';
import { runFuzz } from '../_helpers/hostile-fuzz.js';
import { bytes } from '../_helpers/protocol.js';
import { RawClient, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const PASSWORD = 'fuzz-password-1';
/** The cheapest scrypt the users file accepts: the fuzz logs in hundreds of times. */
const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

test('hostile logged-in sessions never reach outside their home, nor write with a read-only account', async (t) => {
  t.timeout(90_000);
  const parent = await mkdtemp(join(tmpdir(), 'filehive-fuzz-accounts-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const root = join(parent, 'root');
  for (const dir of ['alice/dir1', 'ro/docs', 'other']) await mkdir(join(root, dir), { recursive: true });
  await mkdir(join(parent, 'sentinel'));
  await writeFile(join(parent, 'sentinel', 'secret.txt'), 'secret');
  await writeFile(join(root, 'other', 'secret.txt'), 'another home');
  await writeFile(join(root, 'alice', 'f.bin'), 'hello');
  await writeFile(join(root, 'alice', 'dir1', 'x'), 'x');
  await writeFile(join(root, 'ro', 'f.bin'), 'read only');
  await writeFile(join(root, 'ro', 'docs', 'x'), 'x');
  // Links out of a home: one stays inside the root, one leaves it.
  for (const home of ['alice', 'ro']) {
    await symlink('../other', join(root, home, 'escape'));
    await symlink('../../sentinel', join(root, home, 'sentinel'));
  }
  const users = join(parent, 'users');
  const hash = async () => formatScryptHash(await hashPassword(PASSWORD, CHEAP));
  await writeFile(
    users,
    `alice hash=${await hash()} home=/alice access=read-write\n` +
      `reader hash=${await hash()} home=/ro access=read-only\n`,
  );
  await chmod(users, 0o600);

  const server = await startServer({
    root,
    workers: 2,
    // No delays or bans: the fuzz is about what a logged-in session can do, not about guessing.
    args: ['--users', users, '--login-delay', '0', '--login-failures', '1000'],
  });
  t.teardown(() => server.stop());
  await runFuzz(t, {
    port: server.port,
    serverPid: server.proc.pid as number,
    watched: parent,
    writable: ['root/alice', 'root/.filehive'],
    forbidden: [parent, await realpath(parent)],
    // Four sessions as alice, one as the read-only reader, one that never logs in.
    prefix: (i) =>
      i < 4 ? bytes(`LOGIN alice ${PASSWORD}\n`) : i === 4 ? bytes(`LOGIN reader ${PASSWORD}\n`) : null,
  });

  const c = await RawClient.connect(server.port);
  t.is((await c.request(`LOGIN alice ${PASSWORD}`)).status, 'OK');
  const data = randomBytes(1 << 20);
  const name = `/after-fuzz-${randomBytes(4).toString('hex')}.bin`;
  t.is((await c.upload(name, data)).status, 'OK');
  t.is(sha256((await c.download(name)).data as Buffer), sha256(data));
  c.close();
  t.notRegex(server.output(), /died|replacing it|exited|uncaught|unhandled/i);
  t.true(
    await waitFor(async () => (await leftovers(root)).length === 0, 10_000, 100),
    `left over: ${(await leftovers(root)).join(', ')}`,
  );
  t.is(await server.stop({ keepRoot: true }), 0);
});
