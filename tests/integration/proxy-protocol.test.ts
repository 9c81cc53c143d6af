// --proxy-protocol on the real built server (two workers): a "balancer" on 127.0.0.5 (trusted) sends
// v1 and v2 headers naming other loopback clients, and the per-address limit, the loopback-only rule,
// bans and the logs count those clients, not the balancer; a trusted peer without a header is cut,
// an untrusted one is served as itself; over TLS the header comes before the handshake.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import test from 'ava';
import { encodeProxyHeaderV1, encodeProxyHeaderV2, type ProxyHeader } from '../../src/net/proxy-header.js';
import { addUser, runServerCommand } from '../_helpers/accounts.js';
import { connectTlsThroughHeader } from '../_helpers/proxy-client.js';
import { q, RawClient } from '../_helpers/raw-client.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { createTestCertificates } from '../_helpers/tls-certs.js';
import { waitFor } from '../_helpers/wait.js';

const BALANCER = '127.0.0.5';

const claim = (version: 1 | 2, address: string, port = 40_000): Buffer => {
  const header: ProxyHeader = {
    version,
    command: 'proxy',
    family: 'tcp4',
    source: { address, port },
    destination: { address: '127.0.0.1', port: 9400 },
  };
  return version === 1 ? encodeProxyHeaderV1(header) : encodeProxyHeaderV2(header);
};

/** A session opened by the balancer for `client`; `then` is sent in the same write as the header. */
function viaBalancer(server: RunningServer, header: Buffer, then = ''): Promise<RawClient> {
  return RawClient.connect(server.port, {
    localAddress: BALANCER,
    preface: Buffer.concat([header, Buffer.from(then)]),
  });
}

let plain: RunningServer;
test.before(async () => {
  plain = await startServer({
    workers: 2,
    args: [
      '--proxy-protocol',
      '--trusted-proxies',
      `${BALANCER},10.0.0.0/8`,
      '--max-connections-per-ip',
      '2',
    ],
  });
});
test.after.always(async () => {
  await plain?.stop();
});

for (const version of [1, 2] as const) {
  test.serial(
    `v${version}: --max-connections-per-ip counts the client the header names, not the balancer`,
    async (t) => {
      t.timeout(60_000);
      const [a, b] = version === 1 ? ['127.0.0.9', '127.0.0.10'] : ['127.0.0.11', '127.0.0.12'];
      const open: RawClient[] = [];
      t.teardown(() => {
        for (const c of open) c.close();
      });
      for (let i = 0; i < 2; i++) {
        // The first request rides in the header's segment: it must reach the session intact.
        const c = await viaBalancer(plain, claim(version, a, 40_000 + i), 'NOOP\n');
        open.push(c);
        t.regex(c.greeting, /^HELLO /, `session ${i + 1} for ${a}`);
        t.is((await c.reply()).status, 'OK');
      }
      const third = await viaBalancer(plain, claim(version, a, 40_002));
      t.regex(third.greeting, /^ERR TOO_MANY_CONNECTIONS /, `a third session for ${a} is refused`);
      third.close();
      const other = await viaBalancer(plain, claim(version, b));
      open.push(other);
      t.regex(other.greeting, /^HELLO /, `${b}, through the same balancer, is admitted`);
      t.is((await other.request('PWD')).status, 'OK');
      t.true(
        await waitFor(() =>
          new RegExp(`connection refused .*peer=${a.replaceAll('.', '\\.')} `).test(plain.output()),
        ),
        'the refusal is logged with the client address',
      );
    },
  );
}

test.serial(
  'the loopback-only rule (no --users) judges the client: a remote client behind a local balancer is refused',
  async (t) => {
    const remote = await viaBalancer(plain, claim(2, '192.0.2.44'));
    t.regex(remote.greeting, /^ERR AUTH_REQUIRED /);
    remote.close();
    const local = await viaBalancer(plain, claim(2, '127.0.0.13'));
    t.regex(local.greeting, /^HELLO /);
    local.close();
    // A health check (LOCAL) is the balancer itself, a loopback address.
    const check = await viaBalancer(plain, encodeProxyHeaderV2({ version: 2, command: 'local' }));
    t.regex(check.greeting, /^HELLO /);
    check.close();
  },
);

