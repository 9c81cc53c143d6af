import { lstat, mkdir, mkdtemp, readdir, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { FilehiveError } from '../../src/errors.js';
import { LockJanitor, type TakeoverReason } from '../../src/locks/janitor.js';
import {
  type LockHolder,
  LockManager,
  type LockManagerOptions,
  type LockOperation,
  readHolder,
  readTempRecord,
} from '../../src/locks/lock-manager.js';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { createLogger } from '../../src/log/logger.js';
import { waitFor } from '../_helpers/wait.js';

let instances = 0;

interface Events {
  busy: LockOperation[];
  acquired: Array<[LockOperation, number]>;
  compromised: Array<[string, Error]>;
}

const setup = async (t: ExecutionContext, options: Partial<LockManagerOptions> = {}) => {
  const base = await mkdtemp(join(tmpdir(), 'filehive-locks-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'locks');
  const events: Events = { busy: [], acquired: [], compromised: [] };
  const open = (more: Partial<LockManagerOptions> = {}) =>
    LockManager.open({
      dir,
      staleMs: 10_000,
      waitMs: 0,
      instance: `test-${process.pid}-${++instances}`,
      onBusy: (op) => events.busy.push(op),
      onAcquired: (op, waited) => events.acquired.push([op, waited]),
      onCompromised: (key, err) => events.compromised.push([key, err]),
      ...options,
      ...more,
    });
  const locks = await open();
  return { base, dir, locks, events, open };
};

/**
 * The holder record of `key` once it is there (and matches `accept`): a LockManager may write it a
 * moment after it has taken the lock.
 */
const readHolderFile = async (
  dir: string,
  key: string,
  accept: (holder: LockHolder) => boolean = () => true,
): Promise<LockHolder> => {
  const path = join(dir, `${lockIdOf(key)}.holder`);
  const deadline = performance.now() + 2_000;
  for (;;) {
    const holder = await readHolder(path);
    if (holder && accept(holder)) return holder;
    if (performance.now() > deadline) throw new Error(`no matching holder record at ${path}`);
    await sleep(10);
  }
};

const isBusy = (err: unknown): err is FilehiveError => err instanceof FilehiveError && err.code === 'BUSY';

test('open creates the lock folder; acquire and release leave nothing behind', async (t) => {
  const { dir, locks, events } = await setup(t);
  t.deepEqual(await readdir(dir), []);
  const handle = await locks.acquire(['docs/a.bin'], 'upload');
  const id = lockIdOf('docs/a.bin');
  await readHolderFile(dir, 'docs/a.bin');
  t.deepEqual((await readdir(dir)).sort(), [`${id}.holder`, `${id}.lock`]);
  t.true((await stat(join(dir, `${id}.lock`))).isDirectory());
  t.deepEqual(await readdir(join(dir, `${id}.lock`)), [], 'nothing inside the lock folder (rmdir must work)');
  t.false(handle.signal.aborted);
  await handle.release();
  t.deepEqual(await readdir(dir), []);
  t.is(events.acquired.length, 1);
  t.is(events.acquired[0]?.[0], 'upload');
  t.true((events.acquired[0]?.[1] ?? -1) >= 0);
  t.deepEqual(events.busy, []);
});

const readTempRecordOf = async (dir: string, key: string) => {
  const path = join(dir, `${lockIdOf(key)}.temp`);
  const deadline = performance.now() + 2_000;
  for (;;) {
    const record = await readTempRecord(path);
    if (record) return record as { temp?: string; key?: string; host?: string };
    if (performance.now() > deadline) throw new Error(`no temp record at ${path}`);
    await sleep(10);
  }
};

test('the holder record says who holds the lock while it is held', async (t) => {
  const { dir, locks } = await setup(t, { instance: 'instance-holder-record' });
  const before = Date.now();
  const handle = await locks.acquire(['docs/a.bin'], 'upload', '/root/docs/.filehive-x.tmp');
  const holder = await readHolderFile(dir, 'docs/a.bin');
  t.is(holder.op, 'upload');
  t.true(holder.since >= before && holder.since <= Date.now(), String(holder.since));
  t.is(holder.pid, process.pid);
  t.is(holder.instance, 'instance-holder-record');
  const link = await readlink(join(dir, `${lockIdOf('docs/a.bin')}.holder`));
  t.true(Buffer.byteLength(link) < 60, 'short enough for an inline symbolic link');
  // The temp file is recorded once the upload has lasted a little while.
  const temp = await readTempRecordOf(dir, 'docs/a.bin');
  t.like(temp, { temp: '/root/docs/.filehive-x.tmp', key: 'docs/a.bin', host: hostname() });
  await handle.release();
  await t.throwsAsync(lstat(join(dir, `${lockIdOf('docs/a.bin')}.holder`)), { code: 'ENOENT' });
  await t.throwsAsync(lstat(join(dir, `${lockIdOf('docs/a.bin')}.temp`)), { code: 'ENOENT' });
});

test('without a temp file the holder record has no temp; with several keys temp goes with the first in sorted order', async (t) => {
  const { dir, locks } = await setup(t);
  const plain = await locks.acquire(['x'], 'delete');
  const move = await locks.acquire(['z/dst', 'a/src'], 'move', '/tmp/.filehive-t');
  t.is((await readTempRecordOf(dir, 'a/src')).temp, '/tmp/.filehive-t');
  t.is(await readTempRecord(join(dir, `${lockIdOf('x')}.temp`)), null);
  t.is(await readTempRecord(join(dir, `${lockIdOf('z/dst')}.temp`)), null);
  t.is((await readHolderFile(dir, 'z/dst')).op, 'move');
  await Promise.all([plain.release(), move.release()]);
  t.deepEqual(await readdir(dir), []);
});

test('a second acquire of a held key in the same process is BUSY at once, naming the holder', async (t) => {
  const { dir, locks, events } = await setup(t);
  const handle = await locks.acquire(['docs/a.bin'], 'upload');
  const holder = await readHolderFile(dir, 'docs/a.bin');
  for (const op of ['upload', 'delete', 'move', 'mkdir', 'rmdir'] as const) {
    const started = performance.now();
    const err = await t.throwsAsync(locks.acquire(['docs/a.bin'], op));
    t.true(isBusy(err), String(err));
    t.true(performance.now() - started < 100, 'no waiting with --lock-wait 0');
    t.deepEqual((err as FilehiveError).fields, {
      holder: 'upload',
      since: new Date(holder.since).toISOString(),
    });
    t.is(err?.message, `locked by an upload since ${new Date(holder.since).toISOString()}`);
  }
  t.deepEqual(events.busy, ['upload', 'delete', 'move', 'mkdir', 'rmdir']);
  // The refused attempts did not disturb the holder.
  t.false(handle.signal.aborted);
  t.deepEqual(await readHolderFile(dir, 'docs/a.bin'), holder);
  await handle.release();
  t.deepEqual(await readdir(dir), []);
});

test('BUSY from another LockManager reads the holder record from the lock folder', async (t) => {
  const { dir, locks, open } = await setup(t);
  const other = await open();
  const handle = await locks.acquire(['d'], 'delete');
  await readHolderFile(dir, 'd');
  const err = await t.throwsAsync(other.acquire(['d'], 'upload'));
  t.true(isBusy(err), String(err));
  t.is((err as FilehiveError).fields.holder, 'delete');
  t.regex(err?.message ?? '', /^locked by a delete since \d{4}-\d\d-\d\dT/);
  await handle.release();
  const mine = await other.acquire(['d'], 'upload');
  await mine.release();
});

test('with --lock-wait a second acquire succeeds once the first releases within the wait', async (t) => {
  const { locks, events } = await setup(t, { waitMs: 2_000 });
  const first = await locks.acquire(['k'], 'upload');
  setTimeout(() => void first.release(), 300);
  const started = performance.now();
  const second = await locks.acquire(['k'], 'delete');
  const waited = performance.now() - started;
  t.true(waited >= 250 && waited < 1_500, `waited ${waited} ms`);
  const last = events.acquired.at(-1);
  t.is(last?.[0], 'delete');
  t.true((last?.[1] ?? 0) >= 250, `onAcquired reported ${last?.[1]} ms`);
  t.deepEqual(events.busy, []);
  await second.release();
});

test('with --lock-wait a second acquire fails BUSY after about the wait when the lock stays held', async (t) => {
  const { locks, events } = await setup(t, { waitMs: 400 });
  const first = await locks.acquire(['k'], 'mkdir');
  const started = performance.now();
  const err = await t.throwsAsync(locks.acquire(['k'], 'upload'));
  const waited = performance.now() - started;
  t.true(isBusy(err), String(err));
  t.is((err as FilehiveError).fields.holder, 'mkdir');
  t.true(waited >= 300 && waited < 900, `gave up after ${waited} ms`);
  t.deepEqual(events.busy, ['upload']);
  await first.release();
});

test('acquire of several keys takes them all; BUSY on any releases the ones already taken', async (t) => {
  const { dir, locks, open, events } = await setup(t);
  const other = await open();
  const all = await locks.acquire(['c', 'a', 'b', 'a'], 'move');
  t.deepEqual(
    (await readdir(dir)).filter((e) => e.endsWith('.lock')).sort(),
    ['a', 'b', 'c'].map((key) => `${lockIdOf(key)}.lock`).sort(),
  );
  for (const key of ['a', 'b', 'c']) await t.throwsAsync(other.assertReadable(key));
  await all.release();
  t.deepEqual(await readdir(dir), []);

  // 'b' is held: a request for a, b and c takes 'a' (sorted first), then meets 'b' and must give 'a' back.
  const b = await locks.acquire(['b'], 'upload');
  await readHolderFile(dir, 'b');
  for (const who of [locks, other]) {
    const err = await t.throwsAsync(who.acquire(['c', 'b', 'a'], 'move'));
    t.true(isBusy(err), String(err));
    t.is((err as FilehiveError).fields.holder, 'upload');
    t.deepEqual(await readdir(dir), [`${lockIdOf('b')}.holder`, `${lockIdOf('b')}.lock`].sort());
    await t.notThrowsAsync(locks.assertReadable('a'));
    await t.notThrowsAsync(other.assertReadable('a'));
  }
  t.true(events.busy.every((op) => op === 'move'));
  // Nothing leaked in memory either: a and c can be taken right away by both managers.
  const ac = await locks.acquire(['a', 'c'], 'delete');
  await ac.release();
  const ac2 = await other.acquire(['a', 'c'], 'delete');
  await ac2.release();
  await b.release();
  t.deepEqual(await readdir(dir), []);
});

test('acquire of several keys with --lock-wait gives the taken ones back when the wait runs out', async (t) => {
  const { dir, locks, open } = await setup(t, { waitMs: 300 });
  const other = await open({ waitMs: 0 });
  const b = await other.acquire(['b'], 'upload');
  const pending = locks.acquire(['a', 'b'], 'move');
  await t.throwsAsync(pending);
  t.deepEqual(await readdir(dir), [`${lockIdOf('b')}.holder`, `${lockIdOf('b')}.lock`].sort());
  await b.release();
});

test('assertReadable passes when free and throws BUSY with the holder op while held', async (t) => {
  const { dir, locks, open } = await setup(t);
  const other = await open();
  await t.notThrowsAsync(locks.assertReadable('docs/a.bin'));
  const handle = await locks.acquire(['docs/a.bin'], 'upload');
  await readHolderFile(dir, 'docs/a.bin');
  for (const who of [locks, other]) {
    const err = await t.throwsAsync(who.assertReadable('docs/a.bin'));
    t.true(isBusy(err), String(err));
    t.is((err as FilehiveError).fields.holder, 'upload');
  }
  await t.notThrowsAsync(other.assertReadable('docs/b.bin'));
  await handle.release();
  await t.notThrowsAsync(locks.assertReadable('docs/a.bin'));
  await t.notThrowsAsync(other.assertReadable('docs/a.bin'));
});

test('assertReadable is BUSY as soon as an acquire in this process has started', async (t) => {
  const { locks } = await setup(t);
  const pending = locks.acquire(['k'], 'upload');
  // The acquire has not reached the disk yet; the in-memory record already refuses the download.
  const err = await t.throwsAsync(locks.assertReadable('k'));
  t.is((err as FilehiveError).code, 'BUSY');
  t.is((err as FilehiveError).fields.holder, 'upload');
  await (await pending).release();
});

test('assertReadable is BUSY for a lock folder without a holder record (a holder between mkdir and record)', async (t) => {
  const { dir, locks } = await setup(t);
  await mkdir(join(dir, `${lockIdOf('k')}.lock`));
  const err = await t.throwsAsync(locks.assertReadable('k'));
  t.true(isBusy(err), String(err));
  t.is((err as FilehiveError).fields.holder, undefined);
});

test('isHeld(id) follows the lock', async (t) => {
  const { locks, open } = await setup(t);
  const other = await open();
  const id = locks.idOf('docs/a.bin');
  t.is(id, lockIdOf('docs/a.bin'));
  t.false(await locks.isHeld(id));
  const handle = await locks.acquire(['docs/a.bin'], 'upload');
  t.true(await locks.isHeld(id));
  t.true(await other.isHeld(id));
  t.false(await other.isHeld(lockIdOf('docs/b.bin')));
  await handle.release();
  t.false(await locks.isHeld(id));
});

test('release is idempotent and a stale handle never releases a later holder', async (t) => {
  const { dir, locks, open } = await setup(t);
  const other = await open();
  const first = await locks.acquire(['k'], 'upload');
  await first.release();
  await t.notThrowsAsync(first.release());
  const second = await other.acquire(['k'], 'delete');
  await Promise.all([first.release(), first.release()]);
  t.true(await locks.isHeld(lockIdOf('k')));
  t.is((await readHolderFile(dir, 'k', (h) => h.op === 'delete')).op, 'delete');
  await t.throwsAsync(locks.acquire(['k'], 'upload'));
  await second.release();
  await second.release();
  t.deepEqual(await readdir(dir), []);
});

test('concurrent acquires of one key in one process: exactly one wins', async (t) => {
  const { locks, open } = await setup(t);
  const other = await open();
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => (i % 2 ? locks : other).acquire(['hot'], 'upload')),
  );
  const won = results.filter((r) => r.status === 'fulfilled');
  t.is(won.length, 1);
  for (const r of results) if (r.status === 'rejected') t.true(isBusy(r.reason), String(r.reason));
  await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
});

test('long, deep and non-ASCII keys lock fine', async (t) => {
  const { dir, locks } = await setup(t);
  const keys = [
    'x'.repeat(4_000),
    Array.from({ length: 300 }, () => 'deep').join('/'),
    '日本語/ファイル.txt',
  ];
  const handle = await locks.acquire(keys, 'move');
  for (const key of keys) await readHolderFile(dir, key);
  t.is((await readdir(dir)).length, 6);
  t.is((await readHolderFile(dir, keys[2] as string)).op, 'move');
  await handle.release();
  t.deepEqual(await readdir(dir), []);
});

test('a lock folder removed by hand is recreated; a later acquire works', async (t) => {
  const { dir, locks } = await setup(t);
  await rm(dir, { recursive: true });
  // The first attempt may answer BUSY (see docs: the folder is recreated and the caller retries).
  await locks.acquire(['k'], 'upload').then(
    (h) => h.release(),
    (err: unknown) => t.true(isBusy(err), String(err)),
  );
  t.true((await stat(dir)).isDirectory());
  const handle = await locks.acquire(['k'], 'upload');
  await handle.release();
});

const awaitAbort = (signal: AbortSignal, ms: number) =>
  new Promise<unknown>((resolve, reject) => {
    if (signal.aborted) return resolve(signal.reason);
    const timer = setTimeout(() => reject(new Error(`not aborted within ${ms} ms`)), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    });
  });

