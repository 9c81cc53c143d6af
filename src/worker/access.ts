// Who may run what (docs/SECURITY.md#accounts): with a users file, nothing but LOGIN, NOOP and QUIT
// before a login; a read-only account may not change files. Checked once per request, in dispatch.
import { FilehiveError } from '../errors.js';
import type { Request, Verb } from '../protocol/messages.js';
import { skipRefusedBody } from './commands/upload.js';
import type { Session } from './session.js';

const BEFORE_LOGIN: ReadonlySet<Verb> = new Set(['LOGIN', 'NOOP', 'QUIT']);
const WRITES: ReadonlySet<Verb> = new Set(['UPLOAD', 'PARTIAL', 'DELETE', 'MKDIR', 'RMDIR', 'MOVE']);

/** Throws AUTH_REQUIRED or READ_ONLY when `request` is not allowed in this session. */
export async function checkAccess(session: Session, request: Request): Promise<void> {
  if (!session.ctx.accounts) return;
  const account = session.account;
  if (account === null) {
    if (BEFORE_LOGIN.has(request.verb)) return;
    // An immediate upload's bytes follow its line; a session that has not logged in is not owed the
    // effort of skipping them: it ends after the reply.
    if (request.verb === 'UPLOAD' && request.immediate) session.desynced = true;
    throw new FilehiveError('AUTH_REQUIRED', 'log in first: LOGIN user password');
  }
  if (account.access === 'read-only' && WRITES.has(request.verb)) {
    if (request.verb === 'UPLOAD' && request.immediate) await skipRefusedBody(session, request);
    throw new FilehiveError('READ_ONLY', `the account ${account.name} may only read`);
  }
}
