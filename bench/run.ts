// The benchmark suite (issue 5): `npm run bench [-- --quick | --smoke] [--install-peers]`.
// Every figure is the median of the rounds (min and max shown) and a ratio to a baseline measured in the
// same run: the Node pipe (bench/lib/pipe-server.ts) and, when installed, vsftpd driven by curl.
// Loopback only; temporary files live under os.tmpdir() and are removed at the end.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { FilehiveClient } from '../src/client/client.js';
import type { ChecksumAlgorithm } from '../src/protocol/index.js';
import { type RunningServer, startServer } from '../tests/_helpers/server.js';
import { childrenOf, rssOf, sampleRss } from './lib/sampler.js';
import { fmt, summarize } from './lib/stats.js';
import { findVsftpd, installVsftpd, startVsftpd, type Vsftpd } from './lib/vsftpd.js';
import { runLockBench } from './locks.js';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const quick = smoke || argv.includes('--quick');
const MIB = 1024 * 1024;
const KIB = 1024;

const cfg = smoke
  ? { rounds: 1, large: 8 * MIB, small: 20, clients: 4, each: 1 * MIB, idle: 50, peers: false }
  : quick
    ? { rounds: 1, large: 64 * MIB, small: 200, clients: 16, each: 4 * MIB, idle: 1000, peers: true }
    : { rounds: 3, large: 1024 * MIB, small: 1000, clients: 16, each: 64 * MIB, idle: 1000, peers: true };

type Stat = { median: number; min: number; max: number };
interface Row {
  section: string;
  name: string;
  unit: string;
  value: Stat;
  ratio?: Stat;
  vs?: string;
  note?: string;
}
const rows: Row[] = [];
const skipped: string[] = [];

function add(
  section: string,
  name: string,
  unit: string,
  values: number[],
  base?: number[],
  vs?: string,
): Row {
  const row: Row = { section, name, unit, value: summarize(values) };
  if (base && base.length === values.length && vs) {
    row.ratio = summarize(values.map((v, i) => v / (base[i] as number)));
    row.vs = vs;
  }
  rows.push(row);
  return row;
}

function skip(line: string): void {
  skipped.push(line);
  console.log(`skipped: ${line}`);
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

// ---------------------------------------------------------------- Node pipe baseline

interface Pipe {
  port: number;
  proc: ChildProcess;
  root: string;
  stop(): Promise<void>;
}

async function startPipe(): Promise<Pipe> {
  const root = await mkdtemp(join(tmpdir(), 'filehive-bench-pipe-'));
  const proc = spawn(process.execPath, ['bench/lib/pipe-server.mjs', root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((ok, fail) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      const m = /port (\d+)/.exec(chunk.toString());
      if (m) ok(Number(m[1]));
    });
    proc.once('exit', (code) => fail(new Error(`pipe server exited ${code}`)));
  });
  return {
    port,
    proc,
    root,
    async stop() {
      proc.kill('SIGTERM');
      await rm(root, { recursive: true, force: true });
    },
  };
}

function pipeSocket(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const socket = connect({ host: '127.0.0.1', port }, () => ok(socket));
    socket.once('error', fail);
  });
}

async function pipeUpload(port: number, local: string, name: string): Promise<void> {
  const socket = await pipeSocket(port);
  socket.write(`PUT ${name}\n`);
  const answer = new Promise<void>((ok, fail) => {
    socket.once('data', () => ok());
    socket.once('error', fail);
  });
  await pipeline(createReadStream(local, { highWaterMark: MIB }), socket, { end: true });
  await answer;
  socket.destroy();
}

async function pipeDownload(port: number, name: string, local: string): Promise<void> {
  const socket = await pipeSocket(port);
  socket.write(`GET ${name}\n`);
  await pipeline(socket, createWriteStream(local, { highWaterMark: MIB }));
}

// ---------------------------------------------------------------- helpers

async function makeFile(path: string, bytes: number): Promise<void> {
  const block = randomBytes(Math.min(bytes, MIB));
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += block.length) {
    const n = Math.min(block.length, bytes - written);
    if (!out.write(n === block.length ? block : block.subarray(0, n))) {
      await new Promise<void>((r) => out.once('drain', () => r()));
    }
  }
  out.end();
  await finished(out);
}

async function workersOf(server: RunningServer): Promise<number[]> {
  return childrenOf(server.proc.pid as number);
}

