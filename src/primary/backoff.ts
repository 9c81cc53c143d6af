/** Respawn delay for a worker slot that keeps dying: 100 ms doubling to 10 s; a worker that lived a minute resets it. */
export const BACKOFF_MIN_MS = 100;
export const BACKOFF_MAX_MS = 10_000;
export const HEALTHY_UPTIME_MS = 60_000;

export function nextBackoff(previousMs: number, uptimeMs: number): number {
  if (uptimeMs >= HEALTHY_UPTIME_MS || previousMs <= 0) return BACKOFF_MIN_MS;
  return Math.min(BACKOFF_MAX_MS, previousMs * 2);
}
