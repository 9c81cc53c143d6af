// RSS added per idle connection. One worker's RSS moves by megabytes with GC and allocator timing, which
// drowns a few KiB per connection unless the measurement is careful: the same number of connections is
// opened and closed once first (code, pools and heap grow to their working size), the process settles,
// and several samples are taken before and after, of which the medians are compared.
import { connect, type Socket } from 'node:net';
import { sleep } from './measure.js';
import { rssOf } from './sampler.js';
import { summarize } from './stats.js';

const BATCH = 100;
const SETTLE_MS = 1000;
const SAMPLES = 7;
const SAMPLE_EVERY_MS = 100;

/**
 * Opens `count` connections from 127.0.0.1, 100 at a time, each resolved once its greeting arrived (or,
 * for a server that greets nobody, once connected).
 */
export async function openIdle(port: number, count: number, greeting = true): Promise<Socket[]> {
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < count; i += BATCH) {
      const batch = Array.from(
        { length: Math.min(BATCH, count - i) },
        () =>
          new Promise<Socket>((ok, fail) => {
            const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
            sockets.push(s);
            if (greeting) {
              s.once('data', (chunk: Buffer) => {
                const line = chunk.toString().split('\n')[0] ?? '';
                // A refusal (a connection limit, say) also arrives as the first line: it is not idle.
                if (line.startsWith('HELLO')) ok(s);
                else fail(new Error(`the server greeted with: ${line.slice(0, 120)}`));
              });
            } else {
              s.once('connect', () => ok(s));
            }
            s.once('error', fail);
            s.once('close', () => fail(new Error('closed before the greeting')));
          }),
      );
      await Promise.all(batch);
    }
    return sockets;
  } catch (err) {
    closeAll(sockets);
    throw err;
  }
}

function closeAll(sockets: readonly Socket[]): void {
  for (const s of sockets) s.destroy();
}

/** Median of several VmRSS samples of one process. */
async function medianRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const rss = await rssOf(pid);
    if (rss === null) throw new Error(`process ${pid} is gone`);
    samples.push(rss);
    await sleep(SAMPLE_EVERY_MS);
  }
  return summarize(samples).median;
}

export interface IdleCost {
  /** Bytes of RSS per connection, one value per round. */
  perConnection: number[];
  before: number[];
  after: number[];
}

/** Warms up once, then per round: RSS before, open `count` idle connections, RSS after, close them. */
export async function measureIdleCost(
  pid: number,
  port: number,
  count: number,
  rounds: number,
  greeting = true,
): Promise<IdleCost> {
  closeAll(await openIdle(port, count, greeting));
  await sleep(SETTLE_MS);
  const result: IdleCost = { perConnection: [], before: [], after: [] };
  for (let r = 0; r < rounds; r++) {
    const before = await medianRss(pid);
    const sockets = await openIdle(port, count, greeting);
    try {
      await sleep(SETTLE_MS);
      const after = await medianRss(pid);
      result.before.push(before);
      result.after.push(after);
      result.perConnection.push((after - before) / count);
    } finally {
      closeAll(sockets);
    }
    await sleep(SETTLE_MS);
  }
  return result;
}
