// Hostile sessions for fuzzing a running server: fast-check arbitraries that build byte scripts no
// well-behaved client sends (mutated lines, wrong byte counts, invalid UTF-8, path tricks), a plain
// socket that plays one script, and a checker for what the server answered.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { isErrorCode } from '../../src/errors.js';
import { createChecksum } from '../../src/protocol/checksum.js';
import { encodeRequest } from '../../src/protocol/messages.js';
import { bytes, request } from './protocol.js';

/** Path components that try to climb out, hide, alias or overflow (PROTOCOL.md#paths). */
const SEGMENTS: readonly Buffer[] = [
  ...[
    '..',
    '.',
    '',
    '...',
    '%2F',
    '..%2F..',
    '%2e%2e',
    '%2e%2e%2f',
    'a%2Fb',
    '..\\..',
    '\\',
    '.filehive',
    '.FileHive',
    '.filehive-0123.tmp',
    'locks',
    'escape',
    'sentinel',
    'secret.txt',
    'outside.txt',
    'f.bin',
    'dir1',
    'x',
    'new',
    'sub',
    'alice',
    'other',
    'ro',
    'etc',
    'passwd',
    'proc',
    'caf\u00e9', // NFC
    'cafe\u0301', // NFD: another name, byte for byte
    '\u2215', // division slash
    '\uff0f', // fullwidth solidus
    '\uff0e\uff0e', // fullwidth dots
    '\u202e', // right-to-left override
    '\ufeff',
    'a\u0000b',
    '\u0000',
    'a'.repeat(255),
    'a'.repeat(256),
    '\u00fc'.repeat(128),
    ' ',
    '"',
  ].map(bytes),
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xc0, 0xae, 0xc0, 0xae]), // overlong '..'
  Buffer.from([0xe0, 0x80, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0xff, 0xfe]),
];

const SEPARATORS = ['/', '//', '/./', '/../'].map(bytes);

/** Any mix of tricky components, relative or absolute, as raw bytes. */
const anyPath: fc.Arbitrary<Buffer> = fc
  .record({
    absolute: fc.boolean(),
    parts: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 6 }),
    seps: fc.array(fc.constantFrom(...SEPARATORS), { minLength: 6, maxLength: 6 }),
  })
  .map(({ absolute, parts, seps }) => {
    const out: Buffer[] = absolute ? [bytes('/')] : [];
    parts.forEach((part, i) => {
      if (i > 0) out.push(seps[i] as Buffer);
      out.push(part);
    });
    return Buffer.concat(out);
  });

/**
 * Through the link that leads out of the root (the fuzz test plants `escape` -> ../sentinel), by
 * routes that all end up there: every write must be refused and every read must fail.
 */
const throughEscape: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(
      'escape',
      '/escape',
      './escape',
      'dir1/../escape',
      '//escape/.',
      'x/../escape',
      'escape/',
    ),
    fc.constantFrom('secret.txt', 'new', 'sub/new', '.', '..', '', 'caf\u00e9', 'cafe\u0301', 'secret.txt/'),
  )
  .map(([link, leaf]) => bytes(`${link}/${leaf}`));

/** A path made of tricky components, or one aimed through the link that leads out. */
export const hostilePath: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: anyPath },
  { weight: 1, arbitrary: throughEscape },
);

/** A token on the wire: raw bytes, or quoted with every byte outside printable ASCII as \xHH. */
const token = (value: Buffer, quoted: boolean): Buffer => {
  if (!quoted) return value;
  let out = '"';
  for (const b of value) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b >= 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return bytes(`${out}"`);
};

const hostileToken = fc.tuple(hostilePath, fc.boolean()).map(([p, quoted]) => token(p, quoted));

const VERBS = [
  'UPLOAD',
  'DOWNLOAD',
  'DELETE',
  'MKDIR',
  'RMDIR',
  'CHDIR',
  'DIR',
  'MOVE',
  'PWD',
  'NOOP',
  'CHECKSUM',
  'LOGIN',
  'upload',
  'dIr',
  'D\u0131R', // dotless i: must not fold to DIR
  'GET',
];

/** Byte counts a parser may choke on. */
const HUGE_NUMBERS = [
  '0',
  '00000000000000001',
  '9007199254740991',
  '9007199254740992',
  '99999999999999999999',
  '18446744073709551616',
  '107374182400',
  '107374182401',
  '-1',
  '+1',
  '1e3',
  '0x10',
  '1.5',
  '\uff11\uff10', // fullwidth digits
  '',
];

const OPTIONS = [
  'checksum=sha256',
  'checksum=xxh3-64',
  'checksum=md5',
  'checksum=',
  'go=no',
  'go=maybe',
  'go=no go=yes',
  'x=1',
  '=',
];

