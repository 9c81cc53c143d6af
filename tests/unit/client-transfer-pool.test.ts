// The transfer pool's scheduling, with stand-in connections: lanes, batches, retries, reconnects,
// a refused extra connection and a cancel. (The real thing runs in client-many.test.ts.)
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { FilehiveClientError } from '../../src/client/errors.js';
import { type LaneConnection, type Outcome, runPool } from '../../src/client/transfer-pool.js';

class FakeConnection implements LaneConnection {
  closed = false;
  closedByPool = false;
  constructor(readonly id: number) {}
  destroy(): void {
    this.closed = true;
  }
  async close(): Promise<void> {
    this.closed = true;
    this.closedByPool = true;
  }
}

function fakeLanes(options: { refuseMore?: boolean } = {}) {
  let next = 0;
  const opened: FakeConnection[] = [];
  const first = new FakeConnection(next++);
  return {
    opened,
    lanes: {
      first,
      replaceFirst: async () => {
        const c = new FakeConnection(next++);
        opened.push(c);
        return c;
      },
      openMore: async () => {
        if (options.refuseMore) throw new FilehiveClientError('TOO_MANY_CONNECTIONS');
        const c = new FakeConnection(next++);
        opened.push(c);
        return c;
      },
    },
  };
}

const fast = { retries: 3, baseMs: 1, maxMs: 2 };

test('every job runs once, over at most N connections at a time, extra ones closed at the end', async (t) => {
  const { lanes, opened } = fakeLanes();
  let running = 0;
  let most = 0;
  const seen = new Set<number>();
  const done: number[] = [];
  const jobs = Array.from({ length: 20 }, (_, i) => i);
  const result = await runPool(jobs, {
    parallel: 4,
    retry: { retries: 0 },
    lanes,
    async perform(connection, job) {
      running++;
      most = Math.max(most, running);
      seen.add(connection.id);
      await sleep(2);
      running--;
      return job * 2;
    },
    onDone: (job, outcome) => {
      t.true(outcome.ok);
      done.push(job);
    },
  });
  t.deepEqual(result, { succeeded: 20, failed: 0 });
  t.deepEqual(
    [...done].sort((a, b) => a - b),
    jobs,
  );
  t.is(most, 4);
  t.is(seen.size, 4);
  t.is(opened.length, 3);
  t.true(opened.every((c) => c.closedByPool));
  t.false(lanes.first.closed);
});

test('small jobs share pipelined batches, split between the lanes; big ones go alone', async (t) => {
  const { lanes } = fakeLanes();
  const inFlight = new Map<number, number>();
  const most = new Map<number, number>();
  let bigHadCompany = false;
  let runs = 0;
  const jobs = [...Array.from({ length: 12 }, () => 100), 10_000_000, 100];
  await runPool(jobs, {
    parallel: 2,
    retry: { retries: 0 },
    lanes,
    batchWeight: (size) => (size <= 1000 ? size : null),
    async perform(connection, size) {
      runs++;
      const now = (inFlight.get(connection.id) ?? 0) + 1;
      inFlight.set(connection.id, now);
      most.set(connection.id, Math.max(most.get(connection.id) ?? 0, now));
      await sleep(1);
      if (size > 1000 && (inFlight.get(connection.id) ?? 0) > 1) bigHadCompany = true;
      inFlight.set(connection.id, (inFlight.get(connection.id) ?? 1) - 1);
      return size;
    },
    onDone: () => {},
  });
  t.is(runs, 14);
  // The first lane takes no more than its half of the 14 jobs in one go: 7.
  t.is(most.get(0), 7);
  t.true(Math.max(...most.values()) <= 7);
  t.false(bigHadCompany);
});

test('a busy job is retried after a wait; a missing one fails at once', async (t) => {
  const { lanes } = fakeLanes();
  const tries = new Map<string, number>();
  const outcomes = new Map<string, Outcome<string>>();
  const retries: string[] = [];
  const result = await runPool(['busy', 'missing', 'fine'], {
    parallel: 1,
    retry: fast,
    lanes,
    async perform(_c, job) {
      const n = (tries.get(job) ?? 0) + 1;
      tries.set(job, n);
      if (job === 'busy' && n < 3) throw new FilehiveClientError('BUSY');
      if (job === 'missing') throw new FilehiveClientError('NOT_FOUND');
      return job;
    },
    onDone: (job, outcome) => outcomes.set(job, outcome),
    onRetry: (job, _err, attempt) => retries.push(`${job}#${attempt}`),
  });
  t.deepEqual(result, { succeeded: 2, failed: 1 });
  t.is(tries.get('busy'), 3);
  t.is(tries.get('missing'), 1);
  t.deepEqual(retries, ['busy#1', 'busy#2']);
  const missing = outcomes.get('missing');
  t.is(missing?.ok === false ? missing.error.code : '', 'NOT_FOUND');
});

