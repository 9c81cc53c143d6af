import test from 'ava';
import fc from 'fast-check';
import { ByteQueue, type LineResult } from '../../src/protocol/byte-queue.js';
import { createChecksum, formatChecksum } from '../../src/protocol/checksum.js';
import { MAX_LINE_BYTES, parseRequest } from '../../src/protocol/messages.js';
import { bytes, RUNS } from '../_helpers/protocol.js';

const text = (r: LineResult): string | null | 'too-long' =>
  r === null || r === 'too-long' ? r : r.toString('utf8');

function queueOf(...chunks: Array<string | Buffer>): ByteQueue {
  const q = new ByteQueue();
  for (const c of chunks) q.push(typeof c === 'string' ? bytes(c) : c);
  return q;
}

// --- lines ---------------------------------------------------------------------------------------

test('takeLine takes lines ending in \\n or \\r\\n, without the line end', (t) => {
  const q = queueOf('PWD\nNOOP\r\n\n\r\nDIR a\n');
  t.is(q.size, 19);
  t.is(text(q.takeLine(100)), 'PWD');
  t.is(text(q.takeLine(100)), 'NOOP');
  t.is(text(q.takeLine(100)), '');
  t.is(text(q.takeLine(100)), '');
  t.is(text(q.takeLine(100)), 'DIR a');
  t.is(q.takeLine(100), null);
  t.is(q.size, 0);
});

test('only a \\r right before \\n is dropped', (t) => {
  const q = queueOf('a\rb\n\r\r\n\rx\n');
  t.is(text(q.takeLine(100)), 'a\rb');
  t.is(text(q.takeLine(100)), '\r');
  t.is(text(q.takeLine(100)), '\rx');
});

test('takeLine returns null until the newline arrives, and keeps the partial line', (t) => {
  const q = queueOf('UPL');
  t.is(q.takeLine(100), null);
  t.is(q.size, 3);
  q.push(bytes('OAD a 1\r'));
  t.is(q.takeLine(100), null);
  q.push(bytes('\nNO'));
  t.is(text(q.takeLine(100)), 'UPLOAD a 1');
  t.is(q.takeLine(100), null);
  t.is(q.size, 2);
});

test('empty chunks are ignored', (t) => {
  const q = new ByteQueue();
  q.push(Buffer.alloc(0));
  t.is(q.size, 0);
  t.is(q.takeBytes(10), null);
  t.is(q.takeLine(10), null);
  q.push(bytes('a'));
  q.push(Buffer.alloc(0));
  q.push(bytes('\n'));
  t.is(text(q.takeLine(10)), 'a');
});

// --- the line limit ------------------------------------------------------------------------------

const L = 16;

test('a line of exactly maxLength bytes, newline included, is accepted', (t) => {
  t.is(text(queueOf(`${'a'.repeat(L - 1)}\n`).takeLine(L)), 'a'.repeat(L - 1));
  t.is(text(queueOf(`${'a'.repeat(L - 2)}\r\n`).takeLine(L)), 'a'.repeat(L - 2));
});

test('one byte more is too-long, even when the newline is already there', (t) => {
  t.is(queueOf(`${'a'.repeat(L)}\n`).takeLine(L), 'too-long');
  t.is(queueOf(`${'a'.repeat(L - 1)}\r\n`).takeLine(L), 'too-long');
  t.is(queueOf(`${'a'.repeat(L)}\nPWD\n`).takeLine(L), 'too-long');
});

test('without a newline, too-long as soon as maxLength bytes are buffered', (t) => {
  const q = queueOf('a'.repeat(L - 1));
  t.is(q.takeLine(L), null); // the newline may still come and make it exactly maxLength
  q.push(bytes('a'));
  t.is(q.takeLine(L), 'too-long');
  t.is(queueOf('a'.repeat(L * 3)).takeLine(L), 'too-long');
  t.is(q.takeLine(L), 'too-long'); // stays too-long
});

test('the limit holds at every split of the line into two chunks', (t) => {
  for (const [line, expected] of [
    [`${'b'.repeat(L - 1)}\n`, 'b'.repeat(L - 1)],
    [`${'b'.repeat(L - 2)}\r\n`, 'b'.repeat(L - 2)],
    [`${'b'.repeat(L)}\n`, 'too-long'],
    [`${'b'.repeat(L - 1)}\r\n`, 'too-long'],
  ] as const) {
    const buf = bytes(line);
    for (let cut = 0; cut <= buf.length; cut++) {
      const q = new ByteQueue();
      q.push(buf.subarray(0, cut));
      const early = q.takeLine(L);
      if (cut === buf.length) {
        t.is(text(early), expected);
        continue;
      }
      // Before the newline has arrived, the answer is either "wait" or already too-long.
      t.true(early === null || (early === 'too-long' && expected === 'too-long'), `cut ${cut}`);
      if (early === 'too-long') continue;
      q.push(buf.subarray(cut));
      t.is(text(q.takeLine(L)), expected, `cut ${cut}`);
    }
  }
});

