// Shutdown and restart with transfers of every kind running (docs/SECURITY.md#guarantees). The single-
// transfer cases are in server-lifecycle.test.ts and locks-faults.test.ts; these mix them, on both
// workers, and kill the whole process group the way an OOM killer or `kill -9 -PGID` would.
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { childPids } from '../_helpers/processes.js';
import { RawClient, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const BIG = 64 << 20;

const checksumLine = (data: string): string => {
  const hash = createChecksum('xxh3-64');
  hash.update(Buffer.from(data));
  return `CHECKSUM xxh3-64:${hash.digest()}\n`;
};

const temps = async (root: string) => (await leftovers(root)).filter((p) => p.endsWith('.tmp'));

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('SIGTERM with uploads and downloads running: what can finish does, the rest is cut cleanly, exit 0', async (t) => {
  t.timeout(60_000);
  const server = await startServer({ workers: 2, args: ['--shutdown-grace', '2'] });
  t.teardown(() => server.stop());
  const big = randomBytes(BIG);
  await writeFile(join(server.root, 'big.bin'), big);
  await writeFile(join(server.root, 'stalled.bin'), 'v1');

  const idle = await RawClient.connect(server.port);
  const finisher = await RawClient.connect(server.port);
  t.is((await finisher.request('UPLOAD fast.bin 6')).status, 'GO');
  finisher.send('abc');
  const stalled = await RawClient.connect(server.port);
  t.is((await stalled.request('UPLOAD stalled.bin 1000000')).status, 'GO');
  stalled.send(Buffer.alloc(1000));
  const immediate = await RawClient.connect(server.port);
  immediate.send('UPLOAD immediate.bin 1000 go=no\n0123456789');
  // Two readers that stop reading: one resumes within the grace period, one never does.
  const readers = await Promise.all([RawClient.connect(server.port), RawClient.connect(server.port)]);
  for (const r of readers) {
    r.socket.pause();
    r.send('DOWNLOAD big.bin\n');
  }
  await waitFor(async () => (await temps(server.root)).length === 3);
  await new Promise((r) => setTimeout(r, 200)); // the downloads are blocked on a full socket

  const stopping = server.stop({ keepRoot: true });
  const signalled = Date.now();
  t.true(
    await waitFor(() => idle.isClosed, 1_900, 20),
    'an idle session is closed at once, not after the grace period',
  );
  finisher.send(`def${checksumLine('abcdef')}`);
  t.is((await finisher.reply()).status, 'OK', 'an upload finished within the grace period is stored');
  const [quick, stuck] = readers as [RawClient, RawClient];
  quick.socket.resume();
  const head = await quick.reply();
  t.is(head.status, 'DATA');
  t.is(sha256(await quick.bytes(BIG)), sha256(big));
  t.is((await quick.reply()).status, 'OK', 'a download resumed within the grace period completes');

  t.is(await stopping, 0, 'exit code 0');
  const took = Date.now() - signalled;
  t.log(`stopped ${took} ms after SIGTERM (--shutdown-grace 2)`);
  t.true(took < 2_000 + 4_000, `stopped ${took} ms after SIGTERM`);
  for (const c of [stalled, immediate]) {
    t.is((await c.reply()).code, 'SHUTTING_DOWN', 'a cut upload hears why');
    t.true(await waitFor(() => c.isClosed, 5_000), 'a cut upload is closed');
  }
  stuck.socket.resume();
  t.true(await waitFor(() => stuck.isClosed, 5_000));
  const received = stuck.socket.bytesRead;
  t.true(received < BIG, `a download cut by the shutdown delivers fewer bytes (${received}) than announced`);

  t.deepEqual(await leftovers(server.root), [], 'no temp file or lock is left');
  t.is(await readFile(join(server.root, 'fast.bin'), 'utf8'), 'abcdef');
  t.is(
    await readFile(join(server.root, 'stalled.bin'), 'utf8'),
    'v1',
    'the cut upload left the previous version',
  );
  await t.throwsAsync(
    access(join(server.root, 'immediate.bin')),
    undefined,
    'the cut new file never appears',
  );
  t.notRegex(server.output(), /died|killing it/);
});

test('after SIGKILL of the whole process group, a restart is blocked no longer than the stale period and sweeps the temp files', async (t) => {
  t.timeout(60_000);
  const args = ['--lock-stale', '2'];
  const first = await startServer({ workers: 2, args, detached: true });
  const root = first.root;
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'a'));
  await mkdir(join(root, 'b'));
  await writeFile(join(root, 'a', 'one.bin'), 'v1-one');
  await writeFile(join(root, 'b', 'two.bin'), 'v1-two');
  await writeFile(join(root, 'big.bin'), randomBytes(16 << 20)); // a download in progress, too
  const clients = await Promise.all([1, 2, 3, 4].map(() => RawClient.connect(first.port)));
  const [c1, c2, c3, reader] = clients as [RawClient, RawClient, RawClient, RawClient];
  t.is((await c1.request('UPLOAD a/one.bin 100000')).status, 'GO');
  c1.send(Buffer.alloc(5000));
  c2.send('UPLOAD b/two.bin 100000 go=no\n');
  c2.send(Buffer.alloc(5000));
  t.is((await c3.request('UPLOAD b/new.bin 100000')).status, 'GO');
  c3.send(Buffer.alloc(5000));
  reader.socket.pause();
  reader.send('DOWNLOAD big.bin\n');
  t.true(await waitFor(async () => (await temps(root)).length === 3), 'three uploads are running');
  const workers = await childPids(first.proc.pid as number);
  t.is(workers.length, 2);

  process.kill(-(first.proc.pid as number), 'SIGKILL');
  await first.stop({ keepRoot: true });
  t.true(await waitFor(() => workers.every((pid) => !isAlive(pid))), 'the workers died with the primary');
  for (const c of clients) c.close();
  const left = await leftovers(root);
  t.true(left.filter((p) => p.endsWith('.tmp')).length === 3 && left.length > 3, `left: ${left.join(', ')}`);

  const second = await startServer({ workers: 2, root, args });
  t.teardown(() => second.stop());
  const restarted = Date.now();
  const c = await RawClient.connect(second.port);
  for (const [name, previous] of [
    ['a/one.bin', 'v1-one'],
    ['b/two.bin', 'v1-two'],
  ]) {
    t.true(
      await waitFor(async () => (await c.download(name as string)).reply.status === 'OK', 10_000, 100),
      `${name} is readable again`,
    );
    t.is((await c.download(name as string)).data?.toString(), previous, 'the previous version survived');
  }
  t.true(
    await waitFor(async () => (await c.upload('b/new.bin', Buffer.from('v2'))).status === 'OK', 10_000, 100),
  );
  const blocked = Date.now() - restarted;
  t.log(`names free ${blocked} ms after the restart (--lock-stale 2)`);
  // The stale period, one janitor round (about the same again) and slack for a busy machine.
  t.true(blocked < 2_000 + 2_000 + 2_000, `names were blocked ${blocked} ms after the restart`);
  t.true(await waitFor(async () => (await leftovers(root)).length === 0, 10_000), 'orphans swept');
  t.is((await c.upload('a/one.bin', Buffer.from('v2'))).status, 'OK');
  c.close();
  t.is(await second.stop({ keepRoot: true }), 0);
});
