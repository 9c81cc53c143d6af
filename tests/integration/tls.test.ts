// TLS on the file port (docs/SECURITY.md#tls), against the real built server with certificates made by
// openssl for this run: transfers over TLS, certificate checks on the client, and peers that do not
// speak TLS (or too slowly) never reaching a session, never crashing a worker, never keeping a socket.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FilehiveClient } from '../../src/client/index.js';
import { runCli } from '../_helpers/cli.js';
import { childPids } from '../_helpers/processes.js';
import { sampleSum, scrape } from '../_helpers/scrape.js';
import { type RunningServer, SERVER_JS, startServer } from '../_helpers/server.js';
import { createTestCertificates, type TestCertificates } from '../_helpers/tls-certs.js';
import { waitFor } from '../_helpers/wait.js';

let certs: TestCertificates;
/** Certificates naming only filehive.invalid, so 127.0.0.1 is the wrong host for them. */
let otherCerts: TestCertificates;
let server: RunningServer;
/** A server with a self-signed certificate for filehive.invalid. */
let selfSigned: RunningServer;
let ca: string;
let work: string;

test.before(async () => {
  [certs, otherCerts] = await Promise.all([
    createTestCertificates(),
    createTestCertificates({ altNames: ['DNS:filehive.invalid'] }),
  ]);
  ca = await readFile(certs.caCert, 'utf8');
  work = await mkdtemp(join(tmpdir(), 'filehive-tls-work-'));
  [server, selfSigned] = await Promise.all([
    startServer({ workers: 2, args: ['--tls-cert', certs.cert, '--tls-key', certs.key] }),
    startServer({
      workers: 1,
      args: ['--tls-cert', otherCerts.selfSignedCert, '--tls-key', otherCerts.selfSignedKey],
    }),
  ]);
});

test.after.always(async () => {
  await Promise.all([server?.stop(), selfSigned?.stop()]);
  await Promise.all([certs?.remove(), otherCerts?.remove(), rm(work, { recursive: true, force: true })]);
});

async function connectFails(t: ExecutionContext, promise: Promise<FilehiveClient>, pattern: RegExp) {
  const err = await t.throwsAsync(promise);
  t.is((err as { code?: string }).code, 'CONNECT_FAILED');
  t.regex(err?.message ?? '', pattern);
  t.false((err?.message ?? '').includes('\n'), 'one line');
}

test('the ready line says TLS', (t) => {
  t.regex(server.output(), /listening on 127\.0\.0\.1:\d+ \(2 workers, root .+, TLS\)\n/);
});

test('client library: upload and download round trip over TLS, on every worker', async (t) => {
  const dir = join(work, 'library');
  await mkdir(join(dir, 'down'), { recursive: true });
  const data = randomBytes(3 * 1024 * 1024 + 17);
  await writeFile(join(dir, 'lib.bin'), data);
  const client = await FilehiveClient.connect({ host: server.host, port: server.port, tls: { ca } });
  try {
    t.is((await client.upload(join(dir, 'lib.bin'))).bytes, data.length);
    t.true((await readFile(join(server.root, 'lib.bin'))).equals(data));
    const down = await client.download('lib.bin', { dir: join(dir, 'down') });
    t.true((await readFile(down.localPath)).equals(data));
    t.is(await client.pwd(), '/');
  } finally {
    await client.close();
  }
  // Round-robin hands these to both workers: each must speak TLS.
  const more = await Promise.all(
    Array.from({ length: 6 }, () =>
      FilehiveClient.connect({ host: server.host, port: server.port, tls: { ca } }),
    ),
  );
  for (const c of more) t.true((await c.list('/')).some((e) => e.name === 'lib.bin'));
  await Promise.all(more.map((c) => c.close()));
});

