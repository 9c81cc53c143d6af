// 3. Single stream: one large file up and down, filehive (default checksum, sha256, --fsync) against the
// Node pipe and, when present, vsftpd, in the same rounds. Worker peak RSS is noted for the memory section.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChecksumAlgorithm } from '../../src/protocol/index.js';
import type { BenchContext } from '../lib/context.js';
import { type RunningServer, withClient, workersOf } from '../lib/filehive.js';
import { makeFile, mbps, timed } from '../lib/measure.js';
import { pipeDownload, pipeUpload } from '../lib/pipe.js';
import { sampleRss } from '../lib/sampler.js';

type UpDown = { up: number[]; down: number[] };
const DIRECTIONS = ['up', 'down'] as const;

export async function runSingle(ctx: BenchContext): Promise<void> {
  const { cfg, report } = ctx;
  const pipe = await ctx.pipeServer();
  const fh2 = await ctx.filehive(2);
  const fhSync = await ctx.filehive(2, ['--fsync']);
  const vsftpd = await ctx.vsftpd();
  const variants: { key: string; server: RunningServer; checksum?: ChecksumAlgorithm; upOnly?: boolean }[] = [
    { key: 'filehive default checksum', server: fh2 },
    { key: 'filehive sha256', server: fh2, checksum: 'sha256' },
    // --fsync changes only how uploads are stored; its download is the default one, so it is not repeated.
    { key: 'filehive --fsync', server: fhSync, upOnly: true },
  ];
  const big = join(ctx.work, 'big.bin');
  await makeFile(big, cfg.large);
  const dl = join(ctx.work, 'dl');
  await mkdir(dl, { recursive: true });
  const local = join(dl, 'big.bin');
  const figures: Record<string, UpDown> = {};
  const put = (key: string, dir: 'up' | 'down', ms: number) => {
    figures[key] ??= { up: [], down: [] };
    figures[key][dir].push(mbps(cfg.large, ms));
  };
  for (let r = 0; r < cfg.rounds; r++) {
    const s = sampleRss([pipe.proc.pid as number]);
    put('node pipe', 'up', await timed(() => pipeUpload(pipe.port, big, 'big.bin')));
    put('node pipe', 'down', await timed(() => pipeDownload(pipe.port, 'big.bin', local)));
    ctx.notePeak('node pipe server (single stream)', await s.stop());
    await rm(local, { force: true });
    for (const v of variants) {
      const sampler = sampleRss(await workersOf(v.server));
      await withClient(v.server.port, async (c) => {
        const opts = v.checksum ? { checksum: v.checksum } : {};
        put(v.key, 'up', await timed(() => c.upload(big, { remoteName: 'big.bin', ...opts })));
        if (!v.upOnly) put(v.key, 'down', await timed(() => c.download('big.bin', { dir: dl, ...opts })));
      });
      ctx.notePeak(`filehive worker (${v.key})`, await sampler.stop());
      await rm(local, { force: true });
    }
    if (vsftpd) {
      put('vsftpd', 'up', await timed(() => vsftpd.upload(big, 'big.bin')));
      put('vsftpd', 'down', await timed(() => vsftpd.download('big.bin', local)));
      await rm(local, { force: true });
    }
  }
  await rm(big, { force: true });

  const base = figures['node pipe'] as UpDown;
  const peer = figures.vsftpd;
  for (const dir of DIRECTIONS) {
    report.add('single', `node pipe ${dir}`, 'MB/s', base[dir]);
    if (ctx.figures.iperf3) {
      report.add('single', `node pipe ${dir}`, 'MB/s', base[dir], {
        values: ctx.figures.iperf3,
        vs: 'iperf3',
      });
    }
    if (peer)
      report.add('single', `vsftpd ${dir}`, 'MB/s', peer[dir], { values: base[dir], vs: 'node pipe' });
    for (const v of variants) {
      const values = (figures[v.key] as UpDown)[dir];
      if (values.length === 0) continue;
      report.add('single', `${v.key} ${dir}`, 'MB/s', values, { values: base[dir], vs: 'node pipe' });
      if (peer) report.add('single', `${v.key} ${dir}`, 'MB/s', values, { values: peer[dir], vs: 'vsftpd' });
    }
  }
  const fh = figures['filehive default checksum'] as UpDown;
  ctx.figures.singleUpload = fh.up;
  ctx.figures.singleDownload = fh.down;
  ctx.raw.single = figures;
}
