// The lock coordinator: per-name exclusive locks in one lock folder shared by every worker and every
// instance on the storage root. The only module that uses proper-lockfile.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { FilehiveError } from '../errors.js';

export type LockOperation = 'upload' | 'delete' | 'move' | 'mkdir' | 'rmdir';

/** What is recorded about a holder, in a file beside (never inside) proper-lockfile's lock folder. */
export interface LockHolder {
  readonly op: LockOperation;
  readonly since: number;
  readonly host: string;
  readonly pid: number;
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
  readonly onCompromised?: (key: string, err: Error) => void;
}

const POLL_MS = 25;

export class LockManager {
  /** Keys this process holds: a second local request gets BUSY without touching the disk. */
  private readonly held = new Map<string, LockHolder>();

  private constructor(private readonly options: LockManagerOptions) {}

  static async open(options: LockManagerOptions): Promise<LockManager> {
    await mkdir(options.dir, { recursive: true });
    return new LockManager(options);
  }

  /** proper-lockfile's `file` for a key: unique per logical lock (its in-process map is keyed by it). */
  private fileOf(key: string): string {
    return join(this.options.dir, createHash('sha256').update(key).digest('hex').slice(0, 40));
  }

  /**
   * Takes exclusive locks on every key, in sorted order so crossing requests cannot deadlock. Refuses
   * with BUSY (naming the holder) when a key stays locked past --lock-wait.
   */
  async acquire(keys: readonly string[], op: LockOperation): Promise<LockHandle> {
    const unique = [...new Set(keys)].sort();
    const controller = new AbortController();
    const releases: Array<() => Promise<void>> = [];
    try {
      for (const key of unique) releases.push(await this.acquireOne(key, op, controller));
    } catch (err) {
      await Promise.allSettled(releases.map((release) => release()));
      throw err;
    }
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
    controller: AbortController,
  ): Promise<() => Promise<void>> {
    const file = this.fileOf(key);
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      if (!this.held.has(key)) {
        const holder: LockHolder = { op, since: Date.now(), host: hostname(), pid: process.pid };
        this.held.set(key, holder);
        try {
          const release = await lockfile.lock(file, {
            realpath: false,
            stale: this.options.staleMs,
            onCompromised: (err) => {
              this.held.delete(key);
              this.options.onCompromised?.(key, err);
              controller.abort(new FilehiveError('INTERNAL', 'lock lost', { cause: err }));
            },
          });
          await writeFile(`${file}.holder`, JSON.stringify(holder)).catch(() => undefined);
          return async () => {
            await rm(`${file}.holder`, { force: true }).catch(() => undefined);
            this.held.delete(key);
            await release().catch(() => undefined);
          };
        } catch (err) {
          this.held.delete(key);
          if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
        }
      }
      if (Date.now() + POLL_MS > deadline) throw await this.busy(key, file);
      await sleep(POLL_MS);
    }
  }

  private async busy(key: string, file: string): Promise<FilehiveError> {
    const holder = this.held.get(key) ?? (await readHolder(file));
    if (!holder) return new FilehiveError('BUSY', 'the name is locked by another session');
    const since = new Date(holder.since).toISOString();
    return new FilehiveError(
      'BUSY',
      `locked by ${/^[aeiou]/.test(holder.op) ? 'an' : 'a'} ${holder.op} since ${since}`,
      {
        fields: { holder: holder.op, since },
      },
    );
  }

  /** For DOWNLOAD: BUSY when an upload or delete holds the name, else nothing. */
  async assertReadable(key: string): Promise<void> {
    const file = this.fileOf(key);
    const local = this.held.get(key);
    const locked =
      local !== undefined || (await lockfile.check(file, { realpath: false, stale: this.options.staleMs }));
    if (locked) throw await this.busy(key, file);
  }
}

async function readHolder(file: string): Promise<LockHolder | null> {
  try {
    const parsed = JSON.parse(await readFile(`${file}.holder`, 'utf8')) as LockHolder;
    return typeof parsed.op === 'string' && typeof parsed.since === 'number' ? parsed : null;
  } catch {
    return null;
  }
}
