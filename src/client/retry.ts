// --retry N: which failures are worth another try, and how long to wait before it
// (docs/CLIENT.md#retries). The policy is pure; withRetry() runs it.
import { setTimeout as sleep } from 'node:timers/promises';
import { FilehiveClientError, toClientError } from './errors.js';

export interface RetryPolicy {
  /** Tries after the first; 0 means none. */
  retries: number;
  /** The first wait; each later one doubles. */
  baseMs?: number;
  /** No wait is longer than this. */
  maxMs?: number;
  /** Jitter source, for tests; Math.random by default. */
  random?: () => number;
}

export const DEFAULT_BASE_MS = 500;
export const DEFAULT_MAX_MS = 10_000;
/** --retry above this is a usage error: with waits of up to 10 s it would run for hours. */
export const MAX_RETRIES = 100;

export const NO_RETRY: RetryPolicy = { retries: 0 };

/**
 * The wait before retry number `attempt` (1 for the first): base x 2^(attempt-1), at most maxMs,
 * then scaled by a random factor from 0.5 to 1 so that clients refused together do not come back
 * together.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy): number {
  const base = policy.baseMs ?? DEFAULT_BASE_MS;
  const max = policy.maxMs ?? DEFAULT_MAX_MS;
  const full = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(full * (0.5 + 0.5 * (policy.random ?? Math.random)()));
}

/**
 * Failures that say "the connection is gone": a retry first reconnects (same server, account and
 * folder). TIMEOUT and SHUTTING_DOWN close the session too.
 */
const CONNECTION_CODES = new Set([
  'CONNECTION_LOST',
  'CONNECT_FAILED',
  'NOT_CONNECTED',
  'TIMEOUT',
  'SHUTTING_DOWN',
]);

/** Failures where the server did nothing and may do it later: a retry just asks again. */
const LATER_CODES = new Set(['BUSY', 'LOCK_LOST', 'TOO_MANY_CONNECTIONS']);

/**
 * What a command risks by being repeated: `repeatable` ones (transfers, DIR, CHDIR, PWD) come out the
 * same however often they run; a `change` (MKDIR, DELETE, MOVE, RMDIR) may already have happened when
 * the connection was lost before its reply, so it is retried only when the server said BUSY.
 */
export type RetryKind = 'repeatable' | 'change';

/** Whether `err` is worth another try for a command of this kind. */
export function isRetryable(err: unknown, kind: RetryKind): boolean {
  const code = toClientError(err).code;
  if (LATER_CODES.has(code)) return true;
  return kind === 'repeatable' && CONNECTION_CODES.has(code);
}

/** Whether a retry after `err` must open a new session first. */
export function needsReconnect(err: unknown): boolean {
  return CONNECTION_CODES.has(toClientError(err).code);
}

export interface RetryHooks {
  kind: RetryKind;
  /** Before a retry after a connection failure: open a new session (its own failure is retried too). */
  reconnect?: () => Promise<void>;
  /** Told about each retry before the wait, e.g. to print a note. */
  onRetry?: (err: FilehiveClientError, attempt: number, delayMs: number) => void;
  /** Cancels the waiting (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Runs `task`, and again after a retryable failure, up to `policy.retries` more times with
 * growing waits. The last failure is thrown as it came.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  task: () => Promise<T>,
  hooks: RetryHooks,
): Promise<T> {
  let reconnectFirst = false;
  for (let attempt = 1; ; attempt++) {
    try {
      if (reconnectFirst && hooks.reconnect) await hooks.reconnect();
      return await task();
    } catch (err) {
      const clientError = toClientError(err);
      // A failed reconnect counts as a try; its CONNECT_FAILED is retryable like the first failure.
      if (attempt > policy.retries || !isRetryable(clientError, hooks.kind)) throw err;
      reconnectFirst = needsReconnect(clientError);
      const delay = retryDelayMs(attempt, policy);
      hooks.onRetry?.(clientError, attempt, delay);
      await waitOrCancel(delay, hooks.signal);
    }
  }
}

/** Sleeps; a cancel ends the wait with CANCELLED. */
export async function waitOrCancel(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch {
    const reason: unknown = signal?.reason;
    throw reason instanceof FilehiveClientError ? reason : new FilehiveClientError('CANCELLED');
  }
}
