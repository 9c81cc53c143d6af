// Kept partials of resumable uploads expire after --partial-ttl: the primary's sweep removes them,
// except while an upload holds the name's lock and may still append to its partial.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { useSharedServer } from '../_helpers/shared-server.js';
import { leftovers, partials, sweepRan } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const shared = useSharedServer(test, {
  workers: 2,
  args: ['--partial-ttl', '1', '--sweep-interval', '0.3'],
});

const root = () => shared.current().root;

async function locksReleased(): Promise<boolean> {
  const entries = await readdir(join(root(), '.filehive', 'locks')).catch(() => [] as string[]);
  return !entries.some((e) => e.endsWith('.lock'));
}

test.serial('a kept partial is removed once --partial-ttl passed', async (t) => {
  const data = randomBytes(1024 * 1024);
  const c = await shared.session('expire');
  t.is((await c.request(`UPLOAD f.bin ${data.length} resume=yes`)).status, 'GO');
  c.send(data.subarray(0, 100_000));
  t.true(await waitFor(async () => (await partials(root())).length === 1, 10_000), 'no partial was kept');
  c.close();
  t.true(await waitFor(locksReleased, 20_000));
  t.true(
    await waitFor(async () => (await partials(root())).length === 0, 20_000),
    'the partial did not expire',
  );
  t.regex(shared.current().output(), /removed expired partial uploads/);
  const d = await shared.session('expire');
  t.like((await d.request(`PARTIAL f.bin ${data.length}`)).fields, { offset: '0' });
  d.close();
  t.deepEqual(await leftovers(root()), []);
});

test.serial('a partial an upload is appending to outlives the ttl until the upload ends', async (t) => {
  const data = randomBytes(1024 * 1024);
  const c = await shared.session('held');
  t.is((await c.request(`UPLOAD f.bin ${data.length} resume=yes`)).status, 'GO');
  c.send(data.subarray(0, 200_000));
  t.true(await waitFor(async () => (await partials(root())).length === 1, 10_000), 'no partial was kept');
  // Paused past the ttl, over several sweeps: the lock on the name keeps the partial.
  const [name] = await partials(root());
  const old = new Date(Date.now() - 60_000);
  await utimes(join(root(), '.filehive', 'partial', name as string), old, old);
  t.true(await sweepRan(root()));
  t.true(await sweepRan(root()));
  t.deepEqual(await partials(root()), [name as string]);
  c.send(data.subarray(200_000));
  const hash = createChecksum('xxh3-64');
  hash.update(data);
  const ok = await c.request(`CHECKSUM xxh3-64:${hash.digest()}`);
  t.is(ok.status, 'OK', ok.line);
  t.true((await readFile(join(root(), 'held', 'f.bin'))).equals(data), 'the stored file differs');
  t.deepEqual(await partials(root()), []);
  c.close();
});
