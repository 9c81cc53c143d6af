// Slow-loris (docs/SECURITY.md#hostile-input-testing): a thousand connections that send one byte a
// second, some inside request lines and some inside upload bodies, must not keep a normal client from
// being served; when they leave, their locks and temp files go with them.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { childPids } from '../_helpers/processes.js';
import { RawClient, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const WANTED = 1_000;
/** Under the default --max-connections-per-ip of 50. */
const PER_ADDRESS = 40;
/** Every fifth trickler is inside an upload body: it holds a lock and a temp file all along. */
const UPLOAD_EVERY = 5;

/** The open-files limit this process (and the server it spawns) runs under; Node cannot raise it. */
function openFilesLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
}

test('1,000 connections trickling a byte a second do not keep a normal client from being served', async (t) => {
  t.timeout(90_000);
  const limit = openFilesLimit();
  // Each trickler is one descriptor here and one in a worker; leave room for everything else.
  const count = limit >= 2_500 ? WANTED : Math.max(50, Math.min(WANTED, Math.floor((limit - 300) / 2)));
  if (count < WANTED) {
    t.log(`ulimit -n is ${limit} (below 2,500): using ${count} slow connections instead of ${WANTED}`);
  }
  const server = await startServer({ workers: 2 });
  t.teardown(() => server.stop());
  const workers = await childPids(server.proc.pid as number);

  const slow: RawClient[] = [];
  t.teardown(() => {
    for (const c of slow) c.close();
  });
  const connectStarted = Date.now();
  for (let first = 0; first < count; first += 50) {
    const batch = Array.from({ length: Math.min(50, count - first) }, (_, k) => first + k);
    slow.push(
      ...(await Promise.all(
        batch.map((i) =>
          RawClient.connect(server.port, {
            localAddress: `127.0.1.${1 + Math.floor(i / PER_ADDRESS)}`,
          }),
        ),
      )),
    );
  }
  t.is(slow.filter((c) => c.greeting.startsWith('HELLO')).length, count, 'every slow client was greeted');
  const uploaders = slow.filter((_, i) => i % UPLOAD_EVERY === 0);
  await Promise.all(
    uploaders.map(async (c, i) => {
      const go = await c.request(`UPLOAD slow-${i}.bin 1000`);
      if (go.status !== 'GO') throw new Error(go.line);
    }),
  );
  t.log(
    `${count} slow connections open in ${Date.now() - connectStarted} ms (${uploaders.length} uploading)`,
  );

  // One byte a second each: a request line that never ends, or an upload body that never ends.
  const trickle = setInterval(() => {
    for (const [i, c] of slow.entries()) if (!c.isClosed) c.send(i % UPLOAD_EVERY === 0 ? 'x' : 'D');
  }, 1_000);
  t.teardown(() => clearInterval(trickle));
  await new Promise((r) => setTimeout(r, 2_000));

  const started = Date.now();
  const c = await RawClient.connect(server.port);
  const big = randomBytes(8 << 20);
  t.is((await c.upload('big.bin', big)).status, 'OK');
  t.is(sha256((await c.download('big.bin')).data as Buffer), sha256(big));
  for (let i = 0; i < 20; i++) {
    const small = randomBytes(1000 + i);
    t.is((await c.upload(`small-${i}.bin`, small)).status, 'OK');
    t.deepEqual((await c.download(`small-${i}.bin`)).data, small);
  }
  t.is((await c.list('/')).final.status, 'OK');
  c.close();
  const elapsed = Date.now() - started;
  t.log(`normal client: 8 MiB and 20 small round trips in ${elapsed} ms while ${count} trickled`);
  // Generous: a few hundred ms is usual; this only catches a server that serves no one else.
  t.true(elapsed < 30_000, `took ${elapsed} ms`);
  t.log(`${slow.filter((s) => !s.isClosed).length} slow connections still open`);

  clearInterval(trickle);
  for (const s of slow) s.close();
  t.true(
    await waitFor(async () => (await leftovers(server.root)).length === 0, 20_000, 200),
    'the slow uploads left no lock or temp file',
  );
  for (const i of [0, Math.floor(uploaders.length / 2), uploaders.length - 1]) {
    await t.throwsAsync(
      access(join(server.root, `slow-${i}.bin`)),
      undefined,
      'a cut-off upload never appears',
    );
  }
  t.deepEqual(await childPids(server.proc.pid as number), workers, 'no worker was replaced');
  t.notRegex(server.output(), /died|replacing it/);
  const after = await RawClient.connect(server.port);
  t.is((await after.download('big.bin')).reply.status, 'OK');
  after.close();
  t.is(await server.stop(), 0);
});
