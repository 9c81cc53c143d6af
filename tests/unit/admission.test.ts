// The admission authority (src/primary/admission.ts) and the address rules it counts by.
import test from 'ava';
import fc from 'fast-check';
import { loadServerConfig } from '../../src/config/server-config.js';
import { addressKey, isLoopbackAddress, normalizeAddress } from '../../src/peer-address.js';
import {
  AdmissionAuthority,
  type AdmissionLimits,
  admissionLimits,
  FAILURE_MEMORY_MS,
  MAX_LOGIN_DELAY_MS,
} from '../../src/primary/admission.js';

const LIMITS: AdmissionLimits = {
  maxConnections: 5,
  maxConnectionsPerIp: 2,
  loopbackOnly: false,
  loginFailures: 3,
  loginBanMs: 60_000,
  loginDelayMs: 1_000,
};

function authority(overrides: Partial<AdmissionLimits> = {}) {
  const clock = { now: 1_000_000 };
  const a = new AdmissionAuthority({ ...LIMITS, ...overrides }, () => clock.now);
  return { a, clock };
}

test('normalizeAddress: IPv4-mapped IPv6 becomes IPv4; IPv6 loses case and zone', (t) => {
  t.is(normalizeAddress('::ffff:127.0.0.2'), '127.0.0.2');
  t.is(normalizeAddress('::FFFF:10.1.2.3'), '10.1.2.3');
  t.is(normalizeAddress('127.0.0.1'), '127.0.0.1');
  t.is(normalizeAddress('FE80::1%eth0'), 'fe80::1');
  t.is(normalizeAddress('2001:DB8::1'), '2001:db8::1');
  t.is(normalizeAddress('::ffff:999.0.0.1'), '::ffff:999.0.0.1', 'not a valid mapped address: left alone');
});

test('isLoopbackAddress: 127/8 and ::1 only, mapped forms included', (t) => {
  for (const ip of [
    '127.0.0.1',
    '127.0.0.2',
    '127.255.255.254',
    '::1',
    '::ffff:127.0.0.3',
    '0:0:0:0:0:0:0:1',
  ]) {
    t.true(isLoopbackAddress(ip), ip);
  }
  for (const ip of [
    '10.0.0.1',
    '192.168.1.1',
    '128.0.0.1',
    '::',
    '::2',
    '::ffff:10.0.0.1',
    'fe80::1',
    '1::1',
    '',
  ]) {
    t.false(isLoopbackAddress(ip), ip);
  }
});

