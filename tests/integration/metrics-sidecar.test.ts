// The metrics sidecar of the real server: byte counters per worker slot, restarts, /transfers, /healthz.
import test from 'ava';
import { childPids } from '../_helpers/processes.js';
import { RawClient } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

/** Sums every sample of `name` in a text exposition, and lists the worker labels seen. */
function sample(text: string, name: string): { sum: number; workers: string[] } {
  let sum = 0;
  const workers: string[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (!m) continue;
    sum += Number(m[2]);
    const worker = /worker="(\d+)"/.exec(m[1] ?? '')?.[1];
    if (worker) workers.push(worker);
  }
  return { sum, workers: workers.sort() };
}

test('byte counters follow the bytes moved, per worker slot, and survive a worker restart', async (t) => {
  t.timeout(60_000);
  const server = await startServer({ workers: 2 });
  t.teardown(() => server.stop());
  const url = server.metricsUrl as string;
  const scrape = async () => (await fetch(`${url}/metrics`)).text();
  const before = await scrape();
  t.deepEqual(sample(before, 'filehive_upload_bytes_total').workers, ['0', '1']);
  t.is(sample(before, 'filehive_upload_bytes_total').sum, 0);

  const data = Buffer.alloc(3 << 20, 1);
  const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(server.port)));
  for (const [i, c] of clients.entries()) t.is((await c.upload(`f${i}`, data)).status, 'OK');
  for (const c of clients) t.is((await c.download('f0')).data?.length, data.length);
  const after = await scrape();
  t.is(sample(after, 'filehive_upload_bytes_total').sum, 4 * data.length);
  t.is(sample(after, 'filehive_download_bytes_total').sum, 4 * data.length);
  t.regex(after, /filehive_commands_total\{command="UPLOAD",code="OK",worker="\d"\} \d/);
  t.is(sample(after, 'filehive_connections_active').sum, 4);
  for (const c of clients) c.close();

  const [victim] = await childPids(server.proc.pid as number);
  process.kill(victim as number, 'SIGKILL');
  t.true(
    await waitFor(async () => {
      const text = await fetch(`${url}/metrics`).then((r) => (r.ok ? r.text() : ''));
      // The replacement's series appear once it has answered an aggregation, shortly after ready.
      return (
        sample(text, 'filehive_workers_ready').sum === 2 &&
        /filehive_worker_restarts_total 1/.test(text) &&
        sample(text, 'filehive_upload_bytes_total').workers.length === 2
      );
    }),
  );
  const restarted = await scrape();
  t.deepEqual(sample(restarted, 'filehive_upload_bytes_total').workers, ['0', '1'], 'the slot is reused');
  t.true(
    sample(restarted, 'filehive_upload_bytes_total').sum < 4 * data.length,
    'the dead worker reset to zero',
  );
});

test('/transfers shows a running upload with its progress; /healthz reports the workers', async (t) => {
  const server = await startServer({ workers: 2 });
  t.teardown(() => server.stop());
  const url = server.metricsUrl as string;
  const c = await RawClient.connect(server.port);
  t.is((await c.request('UPLOAD big.bin 10000000')).status, 'GO');
  c.send(Buffer.alloc(1_000_000));
  t.true(
    await waitFor(async () => {
      const { transfers } = (await (await fetch(`${url}/transfers`)).json()) as {
        transfers: Array<{ bytes: number }>;
      };
      return transfers[0]?.bytes === 1_000_000;
    }),
  );
  const { transfers } = (await (await fetch(`${url}/transfers`)).json()) as { transfers: unknown[] };
  t.like(transfers[0], {
    direction: 'upload',
    path: '/big.bin',
    bytes: 1_000_000,
    expectedBytes: 10_000_000,
  });
  const pending = sample(await (await fetch(`${url}/metrics`)).text(), 'filehive_transfer_bytes_pending');
  t.is(pending.sum, 9_000_000);
  c.close();
  const health = await fetch(`${url}/healthz`);
  t.is(health.status, 200);
  t.like(await health.json(), { status: 'ok', workers: { ready: 2, expected: 2 } });
});

test('--metrics-port off starts no sidecar', async (t) => {
  const server = await startServer({ workers: 1, args: ['--metrics-port', 'off'] });
  t.teardown(() => server.stop());
  t.is(server.metricsUrl, null);
  t.notRegex(server.output(), /metrics on/);
});