test('with retries, a lane whose connection is lost reconnects and tries the file again', async (t) => {
  const { lanes, opened } = fakeLanes();
  let lost = false;
  const usedBy: Record<string, number> = {};
  const result = await runPool(['a', 'b', 'c'], {
    parallel: 1,
    retry: fast,
    lanes,
    async perform(connection, job) {
      if (job === 'b' && !lost) {
        lost = true;
        connection.destroy();
        throw new FilehiveClientError('CONNECTION_LOST');
      }
      usedBy[job] = connection.id;
      return job;
    },
    onDone: () => {},
  });
  t.deepEqual(result, { succeeded: 3, failed: 0 });
  t.is(usedBy.a, 0);
  t.is(usedBy.b, 1);
  t.is(usedBy.c, 1);
  // A replacement of the first connection is the caller's to keep (the session adopts it).
  t.is(opened.length, 1);
  t.false(opened[0]?.closedByPool);
});

test('without retries, a lost lane ends and the others take its work; with none left, the rest fail', async (t) => {
  const { lanes } = fakeLanes();
  const failed: string[] = [];
  const result = await runPool(['x1', 'x2', 'x3', 'x4', 'x5', 'x6'], {
    parallel: 2,
    retry: { retries: 0 },
    lanes,
    async perform(connection, job) {
      await sleep(1);
      if (connection.id === 0) {
        connection.destroy();
        throw new FilehiveClientError('CONNECTION_LOST');
      }
      return job;
    },
    onDone: (job, outcome) => {
      if (!outcome.ok) failed.push(job);
    },
  });
  t.is(result.failed, 1);
  t.is(result.succeeded, 5);
  t.is(failed.length, 1);

  const alone = fakeLanes();
  const codes: string[] = [];
  const lonely = await runPool(['y1', 'y2', 'y3'], {
    parallel: 1,
    retry: { retries: 0 },
    lanes: alone.lanes,
    async perform(connection) {
      connection.destroy();
      throw new FilehiveClientError('CONNECTION_LOST', 'gone');
    },
    onDone: (_job, outcome) => {
      if (!outcome.ok) codes.push(`${outcome.error.code}: ${outcome.error.message}`);
    },
  });
  t.deepEqual(lonely, { succeeded: 0, failed: 3 });
  t.deepEqual(codes, [
    'CONNECTION_LOST: gone',
    'CONNECTION_LOST: not sent: gone',
    'CONNECTION_LOST: not sent: gone',
  ]);
});

test('a server that refuses more connections leaves one lane doing all the work', async (t) => {
  const { lanes } = fakeLanes({ refuseMore: true });
  const refused: string[] = [];
  const ids = new Set<number>();
  const result = await runPool([1, 2, 3, 4, 5], {
    parallel: 3,
    retry: { retries: 0 },
    lanes,
    async perform(connection, job) {
      ids.add(connection.id);
      await sleep(1);
      return job;
    },
    onDone: () => {},
    onLaneRefused: (err) => refused.push(err.code),
  });
  t.deepEqual(result, { succeeded: 5, failed: 0 });
  t.deepEqual([...ids], [0]);
  t.deepEqual(refused, ['TOO_MANY_CONNECTIONS', 'TOO_MANY_CONNECTIONS']);
});

test('a cancel stops every lane and rejects with its reason; cancelled jobs are not reported', async (t) => {
  const { lanes, opened } = fakeLanes();
  const controller = new AbortController();
  let reported = 0;
  const running = runPool(
    Array.from({ length: 10 }, (_, i) => i),
    {
      parallel: 3,
      retry: fast,
      lanes,
      signal: controller.signal,
      async perform(connection) {
        for (let i = 0; i < 200 && !connection.closed; i++) await sleep(5);
        if (connection.closed) throw new FilehiveClientError('CANCELLED', 'cancelled by the test');
        return 0;
      },
      onDone: () => {
        reported++;
      },
    },
  );
  setTimeout(() => controller.abort(new FilehiveClientError('CANCELLED', 'cancelled by the test')), 30);
  await t.throwsAsync(running, { message: 'cancelled by the test' });
  t.is(reported, 0);
  t.true(lanes.first.closed);
  t.true(opened.every((c) => c.closed));
});
