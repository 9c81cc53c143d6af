// The benchmark suite:
//
//   npm run bench [-- --quick | --smoke] [--only SECTION[,SECTION]] [--install-peers]
//
//   (no flag)        3 rounds, 1 GiB single stream, 1,000 x 4 KiB, 16 clients x 64 MiB (under 6 minutes)
//   --quick          1 round at small sizes (under 1 minute)
//   --smoke          tiny sizes, no vsftpd: proves the suite still runs (tests/integration/bench-smoke)
//   --only a,b       run only these sections: limits, single, tls, small, concurrency, memory, parts
//                    (memory reports worker peaks only for single/concurrency when they ran too; parts
//                    relates the metrics cost to the single-stream rate only when single ran too)
//   --install-peers  extract vsftpd and iperf3 into .cache/peers (apt-get download + dpkg-deb -x; no
//                    daemon is started, nothing is installed system-wide), then run
//
// Every figure is the median of the rounds (min and max shown) and, where a baseline exists, a ratio to
// it measured in the same run: the Node pipe (bench/lib/pipe-server.mjs), iperf3 and vsftpd when present,
// a buffer copy for the checksums, the call without metrics, locks off. Loopback only; temporary files
// live under os.tmpdir() and are removed at the end. Prints a table and writes bench/results/<date>.json.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchOptions, BUDGET_SECONDS, MIB, parseBenchArgs, type SectionName } from './lib/config.js';
import { BenchContext } from './lib/context.js';
import { installIperf3 } from './lib/iperf3.js';
import { Report } from './lib/report.js';
import { fmt } from './lib/stats.js';
import { installVsftpd } from './lib/vsftpd.js';
import { SECTIONS } from './sections/index.js';

const SECTION_COUNT = Object.keys(SECTIONS).length;

/** Sections that start the built server (dist/server.js). */
const NEEDS_BUILD: readonly SectionName[] = ['single', 'tls', 'small', 'concurrency', 'memory'];

async function installPeers(report: Report): Promise<void> {
  for (const [name, install] of [
    ['vsftpd', installVsftpd],
    ['iperf3', installIperf3],
  ] as const) {
    try {
      await install();
    } catch (err) {
      report.skip(`could not install ${name}: ${(err as Error).message}`);
    }
  }
}

async function main(options: BenchOptions): Promise<number> {
  const { mode, config: cfg, sections } = options;
  const startedAt = Date.now();
  if (sections.some((s) => NEEDS_BUILD.includes(s)) && !existsSync('dist/server.js')) {
    throw new Error('dist/server.js is missing: run `npx tsup` first');
  }
  console.log(
    `filehive bench (${mode}): ${cfg.rounds} round(s), large file ${cfg.large / MIB} MiB, ` +
      `${cfg.small} x 4 KiB, ${cfg.clients} clients x ${cfg.each / MIB} MiB, ${cpus().length} CPUs; ` +
      `sections ${sections.join(', ')}`,
  );
  const report = new Report();
  if (options.installPeers) await installPeers(report);
  const work = await mkdtemp(join(tmpdir(), 'filehive-bench-'));
  const ctx = new BenchContext(mode, cfg, report, work);
  const timings: Partial<Record<SectionName, number>> = {};
  let failed = false;
  try {
    for (const name of sections) {
      console.log(`${name} ... (${fmt((Date.now() - startedAt) / 1000)} s)`);
      const started = Date.now();
      try {
        await SECTIONS[name](ctx);
      } catch (err) {
        failed = true;
        report.skip(`section ${name} failed: ${(err as Error).stack ?? err}`);
      }
      timings[name] = (Date.now() - started) / 1000;
      console.log(`${name} took ${fmt(timings[name] as number)} s`);
    }
  } finally {
    await ctx.close();
    await rm(work, { recursive: true, force: true });
  }
  report.print();
  const seconds = (Date.now() - startedAt) / 1000;
  const perSection = Object.entries(timings).map(([name, s]) => `${name} ${fmt(s)} s`);
  console.log(`sections: ${perSection.join(', ')}`);
  console.log(`took ${fmt(seconds)} s`);
  if (seconds > BUDGET_SECONDS[mode] && sections.length === SECTION_COUNT) {
    console.log(`note: over the ${BUDGET_SECONDS[mode]} s budget of a ${mode} run (a busy machine?)`);
  }
  const meta = {
    mode,
    config: cfg,
    sections: timings,
    cpus: cpus().length,
    node: process.version,
    seconds,
    date: new Date().toISOString(),
  };
  const file = await report.write(meta, ctx.raw);
  console.log(`wrote ${file}`);
  return failed ? 1 : 0;
}

let options: BenchOptions;
try {
  options = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(2);
}
const code = await main(options);
// Servers started here are reaped by their exit hooks; exit promptly rather than wait for stray handles.
process.exit(code);
