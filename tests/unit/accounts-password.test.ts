// Password hashing and verification: scrypt with stored parameters, and the same work for unknown names.
import test from 'ava';
import { AccountStore } from '../../src/accounts/account-store.js';
import {
  DEFAULT_SCRYPT,
  formatScryptHash,
  hashPassword,
  parseScryptHash,
  type ScryptHash,
  verifyPassword,
} from '../../src/accounts/password-hash.js';
import type { UserEntry } from '../../src/accounts/users-file.js';

// Unit tests use the cheapest accepted cost; the parameters travel with each hash anyway.
const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

test('the right password verifies, a wrong one does not', async (t) => {
  const hash = await hashPassword('correct horse', CHEAP);
  t.true(await verifyPassword(hash, 'correct horse'));
  t.false(await verifyPassword(hash, 'correct horsf'));
  t.false(await verifyPassword(hash, ''));
  t.false(await verifyPassword(hash, 'correct horse '));
});

test('hashes are salted: the same password twice gives different keys', async (t) => {
  const a = await hashPassword('same', CHEAP);
  const b = await hashPassword('same', CHEAP);
  t.notDeepEqual(a.salt, b.salt);
  t.notDeepEqual(a.key, b.key);
});

test('the stored parameters are the ones used to verify', async (t) => {
  const hash = await hashPassword('pw with params', { N: 2 ** 11, r: 4, p: 2 });
  const text = formatScryptHash(hash);
  t.regex(text, /^scrypt:2048:4:2:/);
  const parsed = parseScryptHash(text);
  if (!parsed.ok) return t.fail(parsed.reason);
  t.true(await verifyPassword(parsed.hash, 'pw with params'));
  // The same key checked with other parameters fails: they are part of the hash.
  t.false(await verifyPassword({ ...parsed.hash, N: 2 ** 12 }, 'pw with params'));
});

test("the default parameters hash and verify (scrypt N=2^15 needs more than Node's default maxmem)", async (t) => {
  const hash = await hashPassword('default cost');
  t.like(hash, DEFAULT_SCRYPT);
  t.is(hash.salt.length, 16);
  t.is(hash.key.length, 32);
  t.true(await verifyPassword(hash, 'default cost'));
});

test('passwords are compared after Unicode NFKC normalization', async (t) => {
  const hash = await hashPassword('caf\u00e9', CHEAP);
  t.true(await verifyPassword(hash, 'cafe\u0301'));
});

test('an unknown name costs a verification against a dummy hash with the default parameters', async (t) => {
  const seen: ScryptHash[] = [];
  const alice: UserEntry = {
    name: 'alice',
    hash: await hashPassword('alice pw', CHEAP),
    home: '/alice',
    access: 'read-write',
  };
  const store = new AccountStore([alice], async (hash, password) => {
    seen.push(hash);
    return verifyPassword(hash, password);
  });
  t.is(await store.verify('mallory', 'alice pw'), null);
  t.is(seen.length, 1);
  t.like(seen[0], DEFAULT_SCRYPT);
  t.not(seen[0], alice.hash);
  t.is(await store.verify('alice', 'wrong'), null);
  t.is(seen[1], alice.hash);
  t.is((await store.verify('alice', 'alice pw'))?.name, 'alice');
  t.is(seen.length, 3);
  // Names that look like object keys are just unknown names.
  t.is(await store.verify('__proto__', 'x'), null);
  t.is(await store.verify('constructor', 'x'), null);
});

test('at most two verifications run at once; the rest wait their turn', async (t) => {
  let running = 0;
  let peak = 0;
  const store = new AccountStore([], async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 20));
    running--;
    return false;
  });
  await Promise.all(Array.from({ length: 8 }, (_, i) => store.verify(`u${i}`, 'pw')));
  t.is(peak, 2);
});

test('replace() swaps the accounts', async (t) => {
  const hash = await hashPassword('pw', CHEAP);
  const store = new AccountStore([]);
  t.is(store.size, 0);
  store.replace([{ name: 'x', hash, home: '/x', access: 'read-only' }]);
  t.is(store.size, 1);
  t.is((await store.verify('x', 'pw'))?.access, 'read-only');
});
