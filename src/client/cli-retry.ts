// --retry N for the CLI's commands other than UPLOAD and DOWNLOAD (those retry each file on their
// own, transfer-many.ts). Which commands may be repeated after what is in docs/CLIENT.md#retries.
import type { CliSession } from './cli-session.js';
import type { FilehiveClientError } from './errors.js';
import { displayMessage, displayName } from './format.js';
import { NO_RETRY, type RetryKind, withRetry } from './retry.js';

/** How a command is retried: null for not at all (or, for transfers, not as a whole). */
const KINDS: Record<string, RetryKind | null> = {
  UPLOAD: null,
  DOWNLOAD: null,
  HELP: null,
  EXIT: null,
  DISCONNECT: null,
  CONNECT: 'repeatable',
  DIR: 'repeatable',
  CHDIR: 'repeatable',
  PWD: 'repeatable',
  // MKDIR, RMDIR, DELETE, MOVE and anything new: 'change'.
};

export function retryKindOf(command: string): RetryKind | null {
  return Object.hasOwn(KINDS, command) ? (KINDS[command] as RetryKind | null) : 'change';
}

/** `note: BUSY: message (name); retry 1 of 3 in 0.4 s`, on stderr before each wait. */
export function formatRetryNote(
  err: FilehiveClientError,
  attempt: number,
  retries: number,
  delayMs: number,
  name?: string,
): string {
  const what = name === undefined ? '' : ` (${displayName(name)})`;
  return `note: ${err.code}: ${displayMessage(err.message)}${what}; retry ${attempt} of ${retries} in ${(delayMs / 1000).toFixed(1)} s`;
}

/** Runs one command under the session's --retry policy; prints a note before each wait. */
export function runWithRetry(session: CliSession, command: string, task: () => Promise<void>): Promise<void> {
  const policy = session.settings.retry ?? NO_RETRY;
  const kind = retryKindOf(command);
  if (kind === null || policy.retries === 0) return task();
  return withRetry(policy, task, {
    kind,
    // CONNECT opens its own connection; the others go back to the same server, account and folder.
    reconnect:
      command === 'CONNECT'
        ? undefined
        : async () => {
            await session.reconnect();
          },
    onRetry: (err, attempt, delay) => session.warn(formatRetryNote(err, attempt, policy.retries, delay)),
    signal: session.cancelSignal,
  });
}
