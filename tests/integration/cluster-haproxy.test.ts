// Two filehive instances on one storage root behind a real HAProxy (deploy/haproxy.cfg), clients
// connecting only through HAProxy. One instance is killed (SIGKILL of its process group) in the middle
// of a lock stress and of long uploads: the clients reconnect and retry through the survivor, the
// survivor's janitor takes the dead instance's locks over after --lock-stale, the survivor's own
// uploads run on untouched, and every invariant of docs/LOCKS.md holds afterwards.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readHolder } from '../../src/locks/lock-manager.js';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { runCli } from '../_helpers/cli.js';
import { type ToolCommand, testWithClusterTools } from '../_helpers/cluster-tools.js';
import { DEPLOY_HAPROXY_CFG, startHaproxy } from '../_helpers/haproxy.js';
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
import { childPids } from '../_helpers/processes.js';
import { createRandom } from '../_helpers/random.js';
import { q, RawClient, sha256 } from '../_helpers/raw-client.js';
import { sampleSum, scrape } from '../_helpers/scrape.js';
import { startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

const STALE_S = 3;
/** Scheduling and polling slack on top of the stale period, for a noisy 2-core machine. */
const SLACK_MS = 3_000;
const CLIENTS = 16;
const OPS_PER_CLIENT = 50;
const FOLDER = STRESS_FOLDER;
const PLAN = stressPlan(128 * 1024);
const LONG = ['L0', 'L1', 'L2', 'L3', 'L4', 'L5'].map((n) => `long/${n}`);
const ANNOUNCED = 4 << 20;
const SENT = 1 << 20;

interface LongUpload {
  readonly name: string;
  readonly v1: Buffer;
  readonly v2: Buffer;
  readonly c: RawClient;
  pid?: number;
}

const clusterTest = testWithClusterTools(['haproxy']);

clusterTest('deploy/haproxy.cfg passes haproxy -c as shipped', async (t, tools) => {
  const haproxy = tools.haproxy as ToolCommand;
  // Only the account it drops to is swapped for one that exists here: -c resolves it.
  const me = userInfo().username;
  const text = (await readFile(DEPLOY_HAPROXY_CFG, 'utf8'))
    .replace(/^(\s+)user haproxy$/m, `$1user ${me}`)
    .replace(/^(\s+)group haproxy$/m, '$1group root');
  const dir = await mkdtemp(join(tmpdir(), 'filehive-haproxy-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'haproxy.cfg'), text);
  const { stdout, stderr } = await promisify(execFile)(haproxy.bin, ['-c', '-f', join(dir, 'haproxy.cfg')], {
    env: haproxy.env,
  });
  t.regex(stdout + stderr, /Configuration file is valid/);
  t.notRegex(stdout + stderr, /WARNING|ALERT/);
});

clusterTest(
  'an instance killed behind HAProxy: clients retry through the survivor, which takes over the dead locks',
  async (t, tools) => {
    t.timeout(90_000);
    const root = await mkdtemp(join(tmpdir(), 'filehive-cluster-'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const args = ['--lock-stale', String(STALE_S), '--log-level', 'warn'];
    // Own process groups: the victim is killed with all its workers at once, as a host dies.
    const victim = await startServer({ root, workers: 2, args, detached: true });
    t.teardown(() => victim.stop());
    const survivor = await startServer({ root, workers: 2, args, detached: true });
    t.teardown(() => survivor.stop());
    const haproxy = await startHaproxy(tools.haproxy as ToolCommand, [
      { name: 'victim', port: victim.port },
      { name: 'survivor', port: survivor.port },
    ]);
    t.teardown(() => haproxy.stop());
    const viaHaproxy = () => RawClient.connect(haproxy.port);

    const setup = await viaHaproxy();
    t.is((await setup.request(`MKDIR ${FOLDER}`)).status, 'OK');
    t.is((await setup.request('MKDIR long')).status, 'OK');
    const longs: LongUpload[] = [];
    for (const name of LONG) {
      const v1 = randomBytes(32 * 1024);
      t.is((await setup.upload(name, v1)).status, 'OK');
      longs.push({ name, v1, v2: randomBytes(ANNOUNCED), c: await viaHaproxy() });
    }
    setup.close();

    // Long uploads spread by leastconn over both instances; the holder records say which one has which.
    for (const u of longs) {
      t.is((await u.c.request(`UPLOAD ${q(u.name)} ${ANNOUNCED} checksum=sha256`)).status, 'GO');
      u.c.send(u.v2.subarray(0, SENT));
      const holder = await readHolder(join(root, '.filehive/locks', `${lockIdOf(u.name)}.holder`));
      u.pid = holder?.pid;
    }
    const victimWorkers = await childPids(victim.proc.pid as number);
    const survivorWorkers = await childPids(survivor.proc.pid as number);
    const onVictim = longs.filter((u) => victimWorkers.includes(u.pid ?? -1));
    const onSurvivor = longs.filter((u) => survivorWorkers.includes(u.pid ?? -1));
    t.log(
      `long uploads: ${onVictim.map((u) => u.name)} on the victim, ${onSurvivor.map((u) => u.name)} on the survivor`,
    );
    t.true(onVictim.length > 0 && onSurvivor.length > 0, 'HAProxy spread the sessions over both instances');
    t.is(onVictim.length + onSurvivor.length, LONG.length, 'every long upload holds its lock');
    const longStarted = Date.now();

    const seed = createRandom().seed;
    const tally = new StressTally();
    const started = Date.now();
    let killedAt = 0;
    const killer = (async () => {
      await waitFor(() => tally.ops >= (CLIENTS * OPS_PER_CLIENT) / 3, 60_000, 20);
      process.kill(-(victim.proc.pid as number), 'SIGKILL');
      killedAt = Date.now();
    })();
    await Promise.all([
      killer,
      ...Array.from({ length: CLIENTS }, (_, i) =>
        runStressClient({
          plan: PLAN,
          connect: viaHaproxy,
          random: createRandom(seed + i),
          tally,
          ops: OPS_PER_CLIENT,
          maxLostInARow: 8,
        }),
      ),
    ]);
    t.log(tally.summary(seed, Date.now() - started));
    t.log(`killed the victim ${killedAt - started} ms into the stress`);

    assertStressReplies(t, tally);
    t.true(tally.lost.CONNECTION_LOST > 0, 'the kill cut sessions in the middle of commands');
    t.true(tally.retried > 0, 'and their commands were sent again');
    t.true(
      await waitFor(async () => (await haproxy.states()).victim?.startsWith('DOWN') ?? false, 5_000),
      'HAProxy took the dead instance out',
    );
    t.is((await haproxy.states()).survivor, 'UP');

    // The victim's long uploads died with it; once its locks are taken over, the names read v1 again.
    t.true(await waitFor(() => onVictim.every((u) => u.c.isClosed), 5_000), 'their sessions were cut');
    for (const u of onVictim) {
      let last = '';
      const readable = await waitFor(
        async () => {
          const c = await viaHaproxy();
          try {
            const { data, reply } = await c.download(u.name);
            last = data ? sha256(data) : reply.line;
            return data !== null;
          } finally {
            c.close();
          }
        },
        Math.max(0, killedAt + STALE_S * 1000 + SLACK_MS - Date.now()),
        100,
      );
      t.true(readable, `${u.name} is readable within --lock-stale + slack of the kill (last: ${last})`);
      t.is(last, sha256(u.v1), `${u.name} kept its previous version`);
    }
    const takeovers = sampleSum(await scrape(survivor), 'filehive_lock_stale_takeovers_total', {
      reason: 'stale',
    });
    t.true(takeovers >= onVictim.length, `the survivor took over the dead locks (${takeovers})`);

    // The survivor's uploads held their locks all along, past the stale period, and now finish.
    t.true(Date.now() - longStarted > STALE_S * 1000, 'they ran longer than the stale period');
    for (const u of onSurvivor) {
      t.false(u.c.isClosed, `${u.name}: its session is alive`);
      u.c.send(u.v2.subarray(SENT));
      u.c.send(`CHECKSUM sha256:${sha256(u.v2)}\n`);
      t.is((await u.c.reply(30_000)).status, 'OK', `${u.name} completes on the survivor`);
      u.c.close();
    }

    await assertStressTree(t, {
      root,
      folder: FOLDER,
      plan: PLAN,
      tally,
      withinMs: 3 * STALE_S * 1000 + SLACK_MS,
    });

    // The survivor serves every name: after one last version of each, the tree is exactly that.
    const final = await writeFinalVersions(viaHaproxy, PLAN);
    for (const u of onSurvivor) final.set(u.name, u.v2);
    const c = await viaHaproxy();
    for (const u of onVictim) {
      const v3 = randomBytes(2048);
      t.is((await c.upload(u.name, v3)).status, 'OK', `${u.name} can be written again`);
      final.set(u.name, v3);
    }
    c.close();
    await assertExactTree(t, root, final);
    t.notRegex(survivor.output(), /died|ERROR|FATAL/, 'the survivor logged no failure');
  },
);

clusterTest(
  'a rolling restart behind HAProxy: the drained instance finishes its uploads while new sessions go to the other',
  async (t, tools) => {
    t.timeout(60_000);
    const root = await mkdtemp(join(tmpdir(), 'filehive-cluster-'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const args = ['--lock-stale', String(STALE_S), '--log-level', 'warn', '--shutdown-grace', '30'];
    const first = await startServer({ root, workers: 1, args });
    t.teardown(() => first.stop());
    const second = await startServer({ root, workers: 1, args });
    t.teardown(() => second.stop());
    const haproxy = await startHaproxy(tools.haproxy as ToolCommand, [
      { name: 'first', port: first.port },
      { name: 'second', port: second.port },
    ]);
    t.teardown(() => haproxy.stop());
    const viaHaproxy = () => RawClient.connect(haproxy.port);

    const uploads: LongUpload[] = [];
    for (const name of ['u0', 'u1', 'u2', 'u3']) {
      const c = await viaHaproxy();
      const u: LongUpload = { name, v1: Buffer.alloc(0), v2: randomBytes(ANNOUNCED), c };
      t.is((await c.request(`UPLOAD ${q(name)} ${ANNOUNCED} checksum=sha256`)).status, 'GO');
      c.send(u.v2.subarray(0, SENT));
      u.pid = (await readHolder(join(root, '.filehive/locks', `${lockIdOf(name)}.holder`)))?.pid;
      uploads.push(u);
    }
    const [firstWorker] = await childPids(first.proc.pid as number);
    const draining = uploads.filter((u) => u.pid === firstWorker);
    t.true(draining.length > 0 && draining.length < uploads.length, 'the uploads run on both instances');

    // What a service manager does to stop an instance: SIGTERM to its primary.
    first.proc.kill('SIGTERM');
    const exited = new Promise<number | null>((resolve) => first.proc.once('exit', resolve));
    t.true(
      await waitFor(async () => (await haproxy.states()).first?.startsWith('DOWN') ?? false, 10_000),
      'HAProxy takes the draining instance out (its listener is closed)',
    );
    // Meanwhile every new session is served, by the other instance.
    const served = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const c = await viaHaproxy();
        try {
          const data = randomBytes(10_000 + i);
          const up = await c.upload(`new${i}`, data);
          const { data: back } = await c.download(`new${i}`);
          return c.greeting.startsWith('HELLO') && up.status === 'OK' && back?.equals(data) === true;
        } finally {
          c.close();
        }
      }),
    );
    t.deepEqual(served, Array(10).fill(true), 'every new session during the drain is served');
    // And the real CLI, as a user would run it against the balancer.
    const local = await mkdtemp(join(tmpdir(), 'filehive-cli-'));
    t.teardown(() => rm(local, { recursive: true, force: true }));
    const cliData = randomBytes(50_000);
    await writeFile(join(local, 'by-cli.bin'), cliData);
    const cli = await runCli(['--retry', '3', '-c', 'UPLOAD by-cli.bin', '127.0.0.1', String(haproxy.port)], {
      cwd: local,
    });
    t.is(cli.code, 0, `the CLI uploads through HAProxy during the drain: ${cli.stderr}`);

    // The drained instance's uploads finish within the grace period; then it exits cleanly.
    for (const u of uploads) {
      u.c.send(u.v2.subarray(SENT));
      u.c.send(`CHECKSUM sha256:${sha256(u.v2)}\n`);
      t.is((await u.c.reply(30_000)).status, 'OK', `${u.name} completes`);
      u.c.close();
    }
    t.is(await exited, 0, 'the drained instance exits 0 once its sessions are done');

    // The upgraded instance comes back on the same port and HAProxy sends sessions to it again.
    const again = await startServer({ root, workers: 1, args: [...args, '--port', String(first.port)] });
    t.teardown(() => again.stop());
    t.true(
      await waitFor(async () => (await haproxy.states()).first === 'UP', 10_000),
      'HAProxy puts it back once it greets',
    );
    const files = new Map<string, Buffer>(uploads.map((u) => [u.name, u.v2]));
    files.set('by-cli.bin', cliData);
    const c = await viaHaproxy();
    for (let i = 0; i < 10; i++) {
      const { data } = await c.download(`new${i}`);
      if (data) files.set(`new${i}`, data);
    }
    c.close();
    t.is(files.size, 15, 'everything written during the drain is there');
    await assertExactTree(t, root, files);
  },
);
