// Starts the real built server (dist/server.js) as a child process on port 0 with a temporary root.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const SERVER_JS = resolve('dist/server.js');
export const CLIENT_JS = resolve('dist/client.js');

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` of the metrics sidecar, or null when it is off. */
  readonly metricsUrl: string | null;
  readonly root: string;
  readonly proc: ChildProcess;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then waits for exit; returns the exit code. Removes the root unless keepRoot. */
  stop(options?: { keepRoot?: boolean; signal?: NodeJS.Signals }): Promise<number | null>;
}

export interface StartOptions {
  workers?: number;
  args?: string[];
  root?: string;
  env?: Record<string, string>;
  /** In a process group of its own, so a test can signal the whole group as a terminal's Ctrl-C does. */
  detached?: boolean;
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'filehive-test-')));
  const extra = options.args ?? [];
  // Every test server gets its own free metrics port unless the test chooses one.
  const metrics = extra.includes('--metrics-port') ? [] : ['--metrics-port', '0'];
  const proc = spawn(
    process.execPath,
    [
      SERVER_JS,
      '--port',
      '0',
      '--root',
      root,
      '--workers',
      String(options.workers ?? 2),
      ...metrics,
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      detached: options.detached ?? false,
    },
  );
  // A test process that dies (a timeout, a crash) must not leave servers behind.
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  proc.once('exit', () => process.off('exit', reap));
  let output = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    // A server that missed the deadline must not outlive the test: its pipes would keep ava waiting.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within 45 s:\n${output}`));
    }, 45_000);
    const check = () => {
      const m = /listening on [^\s]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    proc.stdout?.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  const exited = once(proc, 'exit');
  const metricsUrl = /metrics on (http:\/\/[^\s]+)\/metrics/.exec(output)?.[1] ?? null;
  return {
    host: '127.0.0.1',
    port,
    metricsUrl,
    root,
    proc,
    output: () => output,
    async stop(stopOptions = {}) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(stopOptions.signal ?? 'SIGTERM');
      const [code] = (await exited) as [number | null];
      if (!stopOptions.keepRoot && !options.root) await rm(root, { recursive: true, force: true });
      return code;
    },
  };
}
