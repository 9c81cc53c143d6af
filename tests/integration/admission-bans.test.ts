// Failed logins across workers, on the real built server with two workers and a users file: the
// count and the ban are shared by both workers, the delay grows, and the metrics follow.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { addUser } from '../_helpers/accounts.js';
import { RawClient } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

/** Sends a line and times the reply (LOGIN costs a password hash on a possibly busy machine). */
async function timed(c: RawClient, line: string): Promise<{ code: string | undefined; ms: number }> {
  const started = performance.now();
  c.send(`${line}\n`);
  const reply = await c.reply(60_000);
  return { code: reply.code ?? reply.status, ms: performance.now() - started };
}

test('failed logins on two workers add up to one ban that refuses the address on every worker', async (t) => {
  t.timeout(90_000);
  const dir = await mkdtemp(join(tmpdir(), 'filehive-bans-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const usersFile = join(dir, 'users');
  await addUser(usersFile, 'alice', 'the right password');
  const server = await startServer({
    workers: 2,
    args: ['--users', usersFile, '--login-failures', '3', '--login-delay', '0.2', '--login-ban', '600'],
  });
  t.teardown(() => server.stop());
  const scrape = async () => (await fetch(`${server.metricsUrl}/metrics`)).text();

  // Two sessions from one address: round-robin puts them on different workers.
  const first = await RawClient.connect(server.port, { localAddress: '127.0.0.4' });
  const second = await RawClient.connect(server.port, { localAddress: '127.0.0.4' });
  t.teardown(() => {
    first.close();
    second.close();
  });
  const active = [...(await scrape()).matchAll(/^filehive_connections_active\{worker="\d+"\} (\S+)$/gm)];
  t.deepEqual(
    active.map((m) => m[1]),
    ['1', '1'],
    'one session on each worker',
  );
  const one = await timed(first, 'LOGIN alice wrong-1');
  t.is(one.code, 'AUTH_FAILED');
  t.true(one.ms >= 190, `first failure answered after ${one.ms} ms`);
  const two = await timed(second, 'LOGIN alice wrong-2');
  t.is(two.code, 'AUTH_FAILED');
  t.true(two.ms >= 390, `the second failure (other session) waited twice as long: ${two.ms} ms`);
  const three = await timed(first, 'LOGIN alice wrong-3');
  t.is(three.code, 'BANNED');
  await first.closed();

  for (let i = 0; i < 4; i++) {
    const refused = await RawClient.connect(server.port, { localAddress: '127.0.0.4' });
    t.regex(refused.greeting, /^ERR BANNED msg=/, `connection ${i + 1} from the banned address`);
    await refused.closed();
  }
  t.is((await second.request('NOOP')).status, 'OK', 'a session opened before the ban goes on');
  const other = await RawClient.connect(server.port, { localAddress: '127.0.0.5' });
  t.regex(other.greeting, /^HELLO /, 'another address is not banned');
  t.is((await timed(other, 'LOGIN alice "the right password"')).code, 'OK');
  other.close();

  const text = await scrape();
  t.is(value(text, 'filehive_login_failures_total'), 3);
  t.is(value(text, 'filehive_bans_total'), 1);
  t.is(value(text, 'filehive_bans_active'), 1);
  t.is(value(text, 'filehive_connections_refused_total{reason="banned"}'), 4);
});