test('addressKey: IPv4 itself, IPv6 by its /64 network', (t) => {
  t.is(addressKey('::ffff:203.0.113.9'), '203.0.113.9');
  t.is(addressKey('::1'), '::1');
  t.is(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.is(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64', 'same /64, same key');
  t.not(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'));
  t.is(addressKey('2001:db8::'), '2001:db8:0:0::/64');
  t.is(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
  t.is(addressKey('1:2:3:4:5:6:192.0.2.1'), '1:2:3:4::/64');
});

test('the total limit refuses the session past --max-connections; a release makes room', (t) => {
  const { a } = authority({ maxConnectionsPerIp: 100 });
  for (let i = 0; i < 5; i++) t.deepEqual(a.admit(i % 2, `10.0.0.${i}`), { ok: true });
  t.deepEqual(a.admit(0, '10.0.0.99'), { ok: false, reason: 'max_connections' });
  t.is(a.openSessions, 5);
  a.release(1, '10.0.0.1');
  t.is(a.openSessions, 4);
  t.deepEqual(a.admit(0, '10.0.0.99'), { ok: true });
});

test('the per-address limit counts every worker, and other addresses are still admitted', (t) => {
  const { a } = authority();
  t.true(a.admit(0, '127.0.0.2').ok);
  t.true(a.admit(1, '::ffff:127.0.0.2').ok, 'the mapped form is the same address');
  t.deepEqual(a.admit(2, '127.0.0.2'), { ok: false, reason: 'max_per_ip' });
  t.true(a.admit(0, '127.0.0.3').ok);
  t.is(a.sessionsFrom('127.0.0.2'), 2);
  a.release(1, '127.0.0.2');
  t.true(a.admit(2, '127.0.0.2').ok);
});

test('IPv6 addresses of one /64 share a per-address limit', (t) => {
  const { a } = authority();
  t.true(a.admit(0, '2001:db8::1').ok);
  t.true(a.admit(0, '2001:db8::2').ok);
  t.deepEqual(a.admit(0, '2001:db8::3'), { ok: false, reason: 'max_per_ip' });
  t.true(a.admit(0, '2001:db8:0:1::1').ok, 'the next /64 is someone else');
});

test('loopback-only: remote addresses are refused before any count; loopback ones pass', (t) => {
  const { a } = authority({ loopbackOnly: true });
  t.deepEqual(a.admit(0, '192.0.2.7'), { ok: false, reason: 'anonymous_remote' });
  t.deepEqual(a.admit(0, '::ffff:192.0.2.7'), { ok: false, reason: 'anonymous_remote' });
  t.deepEqual(a.admit(0, '2001:db8::1'), { ok: false, reason: 'anonymous_remote' });
  t.true(a.admit(0, '127.0.0.5').ok);
  t.true(a.admit(0, '::1').ok);
  t.true(a.admit(0, '::ffff:127.0.0.9').ok);
  t.is(a.openSessions, 3);
});

test('admissionLimits: loopback-only exactly when there is no users file and no --allow-anonymous', (t) => {
  const config = (args: string[]) => {
    const result = loadServerConfig(args, {}, '/tmp');
    if (!result.ok) throw new Error(result.errors.join());
    return result.config;
  };
  t.true(admissionLimits(config([])).loopbackOnly);
  t.false(admissionLimits(config(['--allow-anonymous'])).loopbackOnly);
  t.false(admissionLimits(config(['--users', 'users.txt'])).loopbackOnly);
  t.like(admissionLimits(config(['--max-connections', '7', '--max-connections-per-ip', '3'])), {
    maxConnections: 7,
    maxConnectionsPerIp: 3,
  });
});

test('a release the worker does not hold changes nothing (no negative counts)', (t) => {
  const { a } = authority();
  t.true(a.admit(0, '10.0.0.1').ok);
  a.release(1, '10.0.0.1');
  a.release(0, '10.0.0.2');
  t.is(a.openSessions, 1);
  a.release(0, '10.0.0.1');
  a.release(0, '10.0.0.1');
  t.is(a.openSessions, 0);
  t.is(a.sessionsFrom('10.0.0.1'), 0);
});

test("a dead worker's sessions are dropped, the others' kept", (t) => {
  const { a } = authority({ maxConnections: 4 });
  t.true(a.admit(7, '10.0.0.1').ok);
  t.true(a.admit(7, '10.0.0.1').ok);
  t.true(a.admit(7, '10.0.0.2').ok);
  t.true(a.admit(8, '10.0.0.2').ok);
  t.false(a.admit(8, '10.0.0.3').ok);
  t.is(a.workerGone(7), 3);
  t.is(a.openSessions, 1);
  t.is(a.sessionsFrom('10.0.0.1'), 0);
  t.is(a.sessionsFrom('10.0.0.2'), 1);
  a.release(7, '10.0.0.1'); // a late release from the dead worker
  t.is(a.openSessions, 1);
  t.is(a.workerGone(7), 0);
  t.true(a.admit(8, '10.0.0.3').ok);
});

test('failed logins: the delay doubles; the Nth failure bans; the ban refuses connections and expires', (t) => {
  const { a, clock } = authority();
  t.deepEqual(a.loginFailed('10.0.0.1'), { delayMs: 1_000, banned: false, newlyBanned: false });
  t.deepEqual(a.loginFailed('10.0.0.1'), { delayMs: 2_000, banned: false, newlyBanned: false });
  t.is(a.failuresFrom('10.0.0.1'), 2);
  t.true(a.admit(0, '10.0.0.1').ok, 'no ban yet');
  t.deepEqual(a.loginFailed('10.0.0.1'), { delayMs: 4_000, banned: true, newlyBanned: true });
  t.is(a.activeBans(), 1);
  t.deepEqual(a.admit(0, '10.0.0.1'), { ok: false, reason: 'banned' });
  t.true(a.admit(0, '10.0.0.2').ok, 'another address is not affected');
  t.like(a.loginFailed('10.0.0.1'), { banned: true, newlyBanned: false }, 'already banned: not a new ban');
  t.is(a.activeBans(), 1);
  clock.now += 59_999;
  t.deepEqual(a.admit(0, '10.0.0.1'), { ok: false, reason: 'banned' });
  clock.now += 1;
  t.is(a.activeBans(), 0);
  t.true(a.admit(0, '10.0.0.1').ok, 'the ban expired');
  t.deepEqual(
    a.loginFailed('10.0.0.1'),
    { delayMs: 1_000, banned: false, newlyBanned: false },
    'counting restarts',
  );
});

test('a ban applies to the mapped and plain form of the address alike', (t) => {
  const { a } = authority({ loginFailures: 1 });
  t.true(a.loginFailed('::ffff:127.0.0.2').banned);
  t.deepEqual(a.admit(0, '127.0.0.2'), { ok: false, reason: 'banned' });
});

test('the delay stops growing at MAX_LOGIN_DELAY_MS', (t) => {
  const { a } = authority({ loginFailures: 1000 });
  let last = 0;
  for (let i = 0; i < 40; i++) last = a.loginFailed('10.0.0.1').delayMs;
  t.is(last, MAX_LOGIN_DELAY_MS);
  t.true(Number.isFinite(last));
});

test('a successful login forgets the failures but does not lift a ban', (t) => {
  const { a } = authority();
  a.loginFailed('10.0.0.1');
  a.loginFailed('10.0.0.1');
  a.loginSucceeded('10.0.0.1');
  t.is(a.failuresFrom('10.0.0.1'), 0);
  t.like(a.loginFailed('10.0.0.1'), { delayMs: 1_000, banned: false });
  a.loginFailed('10.0.0.1');
  t.true(a.loginFailed('10.0.0.1').banned);
  a.loginSucceeded('10.0.0.1');
  t.deepEqual(a.admit(0, '10.0.0.1'), { ok: false, reason: 'banned' });
});

test('failures are forgotten after the memory window without one', (t) => {
  const { a, clock } = authority({ loginBanMs: 60_000 });
  a.loginFailed('10.0.0.1');
  a.loginFailed('10.0.0.1');
  clock.now += FAILURE_MEMORY_MS - 1;
  a.sweep();
  t.is(a.failuresFrom('10.0.0.1'), 2);
  clock.now += 1;
  a.sweep();
  t.is(a.failuresFrom('10.0.0.1'), 0);
  t.false(a.loginFailed('10.0.0.1').banned);
});

test('--login-ban 0: no bans, the delay still grows', (t) => {
  const { a } = authority({ loginBanMs: 0, loginFailures: 2 });
  const verdicts = [1, 2, 3, 4].map(() => a.loginFailed('10.0.0.1'));
  t.true(verdicts.every((v) => !v.banned));
  t.deepEqual(
    verdicts.map((v) => v.delayMs),
    [1_000, 2_000, 4_000, 8_000],
  );
  t.true(a.admit(0, '10.0.0.1').ok);
  t.is(a.activeBans(), 0);
});

test('property: counts always equal the admitted minus the released, and limits always hold', (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('admit' as const), worker: fc.nat(2), ip: fc.nat(3) }),
    fc.record({ kind: fc.constant('release' as const), worker: fc.nat(2), ip: fc.nat(3) }),
    fc.record({ kind: fc.constant('gone' as const), worker: fc.nat(2), ip: fc.constant(0) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const { a } = authority({ maxConnections: 6, maxConnectionsPerIp: 3 });
      // The model: what each worker holds per address.
      const held = new Map<string, number>();
      const slot = (worker: number, ip: number) => `${worker}/${ip}`;
      for (const o of ops) {
        const ip = `10.0.0.${o.ip}`;
        if (o.kind === 'admit') {
          if (a.admit(o.worker, ip).ok)
            held.set(slot(o.worker, o.ip), (held.get(slot(o.worker, o.ip)) ?? 0) + 1);
        } else if (o.kind === 'release') {
          a.release(o.worker, ip);
          const n = held.get(slot(o.worker, o.ip)) ?? 0;
          if (n > 0) held.set(slot(o.worker, o.ip), n - 1);
        } else {
          a.workerGone(o.worker);
          for (const key of [...held.keys()]) if (key.startsWith(`${o.worker}/`)) held.delete(key);
        }
        const total = [...held.values()].reduce((x, y) => x + y, 0);
        if (a.openSessions !== total || total > 6) return false;
        for (let i = 0; i <= 3; i++) {
          const fromIp = [0, 1, 2].reduce((sum, w) => sum + (held.get(slot(w, i)) ?? 0), 0);
          if (a.sessionsFrom(`10.0.0.${i}`) !== fromIp || fromIp > 3) return false;
        }
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
