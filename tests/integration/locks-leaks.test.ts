// Thousands of operations that succeed, are refused, aborted or fail, each checked against a model of
// what its lane's folder holds; afterwards the tree holds exactly the model and no lock or temp file.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { createRandom, type Random } from '../_helpers/random.js';
import { q, RawClient, type RawReply, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers, listTree } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const LANES = 8;
const OPS_PER_LANE = 375;
const FILES = ['f0', 'f1', 'f2', 'sub/f0', 'sub/f1', 'sub/f2'];
/** The server's own entries that may exist in any root (besides each host's clock probe). */
const SERVER_STATE = new Set(['.filehive', '.filehive/locks', '.filehive/locks/settings.json']);
/**
 * After another session ended an upload of a name (closed mid-body, or got its OK), the server may
 * still be releasing the lock: BUSY is retried this long before it counts as a leaked lock. (A release
 * after OK is a bug of its own, asserted in locks-release.test.ts.)
 */
const RELEASE_GRACE_MS = 3_000;
type End = 'abort' | 'ok';
/** Outcomes every run must have seen, or it did not test what it claims. */
const COVERED = [
  'UPLOAD OK',
  'MISMATCH CHECKSUM_MISMATCH',
  'ABORT-GO GO',
  'UPLOAD NOT_FOUND',
  'DELETE IS_A_DIRECTORY',
  'DELETE OK',
  'MOVE OK',
  'MOVE EXISTS',
  'UPLOAD-HELD BUSY',
  'DELETE-HELD BUSY',
  'MOVE-HELD BUSY',
  'DOWNLOAD-HELD BUSY',
  'DOWNLOAD-END OK',
  'RMDIR OK',
];

