// Plays another instance's lock holder in the shared lock folder, in the on-disk format of docs/LOCKS.md.
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockIdOf } from '../../src/locks/lock-names.js';

export interface ForeignLock {
  readonly id: string;
  readonly dir: string;
  release(): Promise<void>;
}

/**
 * Creates the lock of `key` (path relative to the root) as a holder elsewhere would. `refreshMs` keeps
 * its mtime changing like a live holder; `offsetMs` dates every mtime that far from this host's clock.
 */
export async function holdForeignLock(
  root: string,
  key: string,
  options: { op?: string; refreshMs?: number; offsetMs?: number } = {},
): Promise<ForeignLock> {
  const id = lockIdOf(key);
  const locks = join(root, '.filehive/locks');
  const dir = join(locks, `${id}.lock`);
  await mkdir(dir, { recursive: true });
  const stamp = async () => {
    const when = new Date(Date.now() + (options.offsetMs ?? 0));
    await utimes(dir, when, when).catch(() => undefined);
  };
  await stamp();
  const holder = {
    op: options.op ?? 'upload',
    key,
    since: Date.now(),
    host: 'elsewhere',
    pid: 1,
    instance: 'other',
  };
  await writeFile(join(locks, `${id}.holder`), JSON.stringify(holder));
  const timer = options.refreshMs ? setInterval(() => void stamp(), options.refreshMs) : null;
  return {
    id,
    dir,
    async release() {
      if (timer) clearInterval(timer);
      await rm(join(locks, `${id}.holder`), { force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
