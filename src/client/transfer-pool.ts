// Runs many transfers over up to N connections ("lanes"), each lane one session doing one request
// at a time, or a batch of small ones pipelined (sent together, replies matched in order). Failed
// files are retried with back-off (retry.ts); a lane whose connection is lost reconnects before its
// next try, or, without retries, ends and leaves its work to the other lanes. Knows nothing of files:
// `perform` does the work, so the scheduling is tested on its own.
import { FilehiveClientError, toClientError } from './errors.js';
import { isRetryable, needsReconnect, type RetryPolicy, retryDelayMs, waitOrCancel } from './retry.js';

/** What the pool needs of a connection (a FilehiveClient has it). */
export interface LaneConnection {
  readonly closed: boolean;
  destroy(reason?: FilehiveClientError): void;
  close(): Promise<void>;
}

export interface Lanes<C extends LaneConnection> {
  /** The caller's own connection: lane 0. The pool does not close it. */
  first: C;
  /** A new connection in place of the first, after it was lost (a retry reconnects). */
  replaceFirst(): Promise<C>;
  /** One more connection like the first (server, options, account, folder); the pool closes it. */
  openMore(): Promise<C>;
}

export type Outcome<R> = { ok: true; result: R } | { ok: false; error: FilehiveClientError };

export interface PoolOptions<J, R, C extends LaneConnection> {
  /** Lanes at most (connections, the first included). */
  parallel: number;
  retry: RetryPolicy;
  lanes: Lanes<C>;
  perform(connection: C, job: J): Promise<R>;
  /** The job's bytes when it may share a pipelined batch with others; null when it goes alone. */
  batchWeight?(job: J): number | null;
  /** Each job's final outcome, once. Not called for jobs a cancel stopped. */
  onDone(job: J, outcome: Outcome<R>): void;
  /** Before the wait for a retry. */
  onRetry?(job: J, err: FilehiveClientError, attempt: number, delayMs: number): void;
  /** An extra connection could not be opened; the others carry on. */
  onLaneRefused?(err: FilehiveClientError): void;
  /** Aborting stops everything: running transfers fail, the pool rejects with CANCELLED. */
  signal?: AbortSignal;
}

export interface PoolResult {
  succeeded: number;
  failed: number;
}

/** A pipelined batch holds at most this many jobs and bytes (small files are read into memory). */
export const MAX_BATCH_JOBS = 32;
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

interface Entry<J> {
  job: J;
  /** The try this is (1 for the first). */
  attempt: number;
  readyAt: number;
}