const ENDINGS = ['\n', '\r\n', '\r', '', '\n\n'];

/** A request line: a verb, tricky arguments, numbers and options, and some line ending. */
const commandLine = fc
  .record({
    verb: fc.constantFrom(...VERBS),
    args: fc.array(fc.oneof(hostileToken, fc.constantFrom(...HUGE_NUMBERS).map(bytes)), { maxLength: 3 }),
    options: fc.array(fc.constantFrom(...OPTIONS), { maxLength: 2 }),
    gap: fc.constantFrom(' ', '\t', '  '),
    ending: fc.constantFrom(...ENDINGS),
  })
  .map(({ verb, args, options, gap, ending }) =>
    Buffer.concat([
      bytes(verb),
      ...args.flatMap((a) => [bytes(gap), a]),
      ...options.flatMap((o) => [bytes(gap), bytes(o)]),
      bytes(ending),
    ]),
  );

/** A valid request, then damaged: a byte replaced, a range cut out, bytes inserted, or cut short. */
const mutatedRequest = fc
  .record({
    line: request.map((r) => bytes(encodeRequest(r))),
    at: fc.nat(),
    length: fc.nat({ max: 8 }),
    insert: fc.uint8Array({ minLength: 1, maxLength: 4 }),
    how: fc.constantFrom('replace', 'cut', 'insert', 'truncate'),
  })
  .map(({ line, at, length, insert, how }) => {
    const i = at % (line.length + 1);
    if (how === 'truncate') return line.subarray(0, i);
    if (how === 'cut') return Buffer.concat([line.subarray(0, i), line.subarray(i + length)]);
    if (how === 'insert') return Buffer.concat([line.subarray(0, i), insert, line.subarray(i)]);
    const out = Buffer.from(line);
    if (i < out.length) out[i] = insert[0] as number;
    return out;
  });

/** An upload whose body is longer or shorter than announced, with a right, wrong or missing trailer. */
const wrongCountUpload = fc
  .record({
    path: hostileToken,
    announced: fc.nat({ max: 64 }),
    actual: fc.nat({ max: 96 }),
    immediate: fc.boolean(),
    trailer: fc.constantFrom('of-actual', 'of-announced', 'wrong', 'garbage', 'none', 'sha256'),
    fill: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ path, announced, actual, immediate, trailer, fill }) => {
    const body = Buffer.alloc(actual, fill);
    const digest = (data: Buffer) => {
      const hash = createChecksum('xxh3-64');
      hash.update(data);
      return hash.digest();
    };
    const trailers: Record<string, string> = {
      'of-actual': `CHECKSUM xxh3-64:${digest(body)}\n`,
      'of-announced': `CHECKSUM xxh3-64:${digest(body.subarray(0, announced))}\n`,
      wrong: 'CHECKSUM xxh3-64:0123456789abcdef\n',
      garbage: 'CHECKSUM xxh3-64:zz\n',
      none: '',
      sha256: `CHECKSUM sha256:${createHash('sha256').update(body).digest('hex')}\n`,
    };
    return Buffer.concat([
      bytes('UPLOAD '),
      path,
      bytes(` ${announced}${immediate ? ' go=no' : ''}\n`),
      body,
      bytes(trailers[trailer] as string),
    ]);
  });

/** A request the parser accepts (paths quoted byte by byte), with an upload's body and checksum right. */
const wellFormed = fc
  .record({
    verb: fc.constantFrom('DOWNLOAD', 'DELETE', 'MKDIR', 'RMDIR', 'CHDIR', 'DIR', 'MOVE', 'UPLOAD'),
    from: hostilePath,
    to: hostilePath,
    body: fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)),
    immediate: fc.boolean(),
  })
  .map(({ verb, from, to, body, immediate }) => {
    const line = [bytes(`${verb} `), token(from, true)];
    if (verb === 'MOVE') line.push(bytes(' '), token(to, true));
    if (verb !== 'UPLOAD') return Buffer.concat([...line, bytes('\n')]);
    const hash = createChecksum('xxh3-64');
    hash.update(body);
    return Buffer.concat([
      ...line,
      bytes(` ${body.length}${immediate ? ' go=no' : ''}\n`),
      body,
      bytes(`CHECKSUM xxh3-64:${hash.digest()}\n`),
    ]);
  });

/** A line over the 16 KiB limit (the server answers and closes the session). */
const longLine = fc
  .integer({ min: 16_370, max: 40_000 })
  .map((n) => bytes(`DIR ${'a'.repeat(n)}${n % 2 === 0 ? '\n' : ''}`));

