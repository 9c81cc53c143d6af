// FileSink: batching into writev, the high-water signal, partial writes and write errors.
import type { FileHandle } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import test from 'ava';
import { FileSink } from '../../src/client/file-sink.js';

/** A FileHandle stand-in that records writev calls and writes at most `limit` bytes per call. */
function fakeHandle(options: { limit?: number; failOnCall?: number } = {}) {
  const written: Buffer[] = [];
  const calls: number[] = [];
  const handle = {
    async writev(buffers: Buffer[]) {
      await setImmediate();
      calls.push(buffers.length);
      if (calls.length === options.failOnCall)
        throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      const all = Buffer.concat(buffers);
      const n = Math.min(all.length, options.limit ?? all.length);
      written.push(all.subarray(0, n));
      return { bytesWritten: n, buffers };
    },
  };
  return { handle: handle as unknown as FileHandle, written: () => Buffer.concat(written), calls };
}

test('chunks pushed during a write go out together in one writev, in order', async (t) => {
  const fake = fakeHandle();
  const sink = new FileSink(
    fake.handle,
    () => {},
    () => t.fail(),
  );
  for (const text of ['a', 'b', 'c', 'd']) t.true(sink.push(Buffer.from(text)));
  await sink.finish();
  t.is(fake.written().toString(), 'abcd');
  t.deepEqual(fake.calls, [1, 3]);
});

test('over the high-water mark push says stop, and onDrain says go on', async (t) => {
  const fake = fakeHandle();
  let drained = 0;
  const sink = new FileSink(
    fake.handle,
    () => drained++,
    () => t.fail(),
  );
  const mib = Buffer.alloc(1024 * 1024, 1);
  const answers = [1, 2, 3, 4, 5, 6].map(() => sink.push(mib));
  t.deepEqual(answers, [true, true, true, true, false, false]);
  await sink.finish();
  t.is(drained, 1);
  t.is(fake.written().length, 6 * mib.length);
});

test('partial writes continue where they stopped', async (t) => {
  const fake = fakeHandle({ limit: 3 });
  const sink = new FileSink(
    fake.handle,
    () => {},
    () => t.fail(),
  );
  sink.push(Buffer.from('hello '));
  sink.push(Buffer.from('world'));
  await sink.finish();
  t.is(fake.written().toString(), 'hello world');
});

test('a write error is reported once and rejects finish()', async (t) => {
  const fake = fakeHandle({ failOnCall: 1 });
  const errors: unknown[] = [];
  const sink = new FileSink(
    fake.handle,
    () => {},
    (err) => errors.push(err),
  );
  sink.push(Buffer.from('x'));
  await t.throwsAsync(sink.finish(), { message: 'disk full' });
  sink.push(Buffer.from('y'));
  await t.throwsAsync(sink.finish(), { message: 'disk full' });
  t.is(errors.length, 1);
});
