// The users file format: parse and serialize round trip, and every bad line reported with its number.
import test from 'ava';
import { formatScryptHash, parseScryptHash, type ScryptHash } from '../../src/accounts/password-hash.js';
import {
  formatUserLine,
  isServedByRoot,
  normalizeHome,
  parseUsersFile,
  serializeUsersFile,
  type UserEntry,
} from '../../src/accounts/users-file.js';

const hash = (seed: number): ScryptHash => ({
  N: 2 ** 15,
  r: 8,
  p: 1,
  salt: Buffer.alloc(16, seed),
  key: Buffer.alloc(32, seed + 1),
});

const USERS: UserEntry[] = [
  { name: 'alice', hash: hash(1), home: '/alice', access: 'read-write' },
  { name: 'bob.smith@example', hash: hash(2), home: '/team docs/"q"', access: 'read-only' },
  { name: 'root-1', hash: hash(3), home: '/', access: 'read-write' },
  { name: 'dan', hash: hash(4), home: '/日本 é', access: 'read-only' },
];

test('serialize then parse gives the same entries back', (t) => {
  const text = serializeUsersFile(USERS);
  t.true(text.startsWith('#'));
  const parsed = parseUsersFile(text);
  if (!parsed.ok) return t.fail(JSON.stringify(parsed.problems));
  t.deepEqual(parsed.users, USERS);
  t.is(serializeUsersFile(parsed.users), text);
});

test('a home with spaces and quotes is written in the protocol quoting', (t) => {
  t.regex(formatUserLine(USERS[1] as UserEntry), / home="\/team docs\/\\"q\\"" access=read-only$/);
});

test('defaults: home /NAME, access read-write; blank lines, comments and CRLF are fine', (t) => {
  const line = `carol hash=${formatScryptHash(hash(5))}`;
  const parsed = parseUsersFile(`\n# comment\n   \n${line}\r\n`);
  if (!parsed.ok) return t.fail(JSON.stringify(parsed.problems));
  t.like(parsed.users[0], { name: 'carol', home: '/carol', access: 'read-write' });
});

test('every bad line is reported with its line number', (t) => {
  const good = formatScryptHash(hash(1));
  const text = [
    '# users', // 1
    `alice hash=${good}`, // 2
    `alice hash=${good}`, // 3 duplicate
    `-bad hash=${good}`, // 4 bad name
    'bob', // 5 no hash
    `carol hash=${good} colour=blue`, // 6 unknown field
    `dave hash=${good} access=admin`, // 7 bad access
    `erin hash=${good} home=relative`, // 8 home must be absolute
    `frank hash=${good} home=/a/../../x`, // 9 home above the root
    `gina hash=${good} home=/.filehive/locks`, // 10 reserved name
    'hank hash=md5:abc', // 11 not scrypt
    'ivan hash="unterminated', // 12 tokenizer
    `judy hash=${good} extra`, // 13 stray positional
    `kate hash=${good}`, // 14 fine
  ].join('\n');
  const parsed = parseUsersFile(text);
  if (parsed.ok) return t.fail('bad file accepted');
  t.deepEqual(
    parsed.problems.map((p) => p.line),
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  );
  const byLine = new Map(parsed.problems.map((p) => [p.line, p.message]));
  t.regex(byLine.get(3) ?? '', /already defined on line 2/);
  t.regex(byLine.get(5) ?? '', /missing hash=/);
  t.regex(byLine.get(6) ?? '', /unknown field "colour"/);
  t.regex(byLine.get(9) ?? '', /bad home/);
  for (const message of byLine.values()) t.false(message.includes('\n'));
});

test('scrypt hashes: parameters are bounded so a users file cannot make a login cost unbounded memory', (t) => {
  const salt = Buffer.alloc(16).toString('base64url');
  const key = Buffer.alloc(32).toString('base64url');
  t.true(parseScryptHash(`scrypt:32768:8:1:${salt}:${key}`).ok);
  for (const text of [
    `scrypt:32767:8:1:${salt}:${key}`, // not a power of two
    `scrypt:512:8:1:${salt}:${key}`, // too cheap
    `scrypt:2097152:8:1:${salt}:${key}`, // 2^21
    `scrypt:1048576:32:1:${salt}:${key}`, // 4 GiB
    `scrypt:32768:8:0:${salt}:${key}`,
    `scrypt:32768:8:1:${salt}`,
    `scrypt:32768:8:1:AAAA:${key}`, // 3-byte salt
    `scrypt:32768:8:1:${salt}:AAAA`, // 3-byte key
    `scrypt:32768:8:1:${salt}:${key}=`, // padding is not base64url
    `scrypt:0x8000:8:1:${salt}:${key}`,
  ]) {
    t.false(parseScryptHash(text).ok, text);
  }
});

test('homes are normalized paths inside the root', (t) => {
  t.deepEqual(normalizeHome('/a//b/./c/'), { ok: true, home: '/a/b/c' });
  t.deepEqual(normalizeHome('/'), { ok: true, home: '/' });
  t.false(normalizeHome('a').ok);
  t.false(normalizeHome('/..').ok);
  t.false(normalizeHome('/x/.FileHive-tmp').ok);
  t.false(normalizeHome('/a\0b').ok);
});

test('a users file inside the root is served to clients, unless below a reserved name', (t) => {
  t.true(isServedByRoot('/srv/root/users', '/srv/root'));
  t.true(isServedByRoot('/srv/root/alice/users', '/srv/root/'));
  t.false(isServedByRoot('/srv/root/.filehive/users', '/srv/root'));
  t.false(isServedByRoot('/srv/root/a/.FileHive-x/users', '/srv/root'));
  t.false(isServedByRoot('/srv/root-users', '/srv/root'));
  t.false(isServedByRoot('/etc/filehive/users', '/srv/root'));
});