test('CLI: --ca FILE round trip (and --ca implies --tls)', async (t) => {
  const dir = join(work, 'cli');
  await mkdir(join(dir, 'down'), { recursive: true });
  const data = randomBytes(700_000);
  await writeFile(join(dir, 'cli.bin'), data);
  const run = await runCli(
    [
      '--ca',
      certs.caCert,
      '--download-dir',
      join(dir, 'down'),
      '-c',
      'MKDIR tls; CD tls; UPLOAD cli.bin; DOWNLOAD cli.bin',
      server.host,
      String(server.port),
    ],
    { cwd: dir },
  );
  t.is(run.stderr, '');
  t.is(run.code, 0);
  t.regex(run.stdout, /uploaded cli\.bin/);
  t.regex(run.stdout, /downloaded cli\.bin/);
  t.true((await readFile(join(server.root, 'tls', 'cli.bin'))).equals(data));
  t.true((await readFile(join(dir, 'down', 'cli.bin'))).equals(data));
  // Extra connections (--parallel) and reconnects use the same TLS settings.
  const names = ['p1.bin', 'p2.bin', 'p3.bin'];
  for (const name of names) await writeFile(join(dir, name), randomBytes(200_000));
  const parallel = await runCli(
    [
      '--ca',
      certs.caCert,
      '--parallel',
      '3',
      '-c',
      'CD tls; UPLOAD p*.bin',
      server.host,
      String(server.port),
    ],
    { cwd: dir },
  );
  t.is(parallel.stderr, '');
  t.is(parallel.code, 0);
  for (const name of names) {
    t.true((await readFile(join(server.root, 'tls', name))).equals(await readFile(join(dir, name))), name);
  }
  const explicit = await runCli([
    '--tls',
    '--ca',
    certs.caCert,
    '-c',
    'PWD',
    server.host,
    String(server.port),
  ]);
  t.is(explicit.code, 0);
  t.is(explicit.stdout, '/\n');
});

test('without --ca the private CA is not trusted: CONNECT_FAILED in one line', async (t) => {
  await connectFails(
    t,
    FilehiveClient.connect({ host: server.host, port: server.port, tls: true }),
    /certificate not trusted: issued by an unknown CA \(use --ca FILE\)/,
  );
  const run = await runCli(['--tls', '-c', 'PWD', server.host, String(server.port)]);
  t.is(run.code, 3);
  t.regex(
    run.stderr,
    /^error: CONNECT_FAILED: cannot connect to 127\.0\.0\.1:\d+: certificate not trusted: .+\n$/,
  );
  t.is(run.stdout, '');
  // The wrong CA is no better than none.
  await connectFails(
    t,
    FilehiveClient.connect({
      host: server.host,
      port: server.port,
      tls: { ca: await readFile(otherCerts.caCert) },
    }),
    /certificate not trusted/,
  );
});

test('a certificate for another host is refused; servername names the host to check', async (t) => {
  const port = selfSigned.port;
  const trusted = await readFile(otherCerts.selfSignedCert);
  await connectFails(
    t,
    FilehiveClient.connect({ host: '127.0.0.1', port, tls: { ca: trusted } }),
    /certificate not trusted: it is not for 127\.0\.0\.1 \(it names DNS:filehive\.invalid\)/,
  );
  const cli = await runCli(['--ca', otherCerts.selfSignedCert, '-c', 'PWD', '127.0.0.1', String(port)]);
  t.is(cli.code, 3);
  t.regex(cli.stderr, /^error: CONNECT_FAILED: .*it is not for 127\.0\.0\.1.*\n$/);
  // A self-signed certificate is trusted by giving it as the CA: no switch turns checking off.
  await connectFails(
    t,
    FilehiveClient.connect({ host: '127.0.0.1', port, tls: { servername: 'filehive.invalid' } }),
    /self-signed \(use --ca FILE\)/,
  );
  const client = await FilehiveClient.connect({
    host: '127.0.0.1',
    port,
    tls: { ca: trusted, servername: 'filehive.invalid' },
  });
  t.is(await client.pwd(), '/');
  await client.close();
});

test('a TLS client on a plain port, and a plain client on a TLS port, fail in one line', async (t) => {
  const plain = await startServer({ workers: 1 });
  try {
    await connectFails(
      t,
      FilehiveClient.connect({ host: plain.host, port: plain.port, tls: { ca } }),
      /does not speak TLS on this port/,
    );
  } finally {
    await plain.stop();
  }
  await connectFails(
    t,
    FilehiveClient.connect({ host: server.host, port: server.port, timeoutMs: 1_500 }),
    /no greeting within 1500 ms \(a TLS port\? use --tls\)/,
  );
});

/** Server-side sockets of `port` still open towards `peerIp` (ESTABLISHED or CLOSE_WAIT), from /proc. */
async function openServerSockets(port: number, peerIp: string): Promise<number> {
  const hexIp = peerIp
    .split('.')
    .reverse()
    .map((octet) => Number(octet).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const table = await readFile('/proc/net/tcp', 'utf8');
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter(
      ([, l, r, state]) =>
        l?.endsWith(local) && r?.startsWith(`${hexIp}:`) && (state === '01' || state === '08'),
    ).length;
}

interface Peer {
  socket: Socket;
  received: Buffer[];
  closed: Promise<number>;
}

async function rawPeer(port: number, localAddress: string): Promise<Peer> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received, closed };
}

