// The lock coordinator: per-name exclusive locks in one lock folder shared by every worker and every
// instance on the storage root. The only module that uses proper-lockfile (docs/LOCKS.md).
import { mkdir, readFile, readlink, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { FilehiveError } from '../errors.js';
import { HOLDER_SUFFIX, LOCK_SUFFIX, lockIdOf, TEMP_RECORD_SUFFIX } from './lock-names.js';

export type LockOperation = 'upload' | 'delete' | 'move' | 'mkdir' | 'rmdir';

/** What is recorded about a holder, in `<id>.holder` beside (never inside) proper-lockfile's directory. */
export interface LockHolder {
  readonly op: LockOperation;
  readonly since: number;
  readonly pid: number;
  readonly key?: string;
  readonly host?: string;
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

/** An upload's temp file path is recorded once the upload has run this long. */
const TEMP_RECORD_DELAY_MS = 50;
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
          // told what holds the name. Short enough for an inline ("fast") symbolic link, whose
          // removal frees no disk block; on a disk that discards freed blocks that is several times
          // cheaper than any record with a data block.
          const recorded = await writeRecord(base + HOLDER_SUFFIX, formatHolder(holder));
          // The temp file's path (long) is recorded only for uploads that last: a short upload is
          // over before anyone needs it, and after a crash the sweep finds its temp file anyway.
          let tempRecorded: Promise<boolean> | null = null;
          const timer =
            temp === undefined
              ? null
              : setTimeout(() => {
                  tempRecorded = writeRecord(
                    base + TEMP_RECORD_SUFFIX,
                    JSON.stringify({ temp, key, host: this.host }),
                  );
                }, TEMP_RECORD_DELAY_MS);
          return async () => {
            if (timer) clearTimeout(timer);
            const lost = controller.signal.aborted;
            // The records go first: once the lock is released, the next holder may write its own.
            // After a lost lock the records may be the next holder's: leave them to it.
            if (tempRecorded && (await tempRecorded) && !lost) {
              await unlink(base + TEMP_RECORD_SUFFIX).catch(() => undefined);
            }
            if (recorded && !lost) await unlink(base + HOLDER_SUFFIX).catch(() => undefined);
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

  /**
   * For the temp-file sweep, about a temp file older than the stale period: false when the lock with
   * this id is free, or held by a holder that cannot be writing `tempName` (a delete, move or folder
   * command, or an upload that recorded another temp file). Such a file was left by an upload that
   * died while another session held the name (a worker killed between creating its temp file and being
   * refused BUSY). In doubt (no holder record, or an upload younger than its temp record) it is kept.
   */
  async mayUseTemp(id: string, tempName: string): Promise<boolean> {
    if (!(await this.isHeld(id))) return false;
    const base = join(this.options.dir, id);
    const holder = await readHolder(base + HOLDER_SUFFIX);
    if (!holder) return true;
    if (holder.op !== 'upload') return false;
    const recorded = (await readTempRecord(base + TEMP_RECORD_SUFFIX))?.temp ?? holder.temp;
    return typeof recorded !== 'string' || basename(recorded) === tempName;
  }
}

/** Longest record kept in a symbolic link's target; longer ones (deep temp paths) go into a file. */
const MAX_LINK_RECORD = 3_000;

/** `upload 1764112345678 4242 a1b2c3d4e5f6`: op, since (ms), pid, instance; about 45 bytes. */
function formatHolder(holder: LockHolder): string {
  return `${holder.op} ${holder.since} ${holder.pid} ${holder.instance}`;
}

/**
 * Writes a record as the target of a symbolic link: one `symlink` call instead of a file's open,
 * write and close, on a path every operation takes (the same trick as Emacs' lock files).
 */
async function writeRecord(path: string, text: string): Promise<boolean> {
  if (Buffer.byteLength(text) > MAX_LINK_RECORD) {
    return writeFile(path, text).then(
      () => true,
      () => false,
    );
  }
  try {
    await symlink(text, path);
  } catch (err) {
    // A record left by a holder that lost this lock: it is no one's now that we hold the lock.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    await unlink(path).catch(() => undefined);
    return symlink(text, path).then(
      () => true,
      () => false,
    );
  }
  return true;
}

async function readRecord(path: string): Promise<string | null> {
  return readlink(path)
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EINVAL') return readFile(path, 'utf8');
      throw err;
    })
    .catch(() => null);
}

/** Reads `<id>.holder` (the short form, or JSON as written by hand or by older versions). */
export async function readHolder(path: string): Promise<LockHolder | null> {
  const text = await readRecord(path);
  if (text === null) return null;
  try {
    if (text.startsWith('{')) {
      const parsed = JSON.parse(text) as LockHolder;
      return typeof parsed.op === 'string' && typeof parsed.since === 'number' ? parsed : null;
    }
    const [op, since, pid, instance] = text.split(' ');
    if (!op || !since || !pid || instance === undefined) return null;
    return { op: op as LockOperation, since: Number(since), pid: Number(pid), instance };
  } catch {
    return null;
  }
}

/** Reads `<id>.temp`: the temp file of a long-running upload. */
export async function readTempRecord(path: string): Promise<{ temp?: unknown } | null> {
  const text = await readRecord(path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as { temp?: unknown };
  } catch {
    return null;
  }
}
