// 3b. TLS: what --tls-cert costs. One large file up and down (the single section's size) on a plain server
// and on a TLS server of the same build, interleaved in the same rounds, as ratios: the rate, and the CPU
// time the server's workers and the client spend per MiB (CPU time barely moves on a busy machine, where
// rates do). Then the time to open a session (connect, handshake, greeting, QUIT). Certificates are made
// with openssl for the run.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FilehiveClient } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/greeting.js';
import { createTestCertificates } from '../../tests/_helpers/tls-certs.js';
import type { BenchContext } from '../lib/context.js';
import { type RunningServer, startFilehive, workersOf } from '../lib/filehive.js';
import { MIB, makeFile, mbps } from '../lib/measure.js';
import { sampleRss } from '../lib/sampler.js';

type Variant = 'plain' | 'TLS';
const VARIANTS: readonly Variant[] = ['plain', 'TLS'];
type Direction = 'upload' | 'download';
const DIRECTIONS: readonly Direction[] = ['upload', 'download'];

interface Figures {
  /** MB/s per round. */
  upload: number[];
  download: number[];
  /** CPU milliseconds per MiB moved, per round: all workers of the server, and this (client) process. */
  serverCpu: Record<Direction, number[]>;
  clientCpu: Record<Direction, number[]>;
  /** Per session opened and closed, per round: mean wall milliseconds, and CPU ms of server and client. */
  sessionMs: number[];
  sessionServerCpu: number[];
  sessionClientCpu: number[];
}

/** Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ, fixed at 100 for userspace). */
const TICK_MS = 10;

/** utime + stime of the processes, in milliseconds (/proc/<pid>/stat fields 14 and 15). */
async function cpuMsOf(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks * TICK_MS;
}

const clientCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Runs `fn`, returning wall, server-CPU and client-CPU milliseconds. */
async function measured(workers: readonly number[], fn: () => Promise<unknown>) {
  const [server0, client0, started] = [await cpuMsOf(workers), clientCpuMs(), performance.now()];
  await fn();
  const wallMs = performance.now() - started;
  const clientMs = clientCpuMs() - client0;
  return { wallMs, serverMs: (await cpuMsOf(workers)) - server0, clientMs };
}

async function withSession<T>(options: ConnectOptions, fn: (c: FilehiveClient) => Promise<T>): Promise<T> {
  const client = await FilehiveClient.connect(options);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Opens a session and closes it again, `count` times one after another; per-session means. */
async function measureSessions(options: ConnectOptions, workers: readonly number[], count: number) {
  const m = await measured(workers, async () => {
    for (let i = 0; i < count; i++) await withSession(options, async () => undefined);
  });
  return { wallMs: m.wallMs / count, serverMs: m.serverMs / count, clientMs: m.clientMs / count };
}

const emptyFigures = (): Figures => ({
  upload: [],
  download: [],
  serverCpu: { upload: [], download: [] },
  clientCpu: { upload: [], download: [] },
  sessionMs: [],
  sessionServerCpu: [],
  sessionClientCpu: [],
});

export async function runTls(ctx: BenchContext): Promise<void> {
  const { cfg, report } = ctx;
  let certs: Awaited<ReturnType<typeof createTestCertificates>>;
  try {
    certs = await createTestCertificates();
  } catch (err) {
    report.skip(`tls: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  let tlsServer: RunningServer | undefined;
  try {
    const plain = await ctx.filehive(2);
    tlsServer = await startFilehive(2, ['--tls-cert', certs.cert, '--tls-key', certs.key]);
    const servers: Record<Variant, { target: ConnectOptions; workers: number[] }> = {
      plain: { target: { host: '127.0.0.1', port: plain.port }, workers: await workersOf(plain) },
      TLS: {
        target: { host: '127.0.0.1', port: tlsServer.port, tls: { ca: await readFile(certs.caCert) } },
        workers: await workersOf(tlsServer),
      },
    };
    const big = join(ctx.work, 'tls-big.bin');
    await makeFile(big, cfg.large);
    const dl = join(ctx.work, 'tls-dl');
    await mkdir(dl, { recursive: true });
    const mib = cfg.large / MIB;
    const sessions = Math.max(20, Math.min(200, Math.round(cfg.small / 5)));
    const figures: Record<Variant, Figures> = { plain: emptyFigures(), TLS: emptyFigures() };
    for (let r = 0; r < cfg.rounds; r++) {
      // Alternate which goes first, so neither always runs on a warmer page cache.
      for (const variant of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
        const f = figures[variant];
        const { target, workers } = servers[variant];
        const sampler = variant === 'TLS' ? sampleRss(workers) : null;
        await withSession(target, async (c) => {
          const runs: Record<Direction, () => Promise<unknown>> = {
            upload: () => c.upload(big, { remoteName: 'tls-big.bin' }),
            download: () => c.download('tls-big.bin', { dir: dl }),
          };
          for (const dir of DIRECTIONS) {
            const m = await measured(workers, runs[dir]);
            f[dir].push(mbps(cfg.large, m.wallMs));
            f.serverCpu[dir].push(m.serverMs / mib);
            f.clientCpu[dir].push(m.clientMs / mib);
          }
        });
        if (sampler) ctx.notePeak('filehive worker (TLS)', await sampler.stop());
        await rm(join(dl, 'tls-big.bin'), { force: true });
        const setup = await measureSessions(target, workers, sessions);
        f.sessionMs.push(setup.wallMs);
        f.sessionServerCpu.push(setup.serverMs);
        f.sessionClientCpu.push(setup.clientMs);
      }
    }
    await rm(big, { force: true });

    const { plain: p, TLS: t } = figures;
    const vsPlain = (values: number[]) => ({ values, vs: 'plain' });
    for (const dir of DIRECTIONS) {
      report.add('tls', `plain ${dir}`, 'MB/s', p[dir]);
      report.add('tls', `TLS ${dir}`, 'MB/s', t[dir], vsPlain(p[dir]));
    }
    for (const dir of DIRECTIONS) {
      report.add('tls', `plain ${dir}, server CPU`, 'ms/MiB', p.serverCpu[dir]);
      report.add('tls', `TLS ${dir}, server CPU`, 'ms/MiB', t.serverCpu[dir], vsPlain(p.serverCpu[dir]));
      report.add('tls', `plain ${dir}, client CPU`, 'ms/MiB', p.clientCpu[dir]);
      report.add('tls', `TLS ${dir}, client CPU`, 'ms/MiB', t.clientCpu[dir], vsPlain(p.clientCpu[dir]));
    }
    const open = `session open+close (${sessions} in a row)`;
    report.add('tls', `plain ${open}`, 'ms', p.sessionMs);
    report.add('tls', `TLS ${open}`, 'ms', t.sessionMs, vsPlain(p.sessionMs)).note =
      'TLS 1.3, ECDSA P-256 certificate, no session resumption';
    report.add('tls', `plain ${open}, server CPU`, 'ms', p.sessionServerCpu);
    report.add('tls', `TLS ${open}, server CPU`, 'ms', t.sessionServerCpu, vsPlain(p.sessionServerCpu));
    report.add('tls', `plain ${open}, client CPU`, 'ms', p.sessionClientCpu);
    report.add('tls', `TLS ${open}, client CPU`, 'ms', t.sessionClientCpu, vsPlain(p.sessionClientCpu));
    ctx.raw.tls = { bytes: cfg.large, sessions, figures };
  } finally {
    await tlsServer?.stop();
    await certs.remove();
  }
}
