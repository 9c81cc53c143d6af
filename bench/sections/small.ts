// 4. Small files: N x 4 KiB up and down, filehive over one connection (pipelined, and one request at a
// time) against the Node pipe (a connection per file) and, when present, vsftpd (one curl process per 100 files), in the same rounds.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { withClient } from '../lib/filehive.js';
import { KIB, timed } from '../lib/measure.js';
import { pipeDownload, pipeUpload } from '../lib/pipe.js';

type UpDown = { up: number[]; down: number[] };
const PIPE = 'node pipe (connection per file)';
const FILEHIVE = 'filehive (one connection, pipelined)';
const SEQUENTIAL = 'filehive (one connection, one at a time)';
/** Requests the client keeps in flight on its one connection (the library pipelines calls not awaited). */
const WINDOW = 32;

/** Runs job(0..n-1) with at most `width` running at once. */
async function windowed(n: number, width: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

export async function runSmall(ctx: BenchContext): Promise<void> {
  const { cfg, report } = ctx;
  const pipe = await ctx.pipeServer();
  const fh2 = await ctx.filehive(2);
  let vsftpd = await ctx.vsftpd();
  const dir = join(ctx.work, 'small');
  await mkdir(dir, { recursive: true });
  const sources: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < cfg.small; i++) {
    names.push(`s${i}.bin`);
    sources.push(join(dir, `s${i}.bin`));
    await writeFile(sources[i] as string, randomBytes(4 * KIB));
  }
  const dl = join(ctx.work, 'small-dl');
  const figures: Record<string, UpDown> = {
    [PIPE]: { up: [], down: [] },
    [FILEHIVE]: { up: [], down: [] },
    [SEQUENTIAL]: { up: [], down: [] },
  };
  const rate = (ms: number) => cfg.small / (ms / 1000);
  /** Times `fn` into figures[key][dir], with a fresh download folder. */
  const measure = async (key: string, direction: 'up' | 'down', fn: () => Promise<unknown>) => {
    await rm(dl, { recursive: true, force: true });
    await mkdir(dl, { recursive: true });
    figures[key] ??= { up: [], down: [] };
    figures[key][direction].push(rate(await timed(fn)));
  };
  for (let r = 0; r < cfg.rounds; r++) {
    await measure(PIPE, 'up', async () => {
      for (let i = 0; i < cfg.small; i++)
        await pipeUpload(pipe.port, sources[i] as string, names[i] as string);
    });
    await measure(PIPE, 'down', async () => {
      for (const n of names) await pipeDownload(pipe.port, n, join(dl, n));
    });
    await withClient(fh2.port, async (c) => {
      await c.mkdir(`small${r}`);
      await c.chdir(`small${r}`);
      await measure(FILEHIVE, 'up', () =>
        windowed(sources.length, WINDOW, (i) => c.upload(sources[i] as string)),
      );
      await measure(FILEHIVE, 'down', () =>
        windowed(names.length, WINDOW, (i) => c.download(names[i] as string, { dir: dl })),
      );
      await c.mkdir(`/small${r}-seq`);
      await c.chdir(`/small${r}-seq`);
      await measure(SEQUENTIAL, 'up', async () => {
        for (const s of sources) await c.upload(s);
      });
      await measure(SEQUENTIAL, 'down', async () => {
        for (const n of names) await c.download(n, { dir: dl });
      });
    });
    if (vsftpd) {
      const peer = vsftpd;
      try {
        await measure('vsftpd', 'up', () => peer.uploadMany(sources, `small${r}`));
        await measure('vsftpd', 'down', () => peer.downloadMany(names, `small${r}`, dl));
      } catch (err) {
        // A stuck curl is bounded by its timeout: report it and go on without the peer here.
        report.skip(`vsftpd small files failed: ${(err as Error).message.split('\n')[0]?.slice(0, 160)}`);
        delete figures.vsftpd;
        vsftpd = null;
      }
    }
  }
  await rm(dl, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });

  for (const direction of ['up', 'down'] as const) {
    const base = (figures[PIPE] as UpDown)[direction];
    const peer = figures.vsftpd?.[direction];
    report.add('small', `${PIPE} ${direction}`, 'files/s', base);
    if (peer) report.add('small', `vsftpd ${direction}`, 'files/s', peer, { values: base, vs: 'node pipe' });
    for (const key of [FILEHIVE, SEQUENTIAL]) {
      const fh = (figures[key] as UpDown)[direction];
      report.add('small', `${key} ${direction}`, 'files/s', fh, { values: base, vs: 'node pipe' });
      if (peer) report.add('small', `${key} ${direction}`, 'files/s', fh, { values: peer, vs: 'vsftpd' });
    }
  }
  ctx.raw.small = figures;
}
