// An account's home: the folder inside the storage root that becomes its session's `/`.
import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { FilehiveError, fromErrno } from '../errors.js';
import type { Jail } from '../storage/jail.js';

/**
 * The jail of the home `home` (a path inside the root, `/alice`), creating missing folders one at a
 * time through the root's jail: a link on the way that leads out of the root is refused, never
 * followed to create folders elsewhere.
 */
export async function openHomeJail(root: Jail, home: string): Promise<Jail> {
  if (home === '/') return root;
  let current = '/';
  for (const part of home.split('/').filter((p) => p !== '')) {
    current = posix.join(current, part);
    const target = await root.resolveName(current);
    await mkdir(target.path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromErrno(err);
    });
  }
  const folder = await root.resolveExisting(home);
  if (!folder.stats.isDirectory()) throw new FilehiveError('NOT_A_DIRECTORY', 'the home is not a folder');
  return root.narrow(folder.path);
}