test('the limit counts from the start of the current line, not of the buffer', (t) => {
  const q = queueOf(`${'x'.repeat(L - 1)}\n`, `${'y'.repeat(L - 1)}\n`, 'z'.repeat(L - 1));
  t.is(text(q.takeLine(L)), 'x'.repeat(L - 1));
  t.is(text(q.takeLine(L)), 'y'.repeat(L - 1));
  t.is(q.takeLine(L), null);
  // also after raw bytes were taken from the middle of a chunk
  const r = queueOf(`RAWRAW${'k'.repeat(L - 1)}\n`);
  t.is(r.takeBytes(6)?.toString(), 'RAWRAW');
  t.is(text(r.takeLine(L)), 'k'.repeat(L - 1));
});

test('the protocol limit: 16384 bytes with the newline is fine, 16385 is not', (t) => {
  t.is(MAX_LINE_BYTES, 16_384);
  const ok = `NOOP ${'a'.repeat(MAX_LINE_BYTES - 6)}\n`;
  t.is(bytes(ok).length, MAX_LINE_BYTES);
  t.is(queueOf(ok).takeLine(MAX_LINE_BYTES)?.length, MAX_LINE_BYTES - 1);
  t.is(queueOf(`a${ok}`).takeLine(MAX_LINE_BYTES), 'too-long');
  // Many small chunks without a newline are refused once the limit is reached.
  const q = new ByteQueue();
  let result: LineResult = null;
  let pushed = 0;
  while (result === null) {
    q.push(bytes('abcdefgh'));
    pushed += 8;
    result = q.takeLine(MAX_LINE_BYTES);
  }
  t.is(result, 'too-long');
  t.is(pushed, MAX_LINE_BYTES);
});

// --- raw bytes -----------------------------------------------------------------------------------

test('takeBytes returns slices of the pushed chunks without copying', (t) => {
  const a = Buffer.from('0123456789');
  const b = Buffer.from('abcdef');
  const q = queueOf(a, b);
  const s1 = q.takeBytes(4);
  t.is(s1?.toString(), '0123');
  t.is(s1?.buffer, a.buffer);
  t.is(s1?.byteOffset, a.byteOffset);
  const s2 = q.takeBytes(100); // never crosses a chunk boundary
  t.is(s2?.toString(), '456789');
  t.is(s2?.buffer, a.buffer);
  t.is(s2?.byteOffset, a.byteOffset + 4);
  const s3 = q.takeBytes(3);
  t.is(s3?.toString(), 'abc');
  t.is(s3?.buffer, b.buffer);
  // Writing to the pushed chunk shows through the slice: the same memory.
  b[0] = 0x41;
  t.is(s3?.toString(), 'Abc');
  t.is(q.size, 3);
  t.is(q.takeBytes(0), null);
  t.is(q.takeBytes(-1), null);
  t.is(q.takeBytes(3)?.toString(), 'def');
  t.is(q.takeBytes(1), null);
  t.is(q.size, 0);
});

test('discard drops bytes across chunks and reports how many', (t) => {
  const q = queueOf('abc', 'defg', 'hi\nrest\n');
  t.is(q.discard(0), 0);
  t.is(q.discard(5), 5);
  t.is(q.size, 10);
  t.is(text(q.takeLine(100)), 'fghi');
  t.is(q.discard(100), 5);
  t.is(q.size, 0);
  t.is(q.discard(1), 0);
  q.push(bytes('ok\n'));
  t.is(text(q.takeLine(100)), 'ok');
});

test('random interleavings of takeBytes/discard/takeLine consume the stream in order', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      fc.array(fc.nat({ max: 40 }), { maxLength: 20 }),
      fc.array(fc.tuple(fc.constantFrom('bytes', 'discard', 'line'), fc.nat({ max: 30 })), { maxLength: 40 }),
      (data, cuts, ops) => {
        const q = new ByteQueue();
        let pos = 0;
        for (const c of cuts) {
          q.push(Buffer.from(data.subarray(pos, pos + c)));
          pos = Math.min(data.length, pos + c);
        }
        q.push(Buffer.from(data.subarray(pos)));
        let offset = 0; // bytes of `data` consumed so far
        for (const [op, n] of ops) {
          t.is(q.size, data.length - offset);
          if (op === 'bytes') {
            const s = q.takeBytes(n);
            if (s === null) t.true(n === 0 || offset === data.length);
            else {
              t.true(s.length >= 1 && s.length <= n);
              t.deepEqual(new Uint8Array(s), data.subarray(offset, offset + s.length));
              offset += s.length;
            }
          } else if (op === 'discard') {
            const d = q.discard(n);
            t.is(d, Math.min(n, data.length - offset));
            offset += d;
          } else {
            const rest = data.subarray(offset);
            const nl = rest.indexOf(0x0a);
            const r = q.takeLine(10_000);
            if (nl < 0) t.is(r, null);
            else {
              let end = nl;
              if (end > 0 && rest[end - 1] === 0x0d) end--;
              t.deepEqual(r === null || r === 'too-long' ? r : new Uint8Array(r), rest.subarray(0, end));
              offset += nl + 1;
            }
          }
        }
      },
    ),
    RUNS,
  );
});

