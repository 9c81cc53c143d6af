// The lock coordinator: per-name exclusive locks in one lock folder shared by every worker and every
// instance on the storage root. The only module that uses proper-lockfile (docs/LOCKS.md).
import { mkdir, readFile, readlink, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { FilehiveError } from '../errors.js';
import { HOLDER_SUFFIX, LOCK_SUFFIX, lockIdOf } from './lock-names.js';

export type LockOperation = 'upload' | 'delete' | 'move' | 'mkdir' | 'rmdir';

/** What is recorded about a holder, in `<id>.holder` beside (never inside) proper-lockfile's directory. */
export interface LockHolder {
  readonly op: LockOperation;
  readonly key: string;
  readonly since: number;
  readonly host: string;
  readonly pid: number;
  /** The server instance (one per primary), so the primary can free the locks of its dead workers. */
  readonly instance: string;
  /** The upload's temp file, removed by whoever takes the lock over. */
  readonly temp?: string;
}

export interface LockHandle {
  /** Aborted when the lock is lost (compromised): the operation under it must stop. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export interface LockManagerOptions {
  readonly dir: string;
  readonly staleMs: number;
  readonly waitMs: number;
  readonly instance: string;
  readonly onCompromised?: (key: string, err: Error) => void;
  readonly onBusy?: (op: LockOperation) => void;
  readonly onAcquired?: (op: LockOperation, waitedMs: number) => void;
}

/** Polling interval while waiting (--lock-wait) for a name another process holds. */
const POLL_MS = 25;
/**
 * proper-lockfile's own takeover compares the lock's mtime with this host's wall clock, which breaks
 * live locks of hosts whose clock is behind. It is switched off (a stale period of ~25 days); the
 * primary's janitor takes stale locks over instead, judging them on the monotonic clock (stale-tracker).
 */
const NEVER_STALE_MS = 2 ** 31 - 1;

export class LockManager {
  /** Keys this process holds: a second local request gets BUSY without touching the disk. */
  private readonly held = new Map<string, LockHolder>();
  private readonly host = hostname();

  private constructor(private readonly options: LockManagerOptions) {}

  static async open(options: LockManagerOptions): Promise<LockManager> {
    await mkdir(options.dir, { recursive: true });
    return new LockManager(options);
  }

  /** The id of `key`'s lock: upload temp files carry it, so a sweep can tell whether they are in use. */
  idOf(key: string): string {
    return lockIdOf(key);
  }

  /**
   * Takes exclusive locks on every key, in sorted order so crossing requests cannot deadlock. Refuses
   * with BUSY (naming the holder) when a key stays locked past --lock-wait. `temp` is recorded with
   * the first key.
   */
  async acquire(keys: readonly string[], op: LockOperation, temp?: string): Promise<LockHandle> {
    const unique = [...new Set(keys)].sort();
    const controller = new AbortController();
    const releases: Array<() => Promise<void>> = [];
    const started = performance.now();
    try {
      for (const [i, key] of unique.entries()) {
        releases.push(await this.acquireOne(key, op, i === 0 ? temp : undefined, controller, started));
      }
    } catch (err) {
      await Promise.allSettled(releases.map((release) => release()));
      if (err instanceof FilehiveError && err.code === 'BUSY') this.options.onBusy?.(op);
      throw err;
    }
    this.options.onAcquired?.(op, performance.now() - started);
    let released = false;
    return {
      signal: controller.signal,
      release: async () => {
        if (released) return;
        released = true;
        await Promise.allSettled(releases.reverse().map((release) => release()));
      },
    };
  }

  private async acquireOne(
    key: string,
    op: LockOperation,
    temp: string | undefined,
    controller: AbortController,
    started: number,
  ): Promise<() => Promise<void>> {
    const base = join(this.options.dir, lockIdOf(key));
    for (;;) {
      if (!this.held.has(key)) {
        const holder: LockHolder = {
          op,
          key,
          since: Date.now(),
          host: this.host,
          pid: process.pid,
          instance: this.options.instance,
          ...(temp === undefined ? {} : { temp }),
        };
        this.held.set(key, holder);
        const release = await this.tryLock(key, base, controller).catch((err: unknown) => {
          this.held.delete(key);
          throw err;
        });
        if (release) {
          // Written before the caller goes on: a session refused right after this one's GO must be
          // told what holds the name.
          const recorded = await writeHolder(base + HOLDER_SUFFIX, holder);
          return async () => {
            // The record goes first: once the lock is released, the next holder may write its own.
            // After a lost lock the record may be the next holder's: leave it to them.
            if (recorded && !controller.signal.aborted)
              await unlink(base + HOLDER_SUFFIX).catch(() => undefined);
            if (this.held.get(key) === holder) this.held.delete(key);
            await release().catch(() => undefined);
          };
        }
        this.held.delete(key);
      }
      if (performance.now() - started + POLL_MS > this.options.waitMs) throw await this.busy(key, base);
      await sleep(POLL_MS);
    }
  }

  /** One attempt: the release function, or null when someone else holds the lock. */
  private async tryLock(
    key: string,
    base: string,
    controller: AbortController,
  ): Promise<(() => Promise<void>) | null> {
    try {
      return await lockfile.lock(base, {
        realpath: false,
        stale: NEVER_STALE_MS,
        update: Math.max(1000, Math.floor(this.options.staleMs / 2)),
        onCompromised: (err) => {
          this.held.delete(key);
          this.options.onCompromised?.(key, err);
          controller.abort(new FilehiveError('LOCK_LOST', 'the lock on this name was lost', { cause: err }));
        },
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return null;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // The lock folder itself vanished (removed by hand): recreate it and let the caller retry.
        await mkdir(this.options.dir, { recursive: true });
        return null;
      }
      throw err;
    }
  }

  private async busy(key: string, base: string): Promise<FilehiveError> {
    const holder = this.held.get(key) ?? (await readHolder(base + HOLDER_SUFFIX));
    if (!holder) {
      // The record is not written yet (or was lost): the lock folder's birth time still says since when.
      const born = await stat(base + LOCK_SUFFIX).then(
        (s) => s.birthtimeMs,
        () => 0,
      );
      if (born <= 0) return new FilehiveError('BUSY', 'the name is locked by another session');
      const since = new Date(born).toISOString();
      return new FilehiveError('BUSY', `locked by another session since ${since}`, { fields: { since } });
    }
    const since = new Date(holder.since).toISOString();
    const article = /^[aeiou]/.test(holder.op) ? 'an' : 'a';
    return new FilehiveError('BUSY', `locked by ${article} ${holder.op} since ${since}`, {
      fields: { holder: holder.op, since },
    });
  }

  /**
   * For DOWNLOAD: BUSY while any lock is held on the name. Existence of the lock folder alone decides
   * (no clock comparison); stale locks are removed by the janitor.
   */
  async assertReadable(key: string): Promise<void> {
    const base = join(this.options.dir, lockIdOf(key));
    if (this.held.has(key)) throw await this.busy(key, base);
    const locked = await stat(base + LOCK_SUFFIX).then(
      () => true,
      () => false,
    );
    if (locked) throw await this.busy(key, base);
  }

  /** True while some process holds the lock with this id (for the temp-file sweep). */
  async isHeld(id: string): Promise<boolean> {
    return stat(join(this.options.dir, id + LOCK_SUFFIX)).then(
      () => true,
      () => false,
    );
  }
}

/** Longest record kept in a symbolic link's target; longer ones (deep temp paths) go into a file. */
const MAX_LINK_RECORD = 3_000;

/**
 * Writes the holder record as the target of a symbolic link: one `symlink` call instead of a file's
 * open, write and close, on a path every operation takes (the same trick as Emacs' lock files).
 */
async function writeHolder(path: string, holder: LockHolder): Promise<boolean> {
  const json = JSON.stringify(holder);
  if (Buffer.byteLength(json) > MAX_LINK_RECORD) {
    return writeFile(path, json).then(
      () => true,
      () => false,
    );
  }
  try {
    await symlink(json, path);
  } catch (err) {
    // A record left by a holder that lost this lock: it is no one's now that we hold the lock.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    await unlink(path).catch(() => undefined);
    return symlink(json, path).then(
      () => true,
      () => false,
    );
  }
  return true;
}

export async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const text = await readlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EINVAL') return readFile(path, 'utf8');
      throw err;
    });
    const parsed = JSON.parse(text) as LockHolder;
    return typeof parsed.op === 'string' && typeof parsed.since === 'number' ? parsed : null;
  } catch {
    return null;
  }
}
