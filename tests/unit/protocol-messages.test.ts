import test from 'ava';
import fc from 'fast-check';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { DEFAULT_CHECKSUM } from '../../src/protocol/checksum.js';
import {
  encodeError,
  encodeReply,
  encodeRequest,
  MAX_SIZE,
  parseReply,
  parseRequest,
  parseSize,
  type Request,
  VERBS,
} from '../../src/protocol/messages.js';
import { bytes, name, protocolNoise, RUNS, request, stripNewline } from '../_helpers/protocol.js';

function parsed(line: string | Buffer): Request {
  const result = parseRequest(typeof line === 'string' ? bytes(line) : line);
  if (!result.ok)
    throw new Error(`unexpected parse error for ${JSON.stringify(String(line))}: ${result.message}`);
  return result.value;
}

function refused(line: string | Buffer): string {
  const result = parseRequest(typeof line === 'string' ? bytes(line) : line);
  if (result.ok)
    throw new Error(
      `expected BAD_REQUEST for ${JSON.stringify(String(line))}, got ${JSON.stringify(result.value)}`,
    );
  if (result.code !== 'BAD_REQUEST') throw new Error(`expected BAD_REQUEST, got ${result.code}`);
  return result.message;
}

/** Encodes then parses, checking the line shape on the way. */
function mirror(r: Request): Request {
  const line = encodeRequest(r);
  if (line.indexOf('\n') !== line.length - 1 || line.includes('\r')) {
    throw new Error(`encoded request is not one line: ${JSON.stringify(line)}`);
  }
  return parsed(stripNewline(line));
}

// --- parseRequest: every verb --------------------------------------------------------------------

const FIXTURES: Array<[string, Request]> = [
  [
    'UPLOAD docs/a.bin 11 checksum=xxh3-64',
    { verb: 'UPLOAD', path: 'docs/a.bin', size: 11, checksum: 'xxh3-64' },
  ],
  ['UPLOAD a 0 checksum=sha256', { verb: 'UPLOAD', path: 'a', size: 0, checksum: 'sha256' }],
  ['UPLOAD a 11', { verb: 'UPLOAD', path: 'a', size: 11, checksum: DEFAULT_CHECKSUM }],
  ['UPLOAD a 11 go=yes', { verb: 'UPLOAD', path: 'a', size: 11, checksum: DEFAULT_CHECKSUM }],
  ['UPLOAD a 11 go=no', { verb: 'UPLOAD', path: 'a', size: 11, checksum: DEFAULT_CHECKSUM, immediate: true }],
  [
    'UPLOAD "my report \\"final\\".pdf" 1024',
    { verb: 'UPLOAD', path: 'my report "final".pdf', size: 1024, checksum: DEFAULT_CHECKSUM },
  ],
  [
    `UPLOAD a 11 resume=yes offset=4 sha256=${'ab'.repeat(32)}`,
    {
      verb: 'UPLOAD',
      path: 'a',
      size: 11,
      checksum: DEFAULT_CHECKSUM,
      resume: { offset: 4, sha256: 'ab'.repeat(32) },
    },
  ],
  ['DOWNLOAD docs/a.bin', { verb: 'DOWNLOAD', path: 'docs/a.bin', checksum: DEFAULT_CHECKSUM }],
  [
    `DOWNLOAD a offset=4 sha256=${'ab'.repeat(32)}`,
    {
      verb: 'DOWNLOAD',
      path: 'a',
      checksum: DEFAULT_CHECKSUM,
      resume: { offset: 4, sha256: 'ab'.repeat(32) },
    },
  ],
  ['PARTIAL "big file.iso" 67108864', { verb: 'PARTIAL', path: 'big file.iso', size: 67108864 }],
  ['DOWNLOAD "a b" checksum=sha256', { verb: 'DOWNLOAD', path: 'a b', checksum: 'sha256' }],
  ['DELETE /f', { verb: 'DELETE', path: '/f' }],
  ['MKDIR new', { verb: 'MKDIR', path: 'new' }],
  ['RMDIR old', { verb: 'RMDIR', path: 'old' }],
  ['CHDIR ..', { verb: 'CHDIR', path: '..' }],
  ['DIR', { verb: 'DIR', path: '.' }],
  ['DIR docs', { verb: 'DIR', path: 'docs' }],
  ['DIR ""', { verb: 'DIR', path: '' }],
  ['MOVE a b/a', { verb: 'MOVE', from: 'a', to: 'b/a' }],
  ['MOVE "x y" "z=w"', { verb: 'MOVE', from: 'x y', to: 'z=w' }],
  ['PWD', { verb: 'PWD' }],
  ['NOOP', { verb: 'NOOP' }],
  ['QUIT', { verb: 'QUIT' }],
  ['LOGIN alice "pass word=\\\\x"', { verb: 'LOGIN', user: 'alice', password: 'pass word=\\x' }],
  ['login bob ""', { verb: 'LOGIN', user: 'bob', password: '' }],
  ['CHECKSUM xxh3-64:5e0b4e4e1b4f1d20', { verb: 'CHECKSUM', algorithm: 'xxh3-64', hex: '5e0b4e4e1b4f1d20' }],
  [`CHECKSUM sha256:${'ab'.repeat(32)}`, { verb: 'CHECKSUM', algorithm: 'sha256', hex: 'ab'.repeat(32) }],
  ['  NOOP  \t', { verb: 'NOOP' }],
  ['"PWD"', { verb: 'PWD' }],
  ['DELETE "résumé ü 日本.txt"', { verb: 'DELETE', path: 'résumé ü 日本.txt' }],
  ['DELETE "\\xc3\\xa9"', { verb: 'DELETE', path: 'é' }],
];

