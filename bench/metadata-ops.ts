// The filesystem calls one server makes per upload, per download, per held lock and per idle second
// (janitor, clock probe), counted by running the built server under strace. These counts, not timings,
// are what a shared filesystem has to serve per instance: docs/SCALING.md multiplies them out.
//
//   node --import tsx bench/metadata-ops.ts [--files 100] [--held 20] [--idle 10] [--dir DIR]
//
// --dir puts the temporary root (and so the lock folder) in DIR instead of the system's temp folder:
// point it at a network mount to count and time there.
//
// It also times lock acquire+release cycles in one process (no strace), one at a time and several at
// once on different names, on the local disk: the local ceiling of lock-folder traffic.
//
// Needs strace and dist/server.js. Loopback only; the root is a temporary folder, removed at the end.
// Writes bench/results/metadata-ops-<date>.json. Each call is attributed by its path (strace -y shows
// the path behind a descriptor) to the lock folder or to the data folders; the server's own code,
// sockets and /proc are left out.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { FilehiveClient } from '../src/client/client.js';
import { LockManager } from '../src/locks/lock-manager.js';

const { values: flags } = parseArgs({
  options: {
    files: { type: 'string', default: '100' },
    held: { type: 'string', default: '20' },
    idle: { type: 'string', default: '10' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const FILES = Number(flags.files);
const HELD = Number(flags.held);
const IDLE_S = Number(flags.idle);

/** Calls that move file contents, reported apart from the metadata calls. */
const DATA_CALLS = new Set([
  'read',
  'write',
  'pread64',
  'pwrite64',
  'readv',
  'writev',
  'sendfile',
  'copy_file_range',
]);
/** Calls that only manage descriptors or wait, not the filesystem. */
const IGNORED = new Set(['dup', 'dup2', 'dup3', 'fcntl', 'ioctl', 'epoll_ctl', 'lseek', 'flock']);

interface Phase {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  /** What the counts are divided by: uploads, downloads, held-lock-seconds, seconds. */
  readonly per: number;
  readonly unit: string;
}

type Counts = Record<string, Record<string, number>>;

function startTraced(root: string, trace: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(
    'strace',
    [
      '-f',
      '-qq',
      '-ttt',
      '-y',
      '-e',
      'trace=%file,%desc',
      '-o',
      trace,
      process.execPath,
      'dist/server.js',
      ...['--port', '0', '--root', root, '--workers', '1', '--metrics-port', 'off', '--log-level', 'warn'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on [^\s]+:(\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) => reject(new Error(`server under strace exited ${code}: ${out}`)));
  });
}

/** Starts uploads that announce a size, send one byte and stall: each holds its lock until closed. */
async function holdUploads(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let seen = '';
    let asked = false;
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        // The greeting (HELLO ...), then GO for the upload.
        if (!asked && seen.includes('\n')) {
          asked = true;
          socket.write(`UPLOAD held-${i}.bin 1000000\n`);
        }
        if (/\nGO\b/.test(seen)) {
          socket.write('x');
          resolve();
        }
        if (/\nERR\b/.test(seen) || seen.startsWith('ERR')) reject(new Error(`held upload ${i}: ${seen}`));
      });
      socket.once('error', reject);
    });
    sockets.push(socket);
  }
  return sockets;
}

