// 1. Limits: the raw loopback TCP rate (iperf3, where present). The other limit, the Node pipe, runs
// beside filehive in the single, small and concurrency sections, and is related to iperf3 there.
import { relative } from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { findIperf3, IPERF3_HINT, measureIperf3 } from '../lib/iperf3.js';

export async function runLimits(ctx: BenchContext): Promise<void> {
  const binary = await findIperf3();
  if (!binary) {
    ctx.report.skip(`iperf3 is not installed (${IPERF3_HINT})`);
    return;
  }
  const rates: number[] = [];
  try {
    for (let r = 0; r < ctx.cfg.rounds; r++) rates.push(await measureIperf3(binary, ctx.cfg.iperfSeconds));
  } catch (err) {
    ctx.report.skip(`iperf3 failed: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  const mb = rates.map((bps) => bps / 1e6);
  ctx.report.add('limits', 'iperf3 TCP loopback (one stream)', 'MB/s', mb).note =
    `${ctx.cfg.iperfSeconds} s per round, ${relative(process.cwd(), binary) || binary}`;
  ctx.figures.iperf3 = mb;
  ctx.raw.limits = { iperf3: binary, bytesPerSecond: rates };
}
