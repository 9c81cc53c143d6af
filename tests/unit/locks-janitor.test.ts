// The janitor against a lock folder written by hand in docs/LOCKS.md's format (no LockManager), so the
// holders' clocks, refreshes and records are fully under the test's control.
import fsp, {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { pino } from 'pino';
import { type JanitorOptions, LockJanitor, type TakeoverReason } from '../../src/locks/janitor.js';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { createLogger } from '../../src/log/logger.js';
import { waitFor } from '../_helpers/wait.js';

const STALE = 2_000; // the smallest --lock-stale the config allows
const SCAN_EVERY = 400; // stale/5
const HOUR = 3_600_000;
const INSTANCE = 'janitor-instance';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

const setup = async (t: ExecutionContext, options: Partial<JanitorOptions> = {}) => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'filehive-janitor-')));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const dir = join(root, '.filehive', 'locks');
  await mkdir(dir, { recursive: true });
  const takeovers: Array<{ reason: TakeoverReason; futureMs: number }> = [];
  const janitor = new LockJanitor({
    dir,
    root,
    staleMs: STALE,
    instance: INSTANCE,
    log: createLogger({ level: 'silent', format: 'json', proc: 'test' }),
    onTakeover: (reason, futureMs) => takeovers.push({ reason, futureMs }),
    ...options,
  });
  t.teardown(() => janitor.stop());

  const timers: NodeJS.Timeout[] = [];
  t.teardown(() => {
    for (const timer of timers) clearInterval(timer);
  });

  /** Creates `<id>.lock` and `<id>.holder` for `key`, dated `offsetMs` from now. */
  const makeLock = async (
    key: string,
    holder: Record<string, unknown> = {},
    offsetMs = 0,
    { record = true } = {},
  ) => {
    const id = lockIdOf(key);
    const lockDir = join(dir, `${id}.lock`);
    await mkdir(lockDir);
    const when = new Date(Date.now() + offsetMs);
    await utimes(lockDir, when, when);
    const full = {
      op: 'upload',
      key,
      since: Date.now(),
      host: 'elsewhere',
      pid: 4242,
      instance: 'other-instance',
      ...holder,
    };
    if (record) await writeFile(join(dir, `${id}.holder`), JSON.stringify(full));
    return {
      id,
      lockDir,
      holderPath: join(dir, `${id}.holder`),
      /** Refreshes the mtime every `everyMs`, always dated `offsetMs` from now, like a live holder. */
      refresh(everyMs: number) {
        const timer = setInterval(() => {
          const at = new Date(Date.now() + offsetMs);
          void utimes(lockDir, at, at).catch(() => undefined);
        }, everyMs);
        timers.push(timer);
        return () => clearInterval(timer);
      },
    };
  };
  return { root, dir, janitor, takeovers, makeLock };
};

test('a lock refreshed with mtimes an hour in the past is never taken over; once it stops, it is', async (t) => {
  const { janitor, takeovers, makeLock } = await setup(t);
  const lock = await makeLock('live-behind', {}, -HOUR);
  const stop = lock.refresh(200);
  janitor.start();
  await sleep(2 * STALE + 500);
  t.deepEqual(takeovers, []);
  t.true(await exists(lock.lockDir));
  t.true(await exists(lock.holderPath));

  stop();
  const stopped = performance.now();
  // Done when the janitor reports it (it removes the folder first, then the temp file and the record).
  t.true(await waitFor(() => takeovers.length > 0, STALE + SCAN_EVERY + 1_500, 10));
  const took = performance.now() - stopped;
  t.false(await exists(lock.lockDir));
  t.true(took >= STALE - 250, `taken over ${took} ms after the last refresh`);
  t.deepEqual(takeovers, [{ reason: 'stale', futureMs: 0 }]);
  t.false(await exists(lock.holderPath));
});

test('a lock refreshed with mtimes an hour in the future is never taken over', async (t) => {
  const { janitor, takeovers, makeLock } = await setup(t);
  const lock = await makeLock('live-ahead', {}, HOUR);
  lock.refresh(200);
  janitor.start();
  await sleep(2 * STALE + 500);
  t.deepEqual(takeovers, []);
  t.true(await exists(lock.lockDir));
});