/** One piece of a hostile script. */
export const hostileFrame: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: wellFormed },
  { weight: 5, arbitrary: commandLine },
  { weight: 4, arbitrary: mutatedRequest },
  { weight: 3, arbitrary: wrongCountUpload },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom('NOOP\n', 'PWD\n', 'DIR\n', 'DIR /\n').map(bytes) },
  { weight: 1, arbitrary: longLine },
);

export interface HostileScript {
  readonly frames: Buffer[];
  /** Cut the last frame after this many bytes: a truncated frame. */
  readonly truncateLast: number | null;
  /** One write for the whole script, or one write per frame with a pause between. */
  readonly writes: 'one' | 'per-frame';
  /** How the client leaves: half-close (the server may still answer) or reset. */
  readonly ending: 'end' | 'destroy';
}

export const hostileScript: fc.Arbitrary<HostileScript> = fc.record({
  frames: fc.array(hostileFrame, { minLength: 1, maxLength: 10 }),
  truncateLast: fc.option(fc.nat({ max: 40 }), { freq: 3 }),
  writes: fc.constantFrom('one' as const, 'per-frame' as const),
  ending: fc.constantFrom('end' as const, 'destroy' as const),
});

/** Compact description of a script for failure messages (a frame may be 40 KiB). */
export function describeScript(script: HostileScript): string {
  const frames = script.frames.map((f) => JSON.stringify(f.subarray(0, 160).toString('latin1')));
  return `writes=${script.writes} ending=${script.ending} truncateLast=${script.truncateLast}\n  ${frames.join('\n  ')}`;
}

/**
 * Problems in what the server sent: every line is a known status with a known error code, has no
 * control characters, no stack trace, none of the `forbidden` strings (real paths), and no INTERNAL.
 * DATA bodies are skipped by their announced size.
 */
export function checkReplies(received: Buffer, forbidden: readonly string[]): string[] {
  const problems: string[] = [];
  let at = 0;
  let first = true;
  while (at < received.length) {
    const nl = received.indexOf(0x0a, at);
    if (nl < 0) break; // cut off by our own close
    const line = received.subarray(at, nl).toString('utf8');
    at = nl + 1;
    const shown = JSON.stringify(line.slice(0, 200));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
    if (/[\x00-\x1f\x7f]/.test(line)) problems.push(`control character in reply ${shown}`);
    const status = /^(HELLO|OK|ERR|GO|DATA|ENTRY)(?: |$)/.exec(line)?.[1];
    if (!status) problems.push(`unknown reply ${shown}`);
    if (first && status !== 'HELLO' && !/^ERR (TOO_MANY_CONNECTIONS|BANNED) /.test(line)) {
      problems.push(`first line is not a greeting: ${shown}`);
    }
    first = false;
    if (status === 'ERR') {
      const code = line.split(' ')[1] ?? '';
      if (!isErrorCode(code)) problems.push(`unknown error code in ${shown}`);
      if (code === 'INTERNAL') problems.push(`INTERNAL error: ${shown}`);
    }
    if (/\bat .+:\d+:\d+|node:internal|Error:/.test(line)) problems.push(`stack or error text in ${shown}`);
    for (const f of forbidden) if (line.includes(f)) problems.push(`real path ${f} in ${shown}`);
    if (status === 'DATA') at += Number(/ size=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return problems;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Plays one script on a fresh connection from `localAddress`, waits until the server has been quiet
 * for `quietMs` (or closed, at most `maxMs`), closes, and returns everything the server sent.
 */
export async function playScript(
  port: number,
  localAddress: string,
  script: HostileScript,
  { quietMs = 80, maxMs = 3_000 } = {},
): Promise<Buffer> {
  const socket = connect({ port, host: '127.0.0.1', localAddress, noDelay: true });
  const chunks: Buffer[] = [];
  let lastData = Date.now();
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    lastData = Date.now();
  });
  socket.on('error', () => undefined); // the server may reset a session it gave up on
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const frames = [...script.frames];
  if (script.truncateLast !== null) {
    const last = frames.pop() as Buffer;
    frames.push(last.subarray(0, Math.min(last.length, script.truncateLast)));
  }
  if (script.writes === 'one') socket.write(Buffer.concat(frames));
  else {
    for (const frame of frames) {
      if (closed) break;
      socket.write(frame);
      await sleep(1);
    }
  }
  if (script.ending === 'end') socket.end();
  const started = Date.now();
  lastData = started;
  while (!closed && Date.now() - started < maxMs && Date.now() - lastData < quietMs) await sleep(10);
  // A half-closed session that the server still answers: give it until quiet, then reset.
  socket.destroy();
  return Buffer.concat(chunks);
}
