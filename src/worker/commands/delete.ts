import { lstat, unlink } from 'node:fs/promises';
import { FilehiveError, fromErrno } from '../../errors.js';
import { encodeReply } from '../../protocol/messages.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import type { Session } from '../session.js';

export async function del(session: Session, request: { path: string }): Promise<void> {
  const { jail, locks } = session.ctx;
  const target = await jail.resolveName(resolveVirtualPath(session.cwd, request.path));
  const lock = await locks.acquire([target.key], 'delete');
  try {
    const stats = await lstat(target.path).catch((err: unknown) => {
      throw fromErrno(err, 'no such file');
    });
    if (stats.isDirectory()) throw new FilehiveError('IS_A_DIRECTORY', 'is a folder, use RMDIR');
    await unlink(target.path).catch((err: unknown) => {
      throw fromErrno(err);
    });
  } finally {
    await lock.release();
  }
  session.send(encodeReply('OK', { path: target.virtual, msg: `deleted ${target.virtual}` }));
}