test('a lock folder removed behind the holder aborts its signal with LOCK_LOST (no crash)', async (t) => {
  const { dir, locks, events } = await setup(t, { staleMs: 2_000 });
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on('uncaughtException', onCrash);
  t.teardown(() => process.off('uncaughtException', onCrash));

  const handle = await locks.acquire(['docs/a.bin'], 'upload');
  const started = performance.now();
  await rm(join(dir, `${lockIdOf('docs/a.bin')}.lock`), { recursive: true });
  const reason = await awaitAbort(handle.signal, 2_500);
  t.true(performance.now() - started < 2_500);
  t.true(reason instanceof FilehiveError, String(reason));
  t.is((reason as FilehiveError).code, 'LOCK_LOST');
  t.is(events.compromised.length, 1);
  t.is(events.compromised[0]?.[0], 'docs/a.bin');
  t.is((events.compromised[0]?.[1] as NodeJS.ErrnoException | undefined)?.code, 'ECOMPROMISED');
  // The process goes on: the name can be locked again, and the lost handle releases quietly.
  await t.notThrowsAsync(handle.release());
  const again = await locks.acquire(['docs/a.bin'], 'upload');
  t.false(again.signal.aborted);
  await again.release();
  t.deepEqual(crashes, []);
});

test('a lock whose mtime someone else changed is lost too', async (t) => {
  const { dir, locks, events } = await setup(t, { staleMs: 2_000 });
  const handle = await locks.acquire(['k'], 'upload');
  const lockDir = join(dir, `${lockIdOf('k')}.lock`);
  const elsewhere = new Date(Date.now() - 3_600_000);
  await utimes(lockDir, elsewhere, elsewhere);
  const reason = await awaitAbort(handle.signal, 2_500);
  t.is((reason as FilehiveError).code, 'LOCK_LOST');
  t.is(events.compromised.length, 1);
  await handle.release();
});

