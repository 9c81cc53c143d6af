// Flags of `npm run bench` and the sizes each mode runs with.
import { parseArgs } from 'node:util';

export const MIB = 1024 * 1024;

/** The sections in the order they run; `--only` picks a subset by these names. */
export const SECTION_NAMES = ['limits', 'single', 'tls', 'small', 'concurrency', 'memory', 'parts'] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

export type Mode = 'smoke' | 'quick' | 'default';

export interface BenchConfig {
  rounds: number;
  /** Single-stream file size. */
  large: number;
  /** Number of 4 KiB files in the small-file section. */
  small: number;
  clients: number;
  /** Bytes each concurrent client moves. */
  each: number;
  /** Idle connections held open for the per-connection RSS figure. */
  idle: number;
  /** Rounds of that figure: GC noise makes one round unreliable, and a round takes only seconds. */
  idleRounds: number;
  /** Whether vsftpd (when present) is measured; iperf3 runs whenever it is present. */
  peers: boolean;
  iperfSeconds: number;
  /** Bytes hashed (or copied) per round in the parts section. */
  hashBytes: number;
  /** GiB worth of 64 KiB progress() calls timed per round in the parts section. */
  progressGiB: number;
  lockOps: number;
  lockFiles: number;
}

// The default sizes (1 GiB single stream, 1,000 x 4 KiB, 16 x 64 MiB, 3 rounds) are the published benchmark (README.md#performance);
// the rest is chosen so that a default run stays under 6 minutes on 2 cores.
const CONFIGS: Record<Mode, BenchConfig> = {
  smoke: {
    rounds: 1,
    large: 8 * MIB,
    small: 20,
    clients: 4,
    each: 1 * MIB,
    idle: 50,
    idleRounds: 1,
    peers: false,
    iperfSeconds: 1,
    hashBytes: 16 * MIB,
    progressGiB: 4,
    lockOps: 50,
    lockFiles: 20,
  },
  quick: {
    rounds: 1,
    large: 64 * MIB,
    small: 200,
    clients: 16,
    each: 4 * MIB,
    idle: 1000,
    idleRounds: 3,
    peers: true,
    iperfSeconds: 1,
    hashBytes: 64 * MIB,
    progressGiB: 16,
    lockOps: 200,
    lockFiles: 100,
  },
  default: {
    rounds: 3,
    large: 1024 * MIB,
    small: 1000,
    clients: 16,
    each: 64 * MIB,
    idle: 1000,
    idleRounds: 3,
    peers: true,
    iperfSeconds: 1,
    hashBytes: 256 * MIB,
    progressGiB: 64,
    // bench/locks.ts alone runs 3000 cycles and 1,000 files a round; a third and a half keep the ratios
    // steady (they are per-operation) and give the 1 GiB transfers room in the 6-minute budget.
    lockOps: 1000,
    lockFiles: 500,
  },
};

/** How long a run of each mode may take (README.md#performance); a run past it says so under the table. */
export const BUDGET_SECONDS: Record<Mode, number> = { smoke: 60, quick: 60, default: 360 };

export interface BenchOptions {
  mode: Mode;
  config: BenchConfig;
  sections: SectionName[];
  installPeers: boolean;
}

/** Parses the command line; throws an Error whose message names the fix. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      'install-peers': { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
    },
    strict: true,
    allowPositionals: false,
  });
  const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'default';
  let sections: SectionName[] = [...SECTION_NAMES];
  if (values.only) {
    const wanted = values.only
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
    const unknown = wanted.filter((w) => !(SECTION_NAMES as readonly string[]).includes(w));
    if (unknown.length > 0 || wanted.length === 0) {
      throw new Error(
        `--only takes section names separated by commas (${SECTION_NAMES.join(', ')}); ` +
          `unknown: ${unknown.join(', ') || '(none given)'}`,
      );
    }
    sections = SECTION_NAMES.filter((s) => wanted.includes(s));
  }
  return { mode, config: CONFIGS[mode], sections, installPeers: values['install-peers'] };
}
