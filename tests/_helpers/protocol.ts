// Shared helpers and fast-check arbitraries for the protocol unit tests.
import fc from 'fast-check';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../../src/protocol/checksum.js';
import { MAX_SIZE, type Request } from '../../src/protocol/messages.js';

/** UTF-8 bytes of a string, as they travel on the wire. */
export const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** An encoded line without its trailing newline, as bytes (what ByteQueue.takeLine hands over). */
export function stripNewline(line: string): Buffer {
  if (!line.endsWith('\n'))
    throw new Error(`encoded line does not end with a newline: ${JSON.stringify(line)}`);
  return bytes(line.slice(0, -1));
}

/** Bounded run counts keep the suite fast while still exploring a few hundred cases per property. */
export const RUNS = { numRuns: 300 } as const;

/** Any string of Unicode scalar values (no lone surrogates: those are not representable in UTF-8). */
export const anyName = fc.string({ unit: 'binary', maxLength: 40 });

/** Names that stress the quoting rule: mostly special characters. */
export const trickyName = fc.string({
  unit: fc.constantFrom(
    ' ',
    '\t',
    '"',
    '=',
    '\\',
    '\n',
    '\r',
    '\x00',
    '\x7f',
    'a',
    'é',
    'e\u0301',
    '日',
    '😀',
    '\ufeff',
    'x',
  ),
  maxLength: 20,
});

export const name = fc.oneof(anyName, trickyName);

export const algorithm: fc.Arbitrary<ChecksumAlgorithm> = fc.constantFrom(...CHECKSUM_ALGORITHMS);

export const size = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(0, 1, MAX_SIZE));

/** A digest of the exact length its algorithm produces. */
export const hexFor = (algorithm: ChecksumAlgorithm): fc.Arbitrary<string> =>
  fc.stringMatching(algorithm === 'sha256' ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{16}$/);

export const checksumValue = algorithm.chain((a) => hexFor(a).map((hex) => ({ algorithm: a, hex })));

/** A resume point at `offset`: with a SHA-256, or (at offset 0 only) without. */
function resumePoint(offset: number): fc.Arbitrary<{ offset: number; sha256?: string }> {
  const hashed = hexFor('sha256').map((sha256) => ({ offset, sha256 }));
  return offset === 0 ? fc.oneof(hashed, fc.constant({ offset })) : hashed;
}

/** Every request the codec can express. */
export const request: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ verb: fc.constant('UPLOAD' as const), path: name, size, checksum: algorithm }),
  fc.record({
    verb: fc.constant('UPLOAD' as const),
    path: name,
    size,
    checksum: algorithm,
    immediate: fc.constant(true as const),
  }),
  fc.record({ verb: fc.constant('DOWNLOAD' as const), path: name, checksum: algorithm }),
  // PROTOCOL.md#resume: offsets never past the size; the hash may be left out only at offset 0.
  fc
    .record({ path: name, size, checksum: algorithm, at: fc.double({ min: 0, max: 1, noNaN: true }) })
    .chain(({ path, size, checksum, at }) =>
      resumePoint(Math.floor(size * at)).map((resume) => ({
        verb: 'UPLOAD' as const,
        path,
        size,
        checksum,
        resume,
      })),
    ),
  fc
    .record({ path: name, checksum: algorithm, offset: size })
    .chain(({ path, checksum, offset }) =>
      resumePoint(offset).map((resume) => ({ verb: 'DOWNLOAD' as const, path, checksum, resume })),
    ),
  fc.record({ verb: fc.constant('PARTIAL' as const), path: name, size }),
  fc.record({
    verb: fc.constantFrom('DELETE' as const, 'MKDIR' as const, 'RMDIR' as const, 'CHDIR' as const),
    path: name,
  }),
  fc.record({ verb: fc.constant('DIR' as const), path: name }),
  fc.record({ verb: fc.constant('MOVE' as const), from: name, to: name }),
  fc.record({ verb: fc.constantFrom('PWD' as const, 'NOOP' as const, 'QUIT' as const) }),
  fc.record({ verb: fc.constant('LOGIN' as const), user: name, password: name }),
  checksumValue.map((c) => ({ verb: 'CHECKSUM' as const, ...c })),
);

/** Byte strings built from protocol-ish fragments and raw bytes, to reach deep into the parser. */
export const protocolNoise: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc
        .constantFrom(
          'UPLOAD',
          'download',
          'DIR',
          'MOVE',
          'CHECKSUM',
          'PWD',
          ' ',
          '\t',
          '"',
          '\\',
          '\\x',
          '\\"',
          '=',
          'checksum=',
          'sha256',
          'xxh3-64:',
          'ff',
          '0',
          '-1',
          '9007199254740992',
          'é',
          '\r',
          '\x00',
        )
        .map(bytes),
      fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
    ),
    { maxLength: 20 },
  )
  .map((parts) => Buffer.concat(parts));