/** Counts per phase, per folder kind and per call, from strace's output. */
function countCalls(
  text: string,
  phases: readonly Phase[],
  root: string,
  lockDir: string,
): Map<string, Counts> {
  const result = new Map<string, Counts>(phases.map((p) => [p.name, {}]));
  for (const line of text.split('\n')) {
    // `PID TIME call(args) = result`, or `PID TIME call(args <unfinished ...>`; resumptions are skipped.
    const m = /^\d+\s+(\d+\.\d+)\s+(\w+)\((.*)$/.exec(line);
    if (!m) continue;
    const time = Number(m[1]);
    const call = m[2] as string;
    if (IGNORED.has(call)) continue;
    const phase = phases.find((p) => time >= p.from && time < p.to);
    if (!phase) continue;
    // Every path argument: quoted names and, with -y, the paths behind descriptors (`21</a/b>`).
    const args = m[3] as string;
    const paths = [...args.matchAll(/"([^"]*)"|<(\/[^>]*)>/g)].map((p) => (p[1] ?? p[2]) as string);
    const path = paths.find((p) => p === root || p.startsWith(`${root}/`));
    if (!path) continue;
    let kind: string;
    if (path === lockDir || path.startsWith(`${lockDir}/`)) kind = 'lock folder';
    else if (path === root || path.startsWith(`${root}/`)) kind = 'data folders';
    else continue;
    const key = DATA_CALLS.has(call) ? `${kind} (data)` : kind;
    const counts = result.get(phase.name) as Counts;
    counts[key] ??= {};
    (counts[key] as Record<string, number>)[call] = ((counts[key] as Record<string, number>)[call] ?? 0) + 1;
  }
  return result;
}

/** `ext4 rw,relatime,discard`: the filesystem the figures were counted and timed on. */
function mountOf(path: string): string {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'FSTYPE,OPTIONS', '--target', path], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** Lock cycles per second with `parallel` loops on distinct names, for about `ms`. */
async function lockCycles(dir: string, parallel: number, ms: number): Promise<number> {
  const locks = await LockManager.open({ dir, staleMs: 10_000, waitMs: 0, instance: 'bench' });
  let cycles = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async (_, lane) => {
      for (let i = 0; performance.now() - started < ms; i++) {
        const handle = await locks.acquire([`bench/${lane}/${i % 16}`], 'upload');
        await handle.release();
        cycles++;
      }
    }),
  );
  return cycles / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  execFileSync('strace', ['-V'], { stdio: 'ignore' });
  const work = await realpath(await mkdtemp(join(flags.dir, 'filehive-ops-')));
  const root = join(work, 'root');
  const lockDir = join(root, '.filehive', 'locks');
  const trace = join(work, 'trace.txt');
  await mkdir(root);
  const source = join(work, 'file-4k.bin');
  await writeFile(source, Buffer.alloc(4096, 7));
  const downloads = join(work, 'downloads');
  await mkdir(downloads);
  const phases: Phase[] = [];
  const mark = async (name: string, per: number, unit: string, run: () => Promise<void>) => {
    const from = Date.now() / 1000;
    console.log(`${name} ...`);
    await run();
    phases.push({ name, from, to: Date.now() / 1000, per, unit });
  };
  const { proc, port } = await startTraced(root, trace);
  try {
    await sleep(1_000); // the start-up probe and first scans settle
    await mark('idle (janitor and clock probe)', IDLE_S, 'second', () => sleep(IDLE_S * 1000));
    const client = await FilehiveClient.connect({ host: '127.0.0.1', port });
    await client.mkdir('u');
    await client.chdir('u');
    await mark('upload 4 KiB (new name)', FILES, 'upload', async () => {
      for (let i = 0; i < FILES; i++) await client.upload(source, { remoteName: `f${i}.bin` });
    });
    await mark('upload 4 KiB (replacing a file)', FILES, 'upload', async () => {
      for (let i = 0; i < FILES; i++) await client.upload(source, { remoteName: `f${i}.bin` });
    });
    await mark('download 4 KiB', FILES, 'download', async () => {
      for (let i = 0; i < FILES; i++) await client.download(`f${i}.bin`, { dir: downloads });
    });
    await client.close();
    const sockets = await holdUploads(port, HELD);
    await sleep(500);
    await mark(
      `${HELD} uploads holding their locks (refresh, janitor)`,
      HELD * IDLE_S,
      'held lock x second',
      () => sleep(IDLE_S * 1000),
    );
    for (const socket of sockets) socket.destroy();
    await sleep(500);
  } finally {
    // strace does not pass signals on: stop the traced server (its child), and strace ends with it.
    const children = await readFile(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').catch(() => '');
    const server = Number(children.trim().split(/\s+/)[0]);
    if (server > 0) process.kill(server, 'SIGTERM');
    else proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));
  }
  const throughput: Record<string, number> = {};
  for (const parallel of [1, 8]) {
    const rate = await lockCycles(join(work, `locks-${parallel}`), parallel, 3_000);
    throughput[`${parallel} at a time`] = Math.round(rate);
    const fs = mountOf(work).split(/\s+/)[0];
    console.log(
      `lock acquire+release, ${parallel} at a time, ${fs} in ${flags.dir}: ${Math.round(rate)} cycles/s`,
    );
  }
  const counts = countCalls(await readFile(trace, 'utf8'), phases, root, lockDir);
  const report: Record<string, unknown> = {
    lockCyclesPerSecond: throughput,
    filesystem: mountOf(work),
    loadAverage: loadavg().map((x) => Math.round(x * 10) / 10),
    date: new Date().toISOString(),
    files: FILES,
    held: HELD,
    idleSeconds: IDLE_S,
  };
  for (const phase of phases) {
    const perUnit: Record<string, Record<string, number>> = {};
    console.log(`\n${phase.name}: calls per ${phase.unit}`);
    for (const [kind, calls] of Object.entries(counts.get(phase.name) ?? {}).sort()) {
      perUnit[kind] = {};
      const line = Object.entries(calls)
        .sort(([, a], [, b]) => b - a)
        .map(([call, n]) => {
          const value = Math.round((n / phase.per) * 100) / 100;
          (perUnit[kind] as Record<string, number>)[call] = value;
          return `${call} ${value}`;
        });
      const total = Object.values(calls).reduce((a, b) => a + b, 0) / phase.per;
      console.log(`  ${kind.padEnd(22)} ${total.toFixed(2).padStart(7)}  ${line.join(', ')}`);
    }
    report[phase.name] = { per: phase.unit, calls: perUnit };
  }
  await mkdir('bench/results', { recursive: true });
  const out = `bench/results/metadata-ops-${new Date().toISOString().replace(/:/g, '-')}.json`;
  await writeFile(out, `${JSON.stringify(report, null, 1)}\n`);
  console.log(`\nwrote ${out}`);
  await rm(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(`metadata-ops: ${(err as Error).message}`);
  process.exitCode = 1;
});
