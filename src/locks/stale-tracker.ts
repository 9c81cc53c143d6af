// Stale detection that no clock skew can fool. A holder refreshes its lock's mtime every stale/2; a lock
// whose mtime has not changed for the whole stale period, timed on this host's monotonic clock, has a
// dead holder. The mtime's value is never compared with this host's wall clock: a holder on a host whose
// clock is behind still refreshes (so it is never broken), and a lock dated in the future by a clock jump
// still stops changing when its holder dies (so it never blocks forever). Pure.

export interface Verdict {
  readonly stale: boolean;
  /** How far the mtime lies ahead of this host's wall clock (0 when not ahead): logged, never trusted. */
  readonly futureMs: number;
}

export class StaleTracker {
  private readonly seen = new Map<string, { mtimeMs: number; sinceMono: number }>();

  constructor(private readonly staleMs: number) {}

  /**
   * Records one observation of lock `id` and says whether it has been unchanged for the stale period.
   * `nowMono` is when the answer arrived; `askedMono` (default: the same) when the stat was sent. The
   * stat may have been served anywhere in between (a busy event loop, thread pool or network filesystem
   * can stretch that to seconds), so the unchanged time is counted the short way: from the arrival of
   * the first answer with this mtime to the sending of the latest one. A slow stat can then delay a
   * takeover, never cause a false one.
   */
  observe(id: string, mtimeMs: number, nowMono: number, nowWall: number, askedMono = nowMono): Verdict {
    const previous = this.seen.get(id);
    if (!previous || previous.mtimeMs !== mtimeMs) this.seen.set(id, { mtimeMs, sinceMono: nowMono });
    const since = this.seen.get(id)?.sinceMono ?? nowMono;
    return { stale: askedMono - since >= this.staleMs, futureMs: Math.max(0, mtimeMs - nowWall) };
  }

  /** Forgets every lock not in `present` (released meanwhile). */
  retain(present: ReadonlySet<string>): void {
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
  }

  forget(id: string): void {
    this.seen.delete(id);
  }

  get size(): number {
    return this.seen.size;
  }
}