test('parseRequest reads every verb', (t) => {
  for (const [line, expected] of FIXTURES) t.deepEqual(parsed(line), expected, line);
  const seen = new Set(FIXTURES.map(([, r]) => r.verb));
  t.deepEqual([...VERBS].sort(), [...seen].sort());
});

test('verbs are case-insensitive', (t) => {
  t.deepEqual(parsed('upload a 1'), { verb: 'UPLOAD', path: 'a', size: 1, checksum: DEFAULT_CHECKSUM });
  t.deepEqual(parsed('Dir'), { verb: 'DIR', path: '.' });
  t.deepEqual(parsed('mOvE a b'), { verb: 'MOVE', from: 'a', to: 'b' });
  t.deepEqual(parsed(`checksum sha256:${'0'.repeat(64)}`), {
    verb: 'CHECKSUM',
    algorithm: 'sha256',
    hex: '0'.repeat(64),
  });
  for (const verb of VERBS) {
    const lower = parseRequest(bytes(verb.toLowerCase()));
    const upper = parseRequest(bytes(verb));
    t.deepEqual(lower, upper, verb);
  }
});

test('only ASCII letters fold: Unicode case mappings do not make verbs', (t) => {
  // 'ı' (dotless i) and 'ſ' (long s) upper-case to I and S; the Kelvin sign lower-cases to k.
  for (const line of [
    'dır',
    'quıt',
    'rmdır x',
    `checkſum sha256:${'0'.repeat(64)}`,
    'DIR\u0130',
    'PWD\u200b',
    'ＰＷＤ',
  ]) {
    t.is(refused(line), 'unknown command', line);
  }
});

test('option keys are case-sensitive: CHECKSUM=sha256 is a positional', (t) => {
  t.regex(refused('DOWNLOAD a CHECKSUM=sha256'), /number of arguments/);
});

test('unknown verbs and lines without a verb are BAD_REQUEST', (t) => {
  for (const line of ['LIST', 'GET a', 'UPLOADX a 1', 'UP LOAD', '"UPLOAD a 1"', '""', 'HELLO', 'OK']) {
    t.is(refused(line), 'unknown command', line);
  }
  for (const line of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    t.is(refused(line), 'unknown command', line);
  }
  t.is(refused(''), 'empty line');
  t.is(refused(' \t '), 'empty line');
  t.regex(refused('checksum=sha256 UPLOAD a 1'), /command/);
});

