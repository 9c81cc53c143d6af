import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

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