// --- an UPLOAD session, split every way ----------------------------------------------------------

const PAYLOAD = Buffer.from([0x00, 0x0a, 0x0d, 0x0a, 0xff, 0x41, 0x0d, 0x0a, 0x0a, 0x22]); // has line ends
const HEX = (() => {
  const c = createChecksum('sha256');
  c.update(PAYLOAD);
  return c.digest();
})();
const STREAM = Buffer.concat([
  bytes(`NOOP\r\nUPLOAD "a b.bin" ${PAYLOAD.length} checksum=sha256\n`),
  PAYLOAD,
  bytes(
    `CHECKSUM ${formatChecksum('sha256', HEX)}\r\nDIR\nUPLOAD empty 0\nCHECKSUM xxh3-64:2d06800538d394c2\nQUIT\n`,
  ),
]);
/** What the stream means, written out independently of the code under test. */
const EXPECTED = [
  'line NOOP',
  'line UPLOAD "a b.bin" 10 checksum=sha256',
  `bytes ${PAYLOAD.toString('hex')}`,
  `line CHECKSUM sha256:${HEX}`,
  'line DIR',
  'line UPLOAD empty 0',
  'bytes ',
  'line CHECKSUM xxh3-64:2d06800538d394c2',
  'line QUIT',
];

/**
 * A small session reader like the server's: lines in line mode; after an UPLOAD header, exactly
 * `size` raw bytes (collected from takeBytes slices), then back to lines.
 */
class Reader {
  readonly events: string[] = [];
  private readonly q = new ByteQueue();
  private remaining = -1; // raw bytes still expected, -1 in line mode
  private raw: Buffer[] = [];

  feed(chunk: Buffer): void {
    this.q.push(chunk);
    for (;;) {
      if (this.remaining >= 0) {
        while (this.remaining > 0) {
          const slice = this.q.takeBytes(this.remaining);
          if (slice === null) return;
          this.raw.push(slice);
          this.remaining -= slice.length;
        }
        this.events.push(`bytes ${Buffer.concat(this.raw).toString('hex')}`);
        this.raw = [];
        this.remaining = -1;
      }
      const line = this.q.takeLine(MAX_LINE_BYTES);
      if (line === null) return;
      if (line === 'too-long') throw new Error('too-long');
      this.events.push(`line ${line.toString('utf8')}`);
      const request = parseRequest(line);
      if (request.ok && request.value.verb === 'UPLOAD') this.remaining = request.value.size;
    }
  }
}

function run(chunks: Buffer[]): string[] {
  const reader = new Reader();
  for (const c of chunks) reader.feed(c);
  return reader.events;
}

test('an UPLOAD session in one chunk reads as expected', (t) => {
  t.deepEqual(run([STREAM]), EXPECTED);
});

test('an UPLOAD session split into two chunks at every byte offset reads the same', (t) => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    t.deepEqual(run([STREAM.subarray(0, cut), STREAM.subarray(cut)]), EXPECTED, `cut at ${cut}`);
  }
});

test('an UPLOAD session split into three chunks at every pair of offsets reads the same', (t) => {
  for (let i = 0; i <= STREAM.length; i++) {
    for (let j = i; j <= STREAM.length; j++) {
      const events = run([STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)]);
      if (JSON.stringify(events) !== JSON.stringify(EXPECTED)) {
        t.deepEqual(events, EXPECTED, `cuts at ${i}, ${j}`);
        return;
      }
    }
  }
  t.pass();
});

test('an UPLOAD session fed one byte at a time, or in random chunks, reads the same', (t) => {
  t.deepEqual(run([...STREAM].map((b) => Buffer.from([b]))), EXPECTED);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 60 }), (sizes) => {
      const chunks: Buffer[] = [];
      let pos = 0;
      for (const n of sizes) {
        chunks.push(STREAM.subarray(pos, pos + n));
        pos += n;
      }
      chunks.push(STREAM.subarray(pos));
      t.deepEqual(run(chunks), EXPECTED);
    }),
    RUNS,
  );
});

test('the uploaded bytes verify against the CHECKSUM line, however they were chunked', (t) => {
  for (let cut = 0; cut <= STREAM.length; cut += 3) {
    const q = new ByteQueue();
    q.push(STREAM.subarray(0, cut));
    q.push(STREAM.subarray(cut));
    t.is(text(q.takeLine(MAX_LINE_BYTES)), 'NOOP');
    const header = parseRequest(q.takeLine(MAX_LINE_BYTES) as Buffer);
    if (!header.ok || header.value.verb !== 'UPLOAD') return t.fail('bad header');
    const digest = createChecksum(header.value.checksum);
    let left = header.value.size;
    while (left > 0) {
      const slice = q.takeBytes(left) as Buffer;
      digest.update(slice);
      left -= slice.length;
    }
    const trailer = parseRequest(q.takeLine(MAX_LINE_BYTES) as Buffer);
    if (!trailer.ok || trailer.value.verb !== 'CHECKSUM') return t.fail('bad trailer');
    t.is(trailer.value.algorithm, header.value.checksum);
    t.is(trailer.value.hex, digest.digest());
  }
});
