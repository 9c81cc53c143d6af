// Temporary files of uploads: `.filehive-<lock id>-<random>.tmp` in the target's own folder, so the final
// rename stays on one filesystem and is atomic, the reserved prefix hides them from clients, and the lock
// id tells a sweep whether an upload still owns them.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

const TEMP_NAME = /^\.filehive-([0-9a-f]{40})-[0-9a-f]{16}\.tmp$/;

export function tempPathFor(dir: string, lockId: string): string {
  return join(dir, `.filehive-${lockId}-${randomBytes(8).toString('hex')}.tmp`);
}

/** The lock id in an upload temp file's name, or null for any other name. */
export function lockIdOfTempName(name: string): string | null {
  return TEMP_NAME.exec(name)?.[1] ?? null;
}

/** Creates the temp file (never an existing one, never through a link). */
export async function createTempFile(path: string): Promise<FileHandle> {
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
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
