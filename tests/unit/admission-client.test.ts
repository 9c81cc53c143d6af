// The worker's admission client (src/worker/admission.ts) against a real AdmissionAuthority, joined by
// an in-memory channel that behaves like IPC (asynchronous, in order) and can hold replies back.
import test from 'ava';
import type { AdmissionReply, AdmissionRequest } from '../../src/ipc.js';
import { AdmissionAuthority } from '../../src/primary/admission.js';
import {
  type AdmissionChannel,
  createAdmissionClient,
  createLocalAdmission,
} from '../../src/worker/admission.js';

const LIMITS = {
  maxConnections: 3,
  maxConnectionsPerIp: 2,
  loopbackOnly: true,
  loginFailures: 2,
  loginBanMs: 60_000,
  loginDelayMs: 500,
};

/** The primary's message handling in miniature: same authority calls as admission-service.ts. */
function wire(authority: AdmissionAuthority, worker = 1) {
  const sent: AdmissionRequest[] = [];
  let onReply: (message: AdmissionReply) => void = () => undefined;
  let holding = false;
  const held: AdmissionReply[] = [];
  const deliver = (message: AdmissionReply) => setImmediate(() => onReply(message));
  const answer = (message: AdmissionReply) => (holding ? held.push(message) : deliver(message));
  const channel: AdmissionChannel = {
    send(message) {
      sent.push(message);
      setImmediate(() => {
        if (message.type === 'filehive:admit') {
          const d = authority.admit(worker, message.ip);
          answer({ type: 'filehive:admit-result', id: message.id, refused: d.ok ? null : d.reason });
        } else if (message.type === 'filehive:release') authority.release(worker, message.ip);
        else if (message.type === 'filehive:login-failed') {
          const { delayMs, banned } = authority.loginFailed(message.ip);
          answer({ type: 'filehive:login-result', id: message.id, delayMs, banned });
        } else authority.loginSucceeded(message.ip);
      });
    },
    listen(listener) {
      onReply = listener;
    },
  };
  return {
    channel,
    sent,
    hold: () => {
      holding = true;
    },
    flush: () => {
      holding = false;
      for (const message of held.splice(0)) deliver(message);
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('admit round trip: ok, then TOO_MANY_CONNECTIONS per address and in total; release makes room', async (t) => {
  const authority = new AdmissionAuthority(LIMITS);
  const link = wire(authority);
  const client = createAdmissionClient(link.channel);
  t.deepEqual(await client.admit('127.0.0.2'), { ok: true });
  t.deepEqual(await client.admit('::ffff:127.0.0.2'), { ok: true });
  t.like(await client.admit('127.0.0.2'), { ok: false, code: 'TOO_MANY_CONNECTIONS' });
  t.deepEqual(await client.admit('127.0.0.3'), { ok: true });
  const full = await client.admit('127.0.0.4');
  t.like(full, { ok: false, code: 'TOO_MANY_CONNECTIONS' });
  t.regex((full as { message: string }).message, /too many connections/);
  client.release('::ffff:127.0.0.2');
  await tick();
  t.is(authority.openSessions, 2);
  t.is(authority.sessionsFrom('127.0.0.2'), 1);
  t.deepEqual(await client.admit('127.0.0.4'), { ok: true });
  t.true(
    link.sent.every((m) => !m.ip.startsWith('::ffff:')),
    'addresses travel normalized',
  );
});

test('a remote address without accounts is refused with AUTH_REQUIRED saying loopback only', async (t) => {
  const client = createAdmissionClient(wire(new AdmissionAuthority(LIMITS)).channel);
  const refused = await client.admit('192.0.2.1');
  t.like(refused, { ok: false, code: 'AUTH_REQUIRED' });
  t.regex((refused as { message: string }).message, /loopback/);
});

test('loginFailed reports the growing delay and the ban; the banned address is refused with BANNED', async (t) => {
  const client = createAdmissionClient(wire(new AdmissionAuthority(LIMITS)).channel);
  t.deepEqual(await client.loginFailed('127.0.0.5'), { delayMs: 500, banned: false });
  t.deepEqual(await client.loginFailed('::ffff:127.0.0.5'), { delayMs: 1_000, banned: true });
  t.like(await client.admit('127.0.0.5'), { ok: false, code: 'BANNED' });
  t.deepEqual(await client.admit('127.0.0.6'), { ok: true });
});

test('loginSucceeded resets the failure count', async (t) => {
  const authority = new AdmissionAuthority(LIMITS);
  const client = createAdmissionClient(wire(authority).channel);
  await client.loginFailed('127.0.0.5');
  client.loginSucceeded('127.0.0.5');
  await tick();
  t.is(authority.failuresFrom('127.0.0.5'), 0);
  t.deepEqual(await client.loginFailed('127.0.0.5'), { delayMs: 500, banned: false });
});

test('concurrent admits each get their own answer', async (t) => {
  const client = createAdmissionClient(
    wire(new AdmissionAuthority({ ...LIMITS, maxConnectionsPerIp: 10 })).channel,
  );
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => client.admit(`127.0.0.${i}`)));
  t.is(results.filter((r) => r.ok).length, 3);
  t.is(results.filter((r) => !r.ok).length, 2);
});

test('an admit the authority does not answer in time is refused; a late yes is handed back', async (t) => {
  const authority = new AdmissionAuthority(LIMITS);
  const link = wire(authority);
  const client = createAdmissionClient(link.channel, { timeoutMs: 50 });
  link.hold();
  const result = await client.admit('127.0.0.2');
  t.like(result, { ok: false, code: 'TOO_MANY_CONNECTIONS' });
  t.is(authority.openSessions, 1, 'the authority did count it');
  link.flush();
  await tick();
  await tick();
  await tick();
  t.is(authority.openSessions, 0, 'the late admission was released');
  t.deepEqual(
    link.sent.map((m) => m.type),
    ['filehive:admit', 'filehive:release'],
  );
});

test('a login verdict that does not come in time means no delay and no ban', async (t) => {
  const link = wire(new AdmissionAuthority(LIMITS));
  const client = createAdmissionClient(link.channel, { timeoutMs: 50 });
  link.hold();
  t.deepEqual(await client.loginFailed('127.0.0.2'), { delayMs: 0, banned: false });
});

test('the local admission (no primary) applies the same rules', async (t) => {
  const local = createLocalAdmission(new AdmissionAuthority(LIMITS));
  t.deepEqual(await local.admit('127.0.0.2'), { ok: true });
  t.deepEqual(await local.admit('127.0.0.2'), { ok: true });
  t.like(await local.admit('::ffff:127.0.0.2'), { ok: false, code: 'TOO_MANY_CONNECTIONS' });
  local.release('127.0.0.2');
  t.deepEqual(await local.admit('127.0.0.2'), { ok: true });
  t.like(await local.admit('203.0.113.1'), { ok: false, code: 'AUTH_REQUIRED' });
  await local.loginFailed('127.0.0.9');
  t.like(await local.loginFailed('127.0.0.9'), { banned: true });
  t.like(await local.admit('127.0.0.9'), { ok: false, code: 'BANNED' });
});
