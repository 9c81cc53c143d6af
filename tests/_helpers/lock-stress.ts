// The lock stress shared by every test that races sessions over a few names (one host, several
// instances, a load balancer, a network filesystem): random UPLOAD, DOWNLOAD, DELETE and MOVE, and the
// invariants of docs/LOCKS.md checked afterwards. Every download must be one complete uploaded version,
// every refusal one a race explains, nothing may be left behind, and the tree must hold exactly what
// was written.
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import { isPlaceholderName } from '../../src/storage/virtual-path.js';
import type { Random } from './random.js';
import { q, type RawClient, type RawReply, sha256 } from './raw-client.js';
import { leftovers, listTree } from './tree.js';
import { waitFor } from './wait.js';

/** The only refusals a race between well-formed requests on existing folders can explain. */
export const RACE_CODES: ReadonlySet<string> = new Set(['BUSY', 'NOT_FOUND', 'EXISTS']);

export type Verb = 'UPLOAD' | 'DOWNLOAD' | 'DELETE' | 'MOVE';

/** How a session ended that the client itself noticed, named like the client library's codes. */
export type LostCode = 'CONNECT_FAILED' | 'CONNECTION_LOST';

export class StressTally {
  readonly ok: Record<Verb, number> = { UPLOAD: 0, DOWNLOAD: 0, DELETE: 0, MOVE: 0 };
  readonly refused = new Map<string, number>();
  readonly unexpected: string[] = [];
  /** sha256 of every content whose CHECKSUM line was sent: the server may have renamed it in. */
  readonly announced = new Set<string>();
  /** Every announced content by its sha256, to say what a foreign download is made of. */
  readonly versions = new Map<string, Buffer>();
  /** What each foreign download looked like (describeForeign). */
  readonly foreign: string[] = [];
  /** sha256 of every content whose upload got OK. */
  readonly stored = new Set<string>();
  /** sha256 of every complete download. */
  readonly downloaded: string[] = [];
  /** Sessions that ended under a client: CONNECTION_LOST mid-command, CONNECT_FAILED before HELLO. */
  readonly lost: Record<LostCode, number> = { CONNECT_FAILED: 0, CONNECTION_LOST: 0 };
  /** Commands sent again after their session was lost. */
  retried = 0;
  /** Clients that stopped before their work was done (too many lost sessions in a row). */
  gaveUp = 0;
  ops = 0;

  get reconnects(): number {
    return this.lost.CONNECTION_LOST;
  }

  record(verb: Verb, what: string, reply: RawReply): void {
    this.ops++;
    if (reply.status === 'OK') this.ok[verb]++;
    else if (reply.status === 'ERR' && RACE_CODES.has(reply.code ?? '')) {
      const key = `${verb} ${reply.code}`;
      this.refused.set(key, (this.refused.get(key) ?? 0) + 1);
    } else this.unexpected.push(`${what}: ${reply.line}`);
  }

  /** One line for t.log. */
  summary(seed: number, ranMs: number): string {
    return (
      `seed ${seed}: ${this.ops} ops in ${ranMs} ms; ok ${JSON.stringify(this.ok)}; ` +
      `refused ${JSON.stringify(Object.fromEntries(this.refused))}; ${this.announced.size} announced, ` +
      `${this.stored.size} stored, ${this.downloaded.length} downloads; lost ${JSON.stringify(this.lost)}, ` +
      `${this.retried} retried, ${this.gaveUp} gave up`
    );
  }
}

export interface StressPlan {
  /** Names in play, relative to the session's folder (e.g. `d/n0`). */
  readonly names: readonly string[];
  /** Largest upload in bytes. */
  readonly maxSize: number;
}

/** The folder the cluster and lock stress tests race in. */
export const STRESS_FOLDER = 'd';

/** Eight names in STRESS_FOLDER, uploads up to `maxSize` bytes. */
export function stressPlan(maxSize: number): StressPlan {
  return {
    names: ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'].map((n) => `${STRESS_FOLDER}/${n}`),
    maxSize,
  };
}

type Op =
  | { verb: 'UPLOAD'; name: string; size: number }
  | { verb: 'DOWNLOAD'; name: string }
  | { verb: 'DELETE'; name: string }
  | { verb: 'MOVE'; name: string; to: string };

function planOp(plan: StressPlan, r: Random): Op {
  const name = r.pick(plan.names);
  const roll = r.next();
  if (roll < 0.3) return { verb: 'UPLOAD', name, size: r.below(plan.maxSize + 1) };
  if (roll < 0.6) return { verb: 'DOWNLOAD', name };
  if (roll < 0.75) return { verb: 'DELETE', name };
  return { verb: 'MOVE', name, to: r.pick(plan.names.filter((n) => n !== name)) };
}

