import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { waitFor } from './wait.js';

/** Every path below `dir` (files and folders), relative to it, sorted. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    // The server may remove a folder (a lock being released) while we walk: that is not an error.
    const entries = await readdir(d, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && d !== dir) return [];
      throw err;
    });
    for (const entry of entries) {
      const p = join(d, entry.name);
      out.push(relative(dir, p));
      if (entry.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** Files the lock folder always holds: its settings and each host's clock probe (lock-names.ts). */
const LOCK_FOLDER_FILES = /^\.filehive\/locks\/(settings\.json|clock-[^/]+\.probe)$/;

/**
 * Paths of temp files and locks the server may leave: `.filehive-*` anywhere, entries of the lock folder
 * (its settings.json and clock probes are expected). Kept partials of resumable uploads
 * (`.filehive/partial/`) are not leftovers: they stay on purpose until --partial-ttl; see partials().
 */
export async function leftovers(root: string): Promise<string[]> {
  return (await listTree(root)).filter(
    (p) => /(^|\/)\.filehive-/.test(p) || (p.startsWith('.filehive/locks/') && !LOCK_FOLDER_FILES.test(p)),
  );
}

/** The kept partials of resumable uploads (docs/PROTOCOL.md#resume): names in `.filehive/partial/`. */
export async function partials(root: string): Promise<string[]> {
  return (await readdir(join(root, '.filehive', 'partial')).catch(() => [] as string[])).sort();
}

/**
 * Plants an orphaned upload temp file, an hour old, that any sweep removes, and waits (up to 20 s)
 * for it to go: once it is gone, a whole sweep of `root` has run.
 */
export async function sweepRan(root: string): Promise<boolean> {
  const orphan = join(root, `.filehive-${'e'.repeat(40)}-${'f'.repeat(16)}.tmp`);
  await writeFile(orphan, 'orphan');
  const old = new Date(Date.now() - 3_600_000);
  await utimes(orphan, old, old);
  return waitFor(
    () =>
      stat(orphan).then(
        () => false,
        () => true,
      ),
    20_000,
  );
}