test('wrong argument counts are BAD_REQUEST for every verb', (t) => {
  const cases = [
    'UPLOAD',
    'UPLOAD a',
    'UPLOAD a 1 2',
    'DOWNLOAD',
    'DOWNLOAD a b',
    'DELETE',
    'DELETE a b',
    'MKDIR',
    'MKDIR a b',
    'RMDIR',
    'RMDIR a b',
    'CHDIR',
    'CHDIR a b',
    'DIR a b',
    'MOVE',
    'MOVE a',
    'MOVE a b c',
    'PWD x',
    'NOOP x',
    'QUIT now',
    'CHECKSUM',
    'CHECKSUM sha256:00 sha256:00',
    'DELETE a=b', // an unquoted a=b is an option, not a path
  ];
  for (const line of cases) t.regex(refused(line), /wrong number of arguments/, line);
  t.deepEqual(parsed('DELETE "a=b"'), { verb: 'DELETE', path: 'a=b' });
});

test('unknown options are BAD_REQUEST', (t) => {
  const cases = [
    'UPLOAD a 1 foo=bar',
    'UPLOAD a 1 checksum=sha256 mode=x',
    'DOWNLOAD a size=1',
    'DELETE a checksum=sha256',
    'MKDIR a p=1',
    'RMDIR a force=1',
    'CHDIR a x=',
    'DIR a all=1',
    'DIR long=1',
    'MOVE a b overwrite=yes',
    'PWD x=y',
    'NOOP x=y',
    'QUIT x=y',
    'CHECKSUM sha256:00 x=y',
  ];
  for (const line of cases) t.regex(refused(line), /unknown option/, line);
});

test('bad sizes are BAD_REQUEST', (t) => {
  const bad = [
    '-1',
    '+5',
    '1.5',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    '١٢',
    '12345678901234567', // 17 digits
    '9007199254740992', // 2^53
    '9007199254740993',
    '9999999999999999',
    'Infinity',
    'NaN',
  ];
  for (const size of bad) {
    t.is(parseSize(size), null, size);
    t.regex(refused(`UPLOAD a ${JSON.stringify(size)}`), /size/, size);
  }
  t.is(parseSize(''), null);
  t.regex(refused('UPLOAD a ""'), /size/);
  t.regex(refused('UPLOAD a -1'), /size/);
  t.regex(refused('UPLOAD a +5'), /size/);
});

test('good sizes: plain decimal up to 2^53 - 1, leading zeros allowed up to 16 digits', (t) => {
  t.is(parseSize('0'), 0);
  t.is(parseSize('11'), 11);
  t.is(parseSize('007'), 7);
  t.is(parseSize('123456789012345'), 123456789012345);
  t.is(parseSize(String(MAX_SIZE)), MAX_SIZE);
  t.is(MAX_SIZE, 2 ** 53 - 1);
  t.is(parseSize('0000000000000001'), 1);
  t.is(parseSize('00000000000000001'), null);
  t.is(parsed(`UPLOAD a ${MAX_SIZE}`).verb, 'UPLOAD');
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => parseSize(String(n)) === n),
    RUNS,
  );
  fc.assert(
    fc.property(
      fc.bigInt({ min: BigInt(MAX_SIZE) + 1n, max: 10n ** 16n - 1n }),
      (n) => parseSize(String(n)) === null,
    ),
    RUNS,
  );
});

test('unsupported checksum algorithms are BAD_REQUEST', (t) => {
  for (const algo of ['md5', 'SHA256', 'sha-256', 'xxh3', 'XXH3-64', '""', 'sha256,xxh3-64']) {
    t.regex(refused(`UPLOAD a 1 checksum=${algo}`), /checksum algorithm/, algo);
    t.regex(refused(`DOWNLOAD a checksum=${algo}`), /checksum algorithm/, algo);
  }
  t.regex(refused('UPLOAD a 1 checksum='), /checksum algorithm/);
});

test('CHECKSUM takes ALGO:HEX with lower-case hex', (t) => {
  const bad = [
    'sha256',
    'sha256:',
    ':abcd',
    'md5:abcd',
    'SHA256:abcd',
    'xxh3-64:ABCD',
    'xxh3-64:abcg',
    `sha256:${'a'.repeat(129)}`,
    `sha256:${'a'.repeat(63)}`,
    'xxh3-64:00',
    'sha256:ab:cd',
    '"sha256:a b"',
  ];
  for (const arg of bad) t.regex(refused(`CHECKSUM ${arg}`), /ALGO:HEX/, arg);
  t.deepEqual(parsed(`CHECKSUM sha256:${'a'.repeat(64)}`), {
    verb: 'CHECKSUM',
    algorithm: 'sha256',
    hex: 'a'.repeat(64),
  });
});

