// 7. Memory: the peak RSS of each worker during the large transfers and the concurrent run (sampled by
// the single and concurrency sections, against the Node pipe server in the same rounds), and the RSS an
// idle connection adds to a worker.
import type { BenchContext } from '../lib/context.js';
import { startFilehive, workersOf } from '../lib/filehive.js';
import { measureIdleCost } from '../lib/idle.js';
import { KIB, MIB } from '../lib/measure.js';
import { fmt, summarize } from '../lib/stats.js';

const PIPE_LABEL = /^node pipe server \((.*)\)$/;

export async function runMemory(ctx: BenchContext): Promise<void> {
  const { cfg, report } = ctx;
  reportPeaks(ctx);
  // A server of its own with one worker: nothing else has touched it, and all connections land on it.
  // Its connection limits are raised above the count, since they all come from 127.0.0.1.
  const limit = String(Math.max(2 * cfg.idle, 100));
  const server = await startFilehive(1, [], {
    FILEHIVE_MAX_CONNECTIONS: limit,
    FILEHIVE_MAX_CONNECTIONS_PER_IP: limit,
  });
  try {
    const [pid] = await workersOf(server);
    if (pid === undefined) throw new Error('the idle-connection server has no worker');
    const idle = await measureIdleCost(pid, server.port, cfg.idle, cfg.idleRounds);
    report.add(
      'memory',
      `RSS per idle connection (${cfg.idle}, --workers 1)`,
      'KiB',
      idle.perConnection.map((b) => b / KIB),
    ).note = `target <= 16 KiB; worker RSS ${fmt(summarize(idle.before).median / MIB)} MiB before`;
    ctx.raw.memory = {
      peakRssBytes: Object.fromEntries(ctx.peaks),
      idleConnections: cfg.idle,
      idleConnectionBytes: idle.perConnection,
      idleRssBefore: idle.before,
      idleRssAfter: idle.after,
    };
  } finally {
    await server.stop();
  }
}

/** One row per label; a worker's peak is related to the Node pipe server's in the same section's rounds. */
function reportPeaks(ctx: BenchContext): void {
  const pipes = new Map<string, number[]>();
  for (const [label, values] of ctx.peaks) {
    const m = PIPE_LABEL.exec(label);
    if (m) pipes.set(m[1] as string, values);
  }
  for (const [label, values] of ctx.peaks) {
    const mib = values.map((b) => b / MIB);
    if (PIPE_LABEL.test(label)) {
      ctx.report.add('memory', `peak RSS ${label}`, 'MiB', mib);
      continue;
    }
    const context = label.includes('clients') ? `${ctx.cfg.clients} clients` : 'single stream';
    const pipe = pipes.get(context)?.map((b) => b / MIB);
    const row = ctx.report.add(
      'memory',
      `peak RSS ${label}`,
      'MiB',
      mib,
      pipe ? { values: pipe, vs: `node pipe (${context})` } : undefined,
    );
    if (pipe)
      row.note = `${fmt(summarize(mib).median - summarize(pipe).median)} MiB over the node pipe (target <= +16)`;
  }
}
