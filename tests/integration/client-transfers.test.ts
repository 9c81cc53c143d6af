// Uploads and downloads against the in-memory fake server, including every way they can fail.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { rejectsWith, withClient } from '../_helpers/fake-client.js';

for (const checksum of ['xxh3-64', 'sha256'] as const) {
  test(`upload and download round trip (${checksum}, several chunks)`, async (t) => {
    await withClient(t, async ({ client, server, dir }) => {
      const data = randomBytes(5 * 1024 * 1024 + 123);
      await writeFile(join(dir, 'big.bin'), data);
      const progress: number[] = [];
      const up = await client.upload(join(dir, 'big.bin'), {
        checksum,
        onProgress: (done) => progress.push(done),
      });
      t.is(up.name, 'big.bin');
      t.is(up.bytes, data.length);
      t.true(up.checksum.startsWith(`${checksum}:`));
      t.true(server.files.get('/big.bin')?.equals(data));
      t.is(progress.at(-1), data.length);
      t.true(progress.length >= 6);

      const into = join(dir, 'down');
      await mkdir(into);
      const down = await client.download('/big.bin', { dir: into, checksum });
      t.is(down.localPath, join(into, 'big.bin'));
      t.is(down.bytes, data.length);
      t.true((await readFile(down.localPath)).equals(data));
      t.deepEqual(await readdir(into), ['big.bin']);
    });
  });
}

test('upload of an empty file and a remote name with spaces', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    await writeFile(join(dir, 'empty'), '');
    const up = await client.upload(join(dir, 'empty'), { remoteName: 'my "empty" file' });
    t.is(up.bytes, 0);
    t.is(server.files.get('/my "empty" file')?.length, 0);
    const down = await client.download('my "empty" file', { dir });
    t.is((await readFile(down.localPath)).length, 0);
  });
});

test('upload of a missing local file is LOCAL_ERROR and sends nothing', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    const err = await rejectsWith(t, client.upload(join(dir, 'nope')), 'LOCAL_ERROR');
    t.regex(err.message, /no such file/);
    t.deepEqual(server.requests, []);
    t.false(client.closed);
  });
});

test('upload stops at an early ERR from the server', async (t) => {
  await withClient(
    t,
    async ({ client, dir }) => {
      await writeFile(join(dir, 'big.bin'), randomBytes(32 * 1024 * 1024));
      const err = await rejectsWith(t, client.upload(join(dir, 'big.bin')), 'NO_SPACE');
      t.is(err.message, 'disk full');
      t.true(client.closed);
    },
    { abortUploadAfter: 1024 * 1024 },
  );
});

test('a file that shrinks while uploading is LOCAL_ERROR and ends the session', async (t) => {
  await withClient(t, async ({ client, dir }) => {
    const path = join(dir, 'shrinks.bin');
    // Several chunks past the cut: the client reads one chunk ahead, and the truncation is not awaited.
    await writeFile(path, randomBytes(12 * 1024 * 1024));
    let truncated = false;
    const onProgress = () => {
      if (!truncated) void truncate(path, 1024 * 1024);
      truncated = true;
    };
    const err = await rejectsWith(t, client.upload(path, { onProgress }), 'LOCAL_ERROR');
    t.regex(err.message, /shrank/);
    t.true(client.closed);
  });
});

test('download with a wrong checksum is CHECKSUM_MISMATCH and leaves no file', async (t) => {
  await withClient(
    t,
    async ({ client, server, dir }) => {
      server.files.set('/a.bin', randomBytes(100_000));
      await rejectsWith(t, client.download('a.bin', { dir }), 'CHECKSUM_MISMATCH');
      t.deepEqual(await readdir(dir), []);
      t.false(client.closed);
    },
    { wrongDownloadChecksum: true },
  );
});

test('download cut off by the server is CONNECTION_LOST and leaves no file', async (t) => {
  await withClient(
    t,
    async ({ client, server, dir }) => {
      server.files.set('/a.bin', randomBytes(3 * 1024 * 1024));
      await rejectsWith(t, client.download('a.bin', { dir }), 'CONNECTION_LOST');
      t.deepEqual(await readdir(dir), []);
      t.true(client.closed);
      await rejectsWith(t, client.pwd(), 'CONNECTION_LOST');
    },
    { dropDownloadAfter: 1024 * 1024 },
  );
});

test('download replaces an existing local file', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    server.files.set('/a.txt', Buffer.from('new'));
    await writeFile(join(dir, 'a.txt'), 'old contents');
    await client.download('a.txt', { dir });
    t.is(await readFile(join(dir, 'a.txt'), 'utf8'), 'new');
  });
});

test('download refuses names that cannot be saved, before sending anything', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    for (const bad of ['', '.', '..', 'docs/..', 'docs/', '/']) {
      await rejectsWith(t, client.download(bad, { dir }), 'BAD_PATH');
    }
    t.deepEqual(server.requests, []);
  });
});

test('download of a missing file is NOT_FOUND and leaves no temp file', async (t) => {
  await withClient(t, async ({ client, dir }) => {
    await rejectsWith(t, client.download('missing.bin', { dir }), 'NOT_FOUND');
    t.deepEqual(await readdir(dir), []);
  });
});

test('download into a missing local folder is LOCAL_ERROR', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    server.files.set('/a.txt', Buffer.from('x'));
    await rejectsWith(t, client.download('a.txt', { dir: join(dir, 'nope') }), 'LOCAL_ERROR');
    t.deepEqual(server.requests, []);
  });
});

test('a progress callback that throws ends the session instead of corrupting it', async (t) => {
  await withClient(t, async ({ client, server, dir }) => {
    await writeFile(join(dir, 'a.bin'), randomBytes(3 * 1024 * 1024));
    const onProgress = () => {
      throw new Error('listener bug');
    };
    const up = await rejectsWith(t, client.upload(join(dir, 'a.bin'), { onProgress }), 'INTERNAL');
    t.is(up.message, 'listener bug');
    t.true(client.closed);
    t.false(server.files.has('/a.bin'));
  });
  await withClient(t, async ({ client, server, dir }) => {
    server.files.set('/a.bin', randomBytes(3 * 1024 * 1024));
    const onProgress = () => {
      throw new Error('listener bug');
    };
    await rejectsWith(t, client.download('a.bin', { dir, onProgress }), 'INTERNAL');
    t.true(client.closed);
    t.deepEqual(await readdir(dir), []);
  });
});
