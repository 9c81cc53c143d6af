// The exit-code table: the code, --help, README.md and docs/CLIENT.md say the same, and errors map
// to the statuses the table promises.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { formatUsage } from '../../src/client/cli-help.js';
import { CLIENT_ERROR_CODES, FilehiveClientError } from '../../src/client/errors.js';
import { EXIT_CODES, exitCodeFor, markCutOff } from '../../src/client/exit-codes.js';
import { ERROR_CODES } from '../../src/errors.js';

interface Row {
  status: number;
  meaning: string;
  codes: string[];
}

/** The rows of the markdown table under `## Exit codes` (CLIENT.md) or after `Exit status` (README). */
function tableRows(path: string, after: string): Row[] {
  const text = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
  const start = text.indexOf(after);
  if (start < 0) throw new Error(`${path} has no "${after}"`);
  const rows: Row[] = [];
  for (const line of text.slice(start).split('\n').slice(1)) {
    const m = /^\| (\d+) \| (.+?) \| ?(.*?) ?\|$/.exec(line);
    if (m) {
      const codes = [...(m[3] as string).matchAll(/`([A-Z_]+)`/g)].map((c) => c[1] as string);
      rows.push({ status: Number(m[1]), meaning: m[2] as string, codes });
    } else if (rows.length > 0) break;
  }
  return rows;
}

const expected: Row[] = EXIT_CODES.map((row) => ({ ...row, codes: [...row.codes] }));

test('docs/CLIENT.md has the exit-code table of the code', (t) => {
  t.deepEqual(tableRows('docs/CLIENT.md', '## Exit codes'), expected);
});

test('README.md has the exit-code table of the code', (t) => {
  t.deepEqual(tableRows('README.md', 'Exit status (the same in'), expected);
});

test('--help prints every status with its meaning and codes', (t) => {
  const usage = formatUsage();
  const section = usage.slice(usage.indexOf('Exit status'), usage.indexOf('\nExamples:'));
  // Undo the wrapping: continuation lines start with spaces only.
  const flat = section.replace(/\n {6}(?=\S)/g, ' ');
  for (const row of EXIT_CODES) {
    const codes = row.codes.length > 0 ? ` [${row.codes.join(', ')}]` : '';
    t.true(flat.includes(`${String(row.status).padStart(2)}  ${row.meaning}${codes}\n`), String(row.status));
  }
});

test('every code in the table is a code a caller can see; statuses are 0-10 in order', (t) => {
  t.deepEqual(
    EXIT_CODES.map((r) => r.status),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  const known = new Set([...Object.keys(ERROR_CODES), ...Object.keys(CLIENT_ERROR_CODES)]);
  const listed = EXIT_CODES.flatMap((r) => r.codes);
  for (const code of listed) t.true(known.has(code), code);
  t.is(new Set(listed).size, listed.length, 'a code is in two rows');
});

const statusOf = (code: string, cause?: unknown) =>
  exitCodeFor(new FilehiveClientError(code, undefined, cause === undefined ? undefined : { cause }));

test('errors map to their status', (t) => {
  t.is(statusOf('USAGE'), 2);
  t.is(statusOf('CONNECT_FAILED'), 3);
  t.is(statusOf('CONNECTION_LOST'), 3);
  t.is(statusOf('NOT_CONNECTED'), 3);
  t.is(statusOf('TIMEOUT'), 3);
  t.is(statusOf('AUTH_FAILED'), 4);
  t.is(statusOf('BANNED'), 4);
  t.is(statusOf('NOT_FOUND'), 5);
  t.is(statusOf('BUSY'), 6);
  t.is(statusOf('TOO_MANY_CONNECTIONS'), 6);
  t.is(statusOf('CHECKSUM_MISMATCH'), 7);
  t.is(statusOf('PARTIAL'), 8);
  t.is(statusOf('TOO_LARGE'), 9);
  t.is(statusOf('NO_SPACE'), 9);
  t.is(statusOf('SHUTTING_DOWN'), 10);
  t.is(statusOf('INTERNAL'), 10);
  for (const code of ['EXISTS', 'READ_ONLY', 'BAD_PATH', 'CANCELLED', 'UNSUPPORTED', 'SOMETHING_NEWER']) {
    t.is(statusOf(code), 1, code);
  }
  t.is(exitCodeFor(new Error('a bug')), 1);
});

test('a missing local file is not found; another local error is 1', (t) => {
  const enoent = Object.assign(new Error('x'), { code: 'ENOENT' });
  const eacces = Object.assign(new Error('x'), { code: 'EACCES' });
  t.is(statusOf('LOCAL_ERROR', enoent), 5);
  t.is(statusOf('LOCAL_ERROR', eacces), 1);
  t.is(statusOf('LOCAL_ERROR'), 1);
});

test('a lost connection that cut a transfer off is partial (8)', (t) => {
  for (const code of ['CONNECTION_LOST', 'TIMEOUT']) {
    const err = new FilehiveClientError(code);
    markCutOff(err);
    t.is(exitCodeFor(err), 8, code);
  }
  // Only those codes: a NOT_FOUND is still 5.
  const missing = new FilehiveClientError('NOT_FOUND');
  markCutOff(missing);
  t.is(exitCodeFor(missing), 5);
});
