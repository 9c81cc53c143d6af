// Two instances on one storage root, one of them with its wall clock an hour ahead (libfaketime), as two
// hosts whose clocks disagree share one NFS export. The skewed instance measures and reports its skew (a
// warning, filehive_clock_skew_seconds) and the other reports none; locks hold both ways across the skew
// (docs/LOCKS.md#crashes-stale-locks-and-clock-skew): uploads on either side outlive the stale period
// without the other side breaking them (its janitor, and the skewed side's sweep that finds every temp
// file an hour old); a worker killed on the skewed side frees its name; and once the whole skewed
// instance is killed, its lock, dated an hour in the future, is taken over after the stale period.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { tempPathFor } from '../../src/storage/temp-files.js';
import { testWithClusterTools } from '../_helpers/cluster-tools.js';
import { beginLongUpload, finishLongUpload } from '../_helpers/long-upload.js';
import { childPids } from '../_helpers/processes.js';
import { downloadDigest, RawClient, type RawReply, sha256 } from '../_helpers/raw-client.js';
import { sampleSum, scrape } from '../_helpers/scrape.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const STALE_S = 3;
const AHEAD_S = 3600;
const ANNOUNCED = 1 << 20;
const SENT = 64 << 10;

const fakeClockTest = testWithClusterTools(['libfaketime']);

/**
 * The environment that sets an instance's wall clock (CLOCK_REALTIME: Date.now, log times, the times
 * proper-lockfile stamps on its locks) an hour ahead, in its primary and in the workers it forks, which
 * inherit the environment. As on a real host with a wrong clock, the rest stays true:
 * - FAKETIME_DONT_FAKE_MONOTONIC=1: otherwise libfaketime moves CLOCK_MONOTONIC too (Node's hrtime
 *   jumps to about the fake wall time). Node copes with that constant shift (this test also passes
 *   without the variable), but a wrong wall clock does not move a host's monotonic clock, on which the
 *   server times stale locks; and libfaketime's README reports hangs of other runtimes (JVMs) without it.
 *   (libfaketime 0.9.10 also reads the older name DONT_FAKE_MONOTONIC; this is the documented one.)
 * - NO_FAKE_STAT=1: file times reach the server as the filesystem stamped them. libuv's statx calls
 *   already bypass libfaketime; this keeps any stat() fallback unshifted as well.
 * FAKETIME_NO_CACHE is not needed: it only matters when the offset comes from a file that changes.
 */
function aheadEnv(lib: string): Record<string, string> {
  return {
    LD_PRELOAD: lib,
    FAKETIME: `+${AHEAD_S}s`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    NO_FAKE_STAT: '1',
  };
}

/** Sessions still open when the test ends, closed before the servers stop (which would wait for them). */
const sessions: RawClient[] = [];

async function connect(server: RunningServer): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  sessions.push(c);
  return c;
}

/** How far the mtime of the lock on `name` lies ahead of this host's clock, in seconds (null: no lock). */
async function lockAheadS(root: string, name: string): Promise<number | null> {
  const lock = join(root, '.filehive/locks', `${lockIdOf(name)}.lock`);
  return stat(lock).then(
    (s) => (s.mtimeMs - Date.now()) / 1000,
    () => null,
  );
}

/** How far `since=` of a BUSY reply lies ahead of this host's clock, in seconds. */
function sinceAheadS(reply: RawReply): number {
  return (Date.parse(reply.fields.since ?? '') - Date.now()) / 1000;
}

function assertBusy(t: ExecutionContext, reply: RawReply, what: string): void {
  t.is(reply.code, 'BUSY', `${what}: ${reply.line}`);
}

