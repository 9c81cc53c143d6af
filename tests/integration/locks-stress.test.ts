// Many sessions on two instances sharing one root race UPLOAD, DOWNLOAD, DELETE and MOVE over a few
// names. The locks must keep every download whole, refuse only with the codes a race explains, keep
// every process alive and leave nothing behind.
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { childPids } from '../_helpers/processes.js';
import { createRandom, type Random } from '../_helpers/random.js';
import { q, RawClient, type RawReply, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const SECONDS = Number(process.env.FILEHIVE_STRESS_SECONDS ?? 12);
const CLIENTS = 32;
const MAX_OPS_PER_CLIENT = 5_000;
const MAX_RECONNECTS_PER_CLIENT = 3;
const MAX_SIZE = 256 * 1024;
const FOLDER = 'd';
const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'].map((n) => `${FOLDER}/${n}`);
/** The only refusals a race between well-formed requests on existing folders can explain. */
const RACE_CODES = new Set(['BUSY', 'NOT_FOUND', 'EXISTS']);

type Verb = 'UPLOAD' | 'DOWNLOAD' | 'DELETE' | 'MOVE';

class Tally {
  readonly ok: Record<Verb, number> = { UPLOAD: 0, DOWNLOAD: 0, DELETE: 0, MOVE: 0 };
  readonly refused = new Map<string, number>();
  readonly unexpected: string[] = [];
  /** sha256 of every content whose CHECKSUM line was sent: the server may have renamed it in. */
  readonly announced = new Set<string>();
  /** sha256 of every content whose upload got OK. */
  readonly stored = new Set<string>();
  /** sha256 of every complete download. */
  readonly downloaded: string[] = [];
  reconnects = 0;
  ops = 0;

  record(verb: Verb, what: string, reply: RawReply): void {
    this.ops++;
    if (reply.status === 'OK') this.ok[verb]++;
    else if (reply.status === 'ERR' && RACE_CODES.has(reply.code ?? '')) {
      const key = `${verb} ${reply.code}`;
      this.refused.set(key, (this.refused.get(key) ?? 0) + 1);
    } else this.unexpected.push(`${what}: ${reply.line}`);
  }
}

async function upload(c: RawClient, name: string, size: number, tally: Tally): Promise<RawReply> {
  const data = randomBytes(size);
  const digest = sha256(data);
  const go = await c.request(`UPLOAD ${q(name)} ${data.length} checksum=sha256`);
  if (go.status !== 'GO') return go;
  c.send(data);
  tally.announced.add(digest);
  c.send(`CHECKSUM sha256:${digest}\n`);
  const reply = await c.reply(30_000);
  if (reply.status === 'OK') tally.stored.add(digest);
  return reply;
}

async function download(c: RawClient, name: string, tally: Tally): Promise<RawReply> {
  const head = await c.request(`DOWNLOAD ${q(name)} checksum=sha256`);
  if (head.status !== 'DATA') return head;
  const data = await c.bytes(Number(head.fields.size));
  const end = await c.reply();
  const digest = sha256(data);
  if (end.status === 'OK') {
    tally.downloaded.push(digest);
    if (end.fields.checksum !== `sha256:${digest}`)
      tally.unexpected.push(`DOWNLOAD ${name} sent other bytes: ${end.line}`);
  }
  return end;
}

async function runOne(c: RawClient, r: Random, tally: Tally): Promise<void> {
  const name = r.pick(NAMES);
  const roll = r.next();
  if (roll < 0.3)
    tally.record('UPLOAD', `UPLOAD ${name}`, await upload(c, name, r.below(MAX_SIZE + 1), tally));
  else if (roll < 0.6) tally.record('DOWNLOAD', `DOWNLOAD ${name}`, await download(c, name, tally));
  else if (roll < 0.75) tally.record('DELETE', `DELETE ${name}`, await c.request(`DELETE ${q(name)}`));
  else {
    const to = r.pick(NAMES.filter((n) => n !== name));
    tally.record('MOVE', `MOVE ${name} ${to}`, await c.request(`MOVE ${q(name)} ${q(to)}`));
  }
}

/** One client: random operations until the deadline or the op budget; reconnects if the server hangs up. */
async function runClient(port: number, r: Random, deadline: number, tally: Tally): Promise<void> {
  let c = await RawClient.connect(port);
  let reconnects = 0;
  try {
    for (let i = 0; i < MAX_OPS_PER_CLIENT && Date.now() < deadline; i++) {
      try {
        await runOne(c, r, tally);
      } catch (err) {
        if (c.isClosed) tally.reconnects++;
        else tally.unexpected.push(`client on port ${port}: ${(err as Error).message}`);
        c.close();
        if (++reconnects > MAX_RECONNECTS_PER_CLIENT) return;
        c = await RawClient.connect(port);
      }
    }
  } finally {
    c.close();
  }
}

test('32 sessions racing on 8 names over 2 instances x 2 workers: whole downloads, race refusals only, no leaks', async (t) => {
  t.timeout(SECONDS * 1000 + 45_000);
  const first = await startServer({ workers: 2, args: ['--log-level', 'warn'] });
  t.teardown(() => first.stop());
  const second = await startServer({ root: first.root, workers: 2, args: ['--log-level', 'warn'] });
  t.teardown(() => second.stop());
  const primaries = [first.proc.pid as number, second.proc.pid as number];
  const workersBefore = await Promise.all(primaries.map(childPids));
  t.deepEqual(
    workersBefore.map((pids) => pids.length),
    [2, 2],
  );

  const setup = await RawClient.connect(first.port);
  t.is((await setup.request(`MKDIR ${FOLDER}`)).status, 'OK');
  setup.close();

  const seed = createRandom().seed;
  const tally = new Tally();
  const started = Date.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) =>
      runClient([first.port, second.port][i % 2] as number, createRandom(seed + i), deadline, tally),
    ),
  );
  const ranMs = Date.now() - started;
  t.log(
    `seed ${seed}: ${tally.ops} ops in ${ranMs} ms; ok ${JSON.stringify(tally.ok)};`,
    `refused ${JSON.stringify(Object.fromEntries(tally.refused))}; ${tally.announced.size} announced,`,
    `${tally.stored.size} stored, ${tally.downloaded.length} downloads, ${tally.reconnects} reconnects`,
  );

  t.deepEqual(tally.unexpected, [], 'every refusal is BUSY, NOT_FOUND or EXISTS');
  const foreign = tally.downloaded.filter((digest) => !tally.announced.has(digest));
  t.deepEqual(foreign, [], 'every download is one complete uploaded version');
  for (const verb of Object.keys(tally.ok) as Verb[]) t.true(tally.ok[verb] > 0, `some ${verb} succeeded`);
  t.is(tally.reconnects, 0, 'no session was closed by the server');

  for (const server of [first, second]) t.notRegex(server.output(), /died/);
  t.deepEqual(await Promise.all(primaries.map(childPids)), workersBefore, 'no worker was replaced');

  const released = await waitFor(async () => (await leftovers(first.root)).length === 0, 5_000);
  t.true(released, 'locks and temp files are gone once every session closed');
  t.deepEqual(await leftovers(first.root), []);
  const names = await readdir(join(first.root, FOLDER));
  t.deepEqual(
    names.filter((n) => !NAMES.includes(`${FOLDER}/${n}`)),
    [],
    'only the names in play exist',
  );
  for (const n of names) {
    const digest = sha256(await readFile(join(first.root, FOLDER, n)));
    t.true(tally.announced.has(digest), `${FOLDER}/${n} holds an uploaded version`);
  }
});
