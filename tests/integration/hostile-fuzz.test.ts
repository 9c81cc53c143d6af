// Protocol fuzzing against the running server (docs/SECURITY.md#hostile-input-testing): many sessions
// send generated garbage at once; afterwards the server still serves, nothing changed outside the root,
// no worker died and no lock or temp file is left. Replay a failure with the seed it logs:
//   FILEHIVE_FUZZ_SEED=<seed> npx ava tests/integration/hostile-fuzz.test.ts
// More runs: FILEHIVE_FUZZ_RUNS=500 (and FILEHIVE_FUZZ_TIME_MS for a bigger time budget).
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runFuzz } from '../_helpers/hostile-fuzz.js';
import { RawClient, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers, listTree } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

test('hostile sessions neither crash a worker, nor escape the root, nor leave locks or temp files', async (t) => {
  t.timeout(90_000);
  const parent = await mkdtemp(join(tmpdir(), 'filehive-fuzz-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const root = join(parent, 'root');
  await mkdir(join(root, 'dir1'), { recursive: true });
  await mkdir(join(parent, 'sentinel'));
  await writeFile(join(parent, 'sentinel', 'secret.txt'), 'secret');
  await writeFile(join(parent, 'outside.txt'), 'outside');
  await writeFile(join(root, 'f.bin'), 'hello');
  await writeFile(join(root, 'dir1', 'x'), 'x');
  await writeFile(join(root, 'caf\u00e9'), 'nfc');
  // A link inside the root that leads out: the jail must refuse every use of it.
  await symlink('../sentinel', join(root, 'escape'));

  const server = await startServer({ root, workers: 2 });
  t.teardown(() => server.stop());
  await runFuzz(t, {
    port: server.port,
    serverPid: server.proc.pid as number,
    watched: parent,
    writable: ['root'],
    forbidden: [parent, await realpath(parent)],
  });

  // The server still serves: a fresh session from an address the fuzz never used.
  const c = await RawClient.connect(server.port);
  const data = randomBytes(1 << 20);
  const name = `/after-fuzz-${randomBytes(4).toString('hex')}.bin`;
  t.is((await c.upload(name, data)).status, 'OK');
  const back = await c.download(name);
  t.is(back.reply.status, 'OK');
  t.is(sha256(back.data as Buffer), sha256(data));
  c.close();

  t.notRegex(server.output(), /died|replacing it|exited|uncaught|unhandled/i);
  t.true(
    await waitFor(async () => (await leftovers(root)).length === 0, 10_000, 100),
    `left over: ${(await leftovers(root)).join(', ')}`,
  );
  // The planted link may have been replaced, removed or moved (those act on the name itself), but the
  // server never makes a link of its own.
  const links: string[] = [];
  for (const p of await listTree(root)) {
    if ((await lstat(join(root, p))).isSymbolicLink()) links.push(await readlink(join(root, p)));
  }
  t.true(links.length <= 1 && links.every((l) => l === '../sentinel'), `links: ${links.join(', ')}`);
  t.is(await server.stop({ keepRoot: true }), 0);
});
