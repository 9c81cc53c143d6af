// --retry: the waits, which failures are retried for which commands, and the retry loop itself.
import test from 'ava';
import { retryKindOf } from '../../src/client/cli-retry.js';
import { FilehiveClientError } from '../../src/client/errors.js';
import {
  isRetryable,
  needsReconnect,
  retryDelayMs,
  waitOrCancel,
  withRetry,
} from '../../src/client/retry.js';

const err = (code: string) => new FilehiveClientError(code);

test('waits double from 0.5 s up to 10 s, each cut by up to half at random', (t) => {
  const full = [1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, { retries: 9, random: () => 1 }));
  t.deepEqual(full, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  const half = [1, 2, 6].map((n) => retryDelayMs(n, { retries: 9, random: () => 0 }));
  t.deepEqual(half, [250, 500, 5000]);
  t.is(retryDelayMs(3, { retries: 9, baseMs: 10, maxMs: 25, random: () => 1 }), 25);
});

test('which failures are retried: busy ones always, lost connections only for repeatable commands', (t) => {
  for (const code of ['BUSY', 'LOCK_LOST', 'TOO_MANY_CONNECTIONS']) {
    t.true(isRetryable(err(code), 'repeatable'), code);
    t.true(isRetryable(err(code), 'change'), code);
    t.false(needsReconnect(err(code)), code);
  }
  for (const code of ['CONNECTION_LOST', 'CONNECT_FAILED', 'NOT_CONNECTED', 'TIMEOUT', 'SHUTTING_DOWN']) {
    t.true(isRetryable(err(code), 'repeatable'), code);
    t.false(isRetryable(err(code), 'change'), code);
    t.true(needsReconnect(err(code)), code);
  }
  const never = ['NOT_FOUND', 'AUTH_FAILED', 'AUTH_REQUIRED', 'BANNED', 'CHECKSUM_MISMATCH'];
  for (const code of [...never, 'RESUME_MISMATCH', 'TOO_LARGE', 'NO_SPACE', 'EXISTS', 'READ_ONLY']) {
    t.false(isRetryable(err(code), 'repeatable'), code);
  }
  for (const code of ['CANCELLED', 'USAGE', 'LOCAL_ERROR', 'PROTOCOL_ERROR', 'INTERNAL', 'PARTIAL']) {
    t.false(isRetryable(err(code), 'repeatable'), code);
  }
  t.false(isRetryable(new Error('a bug'), 'repeatable'));
});

test('the CLI commands and how they are retried', (t) => {
  t.is(retryKindOf('UPLOAD'), null);
  t.is(retryKindOf('DOWNLOAD'), null);
  t.is(retryKindOf('EXIT'), null);
  for (const name of ['DIR', 'CHDIR', 'PWD', 'CONNECT']) t.is(retryKindOf(name), 'repeatable', name);
  for (const name of ['MKDIR', 'RMDIR', 'DELETE', 'MOVE', 'SOMETHING_NEW']) t.is(retryKindOf(name), 'change');
});

const fast = { retries: 3, baseMs: 1, maxMs: 2 };

test('withRetry: a retryable failure is tried again until it succeeds', async (t) => {
  const failures = [err('BUSY'), err('BUSY')];
  let tries = 0;
  const notes: number[] = [];
  const value = await withRetry(
    fast,
    async () => {
      tries++;
      const next = failures.shift();
      if (next) throw next;
      return 'done';
    },
    { kind: 'change', onRetry: (_e, attempt) => notes.push(attempt) },
  );
  t.is(value, 'done');
  t.is(tries, 3);
  t.deepEqual(notes, [1, 2]);
});

test('withRetry: gives up after N retries with the last error, and at once on others', async (t) => {
  let tries = 0;
  const busy = withRetry(
    fast,
    async () => {
      tries++;
      throw err('BUSY');
    },
    { kind: 'repeatable' },
  );
  await t.throwsAsync(busy, { message: /locked/ });
  t.is(tries, 4);
  tries = 0;
  const missing = withRetry(
    fast,
    async () => {
      tries++;
      throw err('NOT_FOUND');
    },
    { kind: 'repeatable' },
  );
  await t.throwsAsync(missing, { instanceOf: FilehiveClientError });
  t.is(tries, 1);
  tries = 0;
  await t.throwsAsync(
    withRetry(
      { retries: 0 },
      async () => {
        tries++;
        throw err('BUSY');
      },
      { kind: 'repeatable' },
    ),
  );
  t.is(tries, 1);
});

test('withRetry: reconnects before retrying after a lost connection, and a failed reconnect counts', async (t) => {
  const events: string[] = [];
  let reconnects = 0;
  const value = await withRetry(
    fast,
    async () => {
      events.push('try');
      if (events.length === 1) throw err('CONNECTION_LOST');
      if (events.length === 4) throw err('BUSY');
      return 'ok';
    },
    {
      kind: 'repeatable',
      reconnect: async () => {
        reconnects++;
        events.push('reconnect');
        if (reconnects === 1) throw err('CONNECT_FAILED');
      },
    },
  );
  t.is(value, 'ok');
  // try (lost) -> reconnect (refused) -> reconnect -> try (busy: no reconnect) -> try
  t.deepEqual(events, ['try', 'reconnect', 'reconnect', 'try', 'try']);
});

test('withRetry: a cancel ends the wait with CANCELLED', async (t) => {
  const controller = new AbortController();
  const running = withRetry(
    { retries: 5, baseMs: 60_000 },
    async () => {
      throw err('BUSY');
    },
    { kind: 'repeatable', signal: controller.signal },
  );
  setTimeout(() => controller.abort(new FilehiveClientError('CANCELLED', 'stop now')), 20);
  await t.throwsAsync(running, { message: 'stop now' });
  await t.throwsAsync(waitOrCancel(10, AbortSignal.abort()), { message: 'cancelled' });
});
