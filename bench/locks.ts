// Cost of locking: one acquire+release, and 4 KiB uploads with and without locks, measured in the same
// run and reported as ratios (median of the rounds, with min and max). `--quick` for a smoke run.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilehiveClient } from '../src/client/client.js';
import { LockManager } from '../src/locks/lock-manager.js';
import { fmt, summarize } from './lib/stats.js';

const quick = process.argv.includes('--quick');
let ROUNDS = quick ? 1 : 3;
let LOCK_OPS = quick ? 200 : 3000;
let FILES = quick ? 100 : 1000;

/** Sizes for a caller that runs this as one section of a larger bench (bench/run.ts). */
export interface LockBenchOptions {
  rounds?: number;
  lockOps?: number;
  files?: number;
  /** Print the summary lines (the standalone run does; bench/run.ts has its table). */
  print?: boolean;
}

/** The per-round figures behind the summaries, for a caller that relates them to each other. */
export interface LockSamples {
  cycleMicros: number[];
  uploadsPerSecondLocks: number[];
  uploadsPerSecondNoLocks: number[];
  /** Empty when /dev/shm is missing. */
  uploadsPerSecondTmpfsLocks: number[];
}

async function lockCycleMicros(dir: string): Promise<number> {
  const locks = await LockManager.open({ dir, staleMs: 10_000, waitMs: 0, instance: 'bench' });
  const started = performance.now();
  for (let i = 0; i < LOCK_OPS; i++) {
    const handle = await locks.acquire([`bench/${i % 64}`], 'upload');
    await handle.release();
  }
  return ((performance.now() - started) * 1000) / LOCK_OPS;
}

type Mode = 'locks' | 'no-locks' | 'locks-tmpfs';

async function startServe(root: string, mode: Mode) {
  // locks-tmpfs: the same locks with the lock folder in memory, as a single host may configure it.
  const args =
    mode === 'locks-tmpfs'
      ? [root, 'locks', join('/dev/shm', `filehive-bench-locks-${process.pid}`)]
      : [root, mode];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/serve-one.ts', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      const m = /port (\d+)/.exec(chunk.toString());
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
  });
  return { port, stop: () => proc.kill('SIGTERM') };
}

async function smallUploadsPerSecond(mode: Mode, source: string): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), `filehive-bench-${mode}-`));
  const server = await startServe(root, mode);
  try {
    const client = await FilehiveClient.connect({ host: '127.0.0.1', port: server.port });
    const started = performance.now();
    for (let i = 0; i < FILES; i++) await client.upload(source, { remoteName: `f${i}.bin` });
    const seconds = (performance.now() - started) / 1000;
    await client.close();
    return FILES / seconds;
  } finally {
    server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

export async function runLockBench(
  options: LockBenchOptions = {},
): Promise<Record<string, unknown> & { samples: LockSamples }> {
  const log: (line: string) => void =
    options.print === false ? () => {} : (line: string) => console.log(line);
  ROUNDS = options.rounds ?? ROUNDS;
  LOCK_OPS = options.lockOps ?? LOCK_OPS;
  FILES = options.files ?? FILES;
  const work = await mkdtemp(join(tmpdir(), 'filehive-bench-'));
  const source = join(work, 'small.bin');
  await writeFile(source, Buffer.alloc(4096, 7));
  await mkdir(join(work, 'locks'));
  const cycles: number[] = [];
  const withLocks: number[] = [];
  const without: number[] = [];
  const tmpfs: number[] = [];
  const hasShm = await stat('/dev/shm').then(
    (s) => s.isDirectory(),
    () => false,
  );
  for (let r = 0; r < ROUNDS; r++) {
    cycles.push(await lockCycleMicros(join(work, 'locks')));
    // Alternate the order so drift on a shared machine hits every side alike.
    const order: Mode[] =
      r % 2 === 0 ? ['locks', 'no-locks', 'locks-tmpfs'] : ['locks-tmpfs', 'no-locks', 'locks'];
    for (const mode of order) {
      if (mode === 'locks-tmpfs' && !hasShm) continue;
      const rate = await smallUploadsPerSecond(mode, source);
      (mode === 'locks' ? withLocks : mode === 'no-locks' ? without : tmpfs).push(rate);
    }
  }
  await rm(join('/dev/shm', `filehive-bench-locks-${process.pid}`), { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  const ratios = withLocks.map((w, i) => w / (without[i] as number));
  const cycle = summarize(cycles);
  const on = summarize(withLocks);
  const off = summarize(without);
  const ratio = summarize(ratios);
  log(
    `lock acquire+release          ${fmt(cycle.median)} µs   (min ${fmt(cycle.min)}, max ${fmt(cycle.max)})`,
  );
  log(
    `4 KiB uploads, locks on       ${fmt(on.median, 0)} files/s (min ${fmt(on.min, 0)}, max ${fmt(on.max, 0)})`,
  );
  log(
    `4 KiB uploads, locks off      ${fmt(off.median, 0)} files/s (min ${fmt(off.min, 0)}, max ${fmt(off.max, 0)})`,
  );
  log(
    `on / off                      ${fmt(ratio.median, 2)}x (min ${fmt(ratio.min, 2)}, max ${fmt(ratio.max, 2)}); target >= 0.77x (at most 30% slower)`,
  );
  const result: Record<string, unknown> & { samples: LockSamples } = {
    samples: {
      cycleMicros: cycles,
      uploadsPerSecondLocks: withLocks,
      uploadsPerSecondNoLocks: without,
      uploadsPerSecondTmpfsLocks: tmpfs,
    },
    lockCycleMicros: cycle,
    uploadsPerSecondLocks: on,
    uploadsPerSecondNoLocks: off,
    ratio,
    rounds: ROUNDS,
    files: FILES,
  };
  if (tmpfs.length > 0) {
    const shm = summarize(tmpfs);
    const shmRatio = summarize(tmpfs.map((w, i) => w / (without[i] as number)));
    log(
      `4 KiB uploads, lock dir tmpfs ${fmt(shm.median, 0)} files/s (min ${fmt(shm.min, 0)}, max ${fmt(shm.max, 0)})`,
    );
    log(
      `tmpfs locks / off             ${fmt(shmRatio.median, 2)}x (min ${fmt(shmRatio.min, 2)}, max ${fmt(shmRatio.max, 2)})`,
    );
    Object.assign(result, { uploadsPerSecondTmpfsLocks: shm, tmpfsRatio: shmRatio });
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runLockBench();
  await mkdir('bench/results', { recursive: true });
  const file = join('bench/results', `locks-${new Date().toISOString().replaceAll(':', '-')}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
