// A worker is SIGKILLed while uploads run on both workers. The previous versions must stay, the dead
// worker's locks and temp files must be gone within --lock-stale, the surviving worker's uploads must
// go on untouched, and the server must keep serving.
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { childPids } from '../_helpers/processes.js';
import { q, RawClient, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const STALE_S = 3;
/** Scheduling and polling slack on top of the stale period. */
const SLACK_MS = 2_000;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const ANNOUNCED = 8 << 20;
const SENT = 2 << 20;

interface Upload {
  readonly name: string;
  readonly v2: Buffer;
  readonly c: RawClient;
}

const tempFiles = async (root: string) =>
  (await leftovers(root)).filter((p) => /(^|\/)\.filehive-[^/]*\.tmp$/.test(p));
const lockEntries = async (root: string) => (await leftovers(root)).filter((p) => p.endsWith('.lock'));

async function downloadData(port: number, name: string): Promise<Buffer | string> {
  const c = await RawClient.connect(port);
  try {
    const { data, reply } = await c.download(name);
    return data ?? reply.code ?? reply.line;
  } finally {
    c.close();
  }
}

async function uploadWhole(port: number, name: string, data: Buffer): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    return (await c.upload(name, data)).line;
  } finally {
    c.close();
  }
}

test('a worker killed mid-upload keeps previous versions and frees its locks and temp files within --lock-stale', async (t) => {
  t.timeout(50_000);
  const server = await startServer({ workers: 2, args: ['--lock-stale', String(STALE_S)] });
  t.teardown(() => server.stop());
  const { port, root } = server;
  const primary = server.proc.pid as number;

  const v1 = new Map<string, Buffer>();
  const setup = await RawClient.connect(port);
  for (const name of NAMES) {
    const data = randomBytes(64 * 1024);
    t.is((await setup.upload(name, data)).status, 'OK');
    v1.set(name, data);
  }
  setup.close();

  // Separate sessions: the primary hands connections to the workers in turn, so both get some.
  const uploads: Upload[] = [];
  for (const name of NAMES) {
    const c = await RawClient.connect(port);
    const v2 = randomBytes(ANNOUNCED);
    t.is((await c.request(`UPLOAD ${q(name)} ${ANNOUNCED} checksum=sha256`)).status, 'GO');
    c.send(v2.subarray(0, SENT));
    uploads.push({ name, v2, c });
  }
  const written = async () => {
    const sizes = await Promise.all(
      (await tempFiles(root)).map(async (p) => (await stat(join(root, p))).size),
    );
    return sizes.length === NAMES.length && sizes.every((size) => size === SENT);
  };
  t.true(await waitFor(written), 'every upload has written its first bytes');

  const workers = await childPids(primary);
  t.is(workers.length, 2);
  const victim = workers[0] as number;
  process.kill(victim, 'SIGKILL');
  const killedAt = Date.now();
  t.true(await waitFor(() => uploads.some((u) => u.c.isClosed), 5_000), 'the victim had sessions');
  await sleep(200); // every socket of the dead process closes at once; give the last ones a moment
  const killed = uploads.filter((u) => u.c.isClosed);
  const alive = uploads.filter((u) => !u.c.isClosed);
  t.log(
    `killed worker ${victim}: ${killed.map((u) => u.name)} lost, ${alive.map((u) => u.name)} still running`,
  );
  t.true(killed.length > 0 && alive.length > 0, 'the uploads ran on both workers');

  for (const name of NAMES)
    t.is(sha256(await readFile(join(root, name))), sha256(v1.get(name) as Buffer), name);

  // The server keeps serving: the primary respawns the worker and new sessions are answered.
  t.true(await waitFor(() => /died/.test(server.output()), 5_000), 'the death is logged');
  t.true(
    await waitFor(async () => {
      const now = await childPids(primary);
      return now.length === 2 && !now.includes(victim);
    }),
    'the worker is replaced',
  );
  for (let i = 0; i < 4; i++) {
    const c = await RawClient.connect(port);
    t.is((await c.request('PWD')).status, 'OK');
    c.close();
  }

  // Within the stale period the dead worker's names are readable again (still v1) and writable.
  const deadline = killedAt + STALE_S * 1000 + SLACK_MS;
  const freed = await Promise.all(
    killed.map(async ({ name }) => {
      let last: Buffer | string = '';
      await waitFor(async () => {
        last = await downloadData(port, name);
        return Buffer.isBuffer(last);
      }, deadline - Date.now());
      return { name, last, after: Date.now() - killedAt };
    }),
  );
  for (const { name, last, after } of freed) {
    t.true(
      Buffer.isBuffer(last),
      `${name} readable within ${STALE_S} s + slack (last reply: ${String(last)})`,
    );
    if (Buffer.isBuffer(last)) t.is(sha256(last), sha256(v1.get(name) as Buffer), `${name} still v1`);
    t.log(`${name} readable ${after} ms after the kill`);
  }
  const tempsFreed = await waitFor(
    async () => (await tempFiles(root)).length === alive.length,
    Math.max(0, deadline - Date.now()),
  );
  t.true(tempsFreed, `the dead worker's temp files are removed within ${STALE_S} s + slack`);
  for (const { name } of killed) {
    const v3 = randomBytes(1000);
    t.regex(await uploadWhole(port, name, v3), /^OK /, `${name} can be uploaded again`);
    t.is(sha256(await readFile(join(root, name))), sha256(v3));
  }
  t.is((await tempFiles(root)).length, alive.length, 'only the running uploads have temp files');
  t.is((await lockEntries(root)).length, alive.length, 'only the running uploads hold locks');

  // The surviving worker's uploads were not touched: still locked past the stale period, and they finish.
  await sleep(Math.max(0, killedAt + STALE_S * 1000 + 500 - Date.now()));
  for (const { name } of alive)
    t.is(await downloadData(port, name), 'BUSY', `${name} is still being uploaded`);
  const [finisher, ...quitters] = alive as [Upload, ...Upload[]];
  finisher.c.send(finisher.v2.subarray(SENT));
  finisher.c.send(`CHECKSUM sha256:${sha256(finisher.v2)}\n`);
  t.is((await finisher.c.reply(30_000)).status, 'OK', 'an upload on the surviving worker completes');
  for (const u of uploads) u.c.close();

  t.true(
    await waitFor(async () => (await leftovers(root)).length === 0, 5_000),
    'nothing left once all closed',
  );
  t.deepEqual(await leftovers(root), []);
  t.is(sha256(await readFile(join(root, finisher.name))), sha256(finisher.v2));
  for (const { name } of quitters) {
    const data = await downloadData(port, name);
    t.true(Buffer.isBuffer(data) && sha256(data) === sha256(v1.get(name) as Buffer), `${name} still v1`);
  }
});
