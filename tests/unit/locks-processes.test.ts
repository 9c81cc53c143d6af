// Contention between processes: proper-lockfile keeps one lock table per process, so the other holder
// here is a real child process running its own LockManager (tests/_helpers/lock-child.ts).
import { mkdir, mkdtemp, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { FilehiveError } from '../../src/errors.js';
import { LockJanitor, type TakeoverReason } from '../../src/locks/janitor.js';
import { type LockHolder, LockManager, readHolder } from '../../src/locks/lock-manager.js';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { createLogger } from '../../src/log/logger.js';
import { type LockChild, type LockChildConfig, startLockChild } from '../_helpers/lock-child.js';

const setup = async (t: ExecutionContext) => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'filehive-locks-proc-')));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const dir = join(root, '.filehive', 'locks');
  await mkdir(dir, { recursive: true });
  const children: LockChild[] = [];
  t.teardown(async () => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
  });
  const spawnHolder = async (config: Omit<LockChildConfig, 'dir'>) => {
    const child = await startLockChild({ dir, ...config });
    children.push(child);
    return child;
  };
  return { root, dir, spawnHolder };
};

const holderOf = async (dir: string, key: string): Promise<LockHolder> =>
  (await readHolder(join(dir, `${lockIdOf(key)}.holder`))) as LockHolder;

const busyHolder = (err: unknown) =>
  err instanceof FilehiveError && err.code === 'BUSY' ? err.fields.holder : `not BUSY: ${String(err)}`;

test('a lock held by another process: BUSY naming its op, assertReadable BUSY, then free after its release', async (t) => {
  const { dir, spawnHolder } = await setup(t);
  const child = await spawnHolder({
    staleMs: 10_000,
    instance: 'child-a',
    op: 'delete',
    keys: ['docs/a.bin'],
  });
  const holder = await holderOf(dir, 'docs/a.bin');
  t.is(holder.pid, child.pid);
  t.not(holder.pid, process.pid);
  t.is(holder.instance, 'child-a');
  t.is(holder.op, 'delete');

  const busy: string[] = [];
  const locks = await LockManager.open({
    dir,
    staleMs: 10_000,
    waitMs: 0,
    instance: 'parent-a',
    onBusy: (op) => busy.push(op),
  });
  const started = performance.now();
  const err = await t.throwsAsync(locks.acquire(['docs/a.bin'], 'upload'));
  t.true(performance.now() - started < 200);
  t.is(busyHolder(err), 'delete');
  t.is((err as FilehiveError).fields.since, new Date(holder.since).toISOString());
  t.deepEqual(busy, ['upload']);

  const readErr = await t.throwsAsync(locks.assertReadable('docs/a.bin'));
  t.is(busyHolder(readErr), 'delete');
  t.true(await locks.isHeld(lockIdOf('docs/a.bin')));
  await t.notThrowsAsync(locks.assertReadable('docs/b.bin'));

  await child.release();
  await t.notThrowsAsync(locks.assertReadable('docs/a.bin'));
  t.false(await locks.isHeld(lockIdOf('docs/a.bin')));
  const mine = await locks.acquire(['docs/a.bin'], 'upload');
  t.is((await holderOf(dir, 'docs/a.bin')).pid, process.pid);
  await mine.release();
  t.deepEqual(await readdir(dir), []);
});

test('with --lock-wait, an acquire waits for another process to release', async (t) => {
  const { dir, spawnHolder } = await setup(t);
  const child = await spawnHolder({ staleMs: 10_000, instance: 'child-b', op: 'upload', keys: ['k'] });
  const locks = await LockManager.open({ dir, staleMs: 10_000, waitMs: 5_000, instance: 'parent-b' });
  const started = performance.now();
  const pending = locks.acquire(['k'], 'delete');
  setTimeout(() => void child.release(), 300);
  const handle = await pending;
  const waited = performance.now() - started;
  t.true(waited >= 250 && waited < 4_000, `waited ${waited} ms`);
  t.is((await holderOf(dir, 'k')).op, 'delete');
  await handle.release();
});

test('a multi-key acquire meeting another process’s lock gives back what it took', async (t) => {
  const { dir, spawnHolder } = await setup(t);
  await spawnHolder({ staleMs: 10_000, instance: 'child-c', op: 'move', keys: ['m'] });
  const locks = await LockManager.open({ dir, staleMs: 10_000, waitMs: 0, instance: 'parent-c' });
  const err = await t.throwsAsync(locks.acquire(['a', 'm', 'z'], 'move'));
  t.is(busyHolder(err), 'move');
  t.deepEqual((await readdir(dir)).sort(), [`${lockIdOf('m')}.holder`, `${lockIdOf('m')}.lock`].sort());
});

test('a holder killed with SIGKILL keeps its lock until the janitor frees its dead worker', async (t) => {
  const { root, dir, spawnHolder } = await setup(t);
  const temp = join(root, `.filehive-${lockIdOf('up.bin')}-0123456789abcdef.tmp`);
  await writeFile(temp, 'partial upload');
  const child = await spawnHolder({
    staleMs: 10_000,
    instance: 'inst-d',
    op: 'upload',
    keys: ['up.bin'],
    temp,
  });
  child.process.kill('SIGKILL');
  await child.exited;

  const locks = await LockManager.open({ dir, staleMs: 10_000, waitMs: 0, instance: 'parent-d' });
  t.is(busyHolder(await t.throwsAsync(locks.acquire(['up.bin'], 'upload'))), 'upload');

  const takeovers: Array<[TakeoverReason, number]> = [];
  const janitor = new LockJanitor({
    dir,
    root,
    staleMs: 10_000,
    instance: 'inst-d',
    log: createLogger({ level: 'silent', format: 'json', proc: 'test' }),
    onTakeover: (reason, futureMs) => takeovers.push([reason, futureMs]),
  });
  await janitor.releaseDeadWorker(child.pid);
  t.deepEqual(takeovers, [['dead-worker', 0]]);
  t.deepEqual(await readdir(dir), []);
  await t.throwsAsync(stat(temp), { code: 'ENOENT' });
  const handle = await locks.acquire(['up.bin'], 'upload');
  await handle.release();
});

test('a holder ended by SIGTERM removes its lock on the way out', async (t) => {
  const { dir, spawnHolder } = await setup(t);
  const child = await spawnHolder({ staleMs: 10_000, instance: 'inst-e', op: 'mkdir', keys: ['d'] });
  t.true((await readdir(dir)).includes(`${lockIdOf('d')}.lock`));
  child.process.kill('SIGTERM');
  await child.exited;
  t.false((await readdir(dir)).includes(`${lockIdOf('d')}.lock`));
});
