// Two instances on one storage root over a real network filesystem: one serves the local folder, the
// other an sshfs mount of it through a loopback OpenSSH server, as a second host would. Sessions race
// on both, a worker of each is SIGKILLed in the middle, and uploads on each side run longer than the
// stale period while the other side's janitor watches their locks through the filesystem boundary.
// Every invariant of docs/LOCKS.md must hold. FILEHIVE_SSHFS_OPTIONS (comma-separated) replaces the
// mount options, to try others (docs/OPERATIONS.md says which matter).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findClusterTool, type ToolCommand, testWithClusterTools } from '../_helpers/cluster-tools.js';
import {
  assertExactTree,
  assertStressReplies,
  assertStressTree,
  runStressClient,
  STRESS_FOLDER,
  StressTally,
  stressPlan,
  writeFinalVersions,
} from '../_helpers/lock-stress.js';
import { beginLongUpload, finishLongUpload, type LongUpload } from '../_helpers/long-upload.js';
import { childPids } from '../_helpers/processes.js';
import { createRandom } from '../_helpers/random.js';
import { downloadDigest, RawClient } from '../_helpers/raw-client.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { fuseUnavailable, mountSshfs, probeSshfsMount, SSHFS_OPTIONS, startSshd } from '../_helpers/sshfs.js';
import { listTree } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const STALE_S = 4;
const SLACK_MS = 3_000;
const CLIENTS = 16;
const OPS_PER_CLIENT = 40;
const FOLDER = STRESS_FOLDER;
const PLAN = stressPlan(128 * 1024);
const ANNOUNCED = 2 << 20;
const SENT = 256 << 10;
const MOUNT_OPTIONS = process.env.FILEHIVE_SSHFS_OPTIONS?.split(',') ?? SSHFS_OPTIONS;

const sshdTool = findClusterTool('sshd');
const sshfsTool = findClusterTool('sshfs');
// Whether this machine allows FUSE mounts at all is known only by trying one.
const unavailable =
  sshdTool && sshfsTool
    ? await probeSshfsMount(sshdTool, sshfsTool, findClusterTool('fusermount3'))
    : fuseUnavailable();
const sshfsTest = testWithClusterTools(['sshd', 'sshfs'], { unavailable });

