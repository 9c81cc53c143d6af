// Starting the real daemons tests run (HAProxy, sshd, Prometheus) on loopback: a free port, the
// process in the foreground with its output collected, killed if the test process exits first, and a
// retry on another port when the probed one was taken before the daemon could bind it.
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { waitFor } from './wait.js';

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const address = server.address();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Sends `signal` (SIGKILL after 5 s) and resolves once the process has exited. */
export function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    proc.once('exit', () => {
      clearTimeout(killer);
      resolveStop();
    });
    proc.kill(signal);
  });
}

export interface Daemon {
  readonly proc: ChildProcess;
  readonly port: number;
  /** Everything it printed on stdout and stderr. */
  log(): string;
  running(): boolean;
  /** SIGTERM, then SIGKILL after 5 s; then its folder is removed. */
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** Named in errors. */
  readonly name: string;
  readonly bin: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Its command line for a port (may write a config file for it first). */
  args(port: number): string[] | Promise<string[]>;
  /** Whether it serves yet; polled every 100 ms while it runs. */
  ready(daemon: Daemon): Promise<boolean>;
  /** Added to the error when it never got ready (e.g. what its admin interface says). */
  diagnose?(daemon: Daemon): Promise<string>;
  /** How long to wait for ready (default 15 s). */
  readonly timeoutMs?: number;
  /** The daemon's own folder (config, keys, data): removed when it stops or fails to start. */
  readonly dir?: string;
}

const PORT_TAKEN = /address already in use|cannot bind/i;

/** Starts the daemon on a free loopback port and resolves once `ready` says so. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const removeDir = () =>
    options.dir ? rm(options.dir, { recursive: true, force: true }) : Promise.resolve();
  try {
    return await startOnFreePort(options, removeDir);
  } catch (err) {
    await removeDir();
    throw err;
  }
}

async function startOnFreePort(options: DaemonOptions, removeDir: () => Promise<void>): Promise<Daemon> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawn(options.bin, await options.args(port), {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reap = () => proc.kill('SIGKILL');
    process.once('exit', reap);
    proc.once('exit', () => process.off('exit', reap));
    let log = '';
    const collect = (chunk: Buffer) => {
      log += chunk.toString();
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    proc.on('error', (err) => {
      log += `spawn failed: ${err.message}\n`;
    });
    const daemon: Daemon = {
      proc,
      port,
      log: () => log,
      running: () => proc.exitCode === null && proc.signalCode === null,
      async stop() {
        await stopProcess(proc);
        await removeDir();
      },
    };
    const ready = await waitFor(
      async () => !daemon.running() || (await options.ready(daemon).catch(() => false)),
      options.timeoutMs ?? 15_000,
      100,
    );
    if (ready && daemon.running()) return daemon;
    const diagnosis =
      daemon.running() && options.diagnose ? await options.diagnose(daemon).catch(() => '') : '';
    lastError = `${log.trim()}${diagnosis ? `\n${diagnosis}` : ''}`;
    await stopProcess(proc);
    if (!PORT_TAKEN.test(log)) break;
  }
  throw new Error(`${options.name} did not become ready:\n${lastError || 'no output'}`);
}
