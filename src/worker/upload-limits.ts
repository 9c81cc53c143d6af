// The limits an upload meets before its first byte (docs/SECURITY.md#limits): --max-file-size, and
// --min-free-space on the file system of the target's folder. The decisions are pure; freeBytes() is
// the one call to the disk.
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

/** The reply to an upload that hit ENOSPC (or a quota) while writing. */
export function diskFullError(cause: unknown): FilehiveError {
  return new FilehiveError('NO_SPACE', 'the disk filled up during the upload; it was discarded', { cause });
}
