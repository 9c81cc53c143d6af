// A second process that holds locks through a real LockManager, for tests of contention between
// processes (proper-lockfile keeps one lock table per process, so two LockManagers in one process do
// not stand in for two processes). Run as a script: `node --import tsx tests/_helpers/lock-child.ts`
// with a JSON LockChildConfig in FILEHIVE_LOCK_CHILD. It prints one JSON line `{"event":"locked",...}`
// once it holds every key and their holder records are written, releases on a `release` line on
// stdin, prints `{"event":"released"}` and exits. It also exits (releasing) when stdin closes, so a
// failed test leaves no process behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LockManager } from '../../src/locks/lock-manager.js';

export interface LockChildConfig {
  readonly dir: string;
  readonly staleMs: number;
  readonly instance: string;
  readonly op: 'upload' | 'delete' | 'move' | 'mkdir' | 'rmdir';
  readonly keys: readonly string[];
  readonly temp?: string;
}

export interface LockChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Asks the child to release its locks; resolves once it has. */
  release(): Promise<void>;
  /** Resolves when the child has exited (by any means). */
  readonly exited: Promise<unknown>;
}

const SELF = fileURLToPath(import.meta.url);

/** Starts a child that takes the locks; resolves once it holds them. */
export async function startLockChild(config: LockChildConfig): Promise<LockChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    env: { ...process.env, FILEHIVE_LOCK_CHILD: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const events: string[] = [];
  const waiters: Array<() => void> = [];
  lines.on('line', (line) => {
    events.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (event: string): Promise<void> => {
    for (;;) {
      const index = events.findIndex((line) => (JSON.parse(line) as { event: string }).event === event);
      if (index >= 0) {
        events.splice(index, 1);
        return;
      }
      const woken = new Promise<void>((resolve) => waiters.push(resolve));
      const result = await Promise.race([woken.then(() => 'line'), exited.then(() => 'exit')]);
      if (result === 'exit' && !events.length) throw new Error(`lock child exited before "${event}"`);
    }
  };
  await next('locked');
  return {
    process: child,
    pid: child.pid ?? -1,
    exited,
    async release() {
      child.stdin?.write('release\n');
      await next('released');
    },
  };
}

const present = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function main(config: LockChildConfig): Promise<void> {
  const locks = await LockManager.open({
    dir: config.dir,
    staleMs: config.staleMs,
    waitMs: 0,
    instance: config.instance,
  });
  const handle = await locks.acquire(config.keys, config.op, config.temp);
  // "locked" means the holder records are there too (a LockManager may write them a moment later).
  for (const key of config.keys) {
    const record = join(config.dir, `${locks.idOf(key)}.holder`);
    for (let tries = 0; tries < 200 && !(await present(record)); tries++) await sleep(10);
  }
  process.stdout.write(`${JSON.stringify({ event: 'locked', pid: process.pid })}\n`);
  const input = createInterface({ input: process.stdin });
  for await (const line of input) if (line.trim() === 'release') break;
  await handle.release();
  process.stdout.write(`${JSON.stringify({ event: 'released' })}\n`);
  process.exit(0);
}

const raw = process.env.FILEHIVE_LOCK_CHILD;
if (raw !== undefined && process.argv[1] === SELF) {
  main(JSON.parse(raw) as LockChildConfig).catch((err: unknown) => {
    process.stderr.write(`lock child: ${String(err)}\n`);
    process.exit(1);
  });
}
