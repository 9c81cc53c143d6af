// Temporary files of uploads: named `.filehive-*.tmp` in the target's own folder, so the final rename
// stays on one filesystem and is atomic, and hidden from clients by the reserved prefix.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const TEMP_SUFFIX = '.tmp';

export function tempNameFor(): string {
  return `.filehive-${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`;
}

/** Creates a fresh temp file in `dir` (never an existing one, never through a link). */
export async function createTempFile(dir: string): Promise<{ path: string; file: FileHandle }> {
  const path = join(dir, tempNameFor());
  const file = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  return { path, file };
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}

/** Flushes a folder's entry table, so a rename in it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
