import { createHash } from 'node:crypto';
import { xxh3 } from '@node-rs/xxhash';
import test from 'ava';
import fc from 'fast-check';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  createChecksum,
  DEFAULT_CHECKSUM,
  formatChecksum,
  isChecksumAlgorithm,
  parseChecksum,
} from '../../src/protocol/checksum.js';
import { bytes, checksumValue, RUNS } from '../_helpers/protocol.js';

/** Independent one-shot digests, straight from the underlying libraries. */
const ONE_SHOT: Record<ChecksumAlgorithm, (data: Uint8Array) => string> = {
  sha256: (data) => createHash('sha256').update(data).digest('hex'),
  'xxh3-64': (data) => xxh3.xxh64(data).toString(16).padStart(16, '0'),
};

const HEX_LENGTH: Record<ChecksumAlgorithm, number> = { sha256: 64, 'xxh3-64': 16 };

function digestOf(algorithm: ChecksumAlgorithm, chunks: Uint8Array[]): string {
  const c = createChecksum(algorithm);
  if (c.algorithm !== algorithm) throw new Error(`checksum reports ${c.algorithm}, expected ${algorithm}`);
  for (const chunk of chunks) c.update(chunk);
  return c.digest();
}

test('the algorithms, default first as the greeting lists them', (t) => {
  t.deepEqual([...CHECKSUM_ALGORITHMS], ['xxh3-64', 'sha256']);
  t.is(DEFAULT_CHECKSUM, CHECKSUM_ALGORITHMS[0]);
  t.true(isChecksumAlgorithm('sha256'));
  t.true(isChecksumAlgorithm('xxh3-64'));
  for (const s of ['SHA256', 'md5', '', 'xxh3', 'sha256 ', 'toString', '__proto__'])
    t.false(isChecksumAlgorithm(s), s);
});

test('sha256 known vectors', (t) => {
  t.is(
    digestOf('sha256', [bytes('abc')]),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  t.is(digestOf('sha256', []), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.is(digestOf('sha256', [bytes('a'), bytes('b'), bytes('c')]), digestOf('sha256', [bytes('abc')]));
});

test('xxh3-64 known vector for empty input, and the lower-case 16-digit hex shape', (t) => {
  t.is(digestOf('xxh3-64', []), '2d06800538d394c2');
  t.is(digestOf('xxh3-64', [new Uint8Array(0)]), '2d06800538d394c2');
  t.regex(digestOf('xxh3-64', [bytes('abc')]), /^[0-9a-f]{16}$/);
});

test('xxh3-64 digests with leading zero nibbles are padded to 16 digits', (t) => {
  // Find inputs whose 64-bit hash is below 2^60 (about 1 in 16) and below 2^56 (about 1 in 256).
  const found: Record<number, boolean> = { 60: false, 56: false };
  for (let i = 0; i < 20_000 && !(found[60] && found[56]); i++) {
    const data = bytes(String(i));
    const value = xxh3.xxh64(data);
    for (const bits of [60, 56]) {
      if (value < 1n << BigInt(bits)) {
        found[bits] = true;
        const d = digestOf('xxh3-64', [data]);
        t.is(d.length, 16);
        t.true(d.startsWith('0'));
        t.is(BigInt(`0x${d}`), value);
      }
    }
  }
  t.true(found[60] && found[56]);
});

test('incremental digests equal one-shot digests for random chunkings', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(...CHECKSUM_ALGORITHMS),
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat({ max: 3000 }), { maxLength: 12 }),
      (algorithm, data, cutPoints) => {
        const cuts = [...new Set(cutPoints.map((c) => Math.min(c, data.length)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const c of [...cuts, data.length]) {
          chunks.push(data.subarray(prev, c));
          prev = c;
        }
        const d = digestOf(algorithm, chunks);
        t.is(d, ONE_SHOT[algorithm](data));
        t.is(d.length, HEX_LENGTH[algorithm]);
        t.regex(d, /^[0-9a-f]+$/);
      },
    ),
    RUNS,
  );
});

test('digests of large inputs in odd chunks (beyond the internal block sizes)', (t) => {
  const data = Buffer.alloc(1_000_003);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2_654_435_761) >>> 24;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const chunks: Uint8Array[] = [];
    for (let pos = 0, n = 1; pos < data.length; pos += n, n = (n * 7 + 3) % 65_537)
      chunks.push(data.subarray(pos, pos + n));
    t.is(digestOf(algorithm, chunks), ONE_SHOT[algorithm](data), algorithm);
  }
});

test('different inputs give different digests', (t) => {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    t.not(digestOf(algorithm, [bytes('a')]), digestOf(algorithm, [bytes('b')]));
    t.not(digestOf(algorithm, [bytes('ab')]), digestOf(algorithm, [bytes('ba')]));
  }
});

test('formatChecksum and parseChecksum mirror each other', (t) => {
  t.is(formatChecksum('xxh3-64', '5e0b4e4e1b4f1d20'), 'xxh3-64:5e0b4e4e1b4f1d20');
  t.deepEqual(parseChecksum('xxh3-64:5e0b4e4e1b4f1d20'), { algorithm: 'xxh3-64', hex: '5e0b4e4e1b4f1d20' });
  fc.assert(
    fc.property(checksumValue, ({ algorithm, hex: h }) => {
      t.deepEqual(parseChecksum(formatChecksum(algorithm, h)), { algorithm, hex: h });
    }),
    RUNS,
  );
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const d = digestOf(algorithm, [bytes('filehive')]);
    t.deepEqual(parseChecksum(formatChecksum(algorithm, d)), { algorithm, hex: d });
  }
});

test('parseChecksum refuses malformed values', (t) => {
  const bad = [
    '',
    ':',
    'sha256',
    'sha256:',
    ':abcd',
    'abcd',
    'md5:abcd',
    'SHA256:abcd',
    'sha256:ABCD',
    'sha256:abcg',
    'sha256: abcd',
    'sha256:abcd ',
    'sha256:ab:cd',
    `sha256:${'0'.repeat(63)}`,
    `sha256:${'0'.repeat(65)}`,
    `xxh3-64:${'0'.repeat(15)}`,
    `xxh3-64:${'0'.repeat(64)}`,
    'xxh3-64:-1',
  ];
  for (const value of bad) t.is(parseChecksum(value), null, value);
  t.not(parseChecksum(`sha256:${'0'.repeat(64)}`), null);
  t.not(parseChecksum(`xxh3-64:${'0'.repeat(16)}`), null);
});
