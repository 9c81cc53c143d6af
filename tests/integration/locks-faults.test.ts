// Faults of docs/LOCKS.md: stale and skewed locks, lost locks, mismatched settings, restarts after a crash.
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rmdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { holdForeignLock } from '../_helpers/locks.js';
import { childPids } from '../_helpers/processes.js';
import { RawClient } from '../_helpers/raw-client.js';
import { SERVER_JS, startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const STALE = ['--lock-stale', '2'];

test('a second instance with another --lock-stale refuses to start', async (t) => {
  const first = await startServer({ workers: 1, args: STALE });
  t.teardown(() => first.stop());
  const second = spawnSync(
    process.execPath,
    [SERVER_JS, '--port', '0', '--root', first.root, '--workers', '1', '--lock-stale', '5'],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  t.is(second.status, 2);
  t.regex(second.stderr, /--lock-stale 2 but this instance has 5/);
  t.is(second.stderr.trim().split('\n').length, 1);
  const same = await startServer({ workers: 1, root: first.root, args: STALE });
  t.is(await same.stop(), 0, 'the same value starts');
});

test('a lock dated in the future whose holder is gone is taken over after the stale period', async (t) => {
  const server = await startServer({ workers: 2, args: STALE });
  t.teardown(() => server.stop());
  const lock = await holdForeignLock(server.root, 'future.bin', { offsetMs: 3_600_000 });
  const c = await RawClient.connect(server.port);
  t.is((await c.request('UPLOAD future.bin 1')).code, 'BUSY');
  const started = Date.now();
  t.true(await waitFor(async () => (await c.request('DELETE future.bin')).code === 'NOT_FOUND', 8_000, 100));
  const waited = Date.now() - started;
  t.true(waited < 2_000 + 400 + 1_500, `free after ${waited} ms`);
  t.regex(server.output(), /took over a lock dated in the future/);
  await lock.release();
  c.close();
});

test('a live lock of a host whose clock is an hour behind is never broken', async (t) => {
  const server = await startServer({ workers: 2, args: STALE });
  t.teardown(() => server.stop());
  const lock = await holdForeignLock(server.root, 'skewed.bin', { offsetMs: -3_600_000, refreshMs: 400 });
  const c = await RawClient.connect(server.port);
  const deadline = Date.now() + 5_000;
  let refusals = 0;
  while (Date.now() < deadline) {
    t.is((await c.request('UPLOAD skewed.bin 1')).code, 'BUSY');
    refusals++;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.true(refusals > 10);
  t.notRegex(server.output(), /took over/);
  await lock.release();
  c.close();
});

test('a lock lost mid-upload aborts that upload with LOCK_LOST; the worker goes on', async (t) => {
  const server = await startServer({ workers: 1, args: STALE });
  t.teardown(() => server.stop());
  const workers = await childPids(server.proc.pid as number);
  const c = await RawClient.connect(server.port);
  await c.upload('kept.bin', Buffer.from('previous'));
  t.is((await c.request('UPLOAD kept.bin 1000')).status, 'GO');
  c.send(Buffer.alloc(10));
  const lockDir = join(server.root, '.filehive/locks', `${lockIdOf('kept.bin')}.lock`);
  await rmdir(lockDir);
  const reply = await c.reply(5_000);
  t.is(reply.code, 'LOCK_LOST');
  await c.closed();
  t.deepEqual(await childPids(server.proc.pid as number), workers, 'no worker died');
  t.true(await waitFor(async () => (await leftovers(server.root)).length === 0));
  const again = await RawClient.connect(server.port);
  t.is((await again.download('kept.bin')).data?.toString(), 'previous');
  again.close();
});

test('after a SIGKILL of the whole server, a restart frees its locks within the stale period and sweeps its temp files', async (t) => {
  t.timeout(60_000);
  const first = await startServer({ workers: 2, args: STALE });
  const clients = await Promise.all(['a', 'b', 'c'].map(() => RawClient.connect(first.port)));
  for (const [i, c] of clients.entries()) {
    await c.upload(`f${i}`, Buffer.from(`v1-${i}`));
    t.is((await c.request(`UPLOAD f${i} 100000`)).status, 'GO');
    c.send(Buffer.alloc(1000));
  }
  await waitFor(async () => (await leftovers(first.root)).filter((p) => p.endsWith('.tmp')).length === 3);
  // An orphan from an even older crash, whose lock is long gone.
  const orphan = join(first.root, 'sub', `.filehive-${lockIdOf('sub/x')}-0123456789abcdef.tmp`);
  await mkdir(join(first.root, 'sub'));
  await writeFile(orphan, 'partial');
  const old = new Date(Date.now() - 60_000);
  await utimes(orphan, old, old);
  const workers = await childPids(first.proc.pid as number);
  first.proc.kill('SIGKILL');
  for (const pid of workers) process.kill(pid, 'SIGKILL');
  await first.stop({ keepRoot: true });
  for (const c of clients) c.close();
  t.true((await leftovers(first.root)).length > 3, 'locks and temp files were left behind');

  const restarted = await startServer({ workers: 2, root: first.root, args: STALE });
  t.teardown(() => restarted.stop());
  const started = Date.now();
  const c = await RawClient.connect(restarted.port);
  t.true(await waitFor(async () => (await c.upload('f0', Buffer.from('v2'))).status === 'OK', 10_000, 100));
  t.true(Date.now() - started < 2_000 + 2_000 + 1_000, 'free within the stale period and a janitor round');
  t.true(await waitFor(async () => (await leftovers(first.root)).length === 0, 8_000));
  t.deepEqual(await readdir(join(first.root, 'sub')), []);
  for (const i of [1, 2]) t.is((await c.download(`f${i}`)).data?.toString(), `v1-${i}`);
  c.close();
});
