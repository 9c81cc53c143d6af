// Runs a built entry point (dist/server.js, dist/client.js) as a child process to its end and collects
// what it printed.
import { spawn } from 'node:child_process';

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NodeRunOptions {
  /** Piped in, then closed (not a terminal); no stdin at all when undefined. */
  stdin?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Called with everything printed on stderr so far, as it comes. */
  onStderr?: (text: string) => void;
}

export function runNode(script: string, args: string[], options: NodeRunOptions = {}): Promise<NodeRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin?.end(options.stdin);
  });
}
