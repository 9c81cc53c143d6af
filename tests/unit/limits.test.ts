// The pure decisions behind docs/SECURITY.md#limits: file size, free space, timeout messages.
import test from 'ava';
import { FilehiveError } from '../../src/errors.js';
import { describeTimeout, SessionTimeout } from '../../src/worker/timeouts.js';
import { checkFileSize, checkFreeSpace, diskFullError, FreeSpace } from '../../src/worker/upload-limits.js';

test('checkFileSize allows the limit itself and refuses one byte more with max=', (t) => {
  t.is(checkFileSize(0, 0), null);
  t.is(checkFileSize(1024, 1024), null);
  const refused = checkFileSize(1025, 1024);
  t.true(refused instanceof FilehiveError);
  t.is(refused?.code, 'TOO_LARGE');
  t.deepEqual(refused?.fields, { max: '1024' });
  t.regex(refused?.message ?? '', /1024 bytes/);
  t.is(checkFileSize(Number.MAX_SAFE_INTEGER, 100 * 2 ** 30)?.code, 'TOO_LARGE');
});

test('checkFreeSpace refuses when the upload would leave less than the reserve', (t) => {
  const MiB = 2 ** 20;
  t.is(checkFreeSpace(10 * MiB, 300 * MiB, 256 * MiB), null);
  t.is(checkFreeSpace(44 * MiB, 300 * MiB, 256 * MiB), null, 'exactly the reserve left is fine');
  t.is(checkFreeSpace(44 * MiB + 1, 300 * MiB, 256 * MiB)?.code, 'NO_SPACE');
  t.is(checkFreeSpace(0, 100 * MiB, 256 * MiB)?.code, 'NO_SPACE', 'already under the reserve');
  t.is(checkFreeSpace(5, 4, 0)?.code, 'NO_SPACE', 'with no reserve, a file that cannot fit at all');
  t.is(checkFreeSpace(4, 4, 0), null);
  // The message never carries numbers about the server's disk.
  t.notRegex(checkFreeSpace(1, 0, 0)?.message ?? '', /\d/);
});

test('diskFullError is NO_SPACE and keeps the cause for the log only', (t) => {
  const cause = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const err = diskFullError(cause);
  t.is(err.code, 'NO_SPACE');
  t.is(err.cause, cause);
  t.notRegex(err.message, /ENOSPC|device/);
});

test('timeout messages name the limit in seconds', (t) => {
  t.is(describeTimeout('idle', 300_000), 'no request for 300 s, closing the session');
  t.is(describeTimeout('idle', 1_500), 'no request for 1.5 s, closing the session');
  t.regex(describeTimeout('stall', 60_000), /^the transfer stalled: nothing moved for 60 s/);
  const err = new SessionTimeout('stall', 2_000);
  t.is(err.code, 'TIMEOUT');
  t.is(err.kind, 'stall');
  t.is(err.message, describeTimeout('stall', 2_000));
});

test('FreeSpace answers yes from a fresh reading minus what it let through, and checks every no afresh', async (t) => {
  let free = 1_000;
  let now = 0;
  let reads = 0;
  const space = new FreeSpace(
    async () => {
      reads++;
      return free;
    },
    () => now,
  );
  t.is(await space.check('/d', 100, 500), null);
  t.is(reads, 1);
  t.is(await space.check('/d', 100, 500), null, 'from the reading: 900 left');
  t.is(await space.check('/d', 300, 500), null, 'from the reading: 800 left');
  t.is(reads, 1);
  // 500 left by the reading's count: one more byte would go under the reserve, so the disk is asked.
  free = 600;
  t.is((await space.check('/d', 101, 500))?.code, 'NO_SPACE');
  t.is(reads, 2);
  t.is(await space.check('/d', 100, 500), null, 'the refusal did not count its size');
  t.is(reads, 2);
  // Another folder has its own reading; an old reading is read again.
  t.is(await space.check('/e', 1, 0), null);
  t.is(reads, 3);
  now = 1_000;
  free = 10_000;
  t.is(await space.check('/d', 5_000, 500), null);
  t.is(reads, 4);
});

test('FreeSpace passes a failing statfs on to the caller', async (t) => {
  const space = new FreeSpace(async () => {
    throw Object.assign(new Error('EIO'), { code: 'EIO' });
  });
  await t.throwsAsync(space.check('/d', 1, 0), { message: 'EIO' });
});