async function filehive(workers: number, args: string[] = []): Promise<RunningServer> {
  return startServer({ workers, args: ['--log-level', 'warn', ...args] });
}

async function withClient<T>(port: number, fn: (c: FilehiveClient) => Promise<T>): Promise<T> {
  const client = await FilehiveClient.connect({ host: '127.0.0.1', port });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const peakMemory: Record<string, number> = {};
function notePeak(label: string, peaks: Map<number, number>): void {
  const max = Math.max(0, ...peaks.values());
  peakMemory[label] = Math.max(peakMemory[label] ?? 0, max);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const startedAt = Date.now();
  if (!existsSync('dist/server.js')) throw new Error('dist/server.js is missing: run `npx tsup` first');
  const work = await mkdtemp(join(tmpdir(), 'filehive-bench-'));
  const mode = smoke ? 'smoke' : quick ? 'quick' : 'default';
  console.log(
    `filehive bench (${mode}): ${cfg.rounds} round(s), large file ${cfg.large / MIB} MiB, ` +
      `${cfg.small} x 4 KiB, ${cfg.clients} clients x ${cfg.each / MIB} MiB, ${cpus().length} CPUs`,
  );
  const result: Record<string, unknown> = {};
  const servers: { stop(): Promise<unknown> }[] = [];
  try {
    if (argv.includes('--install-peers')) await installVsftpd();
    const pipe = await startPipe();
    servers.push(pipe);
    const fh2 = await filehive(2);
    servers.push(fh2);
    const fhSync = await filehive(2, ['--fsync']);
    servers.push(fhSync);

    // ------------------------------------------------------------ limits: iperf3
    result.iperf3 = await iperf3();

    // ------------------------------------------------------------ single stream
    console.log('single-stream transfers ...');
    const big = join(work, 'big.bin');
    await makeFile(big, cfg.large);
    const dl = join(work, 'dl');
    await mkdir(dl);
    const single: Record<string, { up: number[]; down: number[] }> = {};
    const put = (k: string, dir: 'up' | 'down', v: number) => {
      single[k] ??= { up: [], down: [] };
      single[k][dir].push(v);
    };
    const variants: { key: string; server: RunningServer; checksum?: ChecksumAlgorithm }[] = [
      { key: 'filehive default checksum', server: fh2 },
      { key: 'filehive sha256', server: fh2, checksum: 'sha256' },
      { key: 'filehive --fsync', server: fhSync },
    ];
    const vsftpd = cfg.peers ? await startPeer(work) : null;
    if (vsftpd) servers.push(vsftpd);
    for (let r = 0; r < cfg.rounds; r++) {
      {
        const s = sampleRss([pipe.proc.pid as number]);
        put('node pipe', 'up', mbps(cfg.large, await timed(() => pipeUpload(pipe.port, big, 'big.bin'))));
        const local = join(dl, 'big.bin');
        put(
          'node pipe',
          'down',
          mbps(cfg.large, await timed(() => pipeDownload(pipe.port, 'big.bin', local))),
        );
        notePeak('node pipe server', await s.stop());
        await rm(local, { force: true });
      }
      for (const v of variants) {
        const s = sampleRss(await workersOf(v.server));
        await withClient(v.server.port, async (c) => {
          const opts = v.checksum ? { checksum: v.checksum } : {};
          put(
            v.key,
            'up',
            mbps(cfg.large, await timed(() => c.upload(big, { remoteName: 'big.bin', ...opts }))),
          );
          put(v.key, 'down', mbps(cfg.large, await timed(() => c.download('big.bin', { dir: dl, ...opts }))));
        });
        notePeak(`filehive worker (${v.key})`, await s.stop());
        await rm(join(dl, 'big.bin'), { force: true });
      }
      if (vsftpd) {
        put('vsftpd', 'up', mbps(cfg.large, await timed(() => vsftpd.upload(big, 'big.bin'))));
        const local = join(dl, 'big.bin');
        put('vsftpd', 'down', mbps(cfg.large, await timed(() => vsftpd.download('big.bin', local))));
        await rm(local, { force: true });
      }
    }
    const base = single['node pipe'] as { up: number[]; down: number[] };
    const peer = single.vsftpd;
    for (const dir of ['up', 'down'] as const) {
      add('single', `node pipe ${dir}`, 'MB/s', base[dir]);
      if (peer) add('single', `vsftpd ${dir}`, 'MB/s', peer[dir], base[dir], 'node pipe');
      for (const v of variants) {
        const values = (single[v.key] as { up: number[]; down: number[] })[dir];
        add('single', `${v.key} ${dir}`, 'MB/s', values, base[dir], 'node pipe');
        if (peer) add('single', `${v.key} ${dir}`, 'MB/s', values, peer[dir], 'vsftpd');
      }
    }
    result.single = single;
    await rm(big, { force: true });

    // ------------------------------------------------------------ small files
    console.log(`small files ... (${fmt((Date.now() - startedAt) / 1000)} s)`);
    const smallDir = join(work, 'small');
    await mkdir(smallDir);
    const sources: string[] = [];
    for (let i = 0; i < cfg.small; i++) {
      const p = join(smallDir, `s${i}.bin`);
      await writeFile(p, randomBytes(4 * KIB));
      sources.push(p);
    }
    const smallDl = join(work, 'small-dl');
    const small: Record<string, { up: number[]; down: number[] }> = {
      'node pipe (connection per file)': { up: [], down: [] },
      'filehive (one connection)': { up: [], down: [] },
    };
    if (vsftpd) small.vsftpd = { up: [], down: [] };
    const rate = (ms: number) => cfg.small / (ms / 1000);
    for (let r = 0; r < cfg.rounds; r++) {
      const np = small['node pipe (connection per file)'] as { up: number[]; down: number[] };
      np.up.push(
        rate(
          await timed(async () => {
            for (let i = 0; i < cfg.small; i++)
              await pipeUpload(pipe.port, sources[i] as string, `s${i}.bin`);
          }),
        ),
      );
      await mkdir(smallDl, { recursive: true });
      np.down.push(
        rate(
          await timed(async () => {
            for (let i = 0; i < cfg.small; i++)
              await pipeDownload(pipe.port, `s${i}.bin`, join(smallDl, `s${i}.bin`));
          }),
        ),
      );
      await rm(smallDl, { recursive: true, force: true });
      const fh = small['filehive (one connection)'] as { up: number[]; down: number[] };
      await withClient(fh2.port, async (c) => {
        await c.mkdir(`small${r}`);
        await c.chdir(`small${r}`);
        fh.up.push(
          rate(
            await timed(async () => {
              for (let i = 0; i < cfg.small; i++) await c.upload(sources[i] as string);
            }),
          ),
        );
        await mkdir(smallDl, { recursive: true });
        fh.down.push(
          rate(
            await timed(async () => {
              for (let i = 0; i < cfg.small; i++) await c.download(`s${i}.bin`, { dir: smallDl });
            }),
          ),
        );
      });
      await rm(smallDl, { recursive: true, force: true });
      if (vsftpd && small.vsftpd) {
        try {
          const vs = small.vsftpd as { up: number[]; down: number[] };
          vs.up.push(rate(await timed(() => vsftpd.uploadMany(sources, `small${r}`))));
          await mkdir(smallDl, { recursive: true });
          vs.down.push(
            rate(
              await timed(() =>
                vsftpd.downloadMany(
                  sources.map((_, i) => `s${i}.bin`),
                  `small${r}`,
                  smallDl,
                ),
              ),
            ),
          );
          await rm(smallDl, { recursive: true, force: true });
        } catch (err) {
          // curl has been seen to stall on vsftpd after hundreds of small downloads: report, go on.
          skip(`vsftpd small files failed: ${(err as Error).message.split('\n')[0]?.slice(0, 120)}`);
          delete small.vsftpd;
        }
      }
    }
    for (const dir of ['up', 'down'] as const) {
      const npv = (small['node pipe (connection per file)'] as { up: number[]; down: number[] })[dir];
      add('small', `node pipe (connection per file) ${dir}`, 'files/s', npv);
      const fhv = (small['filehive (one connection)'] as { up: number[]; down: number[] })[dir];
      if (small.vsftpd) add('small', `vsftpd ${dir}`, 'files/s', small.vsftpd[dir], npv, 'node pipe');
      add('small', `filehive (one connection) ${dir}`, 'files/s', fhv, npv, 'node pipe');
      if (small.vsftpd)
        add('small', `filehive (one connection) ${dir}`, 'files/s', fhv, small.vsftpd[dir], 'vsftpd');
    }
    result.small = small;
    await rm(smallDir, { recursive: true, force: true });

    // ------------------------------------------------------------ concurrency
    console.log(`concurrency ... (${fmt((Date.now() - startedAt) / 1000)} s)`);
    const fh1 = await filehive(1);
    servers.push(fh1);
    const each = join(work, 'each.bin');
    await makeFile(each, cfg.each);
    const conc: Record<string, { up: number[]; down: number[]; fairUp: number[]; fairDown: number[] }> = {};
    const total = cfg.clients * cfg.each;
    const clientIds = Array.from({ length: cfg.clients }, (_, i) => i);
    const measure = async (job: (i: number) => Promise<void>) => {
      const rates: number[] = [];
      const ms = await timed(() =>
        Promise.all(
          clientIds.map(async (i) => {
            const t = await timed(() => job(i));
            rates[i] = mbps(cfg.each, t);
          }),
        ),
      );
      return { aggregate: mbps(total, ms), fairness: Math.min(...rates) / Math.max(...rates) };
    };
    const record = (key: string, up: { aggregate: number; fairness: number }, down: typeof up) => {
      conc[key] ??= { up: [], down: [], fairUp: [], fairDown: [] };
      conc[key].up.push(up.aggregate);
      conc[key].down.push(down.aggregate);
      conc[key].fairUp.push(up.fairness);
      conc[key].fairDown.push(down.fairness);
    };
    const concDl = join(work, 'conc-dl');
    for (let r = 0; r < cfg.rounds; r++) {
      {
        const s = sampleRss([pipe.proc.pid as number]);
        const up = await measure((i) => pipeUpload(pipe.port, each, `c${i}.bin`));
        await mkdir(concDl, { recursive: true });
        const down = await measure((i) => pipeDownload(pipe.port, `c${i}.bin`, join(concDl, `c${i}.bin`)));
        notePeak('node pipe server', await s.stop());
        record('node pipe', up, down);
        await rm(concDl, { recursive: true, force: true });
      }
      for (const [key, server] of [
        ['filehive --workers 1', fh1],
        ['filehive --workers 2', fh2],
      ] as const) {
        const s = sampleRss(await workersOf(server));
        const up = await measure((i) =>
          withClient(server.port, (c) => c.upload(each, { remoteName: `c${i}.bin` })).then(() => {}),
        );
        const down = await measure(async (i) => {
          const dir = join(concDl, String(i));
          await mkdir(dir, { recursive: true });
          await withClient(server.port, (c) => c.download(`c${i}.bin`, { dir }));
        });
        notePeak(`filehive worker (${key}, ${cfg.clients} clients)`, await s.stop());
        record(key, up, down);
        await rm(concDl, { recursive: true, force: true });
      }
      if (vsftpd) {
        const up = await measure((i) => vsftpd.upload(each, `c${i}.bin`));
        await mkdir(concDl, { recursive: true });
        const down = await measure((i) => vsftpd.download(`c${i}.bin`, join(concDl, `c${i}.bin`)));
        record('vsftpd', up, down);
        await rm(concDl, { recursive: true, force: true });
      }
    }
    const cb = conc['node pipe'] as { up: number[]; down: number[] };
    for (const dir of ['up', 'down'] as const) {
      const fairKey = dir === 'up' ? 'fairUp' : 'fairDown';
      for (const [key, v] of Object.entries(conc)) {
        const row = add(
          'concurrency',
          `${key} ${dir}`,
          'MB/s',
          v[dir],
          key === 'node pipe' ? undefined : cb[dir],
          'node pipe',
        );
        const fair = summarize(v[fairKey]);
        row.note = `fairness ${fmt(fair.median, 2)} (min ${fmt(fair.min, 2)})`;
        if (conc.vsftpd && key.startsWith('filehive')) {
          add('concurrency', `${key} ${dir}`, 'MB/s', v[dir], conc.vsftpd[dir], 'vsftpd');
        }
      }
    }
    result.concurrency = conc;
    await rm(each, { force: true });

    // ------------------------------------------------------------ memory
    console.log(`memory ... (${fmt((Date.now() - startedAt) / 1000)} s)`);
    const idle = await idleConnectionCost(fh2, cfg.idle);
    const pipePeak = peakMemory['node pipe server'] ?? 0;
    for (const [label, bytes] of Object.entries(peakMemory)) {
      const row: Row = {
        section: 'memory',
        name: `peak RSS ${label}`,
        unit: 'MiB',
        value: summarize([bytes / MIB]),
      };
      if (label !== 'node pipe server' && pipePeak > 0) {
        row.note = `${fmt((bytes - pipePeak) / MIB)} MiB over the node pipe (target <= +16)`;
      }
      rows.push(row);
    }
    rows.push({
      section: 'memory',
      name: `RSS per idle connection (${cfg.idle})`,
      unit: 'KiB',
      value: summarize([idle / KIB]),
      note: 'target <= 16 KiB',
    });
    result.memory = { peakRssBytes: peakMemory, idleConnectionBytes: idle, idleConnections: cfg.idle };

    // ------------------------------------------------------------ locks
    console.log(`locks ... (${fmt((Date.now() - startedAt) / 1000)} s)`);
    result.locks = await runLockBench(smoke ? { rounds: 1, lockOps: 50, files: 20 } : { rounds: cfg.rounds });
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
  printTable();
  const seconds = (Date.now() - startedAt) / 1000;
  console.log(`took ${fmt(seconds)} s`);
  await mkdir('bench/results', { recursive: true });
  const file = join('bench/results', `${new Date().toISOString().replaceAll(':', '-')}.json`);
  const out = {
    meta: {
      mode,
      config: cfg,
      cpus: cpus().length,
      node: process.version,
      seconds,
      date: new Date().toISOString(),
    },
    skipped,
    table: rows,
    ...result,
  };
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

function printTable(): void {
  const header = ['section', 'measure', 'median', 'min', 'max', 'unit', 'ratio (min-max)', 'vs', 'note'];
  const lines = rows.map((r) => [
    r.section,
    r.name,
    fmt(r.value.median),
    fmt(r.value.min),
    fmt(r.value.max),
    r.unit,
    r.ratio ? `${fmt(r.ratio.median, 2)}x (${fmt(r.ratio.min, 2)}-${fmt(r.ratio.max, 2)})` : '',
    r.vs ?? '',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' | ')} |`;
  console.log('');
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(line(l));
  for (const s of skipped) console.log(`skipped: ${s}`);
}

async function iperf3(): Promise<unknown> {
  try {
    await run('iperf3', ['--version']);
  } catch {
    skip('iperf3 is not installed (apt-get install iperf3 to add the raw loopback TCP limit)');
    return null;
  }
  const server = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', '5399', '-1'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const { stdout } = await run('iperf3', ['-c', '127.0.0.1', '-p', '5399', '-t', quick ? '2' : '5', '-J']);
    const bps = JSON.parse(stdout).end.sum_received.bits_per_second as number;
    add('limits', 'iperf3 TCP loopback', 'MB/s', [bps / 8 / 1e6]);
    return { bitsPerSecond: bps };
  } catch (err) {
    skip(`iperf3 failed: ${(err as Error).message}`);
    return null;
  } finally {
    server.kill('SIGTERM');
  }
}

async function startPeer(work: string): Promise<Vsftpd | null> {
  const found = await findVsftpd();
  if (!found) {
    skip('vsftpd is not installed (npm run bench -- --install-peers extracts it into .cache/peers)');
    return null;
  }
  try {
    return await startVsftpd(found, join(work, 'vsftpd'));
  } catch (err) {
    skip(`vsftpd did not start: ${(err as Error).message}`);
    return null;
  }
}

async function idleConnectionCost(server: RunningServer, count: number): Promise<number> {
  const workers = await workersOf(server);
  const sum = async () => {
    let total = 0;
    for (const pid of workers) total += (await rssOf(pid)) ?? 0;
    return total;
  };
  await new Promise((r) => setTimeout(r, 500));
  const before = await sum();
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from(
        { length: Math.min(100, count - i) },
        () =>
          new Promise<Socket>((ok, fail) => {
            const s = connect({ host: '127.0.0.1', port: server.port });
            s.once('data', () => ok(s));
            s.once('error', fail);
          }),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const after = await sum();
    return (after - before) / count;
  } finally {
    for (const s of sockets) s.destroy();
  }
}

await main();
// The filehive servers' children are reaped by startServer's exit hook; make sure we exit promptly.
process.exit(0);
