import { mkdir as makeDir } from 'node:fs/promises';
import { fromErrno } from '../../errors.js';
import { encodeReply } from '../../protocol/messages.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import type { Session } from '../session.js';

export async function mkdir(session: Session, request: { path: string }): Promise<void> {
  const { jail, locks } = session.ctx;
  const target = await jail.resolveName(resolveVirtualPath(session.cwd, request.path));
  const lock = await locks.acquire([target.key], 'mkdir');
  try {
    await makeDir(target.path).catch((err: unknown) => {
      throw fromErrno(
        err,
        (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'the name already exists' : undefined,
      );
    });
  } finally {
    await lock.release();
  }
  session.send(encodeReply('OK', { path: target.virtual, msg: `created ${target.virtual}` }));
}