export async function runPool<J, R, C extends LaneConnection>(
  jobs: readonly J[],
  options: PoolOptions<J, R, C>,
): Promise<PoolResult> {
  const { retry, lanes, signal } = options;
  const ready: Entry<J>[] = jobs.map((job) => ({ job, attempt: 1, readyAt: 0 }));
  const delayed: Entry<J>[] = [];
  const extras = new Set<C>();
  const result: PoolResult = { succeeded: 0, failed: 0 };
  const laneCount = Math.max(1, Math.min(Math.floor(options.parallel), jobs.length));
  let cancelled: FilehiveClientError | null = null;
  let lastLoss: FilehiveClientError | null = null;
  let current = lanes.first;

  const cancel = () => {
    const reason: unknown = signal?.reason;
    cancelled ??= reason instanceof FilehiveClientError ? reason : new FilehiveClientError('CANCELLED');
    current.destroy(cancelled);
    for (const c of extras) c.destroy(cancelled);
  };
  if (signal?.aborted) cancel();
  signal?.addEventListener('abort', cancel, { once: true });

  const finish = (entry: Entry<J>, outcome: Outcome<R>) => {
    if (outcome.ok) result.succeeded++;
    else result.failed++;
    options.onDone(entry.job, outcome);
  };

  /** A failed try: wait and go again, or give up on the job. */
  const failed = (entry: Entry<J>, err: unknown) => {
    const error = toClientError(err);
    if (cancelled || error.code === 'CANCELLED') {
      cancelled ??= error;
      return;
    }
    if (entry.attempt <= retry.retries && isRetryable(error, 'repeatable')) {
      const delay = retryDelayMs(entry.attempt, retry);
      options.onRetry?.(entry.job, error, entry.attempt, delay);
      entry.attempt++;
      entry.readyAt = Date.now() + delay;
      delayed.push(entry);
    } else finish(entry, { ok: false, error });
  };

  /** The next batch; 'wait' while only retries that are not due yet remain; null when all is done. */
  const take = (): Entry<J>[] | 'wait' | null => {
    const now = Date.now();
    const due = delayed.filter((e) => e.readyAt <= now);
    if (due.length > 0) {
      for (const e of due) delayed.splice(delayed.indexOf(e), 1);
      ready.unshift(...due);
    }
    const first = ready.shift();
    if (first === undefined) return delayed.length > 0 ? 'wait' : null;
    const batch = [first];
    let bytes = options.batchWeight?.(first.job) ?? null;
    if (bytes === null) return batch;
    // Share the work out: a lane takes no more than its part of what is left.
    const limit = Math.min(MAX_BATCH_JOBS, Math.ceil((ready.length + 1) / laneCount));
    while (batch.length < limit && ready.length > 0) {
      const weight = options.batchWeight?.((ready[0] as Entry<J>).job) ?? null;
      if (weight === null || bytes + weight > MAX_BATCH_BYTES) break;
      bytes += weight;
      batch.push(ready.shift() as Entry<J>);
    }
    return batch;
  };

  const lane = async (index: number): Promise<void> => {
    let connection: C | null = index === 0 ? lanes.first : null;
    let opened = index === 0;
    for (;;) {
      if (cancelled) return;
      const batch = take();
      if (batch === null) return;
      if (batch === 'wait') {
        const next = Math.min(...delayed.map((e) => e.readyAt));
        await waitOrCancel(Math.max(0, next - Date.now()), signal).catch(() => {});
        continue;
      }
      if (connection === null || connection.closed) {
        // A first connection for an extra lane; otherwise a reconnect, which only a retry allows.
        if (opened && retry.retries === 0) {
          ready.unshift(...batch);
          return;
        }
        try {
          connection = index === 0 ? await lanes.replaceFirst() : await lanes.openMore();
          if (index === 0) current = connection;
          else extras.add(connection);
          if (cancelled) connection.destroy(cancelled);
        } catch (err) {
          if (!opened) {
            // The server may refuse more sessions (per-address limit): fewer lanes, same work.
            ready.unshift(...batch);
            options.onLaneRefused?.(toClientError(err));
            return;
          }
          lastLoss = toClientError(err);
          for (const entry of batch) failed(entry, err);
          continue;
        } finally {
          opened = true;
        }
      }
      const live = connection;
      const outcomes = await Promise.allSettled(batch.map((entry) => options.perform(live, entry.job)));
      for (const [i, outcome] of outcomes.entries()) {
        const entry = batch[i] as Entry<J>;
        if (outcome.status === 'fulfilled') finish(entry, { ok: true, result: outcome.value });
        else {
          if (needsReconnect(outcome.reason)) {
            lastLoss = toClientError(outcome.reason);
            // SHUTTING_DOWN and TIMEOUT come as replies; the server closes the session after them.
            if (!live.closed) live.destroy(lastLoss);
          }
          failed(entry, outcome.reason);
        }
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: laneCount }, (_, i) => lane(i)));
  } finally {
    signal?.removeEventListener('abort', cancel);
    await Promise.all([...extras].map((c) => c.close()));
  }
  if (cancelled) throw cancelled;
  // Every lane lost its connection with work left and no retries to reconnect.
  const lost = lastLoss ?? new FilehiveClientError('CONNECTION_LOST');
  for (const entry of ready.splice(0)) {
    finish(entry, {
      ok: false,
      error: new FilehiveClientError(lost.code, `not sent: ${lost.message}`, { cause: lost }),
    });
  }
  return result;
}
