// Accounts for integration tests: `filehive-server user ...` run as a real process, the password on stdin.
import { type NodeRun, runNode } from './run-node.js';
import { SERVER_JS } from './server.js';

export type { NodeRun as CommandRun } from './run-node.js';

/** Runs `node dist/server.js ARGS` with `stdin` piped in (not a terminal). */
export function runServerCommand(
  args: string[],
  stdin = '',
  env: Record<string, string> = {},
): Promise<NodeRun> {
  return runNode(SERVER_JS, args, { stdin, env });
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
