import test from 'ava';
import {
  displayMessage,
  displayName,
  formatBytes,
  formatListing,
  formatMtime,
  formatRate,
  formatTransfer,
} from '../../src/client/format.js';

test('formatBytes: plain bytes below 1 KiB, then binary units with one decimal', (t) => {
  t.is(formatBytes(0), '0 B');
  t.is(formatBytes(1023), '1023 B');
  t.is(formatBytes(1024), '1.0 KiB');
  t.is(formatBytes(1536), '1.5 KiB');
  t.is(formatBytes(12.4 * 1024 * 1024), '12.4 MiB');
  t.is(formatBytes(5 * 1024 ** 3), '5.0 GiB');
  t.is(formatBytes(2 ** 53 - 1), '8.0 PiB');
});

test('formatBytes rounds into the next unit instead of printing 1024.0', (t) => {
  t.is(formatBytes(1024 * 1024 - 1), '1.0 MiB');
  t.is(formatBytes(1023.6), '1.0 KiB');
});

test('formatRate divides by the time and guards against zero', (t) => {
  t.is(formatRate(59 * 1024 * 1024, 1), '59.0 MiB/s');
  t.is(formatRate(1024, 0), '1000.0 KiB/s');
  t.is(formatRate(100, 2), '50 B/s');
});

test('formatTransfer is the one summary line', (t) => {
  t.is(
    formatTransfer('uploaded', 'report.pdf', 13_002_342, 0.21),
    'uploaded report.pdf 12.4 MiB in 0.21 s (59.0 MiB/s)',
  );
  t.is(formatTransfer('downloaded', 'my file.txt', 3, 0.5), 'downloaded "my file.txt" 3 B in 0.50 s (6 B/s)');
});

test('formatMtime is UTC to the minute', (t) => {
  t.is(formatMtime(new Date('2026-11-25T23:59:59.999Z')), '2026-11-25 23:59');
});

test('formatListing: type mark, right-aligned size, mtime, name', (t) => {
  const mtime = new Date('2026-11-25T10:01:02.345Z');
  t.deepEqual(
    formatListing([
      { name: 'docs', type: 'dir', size: 0, mtime },
      { name: 'my file.txt', type: 'file', size: 123_456, mtime },
      { name: 'sock', type: 'other', size: 0, mtime },
    ]),
    [
      'd      0 2026-11-25 10:01 docs',
      '- 123456 2026-11-25 10:01 "my file.txt"',
      '?      0 2026-11-25 10:01 sock',
    ],
  );
  t.deepEqual(formatListing([]), []);
});

test('displayName quotes like the protocol and never passes terminal controls through', (t) => {
  t.is(displayName('plain.txt'), 'plain.txt');
  t.is(displayName('a b'), '"a b"');
  t.is(displayName('bell\x07\nx'), '"bell\\x07\\nx"');
  t.is(displayName('csi\u009b31m'), '"csi\\xc2\\x9b31m"');
  t.is(displayName('é'), 'é');
});

test('displayMessage keeps an error on one line', (t) => {
  t.is(displayMessage('two\nlines\x1b[31m'), 'two\\x0alines\\x1b[31m');
});
