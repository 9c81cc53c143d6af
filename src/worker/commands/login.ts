import { setTimeout as sleep } from 'node:timers/promises';
import { openHomeJail } from '../../accounts/home.js';
import { isValidUserName } from '../../accounts/users-file.js';
import { FilehiveError } from '../../errors.js';
import { clientOf } from '../../net/proxy-accept.js';
import { encodeReply } from '../../protocol/messages.js';
import { admission } from '../admission.js';
import type { Session } from '../session.js';

/**
 * LOGIN user password (PROTOCOL.md#login): on success the session's `/` becomes the account's home.
 * A failure is answered only after the delay the primary sets for the address; the failure that
 * makes the address banned is answered BANNED and ends the session.
 */
export async function login(session: Session, request: { user: string; password: string }): Promise<void> {
  const accounts = session.ctx.accounts;
  if (!accounts) throw new FilehiveError('BAD_REQUEST', 'this server has no accounts; LOGIN is not needed');
  if (session.account) throw new FilehiveError('BAD_REQUEST', 'already logged in; reconnect to change user');
  const ip = clientOf(session.socket).address ?? '';
  // Only a well-formed name is logged: a password typed into the name field must not reach the log.
  const name = isValidUserName(request.user) ? request.user : '(not a user name)';
  const user = await accounts.verify(request.user, request.password);
  if (!user) {
    const verdict = await admission.loginFailed(ip);
    session.log.info({ user: name, delayMs: verdict.delayMs, banned: verdict.banned }, 'login failed');
    if (verdict.delayMs > 0) await sleep(verdict.delayMs);
    if (verdict.banned) {
      session.desynced = true;
      throw new FilehiveError('BANNED');
    }
    throw new FilehiveError('AUTH_FAILED');
  }
  admission.loginSucceeded(ip);
  const jail = await openHomeJail(session.ctx.jail, user.home).catch((err: unknown) => {
    session.log.error({ user: user.name, home: user.home, err }, 'home folder unusable');
    throw new FilehiveError('PERMISSION_DENIED', "the account's home folder cannot be used");
  });
  session.logIn({ name: user.name, access: user.access }, jail);
  session.log.info({ user: user.name, access: user.access }, 'logged in');
  session.send(
    encodeReply('OK', { user: user.name, home: '/', access: user.access, msg: `logged in as ${user.name}` }),
  );
}