sshfsTest(
  'an instance on the local root and one on an sshfs mount of it: lock stress, worker kills, long uploads across',
  async (t, tools) => {
    t.timeout(120_000);
    // Stopped in this order whatever happens: instances, the mount, sshd, then the folder.
    const stops: Array<() => Promise<unknown>> = [];
    t.teardown(async () => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    });
    const root = await mkdtemp(join(tmpdir(), 'filehive-shared-'));
    stops.push(() => rm(root, { recursive: true, force: true }));
    const sshd = await startSshd(tools.sshd as ToolCommand);
    stops.push(() => sshd.stop());
    const fusermount = findClusterTool('fusermount3');
    const mount = await mountSshfs(tools.sshfs as ToolCommand, fusermount, sshd, root, MOUNT_OPTIONS);
    stops.push(() => mount.stop());
    t.log(`sshfs ${root} at ${mount.mountpoint} -o ${MOUNT_OPTIONS.join(',')}`);

    // What uploads rely on: a rename over an existing file replaces it (OpenSSH's posix-rename).
    await writeFile(join(mount.mountpoint, 'a'), 'new');
    await writeFile(join(mount.mountpoint, 'b'), 'old');
    await rename(join(mount.mountpoint, 'a'), join(mount.mountpoint, 'b'));
    t.is(await readFile(join(root, 'b'), 'utf8'), 'new', 'rename over an existing file works on the mount');
    await rm(join(mount.mountpoint, 'b'));

    const args = ['--lock-stale', String(STALE_S), '--log-level', 'warn'];
    const local = await startServer({ root, workers: 2, args });
    stops.push(() => local.stop());
    const remote = await startServer({ root: mount.mountpoint, workers: 2, args });
    stops.push(() => remote.stop());
    const servers = [local, remote];

    const setup = await RawClient.connect(remote.port);
    t.is((await setup.request(`MKDIR ${FOLDER}`)).status, 'OK');
    t.is((await setup.request('MKDIR long')).status, 'OK');
    for (const name of ['long/on-local', 'long/on-remote'])
      t.is((await setup.upload(name, randomBytes(1000))).status, 'OK');
    setup.close();
    t.deepEqual(await readdir(join(root, FOLDER)), [], 'the folder made through the mount is in the root');

    // One long upload on each side; each side must see the other's lock.
    const longOn = new Map<RunningServer, LongUpload>();
    for (const [server, name] of [
      [local, 'long/on-local'],
      [remote, 'long/on-remote'],
    ] as const) {
      longOn.set(
        server,
        await beginLongUpload(await RawClient.connect(server.port), root, name, ANNOUNCED, SENT),
      );
    }
    const longStarted = Date.now();
    t.is(await downloadDigest(remote.port, 'long/on-local'), 'BUSY', 'the remote side sees the local lock');
    t.is(await downloadDigest(local.port, 'long/on-remote'), 'BUSY', 'the local side sees the remote lock');

    // Chaos: a worker of each instance is killed in the middle (never the one running its long upload).
    const victims: number[] = [];
    const seed = createRandom().seed;
    const tally = new StressTally();
    const started = Date.now();
    const total = CLIENTS * OPS_PER_CLIENT;
    const chaos = (async () => {
      for (const [i, server] of [remote, local].entries()) {
        await waitFor(() => tally.ops >= ((i + 1) * total) / 3, 60_000, 20);
        const long = longOn.get(server);
        const victim = (await childPids(server.proc.pid as number)).find((pid) => pid !== long?.worker);
        if (victim === undefined) throw new Error('no worker to kill');
        process.kill(victim, 'SIGKILL');
        victims.push(victim);
      }
    })();
    await Promise.all([
      chaos,
      ...Array.from({ length: CLIENTS }, (_, i) => {
        const port = (servers[i % 2] as RunningServer).port;
        return runStressClient({
          label: i % 2 === 0 ? 'the local instance' : 'the sshfs instance',
          plan: PLAN,
          connect: () => RawClient.connect(port),
          random: createRandom(seed + i),
          tally,
          ops: OPS_PER_CLIENT,
          maxLostInARow: 8,
        });
      }),
    ]);
    t.log(tally.summary(seed, Date.now() - started));
    t.is(victims.length, 2, 'a worker of each instance was killed');

    assertStressReplies(t, tally);
    t.true(tally.lost.CONNECTION_LOST > 0, 'the kills cut sessions, whose commands were sent again');
    for (const server of servers) {
      t.regex(server.output(), /died/, 'the primary noticed its dead worker');
      t.true(
        await waitFor(async () => (await childPids(server.proc.pid as number)).length === 2),
        'and replaced it',
      );
    }

    // The long uploads outlive the stale period (and the janitor passes after it) on both sides, and
    // finish untouched.
    await sleep(Math.max(0, longStarted + 1.5 * STALE_S * 1000 - Date.now()));
    for (const u of longOn.values()) {
      t.false(u.c.isClosed, `${u.name}: its session is alive`);
      const reply = await finishLongUpload(u);
      t.is(reply.status, 'OK', `${u.name} completes after ${Date.now() - longStarted} ms: ${reply.line}`);
    }

    await assertStressTree(t, {
      root,
      folder: FOLDER,
      plan: PLAN,
      tally,
      withinMs: 3 * STALE_S * 1000 + SLACK_MS,
    });

    // One last version of each name, written through the mount: the tree is exactly that, seen from
    // both sides.
    const final = await writeFinalVersions(() => RawClient.connect(remote.port), PLAN);
    for (const u of longOn.values()) final.set(u.name, u.data);
    await assertExactTree(t, root, final);
    for (const server of servers) {
      const c = await RawClient.connect(server.port);
      const { entries } = await c.list(FOLDER);
      c.close();
      t.deepEqual(
        entries.map((e) => e.fields.name ?? e.line).sort(),
        PLAN.names.map((n) => n.slice(FOLDER.length + 1)).sort(),
        'clients see exactly the names in play',
      );
    }
    t.deepEqual(await listTree(mount.mountpoint), await listTree(root), 'both sides see one tree');
    for (const server of servers) t.notRegex(server.output(), /ERROR|FATAL|LOCK_LOST/);
  },
);
