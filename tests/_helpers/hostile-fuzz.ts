// The fuzz driver shared by the hostile-fuzz tests: runs batches of hostile sessions against a running
// server with fast-check, and after every batch checks the replies, the files the sessions must not
// touch, and the workers. A failure names its seed and the scripts of the failing batch.
import { randomInt } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { checkReplies, describeScript, type HostileScript, hostileScript, playScript } from './hostile.js';
import { childPids } from './processes.js';
import { sha256 } from './raw-client.js';
import { listTree } from './tree.js';

export const SESSIONS_PER_RUN = 6;
const RUNS = Number(process.env.FILEHIVE_FUZZ_RUNS ?? 80);
const TIME_LIMIT_MS = Number(process.env.FILEHIVE_FUZZ_TIME_MS ?? 10_000);

/**
 * Everything under `dir` except the `writable` subtrees (relative paths): path, type, size, mtime and
 * content hash, so a write, a removal or a file created and deleted again (the folder's mtime) shows.
 */
export async function snapshotExcept(dir: string, writable: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const skipped = (p: string) => writable.some((w) => p === w || p.startsWith(`${w}/`));
  for (const p of ['.', ...(await listTree(dir))].filter((p) => !skipped(p))) {
    const full = join(dir, p);
    const s = await lstat(full);
    const content = s.isFile() ? sha256(await readFile(full)) : '';
    out.push(
      `${p} ${s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : 'f'} ${s.size} ${s.mtimeMs} ${content}`,
    );
  }
  return out;
}

export interface FuzzTarget {
  readonly port: number;
  readonly serverPid: number;
  /** The folder watched for changes (the root's parent), and the subtrees sessions may change. */
  readonly watched: string;
  readonly writable: readonly string[];
  /** Strings no reply may contain (real paths). */
  readonly forbidden: readonly string[];
  /** What session `i` of a batch sends before its script (e.g. a LOGIN), if anything. */
  readonly prefix?: (i: number) => Buffer | null;
}

/** Runs the fuzz; fails the test with the seed and the failing batch's scripts. */
export async function runFuzz(t: ExecutionContext, target: FuzzTarget): Promise<void> {
  const before = await snapshotExcept(target.watched, target.writable);
  const workers = await childPids(target.serverPid);
  const seed = Number(process.env.FILEHIVE_FUZZ_SEED ?? randomInt(2 ** 31));
  t.log(`fuzz seed ${seed} (replay: FILEHIVE_FUZZ_SEED=${seed})`);
  const replies = new Map<string, number>();
  let sessions = 0;
  const started = Date.now();
  const property = fc.asyncProperty(
    fc.array(hostileScript, { minLength: SESSIONS_PER_RUN, maxLength: SESSIONS_PER_RUN }),
    async (generated: HostileScript[]) => {
      const scripts = generated.map((script, i) => {
        const prefix = target.prefix?.(i);
        return prefix ? { ...script, frames: [prefix, ...script.frames] } : script;
      });
      const received = await Promise.all(
        scripts.map((script, i) => playScript(target.port, `127.0.2.${i + 1}`, script)),
      );
      sessions += scripts.length;
      const problems: string[] = [];
      received.forEach((data, i) => {
        for (const m of data.toString('latin1').matchAll(/^(?:ERR ([A-Z_]+)|(OK|GO))/gm)) {
          const key = (m[1] ?? m[2]) as string;
          replies.set(key, (replies.get(key) ?? 0) + 1);
        }
        for (const p of checkReplies(data, target.forbidden)) {
          problems.push(`${p}\n after script ${describeScript(scripts[i] as HostileScript)}`);
        }
      });
      const all = () => scripts.map((s) => describeScript(s)).join('\n ');
      const now = await snapshotExcept(target.watched, target.writable);
      if (JSON.stringify(now) !== JSON.stringify(before)) {
        problems.push(`files the sessions must not touch changed after the scripts\n ${all()}`);
      }
      if (JSON.stringify(await childPids(target.serverPid)) !== JSON.stringify(workers)) {
        problems.push(`a worker was replaced after the scripts\n ${all()}`);
      }
      if (problems.length > 0) throw new Error(problems.join('\n'));
    },
  );
  const details = await fc.check(property, {
    seed,
    numRuns: RUNS,
    endOnFailure: true, // no shrinking against a live server: the failing batch and its seed are enough
    interruptAfterTimeLimit: TIME_LIMIT_MS,
    markInterruptAsFailure: false,
  });
  t.log(
    `${details.numRuns} runs, ${sessions} sessions in ${Date.now() - started} ms` +
      `${details.interrupted ? ' (time budget reached)' : ''}; replies seen: ` +
      [...replies.entries()].map(([c, n]) => `${c} ${n}`).join(', '),
  );
  if (details.failed) {
    t.log(`replay with FILEHIVE_FUZZ_SEED=${details.seed}`);
    const error = details.errorInstance;
    t.fail(error instanceof Error ? error.message : String(error));
  }
  t.true(details.numRuns >= Math.min(RUNS, 5), 'enough runs happened within the time budget');
  t.deepEqual(await snapshotExcept(target.watched, target.writable), before, 'nothing else changed');
  t.deepEqual(await childPids(target.serverPid), workers, 'no worker was replaced');
}
