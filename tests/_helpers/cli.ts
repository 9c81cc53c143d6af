// Runs the built CLI (dist/client.js) as a child process and collects what it printed.
import { type NodeRun, runNode } from './run-node.js';
import { CLIENT_JS } from './server.js';

export type { NodeRun as CliRun } from './run-node.js';

export function runCli(
  args: string[],
  options: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<NodeRun> {
  return runNode(CLIENT_JS, args, { ...options, stdin: options.stdin ?? '' });
}
