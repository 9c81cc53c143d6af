// How far this host's wall clock is from the clock that stamps mtimes on the shared filesystem, and
// when that deserves a warning. Pure: clock-probe.ts does the I/O.
//
// A probe writes a file in the lock folder, so the file server stamps its mtime with its own clock, and
// reads the mtime back. The write happened somewhere between two readings of this host's clock, `before`
// and `after`; only an mtime outside that interval proves a skew, and only by its distance to the
// interval. So the estimate is a lower bound of the true skew, exact to the round trip, and never
// invents a skew out of a slow filesystem.

/** Above this many ms of skew, a warning is logged (docs/LOCKS.md#clock-skew). */
export const SKEW_WARN_MS = 2_000;
/** While the skew stays above the threshold, the warning is repeated this often, not at every probe. */
export const SKEW_REWARN_MS = 10 * 60_000;

export interface SkewEstimate {
  /** This host's clock minus the filesystem's: positive when this host is ahead. 0 when not provable. */
  readonly skewMs: number;
  /** after - before: how precise the estimate is. */
  readonly roundTripMs: number;
}

/** The skew proven by an mtime stamped between this host's `beforeMs` and `afterMs`. */
export function estimateSkew(beforeMs: number, afterMs: number, mtimeMs: number): SkewEstimate {
  const roundTripMs = Math.max(0, afterMs - beforeMs);
  let skewMs = 0;
  if (mtimeMs < beforeMs) skewMs = beforeMs - mtimeMs;
  else if (mtimeMs > afterMs) skewMs = afterMs - mtimeMs;
  return { skewMs, roundTripMs };
}

export type SkewAction = 'warn' | 'recovered' | 'quiet';

export interface SkewAlarm {
  /** Since when (this host's monotonic ms) a warning is out, or null while the skew is fine. */
  readonly warnedAtMono: number | null;
}

export const QUIET_ALARM: SkewAlarm = { warnedAtMono: null };

/**
 * What to log for a new estimate: a warning when the skew first exceeds the threshold and again every
 * SKEW_REWARN_MS while it stays there; a note when it is back under; nothing otherwise.
 */
export function judgeSkew(
  alarm: SkewAlarm,
  skewMs: number,
  nowMono: number,
  thresholdMs = SKEW_WARN_MS,
): { action: SkewAction; alarm: SkewAlarm } {
  const above = Math.abs(skewMs) > thresholdMs;
  if (!above) {
    return { action: alarm.warnedAtMono === null ? 'quiet' : 'recovered', alarm: QUIET_ALARM };
  }
  if (alarm.warnedAtMono === null || nowMono - alarm.warnedAtMono >= SKEW_REWARN_MS) {
    return { action: 'warn', alarm: { warnedAtMono: nowMono } };
  }
  return { action: 'quiet', alarm };
}

/** A short human description: "this host is 5.2 s ahead of the filesystem's clock". */
export function describeSkew(skewMs: number): string {
  if (skewMs === 0) return 'this host agrees with the filesystem clock';
  const size = Math.abs(skewMs);
  const amount =
    size < 1_000 ? `${Math.round(size)} ms` : `${(size / 1000).toFixed(size < 10_000 ? 1 : 0)} s`;
  return `this host is ${amount} ${skewMs > 0 ? 'ahead of' : 'behind'} the filesystem clock`;
}