test.serial(
  'a trusted balancer that sends no header is cut; a peer that is not trusted is served as itself',
  async (t) => {
    t.timeout(60_000);
    const garbage = await RawClient.connect(plain.port, { localAddress: BALANCER, preface: 'NOOP\n' });
    t.regex(garbage.greeting, /^ERR BAD_REQUEST msg="this address is a trusted proxy: /);
    await garbage.closed();
    t.true(garbage.isClosed);
    // Silence: closed after the header timeout (5 s), never greeted with HELLO.
    const started = Date.now();
    const silent = await RawClient.connect(plain.port, { localAddress: BALANCER });
    t.regex(silent.greeting, /^ERR BAD_REQUEST /);
    t.true(Date.now() - started >= 4_500, `waited ${Date.now() - started} ms`);
    await silent.closed();

    const direct = await RawClient.connect(plain.port, { localAddress: '127.0.0.6' });
    t.regex(direct.greeting, /^HELLO /, 'no header expected from an untrusted address');
    // What it sends is a request like any other: it cannot claim another address.
    direct.send(claim(1, '127.0.0.9'));
    t.is((await direct.reply()).status, 'ERR');
    t.is((await direct.request('NOOP')).status, 'OK');
    direct.close();
    t.notRegex(plain.output(), /died|ERROR|FATAL/);
  },
);

test('--proxy-protocol without --trusted-proxies does not start: one line, exit code 2', async (t) => {
  const run = await runServerCommand(['--proxy-protocol', '--port', '0', '--metrics-port', 'off']);
  t.is(run.code, 2);
  t.is(
    run.stderr,
    'filehive-server: --proxy-protocol needs --trusted-proxies LIST (the addresses of the balancers that send the header)\n',
  );
  t.is(run.stdout, '');
});

// --- TLS: the header precedes the handshake; a ban lands on the client behind the balancer ----------

async function tlsLine(socket: TLSSocket, state: { buffer: string }): Promise<string> {
  while (!state.buffer.includes('\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    state.buffer += chunk.toString('utf8');
  }
  const at = state.buffer.indexOf('\n');
  const line = state.buffer.slice(0, at);
  state.buffer = state.buffer.slice(at + 1);
  return line;
}

test('TLS + accounts: a failed login bans the client the header names, on every worker, not the balancer', async (t) => {
  t.timeout(90_000);
  const certs = await createTestCertificates();
  t.teardown(() => certs.remove());
  const dir = await mkdtemp(join(tmpdir(), 'filehive-proxy-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const users = join(dir, 'users');
  await addUser(users, 'alice', 'right password');
  const server = await startServer({
    workers: 2,
    args: [
      ...['--proxy-protocol', '--trusted-proxies', BALANCER, '--users', users],
      ...['--tls-cert', certs.cert, '--tls-key', certs.key],
      ...['--login-failures', '1', '--login-delay', '0', '--login-ban', '600'],
    ],
  });
  t.teardown(() => server.stop());
  const session = async (address: string, sameSegment: boolean) => {
    const socket = await connectTlsThroughHeader(server.port, BALANCER, claim(2, address), { sameSegment });
    const state = { buffer: '' };
    return { socket, state, greeting: await tlsLine(socket, state) };
  };

  const victim = await session('127.0.0.20', true);
  t.regex(victim.greeting, /^HELLO /);
  victim.socket.write('LOGIN alice wrong\n');
  t.regex(await tlsLine(victim.socket, victim.state), /^ERR BANNED /);
  victim.socket.destroy();
  // Two more tries for the banned client: each lands on some worker, each is refused.
  for (const sameSegment of [false, true]) {
    const again = await session('127.0.0.20', sameSegment);
    t.regex(again.greeting, /^ERR BANNED /);
    again.socket.destroy();
  }
  const bystander = await session('127.0.0.21', false);
  t.regex(bystander.greeting, /^HELLO /, 'another client behind the same balancer is not banned');
  bystander.socket.write(`LOGIN alice ${q('right password')}\n`);
  t.regex(await tlsLine(bystander.socket, bystander.state), /^OK /);
  bystander.socket.destroy();
  t.regex(server.output(), /login failed .*peer=127\.0\.0\.20:40000 proxy=127\.0\.0\.5:\d+/);
});