test('after a lost lock, the old handle leaves a new holder’s lock alone', async (t) => {
  const { dir, locks, open } = await setup(t, { staleMs: 2_000 });
  const other = await open();
  const lost = await locks.acquire(['k'], 'upload');
  await rm(join(dir, `${lockIdOf('k')}.lock`), { recursive: true });
  await awaitAbort(lost.signal, 2_500);
  const taken = await other.acquire(['k'], 'delete');
  await lost.release();
  t.true(await other.isHeld(lockIdOf('k')), 'the new lock folder is still there');
  const err = await t.throwsAsync(locks.acquire(['k'], 'upload'));
  t.true(isBusy(err));
  await taken.release();
});

// The lost handle's release removes `<id>.holder` unconditionally, even when it is a new holder's
// record. The new holder then cannot be named in BUSY replies, and if its worker dies the janitor's
// releaseDeadWorker cannot find it (the name stays blocked for the stale period and its temp file is
// left to the sweep). The janitor itself compares the record before removing it; release does not.
test('after a lost lock, the old handle leaves the new holder’s record alone', async (t) => {
  const { dir, locks, open } = await setup(t, { staleMs: 2_000 });
  const other = await open();
  const lost = await locks.acquire(['k'], 'upload');
  await rm(join(dir, `${lockIdOf('k')}.lock`), { recursive: true });
  await awaitAbort(lost.signal, 2_500);
  const taken = await other.acquire(['k'], 'delete');
  t.teardown(() => taken.release());
  await readHolderFile(dir, 'k', (h) => h.op === 'delete');
  await lost.release();
  t.is((await readHolderFile(dir, 'k').catch(() => null))?.op, 'delete');
  const err = await t.throwsAsync(locks.assertReadable('k'));
  t.is((err as FilehiveError).fields.holder, 'delete');
});

test('a live lock (staleMs 2000, heartbeat every 1 s) is never taken over by a janitor across 2x stale', async (t) => {
  const { base, dir, locks } = await setup(t, { staleMs: 2_000 });
  const takeovers: TakeoverReason[] = [];
  const janitor = new LockJanitor({
    dir,
    root: base,
    staleMs: 2_000,
    instance: 'janitor',
    log: createLogger({ level: 'silent', format: 'json', proc: 'test' }),
    onTakeover: (reason) => takeovers.push(reason),
  });
  const handle = await locks.acquire(['live'], 'upload');
  janitor.start();
  t.teardown(() => janitor.stop());
  await sleep(4_500);
  t.deepEqual(takeovers, []);
  t.false(handle.signal.aborted);
  t.true(await locks.isHeld(lockIdOf('live')));
  await handle.release();
  // And once released, the janitor forgets it: nothing to take over.
  t.true(await waitFor(async () => (await readdir(dir)).length === 0, 1_000));
  await writeFile(join(dir, 'unrelated'), '');
  await janitor.scan();
  t.deepEqual(takeovers, []);
});
