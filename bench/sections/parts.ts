// 6. Cost of the parts: the checksums against a plain buffer copy, the metrics call made for every chunk
// (against the same call without metrics, and as a share of moving 1 GiB at the single-stream rate this
// run measured), and locking (bench/locks.ts: one acquire+release, and 4 KiB uploads with locks on/off).
import { randomBytes } from 'node:crypto';
import type { BenchContext } from '../lib/context.js';
import { GIB, KIB, MIB } from '../lib/measure.js';
import { HASH_KINDS, type HashKind, hashRate, progressCost, warmHashes } from '../lib/micro.js';
import { fmt, summarize } from '../lib/stats.js';
import { runLockBench } from '../locks.js';

/** The upload path counts what arrived per socket read; 64 KiB is a typical loopback read. */
const CHUNK = 64 * KIB;
const CALLS_PER_GIB = GIB / CHUNK;

export async function runParts(ctx: BenchContext): Promise<void> {
  const hashing = measureHashing(ctx);
  const progress = measureProgress(ctx);
  const locks = await measureLocks(ctx);
  ctx.raw.parts = { hashing, progress };
  ctx.raw.locks = locks;
}

function measureHashing(ctx: BenchContext): Record<HashKind, number[]> {
  const { cfg, report } = ctx;
  const block = randomBytes(MIB);
  warmHashes(block);
  const rates = Object.fromEntries(HASH_KINDS.map((k) => [k, [] as number[]])) as Record<HashKind, number[]>;
  for (let r = 0; r < cfg.rounds; r++) {
    // Alternate the order so that drift on a shared machine hits every kind alike.
    const order = r % 2 === 0 ? HASH_KINDS : [...HASH_KINDS].reverse();
    for (const kind of order) rates[kind].push(hashRate(kind, block, cfg.hashBytes));
  }
  const copy = { values: rates['buffer copy'], vs: 'buffer copy' };
  const label = `${cfg.hashBytes / MIB} MiB in 1 MiB buffers`;
  report.add('parts', 'buffer copy', 'MB/s', rates['buffer copy']).note = label;
  report.add('parts', 'xxh3-64 (checksum.ts)', 'MB/s', rates['xxh3-64 (checksum.ts)'], copy);
  report.add('parts', 'sha256 (node:crypto)', 'MB/s', rates['sha256 (node:crypto)'], copy);
  report.add('parts', 'sha256 (node:crypto)', 'MB/s', rates['sha256 (node:crypto)'], {
    values: rates['xxh3-64 (checksum.ts)'],
    vs: 'xxh3-64',
  });
  return rates;
}

function measureProgress(ctx: BenchContext): { onNs: number[]; offNs: number[] } {
  const { cfg, report } = ctx;
  const onNs: number[] = [];
  const offNs: number[] = [];
  for (let r = 0; r < cfg.rounds; r++) {
    const cost = progressCost(cfg.progressGiB * CALLS_PER_GIB, CHUNK);
    onNs.push(cost.onNs);
    offNs.push(cost.offNs);
  }
  report.add('parts', 'progress() without metrics', 'ns/call', offNs);
  report.add('parts', 'Transfer.progress() with metrics', 'ns/call', onNs, {
    values: offNs,
    vs: 'without metrics',
  }).note = `${cfg.progressGiB} GiB in 64 KiB chunks per round`;
  // Share of moving 1 GiB at this run's single-stream rate taken by its 16,384 metrics calls.
  const rates = [
    ['upload', ctx.figures.singleUpload],
    ['download', ctx.figures.singleDownload],
  ] as const;
  for (const [direction, mbps] of rates) {
    if (!mbps || mbps.length !== onNs.length) continue;
    const percent = onNs.map((ns, i) => {
      const transferNs = (GIB / ((mbps[i] as number) * 1e6)) * 1e9;
      return ((ns * CALLS_PER_GIB) / transferNs) * 100;
    });
    report.add(
      'parts',
      `metrics calls per 1 GiB ${direction} (${CALLS_PER_GIB})`,
      '% of time',
      percent,
    ).note = `at ${fmt(summarize(mbps).median)} MB/s (filehive single-stream ${direction})`;
  }
  if (!ctx.figures.singleUpload) {
    report.skip('metrics as a share of a 1 GiB transfer: needs the single section in the same run');
  }
  return { onNs, offNs };
}

async function measureLocks(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { cfg, report } = ctx;
  const result = await runLockBench({
    rounds: cfg.rounds,
    lockOps: cfg.lockOps,
    files: cfg.lockFiles,
    print: false,
  });
  const s = result.samples;
  const off = s.uploadsPerSecondNoLocks;
  const offBase = { values: off, vs: 'locks off' };
  report.add('parts', 'lock acquire+release', 'µs', s.cycleMicros, {
    values: off.map((rate) => 1e6 / rate),
    vs: '4 KiB upload, locks off',
  }).note = `${cfg.lockOps} cycles per round`;
  report.add('parts', '4 KiB uploads, locks off', 'files/s', off).note = `${cfg.lockFiles} files per round`;
  report.add('parts', '4 KiB uploads, locks on', 'files/s', s.uploadsPerSecondLocks, offBase).note =
    'target >= 0.77x';
  if (s.uploadsPerSecondTmpfsLocks.length > 0) {
    report.add('parts', '4 KiB uploads, lock dir on tmpfs', 'files/s', s.uploadsPerSecondTmpfsLocks, offBase);
  }
  return result;
}
