// Runs in the primary: measures this host's clock skew against the shared filesystem (clock-skew.ts) at
// start and every PROBE_EVERY_MS, reports it as a gauge, and warns when it is large. One small write and
// one stat per probe on one file per host in the lock folder; nothing else reads the file.
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { describeSkew, estimateSkew, judgeSkew, QUIET_ALARM, type SkewEstimate } from './clock-skew.js';
import { clockProbeName } from './lock-names.js';

/**
 * Clocks drift by milliseconds a day and NTP slews them gradually: twice a minute catches a step or a
 * dead NTP daemon soon enough, and costs a hundred instances 3 probes a second in all, not the 50 a
 * janitor-rate probe would (docs/SCALING.md).
 */
export const PROBE_EVERY_MS = 30_000;

export interface ClockProbeOptions {
  /** The lock folder: the filesystem whose clock every instance shares. */
  readonly dir: string;
  readonly log: Logger;
  readonly everyMs?: number;
  /** Called with each estimate (ms, positive when this host is ahead). */
  readonly onSkew?: (skewMs: number) => void;
  /** This host's name; the probe file is named after it. */
  readonly host?: string;
  /** This host's wall clock (tests shift it). */
  readonly now?: () => number;
}

export class ClockProbe {
  private timer: NodeJS.Timeout | null = null;
  private alarm = QUIET_ALARM;
  private probes = 0;
  private failing = false;
  private readonly path: string;
  private readonly now: () => number;
  private lastSkewMs = 0;
  /** Settles once the first probe has run (whatever it found). */
  firstProbe: Promise<void> = Promise.resolve();

  constructor(private readonly options: ClockProbeOptions) {
    this.path = join(options.dir, clockProbeName(options.host ?? hostname()));
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.firstProbe = this.probe().then(() => undefined);
    this.timer = setInterval(() => void this.probe(), this.options.everyMs ?? PROBE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * The filesystem's clock as this host best knows it: its own clock minus the last skew measured (its
   * own clock until a probe succeeds). Ages of files judged by it do not depend on this host's skew.
   */
  filesystemNow(): number {
    return this.now() - this.lastSkewMs;
  }

  /** One probe: the estimate, or null when the lock folder could not be written or read. */
  async probe(): Promise<SkewEstimate | null> {
    let estimate: SkewEstimate;
    try {
      estimate = await this.measure();
    } catch (err) {
      if (!this.failing) this.options.log.warn({ err, file: this.path }, 'clock skew probe failed');
      this.failing = true;
      return null;
    }
    this.failing = false;
    this.probes++;
    this.lastSkewMs = estimate.skewMs;
    this.options.onSkew?.(estimate.skewMs);
    this.report(estimate);
    return estimate;
  }

  /**
   * Writes the probe (the file server stamps the mtime with its own clock), then reads the mtime back
   * through the same handle. `after` is read after the stat: any write the stat saw, even another
   * instance's on the same host, happened before it.
   */
  private async measure(): Promise<SkewEstimate> {
    const before = this.now();
    const handle = await open(this.path, 'w');
    try {
      await handle.write(`${new Date(before).toISOString()} ${process.pid}\n`);
      const { mtimeMs } = await handle.stat();
      return estimateSkew(before, this.now(), mtimeMs);
    } finally {
      await handle.close();
    }
  }

  private report(estimate: SkewEstimate): void {
    const { action, alarm } = judgeSkew(this.alarm, estimate.skewMs, performance.now());
    this.alarm = alarm;
    const fields = {
      skewMs: Math.round(estimate.skewMs),
      roundTripMs: Math.round(estimate.roundTripMs),
      file: this.path,
    };
    const log = this.options.log;
    if (action === 'warn') {
      log.warn(
        fields,
        `clock skew: ${describeSkew(estimate.skewMs)} of the lock folder. Locks are not affected ` +
          '(staleness is judged on the monotonic clock, docs/LOCKS.md), but log times and BUSY since= ' +
          "fields are off by as much; fix this host's time sync (NTP)",
      );
    } else if (action === 'recovered') {
      log.info(fields, `clock skew back under the threshold: ${describeSkew(estimate.skewMs)}`);
    } else if (this.probes === 1) {
      log.info(fields, `clock skew against the lock folder: ${describeSkew(estimate.skewMs)}`);
    } else {
      log.debug(fields, 'clock skew probe');
    }
  }
}
