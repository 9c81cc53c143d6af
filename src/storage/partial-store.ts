// The kept bytes of interrupted resumable uploads (docs/PROTOCOL.md#resume), in ROOT/.filehive/partial/.
// A partial never sits at its target's name: it is renamed over the target only once complete and
// checked, like a temp file. Its name is made of hashes, never of anything a client sent:
// `<lock id>-<32 hex>.part`, where the lock id is that of the target's name (so a sweep can tell
// whether an upload is appending to it) and the rest hashes the account, the target and the size.
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, opendir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RESERVED_PREFIX } from './virtual-path.js';

/** Below the storage root, beside the lock folder: hidden from clients like every `.filehive` name. */
export const PARTIAL_FOLDER = 'partial';
const PARTIAL_NAME = /^([0-9a-f]{40})-[0-9a-f]{32}\.part$/;

export function partialFolderOf(root: string): string {
  return join(root, RESERVED_PREFIX, PARTIAL_FOLDER);
}

/**
 * The partial's file name for an upload of `size` bytes to the name whose lock id is `lockId` and
 * whose root-relative key is `key`, by `account` ('' when anonymous). Pure. The account keeps two
 * users who reach one file apart; the size keeps a different file of the same name apart.
 */
export function partialNameFor(lockId: string, account: string, key: string, size: number): string {
  const digest = createHash('sha256').update(`${account}\0${key}\0${size}`).digest('hex').slice(0, 32);
  return `${lockId}-${digest}.part`;
}

/** The lock id in a partial's name, or null for any other name. */
export function lockIdOfPartialName(name: string): string | null {
  return PARTIAL_NAME.exec(name)?.[1] ?? null;
}

/** True when a partial last written at `mtimeMs` has outlived `ttlMs` at `now`. */
export function isPartialExpired(mtimeMs: number, ttlMs: number, now: number): boolean {
  return now - mtimeMs >= ttlMs;
}

/** A live partial's length and expiry; null when there is none, it expired, or it is not a plain file. */
export async function statPartial(
  path: string,
  ttlMs: number,
  now = Date.now(),
): Promise<{ bytes: number; expiresAt: Date } | null> {
  const stats = await lstat(path).catch(() => null);
  if (!stats?.isFile() || isPartialExpired(stats.mtimeMs, ttlMs, now)) return null;
  return { bytes: stats.size, expiresAt: new Date(stats.mtimeMs + ttlMs) };
}

export interface PartialSweepOptions {
  /** The partial folder (partialFolderOf(root)). */
  readonly dir: string;
  readonly ttlMs: number;
  /** True while the lock with this id is held: an upload may be appending to the partial. */
  readonly isHeld: (lockId: string) => Promise<boolean>;
  readonly now?: number;
}

/** Removes the partials that expired and that no upload holds. A missing folder is nothing to do. */
export async function sweepPartials(
  options: PartialSweepOptions,
): Promise<{ scanned: number; removed: string[] }> {
  const now = options.now ?? Date.now();
  const removed: string[] = [];
  let scanned = 0;
  let entries: AsyncIterable<Dirent>;
  try {
    entries = await opendir(options.dir, { bufferSize: 128 });
  } catch {
    return { scanned, removed };
  }
  for await (const entry of entries) {
    const lockId = lockIdOfPartialName(entry.name);
    if (lockId === null || !entry.isFile()) continue;
    scanned++;
    const path = join(options.dir, entry.name);
    const stats = await lstat(path).catch(() => null);
    if (!stats || !isPartialExpired(stats.mtimeMs, options.ttlMs, now)) continue;
    if (await options.isHeld(lockId)) continue;
    await rm(path, { force: true }).catch(() => undefined);
    removed.push(path);
  }
  return { scanned, removed };
}
