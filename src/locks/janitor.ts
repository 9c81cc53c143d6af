// Runs in the primary: takes over locks whose holders are gone, so a crash never blocks a name for
// longer than the stale period, and frees the locks of this instance's dead workers at once.
import { readdir, realpath, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { Logger } from '../log/logger.js';
import { lockIdOfTempName } from '../storage/temp-files.js';
import { type LockHolder, readHolder, readTempRecord } from './lock-manager.js';
import { HOLDER_SUFFIX, isLockId, LOCK_SUFFIX, lockIdFromEntry, TEMP_RECORD_SUFFIX } from './lock-names.js';
import { StaleTracker } from './stale-tracker.js';

export type TakeoverReason = 'stale' | 'dead-worker';

export interface JanitorOptions {
  readonly dir: string;
  /** Real path of the storage root: recorded temp files are removed only inside it. */
  readonly root: string;
  readonly staleMs: number;
  readonly instance: string;
  readonly log: Logger;
  readonly onTakeover?: (reason: TakeoverReason, futureMs: number) => void;
  /**
   * A holder died and may have left temp files that no record names (an upload's not recorded yet, or
   * one whose upload was being refused BUSY when its process died): a sweep will find them.
   */
  readonly onOrphanedTemp?: () => void;
}

export class LockJanitor {
  private readonly tracker: StaleTracker;
  private readonly lonelyHolders = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;

  constructor(private readonly options: JanitorOptions) {
    this.tracker = new StaleTracker(options.staleMs);
  }

  /** Scans every stale/5 (at least every 2 s): a dead holder's lock is free within the stale period plus that. */
  start(): void {
    const every = Math.min(2_000, Math.max(200, Math.floor(this.options.staleMs / 5)));
    this.timer = setInterval(() => void this.scan(), every);
    this.timer.unref();
    void this.scan();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over the lock folder; concurrent calls share the pass in progress. */
  scan(): Promise<void> {
    this.scanning ??= this.scanOnce()
      .catch((err: unknown) => this.options.log.warn({ err }, 'lock folder scan failed'))
      .finally(() => {
        this.scanning = null;
      });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const entries = await readdir(this.options.dir);
    const locks = new Set<string>();
    const holders = new Set<string>();
    for (const entry of entries) {
      const id = lockIdFromEntry(entry);
      if (id) locks.add(id);
      else {
        const suffix = [HOLDER_SUFFIX, TEMP_RECORD_SUFFIX].find((x) => entry.endsWith(x));
        if (suffix && isLockId(entry.slice(0, -suffix.length))) holders.add(entry);
      }
    }
    this.tracker.retain(locks);
    for (const id of locks) {
      const asked = performance.now();
      const mtimeMs = await this.mtimeOf(id);
      if (mtimeMs === null) continue;
      const verdict = this.tracker.observe(id, mtimeMs, performance.now(), Date.now(), asked);
      if (verdict.stale) await this.takeOver(id, 'stale', mtimeMs, verdict.futureMs);
    }
    // A record without its lock outlived a crash between the removals: drop it on the second sighting.
    const lockOf = (entry: string) => entry.slice(0, 40);
    for (const entry of holders) {
      if (locks.has(lockOf(entry))) continue;
      if (this.lonelyHolders.has(entry)) await rm(join(this.options.dir, entry), { force: true });
      else this.lonelyHolders.add(entry);
    }
    for (const entry of this.lonelyHolders) {
      if (!holders.has(entry) || locks.has(lockOf(entry))) this.lonelyHolders.delete(entry);
    }
  }

  /** A worker of this instance died: its locks are freed now, not after the stale period. */
  async releaseDeadWorker(pid: number): Promise<void> {
    // Whatever it held, it may have been between creating an upload's temp file and being refused.
    this.options.onOrphanedTemp?.();
    const entries = await readdir(this.options.dir).catch(() => [] as string[]);
    for (const entry of entries) {
      if (!entry.endsWith(HOLDER_SUFFIX)) continue;
      const id = entry.slice(0, -HOLDER_SUFFIX.length);
      const holder = await readHolder(this.holderPath(id));
      if (holder?.pid === pid && holder.instance === this.options.instance) {
        const mtimeMs = await this.mtimeOf(id);
        if (mtimeMs !== null) await this.takeOver(id, 'dead-worker', mtimeMs, 0, holder);
      }
    }
  }

  /**
   * Removes the temp file a holder recorded, but only a real upload temp file of this very lock inside
   * the root: a holder record is just a file in a shared folder, and must never make us delete others.
   */
  private async removeRecordedTemp(id: string, temp: unknown): Promise<void> {
    if (typeof temp !== 'string' || !isAbsolute(temp)) return;
    const name = basename(temp);
    if (lockIdOfTempName(name) !== id) return;
    const dir = await realpath(dirname(resolve(temp))).catch(() => null);
    const root = this.options.root;
    if (dir === null || !(dir === root || dir.startsWith(root.endsWith(sep) ? root : root + sep))) return;
    await rm(join(dir, name), { force: true }).catch(() => undefined);
  }

  private holderPath(id: string): string {
    return join(this.options.dir, id + HOLDER_SUFFIX);
  }

  private async mtimeOf(id: string): Promise<number | null> {
    return stat(join(this.options.dir, id + LOCK_SUFFIX)).then(
      (s) => s.mtimeMs,
      () => null,
    );
  }

  private async takeOver(
    id: string,
    reason: TakeoverReason,
    observedMtimeMs: number,
    futureMs: number,
    known?: LockHolder,
  ): Promise<void> {
    const holder = known ?? (await readHolder(this.holderPath(id)));
    // Re-check right before removing: the holder may have refreshed, or released and someone re-locked.
    // The window between this stat and the rmdir is two syscalls (see docs/LOCKS.md, known limits).
    if ((await this.mtimeOf(id)) !== observedMtimeMs) return;
    await rmdir(join(this.options.dir, id + LOCK_SUFFIX)).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY')
        await rm(join(this.options.dir, id + LOCK_SUFFIX), { recursive: true, force: true });
    });
    const tempRecord = await readTempRecord(join(this.options.dir, id + TEMP_RECORD_SUFFIX));
    const temp = tempRecord?.temp ?? holder?.temp;
    if (temp !== undefined) await this.removeRecordedTemp(id, temp);
    // A stale lock means a whole process died, and it may have left temp files without locks.
    if (reason === 'stale' || (temp === undefined && (!holder || holder.op === 'upload')))
      this.options.onOrphanedTemp?.();
    if (tempRecord)
      await rm(join(this.options.dir, id + TEMP_RECORD_SUFFIX), { force: true }).catch(() => undefined);
    // Remove the record only if it is still the dead holder's (a new holder may have written its own).
    const current = await readHolder(this.holderPath(id));
    if (current && holder && current.since === holder.since && current.pid === holder.pid) {
      await rm(this.holderPath(id), { force: true }).catch(() => undefined);
    }
    this.tracker.forget(id);
    this.options.onTakeover?.(reason, futureMs);
    const fields = { lock: id, reason, op: holder?.op, holderHost: holder?.host, holderPid: holder?.pid };
    if (futureMs > 1000) {
      this.options.log.warn(
        { ...fields, futureMs: Math.round(futureMs) },
        'took over a lock dated in the future',
      );
    } else {
      this.options.log.info(fields, 'took over a lock whose holder is gone');
    }
  }
}
