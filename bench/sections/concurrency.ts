// 5. Concurrency: N clients at once, each moving its own file up then down; aggregate MB/s and fairness
// (slowest client / fastest) for filehive with 1 and 2 workers, the Node pipe and, when present, vsftpd.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { withClient, workersOf } from '../lib/filehive.js';
import { makeFile, mbps, timed } from '../lib/measure.js';
import { pipeDownload, pipeUpload } from '../lib/pipe.js';
import { sampleRss } from '../lib/sampler.js';
import { fmt, summarize } from '../lib/stats.js';

interface Outcome {
  aggregate: number;
  fairness: number;
}
interface Figures {
  up: number[];
  down: number[];
  fairUp: number[];
  fairDown: number[];
}

export async function runConcurrency(ctx: BenchContext): Promise<void> {
  const { cfg, report } = ctx;
  const pipe = await ctx.pipeServer();
  const servers = [
    ['filehive --workers 1', await ctx.filehive(1)],
    ['filehive --workers 2', await ctx.filehive(2)],
  ] as const;
  const vsftpd = await ctx.vsftpd();
  const each = join(ctx.work, 'each.bin');
  await makeFile(each, cfg.each);
  const dl = join(ctx.work, 'conc-dl');
  const ids = Array.from({ length: cfg.clients }, (_, i) => i);
  const measure = async (job: (i: number) => Promise<unknown>): Promise<Outcome> => {
    const rates: number[] = [];
    const ms = await timed(() =>
      Promise.all(
        ids.map(async (i) => {
          rates[i] = mbps(cfg.each, await timed(() => job(i)));
        }),
      ),
    );
    return { aggregate: mbps(cfg.clients * cfg.each, ms), fairness: Math.min(...rates) / Math.max(...rates) };
  };
  const figures: Record<string, Figures> = {};
  const record = (key: string, up: Outcome, down: Outcome) => {
    figures[key] ??= { up: [], down: [], fairUp: [], fairDown: [] };
    figures[key].up.push(up.aggregate);
    figures[key].down.push(down.aggregate);
    figures[key].fairUp.push(up.fairness);
    figures[key].fairDown.push(down.fairness);
  };
  const clients = `${cfg.clients} clients`;
  for (let r = 0; r < cfg.rounds; r++) {
    await mkdir(dl, { recursive: true });
    const s = sampleRss([pipe.proc.pid as number]);
    const up = await measure((i) => pipeUpload(pipe.port, each, `c${i}.bin`));
    const down = await measure((i) => pipeDownload(pipe.port, `c${i}.bin`, join(dl, `c${i}.bin`)));
    ctx.notePeak(`node pipe server (${clients})`, await s.stop());
    record('node pipe', up, down);
    await rm(dl, { recursive: true, force: true });
    for (const [key, server] of servers) {
      const sampler = sampleRss(await workersOf(server));
      const up = await measure((i) =>
        withClient(server.port, (c) => c.upload(each, { remoteName: `c${i}.bin` })),
      );
      const down = await measure(async (i) => {
        const dir = join(dl, String(i));
        await mkdir(dir, { recursive: true });
        await withClient(server.port, (c) => c.download(`c${i}.bin`, { dir }));
      });
      ctx.notePeak(`filehive worker (${key}, ${clients})`, await sampler.stop());
      record(key, up, down);
      await rm(dl, { recursive: true, force: true });
    }
    if (vsftpd) {
      await mkdir(dl, { recursive: true });
      const up = await measure((i) => vsftpd.upload(each, `c${i}.bin`));
      const down = await measure((i) => vsftpd.download(`c${i}.bin`, join(dl, `c${i}.bin`)));
      record('vsftpd', up, down);
      await rm(dl, { recursive: true, force: true });
    }
  }
  await rm(each, { force: true });

  const base = figures['node pipe'] as Figures;
  for (const dir of ['up', 'down'] as const) {
    const fairKey = dir === 'up' ? 'fairUp' : 'fairDown';
    for (const [key, v] of Object.entries(figures)) {
      const baseline = key === 'node pipe' ? undefined : { values: base[dir], vs: 'node pipe' };
      const row = report.add('concurrency', `${key} ${dir}`, 'MB/s', v[dir], baseline);
      const fair = summarize(v[fairKey]);
      row.note = `fairness ${fmt(fair.median, 2)} (min ${fmt(fair.min, 2)})`;
      if (figures.vsftpd && key.startsWith('filehive')) {
        report.add('concurrency', `${key} ${dir}`, 'MB/s', v[dir], {
          values: figures.vsftpd[dir],
          vs: 'vsftpd',
        });
      }
    }
  }
  ctx.raw.concurrency = figures;
}
