// The lock folder records the settings every instance sharing it must agree on. proper-lockfile cannot
// notice two instances with different stale periods, so an instance that disagrees refuses to start.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SETTINGS_FILE } from './lock-names.js';

export interface LockSettings {
  readonly staleMs: number;
}

export class LockSettingsMismatch extends Error {}

export async function ensureLockSettings(dir: string, settings: LockSettings): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, SETTINGS_FILE);
  const wanted = { version: 1, staleMs: settings.staleMs };
  // Written whole under a private name, then linked into place: an instance starting at the same moment
  // either finds no file or a complete one (link fails with EEXIST rather than replacing).
  const draft = join(dir, `.settings-${process.pid}-${randomBytes(4).toString('hex')}.json`);
  await writeFile(draft, `${JSON.stringify(wanted)}\n`);
  try {
    await link(draft, path);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      // Filesystems without hard links (some FUSE mounts): an exclusive create, with its small window.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw err;
      const created = await writeFile(path, `${JSON.stringify(wanted)}\n`, { flag: 'wx' }).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') return false;
          throw e;
        },
      );
      if (created) return;
    }
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  let recorded: unknown;
  try {
    recorded = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    recorded = null;
  }
  if (typeof recorded !== 'object' || recorded === null || !('staleMs' in recorded)) {
    throw new LockSettingsMismatch(
      `${path} is not readable settings; remove it only if no instance is running`,
    );
  }
  if (recorded.staleMs !== settings.staleMs) {
    throw new LockSettingsMismatch(
      `the lock folder ${dir} is set up for --lock-stale ${Number(recorded.staleMs) / 1000} but this instance has ` +
        `${settings.staleMs / 1000}; every instance sharing a root must use the same value ` +
        `(to change it, stop every instance and delete ${path})`,
    );
  }
}