test('a lock dated an hour in the future that is never refreshed is taken over after the stale period', async (t) => {
  const records: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    {
      write(line: string) {
        records.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const { root, janitor, takeovers, makeLock } = await setup(t, { log });
  const temp = join(root, 'docs', `.filehive-${lockIdOf('docs/x.bin')}-0123456789abcdef.tmp`);
  await mkdir(join(root, 'docs'));
  await writeFile(temp, 'partial');
  const lock = await makeLock('docs/x.bin', { temp, pid: 777, host: 'far-away' }, HOUR);
  const started = performance.now();
  janitor.start();
  // Done when the janitor reports it (it removes the folder first, then the temp file and the record).
  t.true(await waitFor(() => takeovers.length > 0, STALE + SCAN_EVERY + 1_500, 10));
  const took = performance.now() - started;
  t.false(await exists(lock.lockDir));
  t.true(took >= STALE - 50 && took <= STALE + SCAN_EVERY + 1_000, `taken over after ${took} ms`);
  t.is(takeovers.length, 1);
  t.is(takeovers[0]?.reason, 'stale');
  t.true((takeovers[0]?.futureMs ?? 0) > HOUR - 10_000, String(takeovers[0]?.futureMs));
  t.false(await exists(temp), 'the holder’s temp file is removed');
  t.false(await exists(lock.holderPath), 'the holder record is removed');
  const warning = records.find((r) => r.msg === 'took over a lock dated in the future');
  t.truthy(warning);
  t.is(warning?.level, 40);
  t.is(warning?.lock, lock.id);
  t.is(warning?.holderHost, 'far-away');
  t.is(warning?.holderPid, 777);
  t.true(Number(warning?.futureMs) > HOUR - 10_000);
});

test('a stale lock without a holder record is taken over too', async (t) => {
  const { janitor, takeovers, makeLock, dir } = await setup(t);
  const lock = await makeLock('no-record', {}, 0, { record: false });
  await janitor.scan();
  await sleep(STALE + 50);
  t.true(await exists(lock.lockDir));
  await janitor.scan();
  t.false(await exists(lock.lockDir));
  t.deepEqual(takeovers, [{ reason: 'stale', futureMs: 0 }]);
  t.deepEqual(await readdir(dir), []);
});

test('a lock re-created between scans (new mtime) starts a new stale period', async (t) => {
  const { janitor, takeovers, makeLock } = await setup(t);
  const lock = await makeLock('recreated', {}, -HOUR);
  await janitor.scan();
  await sleep(STALE / 2);
  // Released and locked again by someone else, stamped by a clock an hour behind.
  await rm(lock.lockDir, { recursive: true });
  await mkdir(lock.lockDir);
  const reborn = new Date(Date.now() - HOUR + 5_000);
  await utimes(lock.lockDir, reborn, reborn);
  await sleep(STALE / 2 + 100);
  await janitor.scan();
  t.deepEqual(takeovers, [], 'the new lock has been unchanged for only half the period');
  t.true(await exists(lock.lockDir));
  // Timed from the scan that first saw the new mtime.
  await sleep(STALE + 50);
  await janitor.scan();
  t.deepEqual(takeovers, [{ reason: 'stale', futureMs: 0 }]);
  t.false(await exists(lock.lockDir));
});

test('a lock released and re-created with the very same mtime is timed afresh', async (t) => {
  const { janitor, takeovers, makeLock } = await setup(t);
  // A second-granularity filesystem, or a clock that stamps the same value: only the janitor having
  // seen the lock gone tells the new lock from the old one.
  const lock = await makeLock('same-mtime', {}, -HOUR);
  const { mtime } = await stat(lock.lockDir);
  await janitor.scan();
  await rm(lock.lockDir, { recursive: true });
  await janitor.scan();
  await sleep(STALE + 50);
  await mkdir(lock.lockDir);
  await utimes(lock.lockDir, mtime, mtime);
  await janitor.scan();
  t.deepEqual(takeovers, []);
  t.true(await exists(lock.lockDir));
});

/**
 * Runs `body` with one node:fs/promises function replaced (ESM bindings follow through
 * syncBuiltinESMExports). Serial tests only; the replacement acts on the given path and passes
 * everything else through.
 */
const withPatchedFs = async <K extends 'stat' | 'rmdir'>(
  name: K,
  patch: (original: (typeof fsp)[K]) => (typeof fsp)[K],
  body: () => Promise<void>,
) => {
  const original = fsp[name];
  (fsp as Record<K, unknown>)[name] = patch(original);
  syncBuiltinESMExports();
  try {
    await body();
  } finally {
    (fsp as Record<K, unknown>)[name] = original;
    syncBuiltinESMExports();
  }
};

test.serial('a lock refreshed between the janitor’s look and its removal is left alone', async (t) => {
  const { janitor, takeovers, makeLock } = await setup(t);
  const lock = await makeLock('refreshed-late', { pid: 31, instance: INSTANCE });
  let looks = 0;
  await withPatchedFs(
    'stat',
    (original) =>
      (async (path: string, ...rest: unknown[]) => {
        const result = await (original as (p: string, ...r: unknown[]) => Promise<unknown>)(path, ...rest);
        if (path === lock.lockDir && ++looks === 1) {
          const later = new Date(Date.now() + 5_000);
          await utimes(lock.lockDir, later, later);
        }
        return result;
      }) as typeof fsp.stat,
    () => janitor.releaseDeadWorker(31),
  );
  t.true(looks >= 2, 'looked again before removing');
  t.deepEqual(takeovers, []);
  t.true(await exists(lock.lockDir));
  t.true(await exists(lock.holderPath));
});

test.serial('a new holder’s record written right after the takeover’s removal is kept', async (t) => {
  const { janitor, takeovers, makeLock } = await setup(t);
  const lock = await makeLock('taken-again', { pid: 32, instance: INSTANCE });
  const newcomer = {
    op: 'delete',
    key: 'taken-again',
    since: Date.now() + 1,
    host: 'h',
    pid: 999,
    instance: 'x',
  };
  await withPatchedFs(
    'rmdir',
    (original) =>
      (async (path: string, ...rest: unknown[]) => {
        await (original as (p: string, ...r: unknown[]) => Promise<void>)(path, ...rest);
        if (path === lock.lockDir) {
          // Another process takes the freed lock at once and records itself.
          await mkdir(lock.lockDir);
          await writeFile(lock.holderPath, JSON.stringify(newcomer));
        }
      }) as typeof fsp.rmdir,
    () => janitor.releaseDeadWorker(32),
  );
  t.is(takeovers.length, 1);
  t.true(await exists(lock.lockDir));
  t.deepEqual(JSON.parse(await readFile(lock.holderPath, 'utf8')), newcomer);
});

const insideTemp = (root: string, key: string) =>
  join(root, `.filehive-${lockIdOf(key)}-0123456789abcdef.tmp`);

test('takeover removes the holder’s temp file only inside root and only when it is this lock’s temp file', async (t) => {
  const { root, janitor, takeovers, makeLock } = await setup(t);
  const outsideDir = join(root, '..', 'outside');
  await mkdir(outsideDir);
  const sibling = `${root}-sibling`;
  await mkdir(sibling);
  t.teardown(() => rm(sibling, { recursive: true, force: true }));
  const cases: Array<{ key: string; temp: string; removed: boolean }> = [
    { key: 'in-root', temp: insideTemp(root, 'in-root'), removed: true },
    {
      key: 'nested',
      temp: join(root, 'a', 'b', `.filehive-${lockIdOf('nested')}-0123456789abcdef.tmp`),
      removed: true,
    },
    { key: 'other-lock', temp: insideTemp(root, 'not-this-lock'), removed: false },
    { key: 'loose-name', temp: join(root, 'a', 'b', '.filehive-anything.tmp'), removed: false },
    { key: 'user-file', temp: join(root, 'a', 'important.txt'), removed: false },
    { key: 'outside', temp: join(outsideDir, '.filehive-outside.tmp'), removed: false },
    { key: 'sibling', temp: join(sibling, '.filehive-sibling.tmp'), removed: false },
    { key: 'relative', temp: '.filehive-relative.tmp', removed: false },
  ];
  await mkdir(join(root, 'a', 'b'), { recursive: true });
  for (const c of cases) {
    if (c.key !== 'relative') await writeFile(c.temp, c.key);
    await makeLock(c.key, { pid: 99, instance: INSTANCE, temp: c.temp });
  }
  await writeFile(join(root, '.filehive-relative.tmp'), 'relative');
  await janitor.releaseDeadWorker(99);
  t.is(takeovers.length, cases.length, 'every lock was taken over');
  for (const c of cases) {
    const path = c.key === 'relative' ? join(root, '.filehive-relative.tmp') : c.temp;
    t.is(await exists(path), !c.removed, `${c.key}: ${c.temp}`);
  }
});

// The check is a string prefix test on the recorded path, which is never normalised: a record naming
// `<root>/../outside/.filehive-x` passes it, and rm() then deletes a file outside the root.
test('takeover never deletes outside root through .. in the recorded temp path', async (t) => {
  const { root, janitor, makeLock } = await setup(t);
  const outsideDir = join(root, '..', 'outside');
  await mkdir(outsideDir);
  const victim = join(outsideDir, '.filehive-victim.tmp');
  await writeFile(victim, 'not filehive’s to delete');
  await makeLock('dotdot', { pid: 99, instance: INSTANCE, temp: `${root}/../outside/.filehive-victim.tmp` });
  await janitor.releaseDeadWorker(99);
  t.true(await exists(victim), `${victim} was deleted`);
});

test('releaseDeadWorker frees only locks whose holder has that pid and this instance', async (t) => {
  const { root, dir, janitor, takeovers, makeLock } = await setup(t);
  const mine1 = await makeLock('mine-1', { pid: 111, instance: INSTANCE, temp: insideTemp(root, 'mine-1') });
  const mine2 = await makeLock('mine-2', { pid: 111, instance: INSTANCE });
  const otherInstance = await makeLock('other-instance', { pid: 111, instance: 'someone-else' });
  const otherPid = await makeLock('other-pid', { pid: 222, instance: INSTANCE });
  const stringPid = await makeLock('string-pid', { pid: '111', instance: INSTANCE });
  await writeFile(insideTemp(root, 'mine-1'), 'partial');
  await writeFile(insideTemp(root, 'other-instance'), 'partial');

  await janitor.releaseDeadWorker(111);
  t.deepEqual(takeovers, [
    { reason: 'dead-worker', futureMs: 0 },
    { reason: 'dead-worker', futureMs: 0 },
  ]);
  for (const gone of [mine1, mine2]) {
    t.false(await exists(gone.lockDir));
    t.false(await exists(gone.holderPath));
  }
  for (const kept of [otherInstance, otherPid, stringPid]) {
    t.true(await exists(kept.lockDir));
    t.true(await exists(kept.holderPath));
  }
  t.false(await exists(insideTemp(root, 'mine-1')));
  t.true(await exists(insideTemp(root, 'other-instance')));

  await janitor.releaseDeadWorker(111);
  t.is(takeovers.length, 2, 'nothing more to free');
  await janitor.releaseDeadWorker(333);
  t.is(takeovers.length, 2);
  t.is((await readdir(dir)).length, 6);
});

test('releaseDeadWorker leaves a dead worker’s record alone when its lock is already gone, and copes with junk', async (t) => {
  const { dir, janitor, takeovers, makeLock } = await setup(t);
  const orphan = await makeLock('orphan', { pid: 5, instance: INSTANCE });
  await rm(orphan.lockDir, { recursive: true });
  await writeFile(join(dir, 'junk.holder'), '{not json');
  await writeFile(join(dir, `${lockIdOf('junk')}.holder`), 'null');
  await writeFile(join(dir, 'settings.json'), '{"version":1,"staleMs":2000}');
  await t.notThrowsAsync(janitor.releaseDeadWorker(5));
  t.deepEqual(takeovers, []);
  t.true(await exists(join(dir, 'settings.json')));
});

test('a lock folder with something inside is still taken over', async (t) => {
  const { janitor, takeovers, makeLock } = await setup(t);
  const lock = await makeLock('non-empty', { pid: 7, instance: INSTANCE });
  await writeFile(join(lock.lockDir, 'stray'), 'x');
  await janitor.releaseDeadWorker(7);
  t.false(await exists(lock.lockDir));
  t.is(takeovers.length, 1);
});

test('a holder record without a lock is removed on the second scan, not the first', async (t) => {
  const { dir, janitor, takeovers } = await setup(t);
  const lonely = join(dir, `${lockIdOf('lonely')}.holder`);
  const relocked = join(dir, `${lockIdOf('relocked')}.holder`);
  const notOurs = join(dir, 'notes.holder');
  for (const path of [lonely, relocked, notOurs]) await writeFile(path, '{"op":"upload","since":1}');
  await writeFile(join(dir, 'settings.json'), '{"version":1,"staleMs":2000}');

  await janitor.scan();
  t.true(await exists(lonely), 'kept on the first sighting (a holder may be between its two writes)');
  t.true(await exists(relocked));
  // A new holder locks 'relocked' before the second scan: its record must stay.
  await mkdir(join(dir, `${lockIdOf('relocked')}.lock`));

  await janitor.scan();
  t.false(await exists(lonely), 'removed on the second sighting');
  t.true(await exists(relocked));
  t.true(await exists(notOurs), 'names that are not <id>.holder are not the janitor’s');
  t.true(await exists(join(dir, 'settings.json')));

  // 'relocked' loses its lock again: a fresh first sighting, not a leftover from before.
  await rm(join(dir, `${lockIdOf('relocked')}.lock`), { recursive: true });
  await janitor.scan();
  t.true(await exists(relocked));
  await janitor.scan();
  t.false(await exists(relocked));
  t.deepEqual(takeovers, []);
});

test('concurrent scan() calls share one pass, and a missing lock folder is only logged', async (t) => {
  const { dir, janitor, makeLock } = await setup(t);
  await makeLock('k');
  const a = janitor.scan();
  const b = janitor.scan();
  t.is(a, b);
  await a;
  await rm(dir, { recursive: true });
  await t.notThrowsAsync(janitor.scan());
});