async function upload(c: RawClient, name: string, size: number, tally: StressTally): Promise<RawReply> {
  const data = randomBytes(size);
  const digest = sha256(data);
  const go = await c.request(`UPLOAD ${q(name)} ${data.length} checksum=sha256`);
  if (go.status !== 'GO') return go;
  c.send(data);
  tally.announced.add(digest);
  tally.versions.set(digest, data);
  c.send(`CHECKSUM sha256:${digest}\n`);
  const reply = await c.reply(30_000);
  if (reply.status === 'OK') tally.stored.add(digest);
  return reply;
}

/** Common leading bytes of a and b from `from` on. */
function commonRun(a: Buffer, b: Buffer, from: number): number {
  let i = from;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i - from;
}

/**
 * What bytes that match no announced version are made of: runs of known versions at the same offsets
 * (a torn read), zeros (a hole), or neither.
 */
export function describeForeign(data: Buffer, versions: ReadonlyMap<string, Buffer>): string {
  const parts: string[] = [];
  let at = 0;
  while (at < data.length && parts.length < 12) {
    let best = 0;
    let which = '';
    for (const [digest, v] of versions) {
      const run = commonRun(data, v, at);
      if (run > best) {
        best = run;
        which = `${digest.slice(0, 8)}(size ${v.length})`;
      }
    }
    let zeros = 0;
    while (at + zeros < data.length && data[at + zeros] === 0) zeros++;
    if (best <= 1 && zeros <= 1) {
      parts.push(`[${at}..) unknown`);
      break;
    }
    if (zeros > best) {
      parts.push(`[${at}..${at + zeros}) zeros`);
      at += zeros;
    } else {
      parts.push(`[${at}..${at + best}) ${which}`);
      at += best;
    }
  }
  return `size ${data.length}: ${parts.join(' ')}`;
}

async function download(c: RawClient, name: string, tally: StressTally, label: string): Promise<RawReply> {
  const head = await c.request(`DOWNLOAD ${q(name)} checksum=sha256`);
  if (head.status !== 'DATA') return head;
  const data = await c.bytes(Number(head.fields.size));
  const end = await c.reply();
  const digest = sha256(data);
  if (end.status === 'OK') {
    tally.downloaded.push(digest);
    if (!tally.announced.has(digest))
      tally.foreign.push(`DOWNLOAD ${name}${label}: ${describeForeign(data, tally.versions)}`);
    if (end.fields.checksum !== `sha256:${digest}`)
      tally.unexpected.push(`DOWNLOAD ${name} sent other bytes: ${end.line}`);
  }
  return end;
}

async function runOp(c: RawClient, op: Op, tally: StressTally, label: string): Promise<void> {
  switch (op.verb) {
    case 'UPLOAD':
      tally.record('UPLOAD', `UPLOAD ${op.name}`, await upload(c, op.name, op.size, tally));
      return;
    case 'DOWNLOAD':
      tally.record('DOWNLOAD', `DOWNLOAD ${op.name}`, await download(c, op.name, tally, label));
      return;
    case 'DELETE':
      tally.record('DELETE', `DELETE ${op.name}`, await c.request(`DELETE ${q(op.name)}`));
      return;
    case 'MOVE':
      tally.record('MOVE', `MOVE ${op.name} ${op.to}`, await c.request(`MOVE ${q(op.name)} ${q(op.to)}`));
  }
}

/** Connects and checks the greeting; anything short of HELLO is CONNECT_FAILED (thrown as LostError). */
export class LostError extends Error {
  constructor(
    readonly code: LostCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export async function connectChecked(connect: () => Promise<RawClient>): Promise<RawClient> {
  let c: RawClient;
  try {
    c = await connect();
  } catch (err) {
    throw new LostError('CONNECT_FAILED', (err as Error).message);
  }
  if (!c.greeting.startsWith('HELLO ')) {
    c.close();
    throw new LostError('CONNECT_FAILED', `greeting ${JSON.stringify(c.greeting)}`);
  }
  return c;
}

export interface StressClientOptions {
  readonly plan: StressPlan;
  /** Opens a session (directly to an instance, or through a load balancer). */
  readonly connect: () => Promise<RawClient>;
  readonly random: Random;
  readonly tally: StressTally;
  /** Stop starting operations at this time (ms since the epoch). */
  readonly deadline?: number;
  /** Stop after this many operations (each one retried until done). */
  readonly ops?: number;
  /**
   * Lost sessions tolerated in a row before the client gives up (counted in tally.gaveUp). A command
   * whose session was lost is sent again on a new session, after a pause that grows with each loss.
   */
  readonly maxLostInARow?: number;
  /** Names the path the client takes (e.g. an instance), in what a failed check reports. */
  readonly label?: string;
}

/**
 * One client: random operations until the deadline or the op budget. When its session is lost
 * (CONNECTION_LOST) or a new one cannot be opened (CONNECT_FAILED), it reconnects and sends the same
 * command again, as a careful client of a load-balanced service does.
 */
export async function runStressClient(options: StressClientOptions): Promise<void> {
  const { plan, tally, random } = options;
  const ops = options.ops ?? Number.POSITIVE_INFINITY;
  const maxLost = options.maxLostInARow ?? 3;
  let c: RawClient | null = null;
  let lostInARow = 0;
  const lose = async (code: LostCode): Promise<boolean> => {
    tally.lost[code]++;
    c?.close();
    c = null;
    if (++lostInARow > maxLost) {
      tally.gaveUp++;
      return false;
    }
    await sleep(Math.min(1_000, 50 * 2 ** lostInARow));
    return true;
  };
  try {
    for (let i = 0; i < ops && Date.now() < (options.deadline ?? Number.POSITIVE_INFINITY); i++) {
      const op = planOp(plan, random);
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) tally.retried++;
        try {
          c ??= await connectChecked(options.connect);
        } catch (err) {
          if (!(err instanceof LostError)) throw err;
          if (await lose(err.code)) continue;
          return;
        }
        try {
          await runOp(c, op, tally, options.label ? ` via ${options.label}` : '');
          lostInARow = 0;
          break;
        } catch (err) {
          if (!c.isClosed) {
            tally.unexpected.push(`${op.verb} ${op.name}: ${(err as Error).message}`);
            c.close();
            c = null;
            break;
          }
          if (!(await lose('CONNECTION_LOST'))) return;
        }
      }
    }
  } finally {
    (c as RawClient | null)?.close();
  }
}