test('plain text, silent and half-finished peers are dropped; no worker dies, no socket stays', async (t) => {
  t.timeout(60_000);
  const port = server.port;
  const peerIp = '127.0.0.7';
  const workersBefore = await childPids(server.proc.pid as number);
  const failed = async (reason: string) =>
    sampleSum(await scrape(server), 'filehive_tls_handshake_failures_total', { reason });
  const rejectedBefore = await failed('rejected');
  const timeoutBefore = await failed('timeout');
  // A plain-text client speaking the protocol: the handshake fails at its first byte.
  const plainText = await rawPeer(port, peerIp);
  plainText.socket.write('PWD\r\nDIR /\r\n');
  // A peer that connects and says nothing, and one that sends half a record header and stalls.
  const silent = await rawPeer(port, peerIp);
  const stalled = await rawPeer(port, peerIp);
  stalled.socket.write(Buffer.from([0x16, 0x03, 0x01]));
  // A peer that starts a handshake and hangs up in the middle of it.
  const quitter = await rawPeer(port, peerIp);
  quitter.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  setTimeout(() => quitter.socket.destroy(), 200);

  await plainText.closed;
  const text = Buffer.concat(plainText.received).toString('latin1');
  t.false(/HELLO|OK|ERR/.test(text), `a plain-text client got protocol text: ${JSON.stringify(text)}`);
  // Meanwhile the server serves others.
  const client = await FilehiveClient.connect({ host: server.host, port, tls: { ca } });
  t.is(await client.pwd(), '/');
  await client.close();

  // The handshake bound (10 s) closes the silent ones from the server's side.
  const [silentMs, stalledMs] = await Promise.all([silent.closed, stalled.closed]);
  t.true(silentMs < 30_000 && stalledMs < 30_000);
  t.deepEqual(Buffer.concat(silent.received).toString('latin1').includes('HELLO'), false);
  await quitter.closed;
  t.true(
    await waitFor(async () => (await openServerSockets(port, peerIp)) === 0, 10_000),
    'sockets left open',
  );
  t.deepEqual(await childPids(server.proc.pid as number), workersBefore);
  // Counted by reason: the plain-text client's failed at once, the silent and the stalled one's timed out.
  t.true((await failed('rejected')) - rejectedBefore >= 1, 'a rejected handshake is counted');
  t.true((await failed('timeout')) - timeoutBefore >= 2, 'timed-out handshakes are counted');
  const trouble = server
    .output()
    .split('\n')
    .filter((line) => /died|uncaught|session failed/i.test(line));
  t.deepEqual(trouble, []);
});

test('server start: a key that does not match the certificate exits 2 with one line', async (t) => {
  // Not spawnSync: it would stall this process's event loop, and with it the other tests' clients.
  const start = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [SERVER_JS, '--port', '0', '--root', work, '--metrics-port', 'off', ...args],
        { encoding: 'utf8', timeout: 20_000 },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
  const cases: [string[], RegExp][] = [
    [
      ['--tls-cert', certs.cert, '--tls-key', certs.otherKey],
      /^filehive-server: --tls-key .+other\.key is not the key of the certificate in --tls-cert .+server\.pem\n$/,
    ],
    [
      ['--tls-cert', certs.cert, '--tls-key', join(work, 'nope.key')],
      /^filehive-server: cannot read --tls-key .+: ENOENT\n$/,
    ],
    [
      ['--tls-cert', certs.key, '--tls-key', certs.key],
      /^filehive-server: --tls-cert .+ holds no PEM certificate\n$/,
    ],
    [
      ['--tls-cert', certs.cert, '--tls-key', certs.cert],
      /^filehive-server: --tls-key .+ holds no PEM private key\n$/,
    ],
  ];
  for (const [args, stderr] of cases) {
    const result = await start(args);
    t.is(result.status, 2, args.join(' '));
    t.regex(result.stderr, stderr);
    t.false(result.stdout.includes('listening on'));
  }
});

test('CLI: an unreadable or non-PEM --ca is a local error, before connecting', async (t) => {
  const missing = await runCli([
    '--ca',
    join(work, 'nope.pem'),
    '-c',
    'PWD',
    server.host,
    String(server.port),
  ]);
  t.is(missing.code, 5);
  t.regex(missing.stderr, /^error: LOCAL_ERROR: cannot read .+nope\.pem: no such file or folder\n$/);
  const notPem = await runCli(['--ca', certs.key, '-c', 'PWD', server.host, String(server.port)]);
  t.is(notPem.code, 1);
  t.regex(notPem.stderr, /^error: LOCAL_ERROR: --ca .+ holds no PEM certificate\n$/);
});
