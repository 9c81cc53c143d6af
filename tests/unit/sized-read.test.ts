import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readAt, readFirstChunk } from '../../src/storage/sized-read.js';

const CHUNK = 64;

/** Opens a new file holding `data` and runs `use` on its handle. */
async function withFile<T>(
  data: Buffer,
  use: (file: Awaited<ReturnType<typeof open>>) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-sized-'));
  try {
    await writeFile(join(dir, 'f'), data);
    const file = await open(join(dir, 'f'), 'r');
    try {
      return await use(file);
    } finally {
      await file.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const length of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7]) {
  test(`a ${length}-byte file: its own size is confirmed, one byte more or less is not`, async (t) => {
    const data = randomBytes(length);
    await withFile(data, async (file) => {
      for (const offset of new Set([0, Math.floor(length / 2), length])) {
        const first = await readFirstChunk(file, length, offset, CHUNK);
        t.deepEqual(first, data.subarray(offset, Math.min(length, offset + CHUNK)), `from ${offset}`);
      }
      // What fstat says on a path-based FUSE filesystem when another version was renamed over the name.
      t.is(await readFirstChunk(file, length + 1, 0, CHUNK), null, 'a larger stated size is caught');
      if (length > 0) t.is(await readFirstChunk(file, length - 1, 0, CHUNK), null, 'a smaller one too');
      t.is(await readFirstChunk(file, length + CHUNK * 2, 0, CHUNK), null, 'and a much larger one');
    });
  });
}

test('readAt returns what there is at the end, and nothing past it', async (t) => {
  const data = randomBytes(100);
  await withFile(data, async (file) => {
    t.deepEqual(await readAt(file, 90, 20), data.subarray(90));
    t.is((await readAt(file, 100, 5)).length, 0);
    t.deepEqual(await readAt(file, 0, 100), data);
  });
});

test('one read proves a file within one chunk, two (side by side) a bigger one', async (t) => {
  for (const [length, reads] of [
    [0, 1],
    [50, 1],
    [CHUNK, 1],
    [3 * CHUNK, 2],
  ] as const) {
    await withFile(randomBytes(length), async (file) => {
      let calls = 0;
      const read = file.read.bind(file);
      (file as { read: unknown }).read = (...args: Parameters<typeof read>) => {
        calls++;
        return read(...args);
      };
      t.truthy(await readFirstChunk(file, length, 0, CHUNK));
      t.is(calls, reads, `${length} bytes`);
    });
  }
});
