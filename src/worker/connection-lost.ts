import { fromErrno } from '../errors.js';

/** Thrown when the peer went away mid-command: nothing can be replied. */
export class ConnectionLost extends Error {}

/** How a transfer that failed with `err` ended, as the metrics record it: DISCONNECTED or its code. */
export function failureOutcome(err: unknown): string {
  return err instanceof ConnectionLost ? 'DISCONNECTED' : fromErrno(err).code;
}
