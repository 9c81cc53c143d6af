// filehive-server: one file for the cluster primary and its workers.
import cluster from 'node:cluster';
import { formatServerHelp, loadServerConfig } from './config/server-config.js';
import { startPrimary } from './primary/start-primary.js';
import { startWorker } from './worker/start-worker.js';

async function main(): Promise<void> {
  if (!cluster.isPrimary) {
    await startWorker();
    return;
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
  await startPrimary(result.config);
}

main().catch((err: unknown) => {
  process.stderr.write(`filehive-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
