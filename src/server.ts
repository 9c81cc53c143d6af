// filehive-server: one file for the cluster primary and its workers.
import cluster from 'node:cluster';
import { formatServerHelp, loadServerConfig } from './config/server-config.js';

// The primary and the workers load only their own side: a worker without Fastify and the sidecar
// starts smaller (its RSS is part of the per-worker memory budget, docs/OPERATIONS.md).

async function main(): Promise<void> {
  if (!cluster.isPrimary) {
    const { startWorker } = await import('./worker/start-worker.js');
    await startWorker();
    return;
  }
  if (process.argv[2] === 'user') {
    const { runUserCommand } = await import('./accounts/user-command.js');
    const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
    process.exit(await runUserCommand(process.argv.slice(3), io));
  }
  const result = loadServerConfig(process.argv.slice(2), process.env, process.cwd());
  if (!result.ok) {
    for (const error of result.errors) process.stderr.write(`filehive-server: ${error}\n`);
    process.exit(2);
  }
  if (result.help) {
    process.stdout.write(formatServerHelp());
    return;
  }
  const { startPrimary } = await import('./primary/start-primary.js');
  await startPrimary(result.config);
}

main().catch((err: unknown) => {
  process.stderr.write(`filehive-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
