import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { RawClient } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';

test('a folder of 10,000 entries lists in order while other sessions of the same worker are served', async (t) => {
  t.timeout(60_000);
  const server = await startServer({ workers: 1 });
  t.teardown(() => server.stop());
  const dir = join(server.root, 'big');
  await mkdir(dir);
  const names = Array.from({ length: 10_000 }, (_, i) => `file-${String(i).padStart(5, '0')}.txt`);
  for (let i = 0; i < names.length; i += 500) {
    await Promise.all(names.slice(i, i + 500).map((name) => writeFile(join(dir, name), name)));
  }
  const lister = await RawClient.connect(server.port);
  const pinger = await RawClient.connect(server.port);
  let listed = false;
  let pingsDuringListing = 0;
  const listing = lister.list('/big').then((result) => {
    listed = true;
    return result;
  });
  while (!listed) {
    await pinger.request('NOOP');
    if (!listed) pingsDuringListing++;
  }
  const { entries, final } = await listing;
  t.is(final.fields.count, '10000');
  t.deepEqual(
    entries.map((e) => e.fields.name),
    names,
  );
  t.true(pingsDuringListing > 0, 'the other session was answered while the listing ran');
  lister.close();
  pinger.close();
});

test('--fsync uploads are acknowledged and complete', async (t) => {
  const server = await startServer({ workers: 1, args: ['--fsync'] });
  t.teardown(() => server.stop());
  const c = await RawClient.connect(server.port);
  const data = Buffer.alloc(3 << 20, 9);
  t.is((await c.upload('synced.bin', data)).status, 'OK');
  t.deepEqual((await c.download('synced.bin')).data, data);
  c.close();
});