/** One lane: its own folder, a model of it, and one main session; blockers and aborts use extra ones. */
class Lane {
  readonly files = new Map<string, string>();
  hasTmp = false;
  readonly failures: string[] = [];
  readonly counts = new Map<string, number>();
  readonly ended = new Map<string, { at: number; how: End }>();
  readonly lateReleases: Record<End, number> = { abort: 0, ok: 0 };
  private main!: RawClient;

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly r: Random,
  ) {}

  private at(rel: string): string {
    return `${this.dir}/${rel}`;
  }

  private check(what: string, expected: string, reply: RawReply): boolean {
    const got = reply.status === 'ERR' ? (reply.code ?? '') : reply.status;
    const key = `${what.split(' ')[0]} ${got}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (got === expected) return true;
    this.failures.push(`${what}: expected ${expected}, got ${reply.line}`);
    return false;
  }

  /** Sends a request, retrying BUSY while a name involved was just ended by another session. */
  private async request(line: string, expected: string, names: string[], c = this.main): Promise<RawReply> {
    for (;;) {
      const reply = await c.request(line);
      const recent = names
        .map((n) => this.ended.get(n))
        .find((e) => e !== undefined && Date.now() - e.at < RELEASE_GRACE_MS);
      if (reply.code !== 'BUSY' || expected === 'BUSY' || !recent) return reply;
      this.lateReleases[recent.how]++;
      await sleep(10);
    }
  }

  private async sendUpload(c: RawClient, rel: string, data: Buffer, hex = sha256(data)): Promise<RawReply> {
    const go = await this.request(`UPLOAD ${q(this.at(rel))} ${data.length} checksum=sha256`, 'GO', [rel], c);
    if (!this.check(`UPLOAD-GO ${rel}`, 'GO', go)) return go;
    c.send(data);
    c.send(`CHECKSUM sha256:${hex}\n`);
    return c.reply();
  }

  async run(): Promise<void> {
    this.main = await RawClient.connect(this.port);
    try {
      for (const d of [this.dir, this.at('sub')])
        this.check(`MKDIR ${d}`, 'OK', await this.main.request(`MKDIR ${q(d)}`));
      for (let i = 0; i < OPS_PER_LANE; i++) await this.step();
    } finally {
      this.main.close();
    }
  }

  private async step(): Promise<void> {
    const { r, main } = this;
    const rel = r.pick(FILES);
    const roll = r.next();
    if (roll < 0.18) {
      const data = randomBytes(r.below(8192));
      if (this.check(`UPLOAD ${rel}`, 'OK', await this.sendUpload(main, rel, data))) {
        this.files.set(rel, sha256(data));
        this.ended.set(rel, { at: Date.now(), how: 'ok' });
      }
    } else if (roll < 0.24) {
      const data = randomBytes(1 + r.below(8192));
      this.check(
        `MISMATCH ${rel}`,
        'CHECKSUM_MISMATCH',
        await this.sendUpload(main, rel, data, '0'.repeat(64)),
      );
    } else if (roll < 0.3) {
      await this.abortUpload(rel);
    } else if (roll < 0.45) {
      const want = this.files.get(rel);
      const head = await this.request(`DOWNLOAD ${q(this.at(rel))}`, want ? 'DATA' : 'NOT_FOUND', [rel]);
      if (this.check(`DOWNLOAD ${rel}`, want ? 'DATA' : 'NOT_FOUND', head) && want) {
        const data = await main.bytes(Number(head.fields.size));
        this.check(`DOWNLOAD-END ${rel}`, 'OK', await main.reply());
        if (sha256(data) !== want) this.failures.push(`DOWNLOAD ${rel}: not the stored version`);
      }
    } else if (roll < 0.55) {
      const want = this.files.has(rel) ? 'OK' : 'NOT_FOUND';
      if (this.check(`DELETE ${rel}`, want, await this.request(`DELETE ${q(this.at(rel))}`, want, [rel])))
        this.files.delete(rel);
    } else if (roll < 0.67) {
      await this.move(rel, r.next() < 0.25 ? 'sub' : r.pick(FILES));
    } else if (roll < 0.8) {
      await this.busy(rel);
    } else if (roll < 0.9) {
      const mk = r.next() < 0.5;
      const want = mk === this.hasTmp ? (mk ? 'EXISTS' : 'NOT_FOUND') : 'OK';
      const line = `${mk ? 'MKDIR' : 'RMDIR'} ${q(this.at('tmp'))}`;
      if (this.check(line, want, await this.request(line, want, ['tmp'])) && want === 'OK') this.hasTmp = mk;
    } else {
      const refused: Array<[string, string]> = [
        [`UPLOAD ${q(this.at('nope/x'))} 10`, 'NOT_FOUND'],
        [`UPLOAD ${q(this.at('sub'))} 10`, 'IS_A_DIRECTORY'],
        [`DELETE ${q(this.at('sub'))}`, 'IS_A_DIRECTORY'],
        [`DOWNLOAD ${q(this.at('nope/x'))}`, 'NOT_FOUND'],
      ];
      // RMDIR of an empty sub would change the layout: only sent when it must be refused.
      if ([...this.files.keys()].some((f) => f.startsWith('sub/')))
        refused.push([`RMDIR ${q(this.at('sub'))}`, 'NOT_EMPTY']);
      const [line, want] = r.pick(refused);
      this.check(line, want, await this.request(line, want, []));
    }
  }

  private async move(from: string, to: string): Promise<void> {
    const final = to === 'sub' ? `sub/${posix.basename(from)}` : to;
    const want = !this.files.has(from) ? 'NOT_FOUND' : this.files.has(final) ? 'EXISTS' : 'OK';
    const line = `MOVE ${q(this.at(from))} ${q(this.at(to))}`;
    if (this.check(line, want, await this.request(line, want, [from, final])) && want === 'OK') {
      this.files.set(final, this.files.get(from) as string);
      this.files.delete(from);
    }
  }

  /** An upload on its own session that the client closes mid-body: nothing may change or remain. */
  private async abortUpload(rel: string): Promise<void> {
    const c = await RawClient.connect(this.port);
    const size = 1024 + this.r.below(64 * 1024);
    const go = await this.request(`UPLOAD ${q(this.at(rel))} ${size}`, 'GO', [rel], c);
    if (this.check(`ABORT-GO ${rel}`, 'GO', go)) c.send(randomBytes(this.r.below(size)));
    c.close();
    this.ended.set(rel, { at: Date.now(), how: 'abort' });
  }

  /** Another session holds `rel` mid-upload: every writer and reader of it must get BUSY. */
  private async busy(rel: string): Promise<void> {
    const blocker = await RawClient.connect(this.port);
    const data = randomBytes(2 + this.r.below(4096));
    const go = await this.request(
      `UPLOAD ${q(this.at(rel))} ${data.length} checksum=sha256`,
      'GO',
      [rel],
      blocker,
    );
    let how: End = 'abort';
    if (this.check(`HOLD-GO ${rel}`, 'GO', go)) {
      blocker.send(data.subarray(0, data.length >> 1));
      const other = this.r.pick(FILES.filter((f) => f !== rel));
      const exists = this.files.has(rel);
      const [line, want] = this.r.pick([
        [`UPLOAD ${q(this.at(rel))} 1`, 'BUSY'],
        [`DELETE ${q(this.at(rel))}`, 'BUSY'],
        [`MOVE ${q(this.at(rel))} ${q(this.at(other))}`, 'BUSY'],
        [`MOVE ${q(this.at(other))} ${q(this.at(rel))}`, 'BUSY'],
        [`DOWNLOAD ${q(this.at(rel))}`, exists ? 'BUSY' : 'NOT_FOUND'],
      ] as const);
      const reply = await this.request(line, want, [rel, other]);
      // A MOVE also locks `other`, which a just-aborted session may still be releasing (its record
      // goes first, then its lock): its BUSY may name no holder, so only single-name commands must
      // name the upload.
      if (
        this.check(`${line.split(' ')[0]}-HELD ${rel}`, want, reply) &&
        want === 'BUSY' &&
        !line.startsWith('MOVE') &&
        reply.fields.holder !== 'upload'
      )
        this.failures.push(`${line}: BUSY without holder=upload: ${reply.line}`);
      if (this.r.next() < 0.5) {
        blocker.send(data.subarray(data.length >> 1));
        blocker.send(`CHECKSUM sha256:${sha256(data)}\n`);
        if (this.check(`HOLD-END ${rel}`, 'OK', await blocker.reply())) {
          this.files.set(rel, sha256(data));
          how = 'ok';
        }
      }
    }
    blocker.close();
    this.ended.set(rel, { at: Date.now(), how });
  }

  expectedTree(): string[] {
    const dirs = [this.dir, this.at('sub'), ...(this.hasTmp ? [this.at('tmp')] : [])];
    return [...dirs, ...[...this.files.keys()].map((f) => this.at(f))];
  }
}

test('3000 mixed, refused, aborted and failed operations leave exactly the expected tree and no locks', async (t) => {
  t.timeout(50_000);
  const server = await startServer({ workers: 2, args: ['--log-level', 'warn'] });
  t.teardown(() => server.stop());
  const seed = createRandom().seed;
  const lanes = Array.from(
    { length: LANES },
    (_, i) => new Lane(server.port, `l${i}`, createRandom(seed + i)),
  );
  const started = Date.now();
  await Promise.all(lanes.map((lane) => lane.run()));
  const counts = new Map<string, number>();
  for (const lane of lanes) for (const [k, n] of lane.counts) counts.set(k, (counts.get(k) ?? 0) + n);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const late = (how: End) => lanes.reduce((a, l) => a + l.lateReleases[how], 0);
  t.log(`seed ${seed}: ${total} replies in ${Date.now() - started} ms`);
  t.log(`BUSY retried: ${late('abort')} after a client abort, ${late('ok')} after an UPLOAD OK`);
  t.log(JSON.stringify(Object.fromEntries([...counts].sort())));

  t.deepEqual(
    lanes.flatMap((l) => l.failures),
    [],
  );
  for (const outcome of COVERED) t.true((counts.get(outcome) ?? 0) > 0, `some ${outcome}`);
  t.true(await waitFor(async () => (await leftovers(server.root)).length === 0, 5_000), 'nothing left over');
  t.deepEqual(await leftovers(server.root), []);
  const tree = (await listTree(server.root)).filter(
    (p) => !SERVER_STATE.has(p) && !/^\.filehive\/locks\/clock-[^/]+\.probe$/.test(p),
  );
  t.deepEqual(tree, lanes.flatMap((l) => l.expectedTree()).sort());
  for (const lane of lanes) {
    for (const [rel, digest] of lane.files) {
      t.is(sha256(await readFile(join(server.root, lane.dir, rel))), digest, `${lane.dir}/${rel}`);
    }
  }
  t.notRegex(server.output(), /died/);
});
