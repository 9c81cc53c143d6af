import { FilehiveError } from '../../errors.js';
import { encodeReply } from '../../protocol/messages.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import type { Session } from '../session.js';

export async function chdir(session: Session, request: { path: string }): Promise<void> {
  const virtual = resolveVirtualPath(session.cwd, request.path);
  const target = await session.ctx.jail.resolveExisting(virtual);
  if (!target.stats.isDirectory()) throw new FilehiveError('NOT_A_DIRECTORY');
  session.cwd = virtual;
  session.send(encodeReply('OK', { path: virtual, msg: `now in ${virtual}` }));
}

export async function pwd(session: Session): Promise<void> {
  session.send(encodeReply('OK', { path: session.cwd, msg: session.cwd }));
}

export async function noop(session: Session): Promise<void> {
  session.send(encodeReply('OK', { msg: 'ok' }));
}
