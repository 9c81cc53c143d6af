// Runs the built CLI on a pseudo-terminal, as a person at a keyboard would: util-linux `script` gives
// it a pty (no native module needed), the test types bytes into it and reads the screen output.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLIENT_JS } from './server.js';
import { waitFor } from './wait.js';

export const KEYS = { tab: '\t', enter: '\r', up: '\x1b[A', ctrlC: '\x03', ctrlD: '\x04' } as const;

export interface Terminal {
  /** Everything the client wrote to the terminal so far, escape sequences removed. */
  text(): string;
  /** The same, raw. */
  raw(): string;
  type(keys: string): void;
  /** Waits until `pattern` shows up in the text after `from` (a length of text() seen earlier). */
  waitFor(pattern: string | RegExp, from?: number, timeoutMs?: number): Promise<void>;
  /** Waits for the client to end; its exit code. */
  exited(timeoutMs?: number): Promise<number | null>;
  kill(): void;
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
// CSI sequences (cursor moves, erase) and the odd two-byte escape.
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what is removed
const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

export function startTerminal(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; columns?: number } = {},
): Terminal {
  const command = [process.execPath, CLIENT_JS, ...args].map(quote).join(' ');
  // `stty` sets the size a real terminal would report, before the client reads it.
  const proc: ChildProcess = spawn(
    'script',
    ['-qfec', `stty cols ${options.columns ?? 120} rows 40; exec ${command}`, '/dev/null'],
    { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  const exit = once(proc, 'exit').then(([code]) => {
    process.off('exit', reap);
    return code as number | null;
  });
  let raw = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    raw += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    raw += chunk.toString();
  });
  const text = () => raw.replace(ESCAPES, '');
  return {
    text,
    raw: () => raw,
    type(keys) {
      proc.stdin?.write(keys);
    },
    async waitFor(pattern, from = 0, timeoutMs = 15_000) {
      const found = () => {
        const seen = text().slice(from);
        return typeof pattern === 'string' ? seen.includes(pattern) : pattern.test(seen);
      };
      if (!(await waitFor(found, timeoutMs, 20))) {
        throw new Error(`no ${String(pattern)} on the terminal; it shows:\n${text().slice(from)}`);
      }
    },
    async exited(timeoutMs = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the client did not exit:\n${text()}`)), timeoutMs);
      });
      try {
        return await Promise.race([exit, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