test('malformed tokens make the request BAD_REQUEST with the tokenizer reason', (t) => {
  t.regex(refused('DELETE "abc'), /quote/);
  t.regex(refused(Buffer.from([0x44, 0x45, 0x4c, 0x20, 0xff])), /UTF-8/);
  t.regex(refused('NOOP\r'), /control/);
});

// --- encodeRequest / mirror ----------------------------------------------------------------------

test('encodeRequest writes one line ending in a newline', (t) => {
  t.is(encodeRequest({ verb: 'PWD' }), 'PWD\n');
  t.is(
    encodeRequest({ verb: 'UPLOAD', path: 'my file.txt', size: 5, checksum: 'sha256' }),
    'UPLOAD "my file.txt" 5 checksum=sha256\n',
  );
  t.is(
    encodeRequest({ verb: 'UPLOAD', path: 'f', size: 5, checksum: 'sha256', immediate: true }),
    'UPLOAD f 5 checksum=sha256 go=no\n',
  );
  t.is(encodeRequest({ verb: 'CHECKSUM', algorithm: 'xxh3-64', hex: '00ff' }), 'CHECKSUM xxh3-64:00ff\n');
  t.is(encodeRequest({ verb: 'MOVE', from: 'a\nb', to: '' }), 'MOVE "a\\nb" ""\n');
});

test('mirror: parseRequest(encodeRequest(r)) is r, for the fixtures', (t) => {
  for (const [line, r] of FIXTURES) t.deepEqual(mirror(r), r, line);
});

test('mirror: parseRequest(encodeRequest(r)) is r, for generated requests', (t) => {
  fc.assert(
    fc.property(request, (r) => {
      t.deepEqual(mirror(r), r);
    }),
    { numRuns: 1000 },
  );
});

test('mirror: also with a lower-case verb and other blanks around it', (t) => {
  fc.assert(
    fc.property(request, fc.constantFrom(' ', '\t', '  \t'), (r, sep) => {
      const line = encodeRequest(r).slice(0, -1);
      const space = line.indexOf(' ');
      const verb = space < 0 ? line : line.slice(0, space);
      const rest = space < 0 ? '' : line.slice(space);
      const args = rest === '' ? '' : `${sep}${rest.slice(1)}`;
      t.deepEqual(parsed(`${sep}${verb.toLowerCase()}${args}${sep}`), r);
    }),
    RUNS,
  );
});

test('parseRequest never throws on arbitrary bytes and always fails with BAD_REQUEST', (t) => {
  const check = (line: Uint8Array) => {
    const result = parseRequest(line);
    if (result.ok) return VERBS.includes(result.value.verb);
    return result.code === 'BAD_REQUEST' && result.message.length > 0;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { numRuns: 1000 });
  fc.assert(fc.property(protocolNoise, check), { numRuns: 1000 });
  t.pass();
});

// --- replies -------------------------------------------------------------------------------------

function reply(line: string) {
  const result = parseReply(stripNewline(line));
  if (!result.ok) throw new Error(`unexpected reply parse error: ${result.message}`);
  return result.value;
}

test('encodeReply writes STATUS and fields, numbers as decimal', (t) => {
  t.is(encodeReply('GO', { size: 11 }), 'GO size=11\n');
  t.is(encodeReply('OK', { msg: 'ok' }), 'OK msg=ok\n');
  t.is(encodeReply('OK'), 'OK\n');
  t.is(
    encodeReply('ENTRY', { type: 'file', size: 11, name: 'my file.txt' }),
    'ENTRY type=file size=11 name="my file.txt"\n',
  );
});

test('mirror: parseReply(encodeReply()) gives the status and the fields as strings', (t) => {
  const line = encodeReply('OK', {
    size: 11,
    checksum: 'xxh3-64:5e0b4e4e1b4f1d20',
    msg: 'stored /docs/a.bin',
  });
  const r = reply(line);
  t.is(r.status, 'OK');
  t.is(r.code, undefined);
  t.deepEqual(
    [...r.fields],
    [
      ['size', '11'],
      ['checksum', 'xxh3-64:5e0b4e4e1b4f1d20'],
      ['msg', 'stored /docs/a.bin'],
    ],
  );
  for (const status of ['HELLO', 'OK', 'GO', 'DATA', 'ENTRY'] as const) {
    t.is(reply(encodeReply(status, { a: 1 })).status, status);
  }
});