/** Every refusal a race explains, every download an announced version, every verb succeeded sometimes. */
export function assertStressReplies(t: ExecutionContext, tally: StressTally): void {
  t.deepEqual(tally.unexpected, [], `every refusal is ${[...RACE_CODES].join(', ')}`);
  t.deepEqual(tally.foreign, [], 'every download is one complete uploaded version');
  for (const verb of Object.keys(tally.ok) as Verb[]) t.true(tally.ok[verb] > 0, `some ${verb} succeeded`);
  t.is(tally.gaveUp, 0, 'every client finished its work');
}

/**
 * Waits until no lock, holder record or temp file is left (up to `withinMs`), then checks that `folder`
 * holds only names in play, each with an announced version.
 */
export async function assertStressTree(
  t: ExecutionContext,
  options: { root: string; folder: string; plan: StressPlan; tally: StressTally; withinMs?: number },
): Promise<void> {
  const { root, folder, plan, tally } = options;
  await waitFor(async () => (await leftovers(root)).length === 0, options.withinMs ?? 5_000);
  t.deepEqual(await leftovers(root), [], 'locks and temp files are gone once every session closed');
  // A network filesystem client may keep a replaced file under a placeholder name for a while
  // (sshfs's .fuse_hidden*): clients never see those, and they are not the server's.
  const names = (await readdir(join(root, folder))).filter((n) => !isPlaceholderName(n));
  t.deepEqual(
    names.filter((n) => !plan.names.includes(`${folder}/${n}`)),
    [],
    'only the names in play exist',
  );
  for (const n of names) {
    const digest = sha256(await readFile(join(root, folder, n)));
    t.true(tally.announced.has(digest), `${folder}/${n} holds an uploaded version`);
  }
}

/**
 * Writes a fresh version of every name in play (one session, one upload each, all must succeed) and
 * returns the contents: after it, the tree must hold exactly these files.
 */
export async function writeFinalVersions(
  connect: () => Promise<RawClient>,
  plan: StressPlan,
): Promise<Map<string, Buffer>> {
  const written = new Map<string, Buffer>();
  const c = await connectChecked(connect);
  try {
    for (const name of plan.names) {
      const data = randomBytes(1024 + written.size);
      const reply = await c.upload(name, data);
      if (reply.status !== 'OK') throw new Error(`final UPLOAD ${name}: ${reply.line}`);
      written.set(name, data);
    }
  } finally {
    c.close();
  }
  return written;
}

/**
 * The storage tree below `root` is exactly `files` (path -> content) plus their folders, every byte as
 * written, and no lock, holder record or temp file is left (tree.ts leftovers(): the server's own state
 * in `.filehive/` is otherwise not this helper's business, nor a network filesystem's placeholders).
 */
export async function assertExactTree(
  t: ExecutionContext,
  root: string,
  files: ReadonlyMap<string, Buffer>,
): Promise<void> {
  const expected = new Set<string>();
  for (const path of files.keys()) {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) expected.add(parts.slice(0, i).join('/'));
  }
  const tree = (await listTree(root)).filter((p) => !isPlaceholderName(basename(p)));
  t.deepEqual(
    tree.filter((p) => p !== '.filehive' && !p.startsWith('.filehive/')),
    [...expected].sort(),
    'the tree holds exactly the expected paths',
  );
  t.deepEqual(await leftovers(root), [], 'no lock, holder record or temp file is left');
  for (const [path, data] of files) {
    t.is(sha256(await readFile(join(root, path))), sha256(data), `${path} holds its last version`);
  }
}