fakeClockTest(
  'an instance an hour ahead on a shared root: it reports its skew, and locks hold both ways across it',
  async (t, tools) => {
    t.timeout(60_000);
    const lib = tools.libfaketime?.bin as string;
    const stops: Array<() => Promise<unknown>> = [];
    t.teardown(async () => {
      for (const c of sessions) c.close();
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    });
    const root = await mkdtemp(join(tmpdir(), 'filehive-skew-'));
    stops.push(() => rm(root, { recursive: true, force: true }));
    // Every instance on a root must have the same --lock-stale. The skewed one sweeps every second: its
    // sweep finds every temp file the other instance writes an hour old.
    const args = ['--lock-stale', String(STALE_S)];
    const normal = await startServer({ root, workers: 1, args });
    stops.push(() => normal.stop());
    // Two workers: one is killed below while the other serves.
    const ahead = await startServer({
      root,
      workers: 2,
      args: [...args, '--sweep-interval', '1'],
      env: aheadEnv(lib),
    });
    stops.push(async () => {
      await ahead.stop();
      // libfaketime shares its clock state with the primary's children through these; a primary that
      // exits removes them, a SIGKILLed one (below) leaves them behind.
      for (const file of [`faketime_shm_${ahead.proc.pid}`, `sem.faketime_sem_${ahead.proc.pid}`])
        await rm(join('/dev/shm', file), { force: true });
    });

    // The skew, measured at start against the lock folder's mtimes, logged and exported.
    t.true(await waitFor(() => /clock skew: this host is/.test(ahead.output()), 10_000), ahead.output());
    const warning =
      /WARN +\[primary\] clock skew: this host is (\d+) s ahead of the filesystem clock[^\n]*skewMs=(\d+)/.exec(
        ahead.output(),
      );
    t.truthy(warning, `a warning that the host is ahead:\n${ahead.output()}`);
    t.true(Math.abs(Number(warning?.[2]) / 1000 - AHEAD_S) < 5, `skewMs=${warning?.[2]}`);
    const aheadSkew = sampleSum(await scrape(ahead), 'filehive_clock_skew_seconds');
    t.true(Math.abs(aheadSkew - AHEAD_S) < 5, `the skewed instance's gauge: ${aheadSkew}`);
    t.true(await waitFor(() => /clock skew against the lock folder/.test(normal.output()), 10_000));
    const normalSkew = sampleSum(await scrape(normal), 'filehive_clock_skew_seconds');
    t.true(Math.abs(normalSkew) < 2, `the normal instance's gauge: ${normalSkew}`);
    t.notRegex(normal.output(), /WARN[^\n]*clock skew/, 'no skew warning on the normal instance');

    // The skewed sweep judges a temp file's age by the file server's clock (its own minus the skew): an
    // ownerless temp file written now survives its sweeps (every second) through the stale period, and
    // goes after it. Judged by its own clock, it would find the file an hour old at the first sweep.
    const strayTemp = join(root, tempPathFor('', lockIdOf('no-such-upload')));
    await writeFile(strayTemp, 'left by nobody');
    const written = Date.now();
    // (Short of the stale period by more than the skew estimate can be off: a round trip under load.)
    await sleep(STALE_S * 1000 - 1_200);
    t.true(
      await stat(strayTemp).then(
        () => true,
        () => false,
      ),
      `a fresh temp file survived ${Date.now() - written} ms of sweeps every second`,
    );
    t.true(
      await waitFor(
        () =>
          stat(strayTemp).then(
            () => false,
            () => true,
          ),
        10_000,
      ),
      'and is swept once older than the stale period',
    );
    t.regex(ahead.output(), /removed orphaned upload temp files/);

    // Long uploads on both sides outlive twice the stale period; each side sees the other's lock all
    // along and breaks neither: the normal side's janitor watches locks dated an hour in the future, the
    // skewed side's janitor locks an hour in its past, and its sweep a temp file an hour old.
    const onNormal = await connect(normal);
    const onAhead = await connect(ahead);
    // Previous versions: a DOWNLOAD of a name that does not exist yet answers NOT_FOUND, locked or not.
    t.is((await onAhead.upload('from-ahead.bin', randomBytes(100))).status, 'OK');
    t.is((await onNormal.upload('from-normal.bin', randomBytes(100))).status, 'OK');
    const fromAhead = await beginLongUpload(await connect(ahead), root, 'from-ahead.bin', ANNOUNCED, SENT);
    const fromNormal = await beginLongUpload(await connect(normal), root, 'from-normal.bin', ANNOUNCED, SENT);
    const started = Date.now();
    const first = await onNormal.request(`DOWNLOAD ${fromAhead.name}`);
    assertBusy(t, first, 'the normal instance sees the skewed lock');
    t.true(Math.abs(sinceAheadS(first) - AHEAD_S) < 60, `since= is the holder's clock: ${first.line}`);
    const second = await onAhead.request(`DOWNLOAD ${fromNormal.name}`);
    assertBusy(t, second, 'the skewed instance sees the normal lock');
    t.true(Math.abs(sinceAheadS(second)) < 60, `since= is the holder's clock: ${second.line}`);
    let rounds = 0;
    while (Date.now() < started + (2 * STALE_S + 1) * 1000) {
      assertBusy(t, await onNormal.request(`UPLOAD ${fromAhead.name} 1`), 'UPLOAD on the normal instance');
      assertBusy(t, await onAhead.request(`UPLOAD ${fromNormal.name} 1`), 'UPLOAD on the skewed instance');
      assertBusy(t, await onAhead.request(`DELETE ${fromNormal.name}`), 'DELETE on the skewed instance');
      rounds++;
      await sleep(400);
    }
    t.true(rounds >= 3, `${rounds} rounds of BUSY`);
    // What the normal instance's janitor watched: a lock its holder keeps dating an hour in the future.
    const dated = await lockAheadS(root, fromAhead.name);
    t.true(dated !== null && Math.abs(dated - AHEAD_S) < 60, `the skewed lock's mtime is ${dated} s ahead`);
    for (const u of [fromAhead, fromNormal]) {
      t.false(u.c.isClosed, `${u.name}: its session is alive`);
      const reply = await finishLongUpload(u);
      t.is(reply.status, 'OK', `${u.name} completes after ${Date.now() - started} ms: ${reply.line}`);
    }
    t.is(
      await downloadDigest(normal.port, fromAhead.name),
      sha256(fromAhead.data),
      'each side reads the other upload',
    );
    t.is(await downloadDigest(ahead.port, fromNormal.name), sha256(fromNormal.data));
    for (const server of [normal, ahead]) t.notRegex(server.output(), /took over|LOCK_LOST/);

    // A worker of the skewed instance killed mid-upload: its primary frees the lock at once, so the name
    // is the normal instance's well within a few stale periods.
    const killed = await beginLongUpload(await connect(ahead), root, 'worker-killed.bin', ANNOUNCED, SENT);
    process.kill(killed.worker, 'SIGKILL');
    const replacement = randomBytes(1000);
    t.true(
      await waitFor(
        async () => (await onNormal.upload(killed.name, replacement)).status === 'OK',
        3 * STALE_S * 1000,
        100,
      ),
      'the normal instance uploads the name the dead worker held',
    );
    killed.c.close();
    t.is(await downloadDigest(ahead.port, killed.name), sha256(replacement), 'its other worker serves it');
    t.true(
      await waitFor(async () => {
        const workers = await childPids(ahead.proc.pid as number);
        return workers.length === 2 && !workers.includes(killed.worker);
      }),
      'the skewed primary replaced its worker',
    );

    // The whole skewed instance killed mid-upload: no one refreshes its lock, dated an hour in the
    // future, any more. The normal instance's janitor sees it stop changing and takes it over after the
    // stale period, removing the dead upload's temp file.
    const orphan = await beginLongUpload(await connect(ahead), root, 'instance-killed.bin', ANNOUNCED, SENT);
    // A lock's first mtime is the file server's (mkdir); it lies in the future from the holder's first
    // refresh (every stale/2) on. By then the upload has also recorded its temp file (after 50 ms).
    t.true(
      await waitFor(async () => ((await lockAheadS(root, orphan.name)) ?? 0) > AHEAD_S - 60, 10_000),
      'the lock is dated an hour in the future',
    );
    const aheadPids = [ahead.proc.pid as number, ...(await childPids(ahead.proc.pid as number))];
    for (const pid of aheadPids) process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    assertBusy(t, await onNormal.request(`UPLOAD ${orphan.name} 1`), 'right after the kill');
    await ahead.stop();
    orphan.c.close();
    t.true(
      await waitFor(
        async () => (await onNormal.upload(orphan.name, replacement)).status === 'OK',
        4 * STALE_S * 1000,
        200,
      ),
      "the normal instance takes the dead instance's name over",
    );
    t.log(`taken over ${Date.now() - killedAt} ms after the kill (stale period ${STALE_S} s)`);
    const takeover = /WARN +\[primary\] took over a lock dated in the future[^\n]*futureMs=(\d+)/.exec(
      normal.output(),
    );
    t.truthy(takeover, `the takeover is logged as dated in the future:\n${normal.output()}`);
    t.true(Math.abs(Number(takeover?.[1]) / 1000 - AHEAD_S) < 60, `futureMs=${takeover?.[1]}`);
    const metrics = await scrape(normal);
    t.true(sampleSum(metrics, 'filehive_lock_future_dated_total') >= 1, 'filehive_lock_future_dated_total');
    t.true(sampleSum(metrics, 'filehive_lock_stale_takeovers_total', { reason: 'stale' }) >= 1);
    t.true(await waitFor(async () => (await leftovers(root)).length === 0), 'no temp file or lock is left');
    t.is(await downloadDigest(normal.port, orphan.name), sha256(replacement));

    onNormal.close();
    onAhead.close();
    t.notRegex(normal.output(), /ERROR|FATAL|LOCK_LOST/);
  },
);
