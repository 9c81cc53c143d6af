// DIR holds at most the sort limit of names in memory (PROTOCOL.md#dir): up to it the listing is in
// byte order, past it the folder is streamed unsorted with `sorted=no`. The real limit is 100,000
// names; FILEHIVE_DIR_SORT_LIMIT lowers it here so the folders stay small enough to create quickly.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { FilehiveClient } from '../../src/client/client.js';
import { RawClient } from '../_helpers/raw-client.js';
import { useSharedServer } from '../_helpers/shared-server.js';

const LIMIT = 1_000;
const shared = useSharedServer(test, { workers: 1, env: { FILEHIVE_DIR_SORT_LIMIT: String(LIMIT) } });

/** Creates `count` empty files named from `name(i)` in the folder `folder` of the share. */
async function fill(folder: string, count: number, name: (i: number) => string): Promise<string[]> {
  const dir = join(shared.current().root, folder);
  await mkdir(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => name(i));
  for (let i = 0; i < names.length; i += 250) {
    await Promise.all(names.slice(i, i + 250).map((n) => writeFile(join(dir, n), '')));
  }
  return names;
}

// Upper and lower case, digits and accents: byte order differs from locale order and from UTF-16 order.
const mixedName = (i: number) =>
  `${['Z', 'a', 'é', '1', '\u{1F600}', 'e\u0301'][i % 6]}-${(i * 7919) % 100_003}`;

test('a folder at the sort limit is listed in byte order, without sorted=no', async (t) => {
  const names = await fill('at-limit', LIMIT, mixedName);
  const c = await RawClient.connect(shared.current().port);
  t.teardown(() => c.close());
  const { entries, final } = await c.list('/at-limit');
  t.is(final.status, 'OK', final.line);
  t.is(final.fields.count, String(LIMIT));
  t.is(final.fields.sorted, undefined);
  const byteOrder = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  t.deepEqual(
    entries.map((e) => e.fields.name),
    byteOrder,
  );
});

test('a folder over the sort limit is listed whole, each name once, with sorted=no', async (t) => {
  const count = LIMIT + 500;
  const names = await fill('over-limit', count, mixedName);
  // The server's own files are still hidden in an unsorted listing.
  await writeFile(join(shared.current().root, 'over-limit', '.filehive-hidden'), '');
  const c = await RawClient.connect(shared.current().port);
  t.teardown(() => c.close());
  const { entries, final } = await c.list('/over-limit');
  t.is(final.status, 'OK', final.line);
  t.is(final.fields.sorted, 'no');
  t.is(final.fields.count, String(count));
  t.regex(final.fields.msg ?? '', /unsorted/);
  const listed = entries.map((e) => e.fields.name as string);
  t.is(listed.length, count);
  t.deepEqual([...listed].sort(), [...names].sort());
  t.true(entries.every((e) => e.fields.type === 'file' && e.fields.size === '0'));
  // The session goes on.
  t.is((await c.request('PWD')).status, 'OK');
});

test('the client library sorts a listing the server sent unsorted', async (t) => {
  const names = await fill('client-sorts', LIMIT + 10, mixedName);
  const client = await FilehiveClient.connect({ host: '127.0.0.1', port: shared.current().port });
  t.teardown(() => client.close());
  const byteOrder = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  t.deepEqual(
    (await client.list('/client-sorts')).map((e) => e.name),
    byteOrder,
  );
});

test('an empty folder is sorted and has no entries', async (t) => {
  await fill('empty', 0, mixedName);
  const c = await RawClient.connect(shared.current().port);
  t.teardown(() => c.close());
  const { entries, final } = await c.list('/empty');
  t.is(entries.length, 0);
  t.is(final.fields.count, '0');
  t.is(final.fields.sorted, undefined);
});
