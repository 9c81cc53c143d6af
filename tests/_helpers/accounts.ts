// Accounts for integration tests: `filehive-server user ...` run as a real process, the password on stdin.
import { spawn } from 'node:child_process';
import { SERVER_JS } from './server.js';

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/server.js ARGS` with `stdin` piped in (not a terminal). */
export function runServerCommand(
  args: string[],
  stdin = '',
  env: Record<string, string> = {},
): Promise<CommandRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [SERVER_JS, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** `filehive-server user add NAME ...` with the password on stdin; throws unless it succeeded. */
export async function addUser(
  file: string,
  name: string,
  password: string,
  extra: string[] = [],
): Promise<void> {
  const run = await runServerCommand(['user', 'add', name, '--users', file, ...extra], `${password}\n`);
  if (run.code !== 0) throw new Error(`user add ${name} failed (${run.code}): ${run.stderr}`);
}
