import test from 'ava';
import fc from 'fast-check';
import {
  HOLDER_SUFFIX,
  isLockId,
  LOCK_SUFFIX,
  lockIdFromEntry,
  lockIdOf,
  SETTINGS_FILE,
} from '../../src/locks/lock-names.js';

const HEX40 = /^[0-9a-f]{40}$/;

test('lockIdOf is the first 40 hex digits of the SHA-256 of the key (same on every host)', (t) => {
  // Published SHA-256 test vectors, so the id does not depend on this implementation's own output.
  t.is(lockIdOf(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4');
  t.is(lockIdOf('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a3');
  t.is(lockIdOf('docs/a.bin'), '072f97a2a69dc126537f2a0bc1592ff8c46d956e');
});

test('lockIdOf is stable and always 40 lowercase hex digits', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (key) => {
      const id = lockIdOf(key);
      return HEX40.test(id) && lockIdOf(key) === id && isLockId(id);
    }),
  );
  t.pass();
});

test('lockIdOf differs for different keys', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ maxLength: 60 }), (a, b) => {
      fc.pre(a !== b);
      return lockIdOf(a) !== lockIdOf(b);
    }),
  );
  const near = ['a', 'A', 'a/b', 'a/b/', 'a//b', 'b/a', 'a ', ' a', 'docs/a.bin', 'docs/a.bin.lock'];
  t.is(new Set(near.map(lockIdOf)).size, near.length);
});

test('lockIdOf handles very long, very deep and non-ASCII keys', (t) => {
  const keys = [
    'x'.repeat(100_000),
    Array.from({ length: 2_000 }, (_, i) => `d${i}`).join('/'),
    '日本語/ファイル名.txt',
    'Ünïcödé/naïve café.bin',
    '🦀/🐝/🍯.bin',
    'tab\there/new\nline',
    'e\u0301', // NFD é: a different name from NFC é on Linux, so a different lock
    '\u00e9',
  ];
  const ids = keys.map(lockIdOf);
  for (const id of ids) t.regex(id, HEX40);
  t.is(new Set(ids).size, keys.length);
  // The entries fit any filesystem's name limit however long the key is.
  for (const id of ids) t.true(`${id}${HOLDER_SUFFIX}`.length < 64);
});

test('lockIdFromEntry accepts only <40 hex>.lock', (t) => {
  const id = lockIdOf('docs/a.bin');
  t.is(lockIdFromEntry(`${id}${LOCK_SUFFIX}`), id);
  t.is(lockIdFromEntry(`${'0'.repeat(40)}.lock`), '0'.repeat(40));

  const rejected = [
    `${id}${HOLDER_SUFFIX}`,
    id,
    `${id}.lock.tmp`,
    `${id}.LOCK`,
    `${id.toUpperCase()}.lock`,
    `${id.slice(1)}.lock`,
    `${id}0.lock`,
    `${id.slice(0, 39)}g.lock`,
    `x${id.slice(1)}.lock`,
    `.${id}.lock`,
    `${id} .lock`,
    `${id}.lock/`,
    '.lock',
    'a.lock',
    SETTINGS_FILE,
    '',
  ];
  for (const entry of rejected) t.is(lockIdFromEntry(entry), null, entry);
});

test('lockIdFromEntry(entry) is non-null exactly for ids of lockIdOf plus .lock', (t) => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 60 }),
      (key) => lockIdFromEntry(`${lockIdOf(key)}.lock`) === lockIdOf(key),
    ),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 50 }), (entry) => {
      const id = lockIdFromEntry(entry);
      return id === null || (HEX40.test(id) && entry === `${id}.lock`);
    }),
  );
  t.pass();
});

test('isLockId accepts 40 lowercase hex digits only', (t) => {
  t.true(isLockId('a'.repeat(40)));
  t.false(isLockId('a'.repeat(39)));
  t.false(isLockId('a'.repeat(41)));
  t.false(isLockId('A'.repeat(40)));
  t.false(isLockId(`${'a'.repeat(39)}\n`));
  t.false(isLockId(`${'a'.repeat(40)}\n`));
});