test('encodeError carries the code, fields, then msg last', (t) => {
  const line = encodeError('BUSY', 'locked by an upload', {
    holder: 'upload',
    since: '2026-11-25T10:00:00.000Z',
  });
  t.is(line, 'ERR BUSY holder=upload since=2026-11-25T10:00:00.000Z msg="locked by an upload"\n');
  const r = reply(line);
  t.is(r.status, 'ERR');
  t.is(r.code, 'BUSY');
  t.is(r.fields.get('holder'), 'upload');
  t.is(r.fields.get('msg'), 'locked by an upload');
});

test('mirror: every error code travels in ERR', (t) => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const r = reply(encodeError(code, ERROR_CODES[code]));
    t.is(r.status, 'ERR');
    t.is(r.code, code);
    t.is(r.fields.get('msg'), ERROR_CODES[code]);
  }
});

test('messages with quotes, newlines and control characters are escaped onto one line', (t) => {
  const msg = 'bad "name"\r\nsecond line\tand \\ backslash \x00 = end';
  for (const line of [encodeError('BAD_REQUEST', msg), encodeReply('OK', { msg })]) {
    t.is(line.indexOf('\n'), line.length - 1);
    t.false(line.includes('\r'));
    t.false(
      [...bytes(line.slice(0, -1))].some((b) => b < 0x20 || b === 0x7f),
      'a raw control byte',
    );
    t.is(reply(line).fields.get('msg'), msg);
  }
});

test('mirror: generated replies and errors', (t) => {
  const fields = fc.dictionary(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((k) => k !== 'msg'),
    fc.oneof(name, fc.maxSafeNat()),
    { maxKeys: 5 },
  );
  const status = fc.constantFrom(
    'HELLO' as const,
    'OK' as const,
    'GO' as const,
    'DATA' as const,
    'ENTRY' as const,
  );
  const code = fc.constantFrom(...(Object.keys(ERROR_CODES) as ErrorCode[]));
  const asStrings = (f: Record<string, string | number>) => Object.entries(f).map(([k, v]) => [k, String(v)]);
  fc.assert(
    fc.property(status, fields, (s, f) => {
      const line = encodeReply(s, f);
      t.false(/\r|\n(?!$)/.test(line));
      const r = reply(line);
      t.is(r.status, s);
      t.deepEqual([...r.fields], asStrings(f));
    }),
    RUNS,
  );
  fc.assert(
    fc.property(code, name, fields, (c, msg, f) => {
      const line = encodeError(c, msg, f);
      t.false(/\r|\n(?!$)/.test(line));
      const r = reply(line);
      t.is(r.code, c);
      t.deepEqual([...r.fields], [...asStrings(f), ['msg', msg]]);
    }),
    RUNS,
  );
});

test('parseReply reads the documented greeting and keeps unknown fields', (t) => {
  const r = reply(
    'HELLO proto=filehive/1 server="filehive 0.1.0" checksums=xxh3-64,sha256 max-line=16384 future-field=1\n',
  );
  t.is(r.status, 'HELLO');
  t.is(r.fields.get('proto'), 'filehive/1');
  t.is(r.fields.get('server'), 'filehive 0.1.0');
  t.is(r.fields.get('checksums'), 'xxh3-64,sha256');
  t.is(r.fields.get('max-line'), '16384');
  t.is(r.fields.get('future-field'), '1');
});

test('parseReply refuses unknown statuses, ERR without a code and malformed lines', (t) => {
  const bad = ['', 'ok msg=x', 'FOO', 'msg=x', 'ERR', 'ERR msg="no code"', 'OK msg="unterminated', '"OK"x'];
  for (const line of bad) {
    const result = parseReply(bytes(line));
    t.false(result.ok, line);
    if (!result.ok) {
      t.is(result.code, 'BAD_REQUEST');
      t.regex(result.message, /^malformed reply/);
    }
  }
});

test('parseReply never throws on arbitrary bytes', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), protocolNoise), (line) => {
      const result = parseReply(line);
      return result.ok || result.code === 'BAD_REQUEST';
    }),
    RUNS,
  );
  t.pass();
});
