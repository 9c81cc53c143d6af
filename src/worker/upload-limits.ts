// The limits an upload meets before its first byte (docs/SECURITY.md#limits): --max-file-size, and
// --min-free-space on the file system of the target's folder. The decisions are pure; freeBytes() is
// the one call to the disk, and FreeSpace spares it for bursts of small uploads.
import { statfs } from 'node:fs/promises';
import { FilehiveError } from '../errors.js';

/** TOO_LARGE when `size` is over `maxFileSize`, else null. */
export function checkFileSize(size: number, maxFileSize: number): FilehiveError | null {
  if (size <= maxFileSize) return null;
  return new FilehiveError(
    'TOO_LARGE',
    `the file is larger than the server's limit of ${maxFileSize} bytes`,
    {
      fields: { max: String(maxFileSize) },
    },
  );
}

/** NO_SPACE when storing `size` bytes would leave less than `minFreeSpace` of `freeBytes`, else null. */
export function checkFreeSpace(size: number, freeBytes: number, minFreeSpace: number): FilehiveError | null {
  if (freeBytes - size >= minFreeSpace) return null;
  return new FilehiveError('NO_SPACE', 'not enough free disk space on the server for this upload');
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** How long a reading of free space may answer yes without asking the disk again. */
const READING_FRESH_MS = 1_000;
/** Folders remembered at once; past that the readings start over (a burst touches a few folders). */
const MAX_READINGS = 1_000;

/**
 * The free-space check of one worker. A reading less than a second old, minus the sizes it has let
 * through since, answers yes without a statfs: a burst of small uploads would otherwise add one
 * thread-pool round trip each. A no is always checked against a fresh reading.
 */
export class FreeSpace {
  private readonly readings = new Map<string, { free: number; at: number }>();

  constructor(
    private readonly read: (dir: string) => Promise<number> = freeBytes,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** NO_SPACE when `size` more bytes in `dir` would leave less than `minFreeSpace`, else null. */
  async check(dir: string, size: number, minFreeSpace: number): Promise<FilehiveError | null> {
    const reading = this.readings.get(dir);
    if (
      reading !== undefined &&
      this.now() - reading.at < READING_FRESH_MS &&
      checkFreeSpace(size, reading.free, minFreeSpace) === null
    ) {
      reading.free -= size;
      return null;
    }
    const free = await this.read(dir);
    const refusal = checkFreeSpace(size, free, minFreeSpace);
    if (this.readings.size >= MAX_READINGS) this.readings.clear();
    this.readings.set(dir, { free: refusal === null ? free - size : free, at: this.now() });
    return refusal;
  }
}

/** The reply to an upload that hit ENOSPC (or a quota) while writing. */
export function diskFullError(cause: unknown): FilehiveError {
  return new FilehiveError('NO_SPACE', 'the disk filled up during the upload; it was discarded', { cause });
}
