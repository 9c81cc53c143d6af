// Keeps docs/PROTOCOL.md and the code in step: error codes, verbs, limits, and the examples.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ERROR_CODES, FilehiveError, fromErrno, isErrorCode } from '../../src/errors.js';
import { CHECKSUM_ALGORITHMS } from '../../src/protocol/checksum.js';
import {
  MAX_LINE_BYTES,
  PROTOCOL,
  parseReply,
  parseRequest,
  parseSize,
  VERBS,
} from '../../src/protocol/messages.js';
import { bytes } from '../_helpers/protocol.js';

const DOC = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');

/** The body of the `## title` section, up to the next `## ` heading. */
function section(title: string): string {
  const start = DOC.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/PROTOCOL.md has no section "${title}"`);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** The codes in the first column of the error table. */
function documentedCodes(): string[] {
  return [...section('Errors').matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1] as string);
}

test('every error code is in the error table of docs/PROTOCOL.md, and nothing else is', (t) => {
  const documented = documentedCodes();
  t.true(documented.length > 0);
  for (const code of Object.keys(ERROR_CODES)) t.true(documented.includes(code), `${code} is not documented`);
  for (const code of documented) t.true(isErrorCode(code), `${code} is documented but not in ERROR_CODES`);
  t.is(new Set(documented).size, documented.length, 'a code is listed twice');
});

test('every verb is documented in the Commands section', (t) => {
  const commands = section('Commands');
  // As a heading, a `request` in the table, or a client line of an example.
  for (const verb of VERBS) {
    t.regex(commands, new RegExp(`(?:^### |^C: |· |\`)${verb}\\b`, 'm'), `${verb} is not documented`);
  }
});

test('the documented limits match the code', (t) => {
  const limits = section('Lines and tokens');
  t.true(limits.includes(`at most **${MAX_LINE_BYTES} bytes** including the newline`));
  const digits = Number(/at most (\d+) digits/.exec(limits)?.[1]);
  t.true(Number.isInteger(digits));
  t.not(parseSize('1'.repeat(digits)), null, `a ${digits}-digit size is refused`);
  t.is(parseSize('1'.repeat(digits + 1)), null, `a ${digits + 1}-digit size is accepted`);
  t.true(limits.includes('2^53 - 1'));
  t.is(parseSize(String(2 ** 53 - 1)), 2 ** 53 - 1);
});

test('the documented greeting matches the code', (t) => {
  const line = /^HELLO .*$/m.exec(DOC)?.[0];
  t.truthy(line);
  const hello = parseReply(bytes(line ?? ''));
  if (!hello.ok) return t.fail(hello.message);
  t.is(hello.value.fields.get('proto'), PROTOCOL);
  t.is(hello.value.fields.get('checksums'), CHECKSUM_ALGORITHMS.join(','));
  t.is(hello.value.fields.get('max-line'), String(MAX_LINE_BYTES));
});

test('every C: and S: line of the examples parses', (t) => {
  const lines = [...DOC.matchAll(/^([CS]): (.*)$/gm)].filter((m) => !(m[2] as string).startsWith('<'));
  t.true(lines.length >= 10);
  for (const [, side, text] of lines) {
    const result = side === 'C' ? parseRequest(bytes(text as string)) : parseReply(bytes(text as string));
    t.true(result.ok, `${side}: ${text}`);
  }
  const example = /^Example: `(.*)`$/m.exec(DOC)?.[1];
  t.truthy(example);
  const parsed = parseRequest(bytes(example ?? ''));
  t.deepEqual(
    parsed.ok && parsed.value.verb === 'UPLOAD' ? parsed.value.path : null,
    'my report "final".pdf',
  );
});

test('FilehiveError defaults its message from the table', (t) => {
  for (const code of Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>) {
    const err = new FilehiveError(code);
    t.is(err.code, code);
    t.is(err.message, ERROR_CODES[code]);
  }
  t.is(fromErrno(Object.assign(new Error('x'), { code: 'ENOENT' })).code, 'NOT_FOUND');
  t.is(fromErrno(new Error('weird')).code, 'INTERNAL');
  t.is(fromErrno(new Error('weird')).message, ERROR_CODES.INTERNAL); // no system text leaks
});
