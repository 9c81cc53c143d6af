// The two clocks that bound how long a client can hold a session (docs/SECURITY.md#limits):
// --idle-timeout runs while the session waits for a whole request line, --stall-timeout while a
// transfer waits for the client to send its bytes or to take the server's.
import { FilehiveError } from '../errors.js';

export type TimeoutKind = 'idle' | 'stall';

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** The reply's message; pure. */
export function describeTimeout(kind: TimeoutKind, ms: number): string {
  return kind === 'idle'
    ? `no request for ${formatSeconds(ms)}, closing the session`
    : `the transfer stalled: nothing moved for ${formatSeconds(ms)}, closing the session`;
}

/** A limit of the client's making passed: the session answers ERR TIMEOUT if it still can, then closes. */
export class SessionTimeout extends FilehiveError {
  constructor(
    readonly kind: TimeoutKind,
    readonly ms: number,
  ) {
    super('TIMEOUT', describeTimeout(kind, ms));
  }
}
