// The lock folder records the settings every instance sharing it must agree on. proper-lockfile cannot
// notice two instances with different stale periods, so an instance that disagrees refuses to start.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
  try {
    await writeFile(path, `${JSON.stringify(wanted)}\n`, { flag: 'wx' });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let recorded: { staleMs?: unknown };
  try {
    recorded = JSON.parse(await readFile(path, 'utf8')) as { staleMs?: unknown };
  } catch {
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
