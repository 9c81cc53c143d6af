import { lstat, rename } from 'node:fs/promises';
import { posix } from 'node:path';
import { FilehiveError, fromErrno } from '../../errors.js';
import { encodeReply } from '../../protocol/messages.js';
import { isWithin, resolveVirtualPath, virtualBase } from '../../storage/virtual-path.js';
import type { Session } from '../session.js';

/** MOVE src dst: into dst when it is an existing folder, else renamed to dst. Never overwrites. */
export async function move(session: Session, request: { from: string; to: string }): Promise<void> {
  const { jail, locks } = session.ctx;
  const fromVirtual = resolveVirtualPath(session.cwd, request.from);
  let toVirtual = resolveVirtualPath(session.cwd, request.to);
  const into = await jail.resolveExisting(toVirtual).catch((err: unknown) => {
    if (err instanceof FilehiveError && err.code === 'NOT_FOUND') return null;
    throw err;
  });
  if (into?.stats.isDirectory() && toVirtual !== fromVirtual)
    toVirtual = posix.join(toVirtual, virtualBase(fromVirtual));
  const from = await jail.resolveName(fromVirtual);
  const to = await jail.resolveName(toVirtual);
  if (isWithin(from.key, to.key) && from.key !== to.key) {
    throw new FilehiveError('BAD_PATH', 'cannot move a folder into itself');
  }
  const lock = await locks.acquire([from.key, to.key], 'move');
  try {
    await lstat(from.path).catch((err: unknown) => {
      throw fromErrno(err, 'no such file or folder');
    });
    // Both names are locked, so no filehive session can create `to` between this check and the rename.
    const exists = await lstat(to.path).then(
      () => true,
      () => false,
    );
    if (exists) throw new FilehiveError('EXISTS', 'the destination already exists');
    await rename(from.path, to.path).catch((err: unknown) => {
      throw fromErrno(err);
    });
  } finally {
    await lock.release();
  }
  session.send(encodeReply('OK', { from: from.virtual, to: to.virtual, msg: `moved to ${to.virtual}` }));
}
