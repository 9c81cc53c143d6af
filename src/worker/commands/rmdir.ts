import { readdir, rmdir as removeDir } from 'node:fs/promises';
import { FilehiveError, fromErrno } from '../../errors.js';
import { encodeReply } from '../../protocol/messages.js';
import { isReservedName, resolveVirtualPath } from '../../storage/virtual-path.js';
import type { Session } from '../session.js';

export async function rmdir(session: Session, request: { path: string }): Promise<void> {
  const { jail, locks } = session.ctx;
  const target = await jail.resolveName(resolveVirtualPath(session.cwd, request.path));
  const lock = await locks.acquire([target.key], 'rmdir');
  try {
    await removeDir(target.path).catch(async (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw fromErrno(err);
      // Only the server's temp files inside: the folder looks empty, but an upload into it is running.
      const names = await readdir(target.path);
      if (names.every(isReservedName))
        throw new FilehiveError('BUSY', 'an upload into this folder is running');
      throw new FilehiveError('NOT_EMPTY');
    });
  } finally {
    await lock.release();
  }
  session.send(encodeReply('OK', { path: target.virtual, msg: `removed ${target.virtual}` }));
}
