// Finds upload temp files that no upload owns any more (left by a crash the janitor could not clean up,
// e.g. a whole server killed) and removes them. Walks the tree without following links.
import type { Dirent } from 'node:fs';
import { lstat, opendir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { lockIdOfTempName } from './temp-files.js';
import { RESERVED_PREFIX } from './virtual-path.js';

export interface SweepOptions {
  readonly root: string;
  /** Only files older than this (by mtime) are candidates: the stale period. */
  readonly olderThanMs: number;
  /**
   * True while the temp file `name` may belong to a running upload: its lock (this id) is held, and
   * not by a holder known to write another file (LockManager.mayUseTemp).
   */
  readonly isHeld: (lockId: string, name: string) => Promise<boolean>;
  readonly now?: number;
}

export async function sweepTempFiles(options: SweepOptions): Promise<{ scanned: number; removed: string[] }> {
  const now = options.now ?? Date.now();
  const removed: string[] = [];
  let scanned = 0;
  const walk = async (dir: string, top: boolean): Promise<void> => {
    let handle: AsyncIterable<Dirent>;
    try {
      handle = await opendir(dir, { bufferSize: 128 });
    } catch {
      return;
    }
    for await (const entry of handle) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        // The state folder (locks, settings) holds no upload temp files.
        if (!(top && entry.name === RESERVED_PREFIX)) await walk(path, false);
        continue;
      }
      if (!entry.isFile()) continue;
      const lockId = lockIdOfTempName(entry.name);
      if (lockId === null) continue;
      scanned++;
      const stats = await lstat(path).catch(() => null);
      if (!stats || now - stats.mtimeMs < options.olderThanMs) continue;
      if (await options.isHeld(lockId, entry.name)) continue;
      await rm(path, { force: true }).catch(() => undefined);
      removed.push(path);
    }
  };
  await walk(options.root, true);
  return { scanned, removed };
}
