import test from 'ava';
import fc from 'fast-check';
import { encodeField, encodeToken, splitOptions, type Token, tokenize } from '../../src/protocol/tokens.js';
import { anyName, bytes, name, RUNS, trickyName } from '../_helpers/protocol.js';

/** Tokenizes a UTF-8 string; fails the test when the tokenizer reports an error. */
function tokens(line: string | Buffer): Token[] {
  const result = tokenize(typeof line === 'string' ? bytes(line) : line);
  if (!result.ok) throw new Error(`unexpected tokenize error: ${result.reason}`);
  return result.tokens;
}

function values(line: string | Buffer): string[] {
  return tokens(line).map((t) => t.value);
}

function rejects(line: string | Buffer): string {
  const result = tokenize(typeof line === 'string' ? bytes(line) : line);
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.tokens)}`);
  return result.reason;
}

// --- bare tokens ---------------------------------------------------------------------------------

test('bare tokens split on spaces and tabs, any run of them', (t) => {
  t.deepEqual(values('UPLOAD a.txt 5'), ['UPLOAD', 'a.txt', '5']);
  t.deepEqual(values('  a \t\t b\t c   '), ['a', 'b', 'c']);
  t.deepEqual(values('one'), ['one']);
});

test('empty and blank lines have no tokens', (t) => {
  t.deepEqual(tokens(''), []);
  t.deepEqual(tokens('   \t  '), []);
});

test('a backslash in a bare token is an ordinary character', (t) => {
  t.deepEqual(values('a\\b \\x41 \\ \\n'), ['a\\b', '\\x41', '\\', '\\n']);
});

test('bare tokens carry non-ASCII UTF-8 as is', (t) => {
  t.deepEqual(values('résumé 日本.txt 😀'), ['résumé', '日本.txt', '😀']);
});

test('bare tokens have no key unless they look like key=value', (t) => {
  t.deepEqual(tokens('plain'), [{ value: 'plain' }]);
});

// --- quoted tokens and escapes -------------------------------------------------------------------

test('quoted tokens keep spaces and tabs-as-escapes; "" is the empty string', (t) => {
  t.deepEqual(values('"my file.txt" ""'), ['my file.txt', '']);
  t.deepEqual(values('""'), ['']);
  t.deepEqual(values('"a  b" c'), ['a  b', 'c']);
});

test('every escape of the quoting rule decodes to its byte', (t) => {
  t.deepEqual(values('"a\\\\b"'), ['a\\b']);
  t.deepEqual(values('"say \\"hi\\""'), ['say "hi"']);
  t.deepEqual(values('"l1\\nl2"'), ['l1\nl2']);
  t.deepEqual(values('"cr\\r"'), ['cr\r']);
  t.deepEqual(values('"\\tx"'), ['\tx']);
  t.deepEqual(values('"\\x41\\x62"'), ['Ab']);
  t.deepEqual(values('"\\x00"'), ['\x00']);
  t.deepEqual(values('"\\x7f\\x1F"'), ['\x7f\x1f']);
});

test('\\xHH accepts both hex cases and can spell multi-byte UTF-8', (t) => {
  t.deepEqual(values('"\\xc3\\xa9"'), ['é']);
  t.deepEqual(values('"\\xC3\\xA9"'), ['é']);
  t.deepEqual(values('"\\xe6\\x97\\xa5"'), ['日']);
  t.deepEqual(values('"\\xf0\\x9f\\x98\\x80"'), ['😀']);
});

test('the documented example token decodes', (t) => {
  t.deepEqual(values('UPLOAD "my report \\"final\\".pdf" 1024'), ['UPLOAD', 'my report "final".pdf', '1024']);
});

test('unknown or incomplete escapes are errors', (t) => {
  for (const line of [
    '"\\a"',
    '"\\0"',
    '"\\u0041"',
    '"\\x4"',
    '"\\xg0"',
    '"\\x0g"',
    '"\\x"',
    '"abc\\',
    '"\\',
  ]) {
    t.notThrows(() => rejects(line), line);
  }
});

test('unterminated quotes are errors', (t) => {
  for (const line of ['"abc', 'a "b', '"', 'k="abc', '"abc\\"', 'x "a b']) {
    t.regex(rejects(line), /quote|escape/, line);
  }
});

test('quotes in the middle of a token, or text after a closing quote, are errors', (t) => {
  for (const line of ['ab"c"', '"a"b', '"a""b"', '"k"=v', 'k="v"w', 'k=v"w"', 'a"']) {
    t.notThrows(() => rejects(line), line);
  }
});

// --- options -------------------------------------------------------------------------------------

test('key=value tokens become options, value bare or quoted', (t) => {
  t.deepEqual(tokens('checksum=sha256'), [{ key: 'checksum', value: 'sha256' }]);
  t.deepEqual(tokens('msg="no such file"'), [{ key: 'msg', value: 'no such file' }]);
  t.deepEqual(tokens('msg="a\\"b\\nc"'), [{ key: 'msg', value: 'a"b\nc' }]);
  t.deepEqual(tokens('k='), [{ key: 'k', value: '' }]);
  t.deepEqual(tokens('k=""'), [{ key: 'k', value: '' }]);
  t.deepEqual(tokens('max-line=16384'), [{ key: 'max-line', value: '16384' }]);
  t.deepEqual(tokens('a=b=c'), [{ key: 'a', value: 'b=c' }]);
  t.deepEqual(tokens('a=b="c d"'), [{ key: 'a', value: 'b=c d' }]);
});

test('a fully quoted "a=b" is positional, not an option', (t) => {
  t.deepEqual(tokens('"a=b"'), [{ value: 'a=b' }]);
  t.deepEqual(tokens('"checksum=sha256"'), [{ value: 'checksum=sha256' }]);
});

test('only lower-case word keys make options', (t) => {
  t.deepEqual(tokens('K=v'), [{ value: 'K=v' }]);
  t.deepEqual(tokens('1a=v'), [{ value: '1a=v' }]);
  t.deepEqual(tokens('=v'), [{ value: '=v' }]);
  t.deepEqual(tokens('-a=v'), [{ value: '-a=v' }]);
  t.deepEqual(tokens('é=v'), [{ value: 'é=v' }]);
  t.deepEqual(tokens('a.b=v'), [{ value: 'a.b=v' }]);
  t.deepEqual(tokens('a-1=v'), [{ key: 'a-1', value: 'v' }]);
});

test('splitOptions separates positionals from options, last duplicate wins', (t) => {
  const { positional, options } = splitOptions(tokens('UPLOAD "a b" 5 checksum=sha256 x=1 x=2'));
  t.deepEqual(positional, ['UPLOAD', 'a b', '5']);
  t.deepEqual(
    [...options],
    [
      ['checksum', 'sha256'],
      ['x', '2'],
    ],
  );
});

// --- rejected bytes ------------------------------------------------------------------------------

test('invalid UTF-8 is an error, bare, quoted, via \\x, or in an option value', (t) => {
  const cases: Buffer[] = [
    Buffer.from([0xff]),
    Buffer.from([0x61, 0xc3]), // truncated sequence
    Buffer.from([0xc0, 0xaf]), // overlong '/'
    Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate encoded in UTF-8
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
    Buffer.concat([bytes('"a '), Buffer.from([0xfe]), bytes('"')]),
    Buffer.concat([bytes('k='), Buffer.from([0x80])]),
    bytes('"\\xff"'),
    bytes('"\\xc3"'),
    bytes('ok "\\xed\\xa0\\x80"'),
  ];
  for (const line of cases) t.regex(rejects(line), /UTF-8/, line.toString('hex'));
});

test('raw control characters are errors, bare or quoted', (t) => {
  for (const byte of [0x00, 0x01, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f]) {
    t.regex(rejects(Buffer.from([0x61, byte, 0x62])), /control/, `bare 0x${byte.toString(16)}`);
    t.regex(rejects(Buffer.from([0x22, byte, 0x22])), /control/, `quoted 0x${byte.toString(16)}`);
  }
  // A raw tab separates tokens outside quotes, but is a control character inside them.
  t.deepEqual(values(Buffer.from('a\tb')), ['a', 'b']);
  t.regex(rejects(Buffer.from('"a\tb"')), /control/);
});

test('tokenize never throws, whatever the bytes', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (line) => {
      const result = tokenize(line);
      return result.ok ? Array.isArray(result.tokens) : typeof result.reason === 'string';
    }),
    RUNS,
  );
  t.pass();
});

// --- encodeToken ---------------------------------------------------------------------------------

test('encodeToken leaves plain tokens bare, non-ASCII included', (t) => {
  for (const s of ['a.txt', 'docs/a.bin', 'résumé', '日本.txt', '😀', 'a-b_c', "it's", '/', '..', '-1']) {
    t.is(encodeToken(s), s);
  }
});

test('encodeToken quotes empty strings and every special character', (t) => {
  t.is(encodeToken(''), '""');
  t.is(encodeToken('a b'), '"a b"');
  t.is(encodeToken('a\tb'), '"a\\tb"');
  t.is(encodeToken('a"b'), '"a\\"b"');
  t.is(encodeToken('a=b'), '"a=b"');
  t.is(encodeToken('a\\b'), '"a\\\\b"');
  t.is(encodeToken('a\nb'), '"a\\nb"');
  t.is(encodeToken('a\rb'), '"a\\rb"');
  t.is(encodeToken('\x00'), '"\\x00"');
  t.is(encodeToken('\x1b'), '"\\x1b"');
  t.is(encodeToken('\x7f'), '"\\x7f"');
});

test('encodeField writes key=value with the value quoted as needed', (t) => {
  t.is(encodeField('size', 11), 'size=11');
  t.is(encodeField('msg', 'no such file'), 'msg="no such file"');
  t.deepEqual(tokens(encodeField('msg', 'a=b "c"\n')), [{ key: 'msg', value: 'a=b "c"\n' }]);
});

// --- names: non-ASCII, normalization -------------------------------------------------------------

const NAMES = [
  'résumé ü 日本.txt',
  '📁 fotos 🎉.jpg',
  '👩‍👩‍👧 family', // ZWJ sequence
  '🏳️‍🌈',
  'Ωμέγα',
  'עברית.txt',
  'a\u00a0b', // no-break space
  '\u200b', // zero-width space
  '\ufeffbom',
  'tab\there',
  'quote " and \\ and = all',
];

test('names with spaces and non-ASCII characters survive encode + tokenize byte for byte', (t) => {
  for (const s of NAMES) {
    const encoded = encodeToken(s);
    t.deepEqual(tokens(encoded), [{ value: s }], s);
    t.true(bytes(tokens(encoded)[0]?.value ?? '').equals(bytes(s)), s);
  }
});

test('names differing only by Unicode normalization stay distinct byte for byte', (t) => {
  const nfc = 'caf\u00e9 r\u00e9sum\u00e9.txt';
  const nfd = nfc.normalize('NFD');
  t.not(nfc, nfd);
  t.is(nfc.normalize('NFD'), nfd.normalize('NFD')); // same text to a person
  for (const s of [nfc, nfd]) {
    const decoded = tokens(encodeToken(s))[0]?.value ?? '';
    t.is(decoded, s);
    t.true(bytes(decoded).equals(bytes(s)));
  }
  // The raw wire bytes are not normalized either, in either direction.
  const fromNfd = tokens(Buffer.concat([bytes('"'), bytes(nfd), bytes('"')]))[0]?.value;
  const fromNfc = tokens(Buffer.concat([bytes('"'), bytes(nfc), bytes('"')]))[0]?.value;
  t.is(fromNfd, nfd);
  t.is(fromNfc, nfc);
  t.not(fromNfd, fromNfc);
  t.deepEqual(values(`${encodeToken('\u00c5')} ${encodeToken('A\u030a')} ${encodeToken('\u212b')}`), [
    '\u00c5',
    'A\u030a',
    '\u212b',
  ]);
});

// --- mirror properties ---------------------------------------------------------------------------

test('mirror: tokenize(encodeToken(s)) is exactly [s], and never contains CR or LF', (t) => {
  fc.assert(
    fc.property(fc.oneof(anyName, trickyName, fc.string({ unit: 'binary-ascii' })), (s) => {
      const encoded = encodeToken(s);
      if (encoded.includes('\n') || encoded.includes('\r')) return false;
      const result = tokenize(bytes(encoded));
      return (
        result.ok &&
        result.tokens.length === 1 &&
        result.tokens[0]?.key === undefined &&
        result.tokens[0]?.value === s
      );
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('mirror: a line of several encoded tokens and fields tokenizes back to them', (t) => {
  fc.assert(
    fc.property(
      fc.array(name, { maxLength: 6 }),
      fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), name), { maxLength: 4 }),
      fc.constantFrom(' ', '  ', '\t', ' \t '),
      (positionals, fields, sep) => {
        const line = [...positionals.map(encodeToken), ...fields.map(([k, v]) => encodeField(k, v))].join(
          sep,
        );
        t.false(/[\r\n]/.test(line));
        t.deepEqual(tokens(line), [
          ...positionals.map((value) => ({ value })),
          ...fields.map(([key, value]) => ({ key, value })),
        ]);
      },
    ),
    RUNS,
  );
});
