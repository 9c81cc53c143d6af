// The PROXY header reader on real loopback sockets, in this process (no server build needed): plain
// and TLS servers, headers whole, split byte by byte or sharing a segment with the client's first
// bytes, trusted and untrusted peers, garbage and silence.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import type { Logger } from '../../src/log/logger.js';
import {
  type ClientEndpoint,
  clientOf,
  type HeaderFailure,
  requireProxyHeaders,
} from '../../src/net/proxy-accept.js';
import { encodeProxyHeaderV1, encodeProxyHeaderV2, type ProxyHeader } from '../../src/net/proxy-header.js';
import { createTlsFileServer } from '../../src/tls/server-tls.js';
import { connectFrom, connectTlsThroughHeader, readUntilClosed } from '../_helpers/proxy-client.js';
import { createTestCertificates, type TestCertificates } from '../_helpers/tls-certs.js';

const PROXY = '127.0.0.5';
const DIRECT = '127.0.0.6';

const claim = (address: string, port: number): ProxyHeader => ({
  version: 1,
  command: 'proxy',
  family: address.includes(':') ? 'tcp6' : 'tcp4',
  source: { address, port },
  destination: { address: address.includes(':') ? '::1' : '127.0.0.1', port: 9400 },
});

interface Seen {
  readonly client: ClientEndpoint;
  readonly peer: string | undefined;
}

/** Log lines, as the server's logger would get them. */
function captureLog(): { log: Logger; lines: Array<{ level: string; msg: string; fields: object }> } {
  const lines: Array<{ level: string; msg: string; fields: object }> = [];
  const at = (level: string) => (fields: object, msg: string) => lines.push({ level, msg, fields });
  return { log: { info: at('info'), debug: at('debug') } as unknown as Logger, lines };
}

/**
 * An echo server behind requireProxyHeaders: greets each admitted connection with the client it was
 * told about, then echoes; `seen` gets one entry per connection that got through.
 */
async function startEcho(
  server: Server,
  options: { explain: boolean; timeoutMs?: number } = { explain: true },
): Promise<{
  port: number;
  seen: Seen[];
  lines: ReturnType<typeof captureLog>['lines'];
  failures: HeaderFailure[];
}> {
  const { log, lines } = captureLog();
  const failures: HeaderFailure[] = [];
  requireProxyHeaders(server, {
    trustedProxies: [`${PROXY}/32`],
    log,
    ...options,
    onFailure: (failure) => failures.push(failure),
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { port: address.port, seen: [], lines, failures };
}

function echo(seen: Seen[]) {
  return (socket: Socket) => {
    const client = clientOf(socket);
    seen.push({ client, peer: socket.remoteAddress });
    socket.write(`HELLO ${client.address}:${client.port}\n`);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString('latin1')}`));
    // Handed over paused (as the session's input expects: it resumes when it wants bytes).
    socket.resume();
  };
}

async function plainServer(options?: { explain: boolean; timeoutMs?: number }) {
  const seen: Seen[] = [];
  const server = createServer(echo(seen));
  const started = await startEcho(server, options);
  return { ...started, seen, server };
}

/** Reads until `text` has arrived (or the connection closes). */
async function until(
  socket: Socket,
  predicate: (text: string) => boolean,
  timeoutMs = 5_000,
): Promise<string> {
  let text = '';
  const done = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (predicate(text)) resolve();
    };
    socket.on('data', onData);
    socket.once('close', () => resolve());
    setTimeout(resolve, timeoutMs);
  });
  await done;
  return text;
}

test('a trusted proxy: the header names the client, and the bytes after it reach the listener untouched', async (t) => {
  const { port, seen, server } = await plainServer();
  t.teardown(() => server.close());
  for (const header of [
    encodeProxyHeaderV1(claim('127.0.0.9', 4000)),
    encodeProxyHeaderV2(claim('127.0.0.9', 4000)),
  ]) {
    const socket = await connectFrom(port, PROXY);
    // Header and data in one write: the listener must not lose what followed the header.
    socket.write(Buffer.concat([header, Buffer.from('NOOP\n')]));
    const text = await until(socket, (s) => s.includes('echo:NOOP\n'));
    t.is(text, 'HELLO 127.0.0.9:4000\necho:NOOP\n');
    socket.destroy();
  }
  t.is(seen.length, 2);
  t.like(seen[0]?.client, { address: '127.0.0.9', port: 4000 });
  t.regex(seen[0]?.client.proxy ?? '', /^127\.0\.0\.5:\d+$/);
  t.is(seen[0]?.peer, PROXY, 'the socket itself still says who connected');
});

test('a header split across many TCP segments is put together', async (t) => {
  const { port, server } = await plainServer();
  t.teardown(() => server.close());
  const header = encodeProxyHeaderV2(claim('2001:db8::7', 5555), Buffer.from('0400020000', 'hex'));
  const socket = await connectFrom(port, PROXY);
  for (const byte of header) {
    socket.write(Buffer.from([byte]));
    await sleep(2);
  }
  socket.write('data');
  t.is(await until(socket, (s) => s.includes('echo:data')), 'HELLO 2001:db8::7:5555\necho:data');
  socket.destroy();
});

test('IPv4-mapped client addresses are plain IPv4; LOCAL and UNKNOWN keep the real peer', async (t) => {
  const { port, seen, server } = await plainServer();
  t.teardown(() => server.close());
  const cases: Array<[Buffer, string]> = [
    [encodeProxyHeaderV1(claim('::ffff:192.0.2.7', 1)), 'HELLO 192.0.2.7:1\n'],
    [encodeProxyHeaderV2({ version: 2, command: 'local' }), `HELLO ${PROXY}:`],
    [Buffer.from('PROXY UNKNOWN\r\n'), `HELLO ${PROXY}:`],
  ];
  for (const [header, greeting] of cases) {
    const socket = await connectFrom(port, PROXY);
    socket.write(header);
    t.true((await until(socket, (s) => s.includes('\n'))).startsWith(greeting), greeting);
    socket.destroy();
  }
  t.is(seen[1]?.client.proxy, undefined, 'no proxy field when the header named nobody');
});

test('an untrusted peer is served as itself: a PROXY header from it is just data', async (t) => {
  const { port, seen, server } = await plainServer();
  t.teardown(() => server.close());
  const socket = await connectFrom(port, DIRECT);
  const greeting = await until(socket, (s) => s.includes('\n'));
  t.regex(greeting, /^HELLO 127\.0\.0\.6:\d+\n$/, 'no header expected, no wait');
  socket.write(encodeProxyHeaderV1(claim('127.0.0.9', 1)));
  t.regex(await until(socket, (s) => s.includes('PROXY')), /^echo:PROXY TCP4 127\.0\.0\.9/);
  t.is(seen[0]?.client.address, DIRECT, 'it cannot claim another address');
  socket.destroy();
});

test('a trusted proxy without a valid header is told why and closed, and never reaches the listener', async (t) => {
  const { port, seen, server, lines, failures } = await plainServer({ explain: true, timeoutMs: 500 });
  t.teardown(() => server.close());
  const garbage = await connectFrom(port, PROXY);
  garbage.write('NOOP\n');
  t.regex(
    await readUntilClosed(garbage),
    /^ERR BAD_REQUEST msg="this address is a trusted proxy: .*PROXY header"\n$/,
  );
  const bad = await connectFrom(port, PROXY);
  bad.write('PROXY TCP4 127.0.0.9 127.0.0.1 99999 9400\r\nNOOP\n');
  t.regex(await readUntilClosed(bad), /^ERR BAD_REQUEST /);
  const silent = await connectFrom(port, PROXY);
  const started = Date.now();
  t.regex(await readUntilClosed(silent), /^ERR BAD_REQUEST /);
  t.true(Date.now() - started >= 400, 'the silent one waited for the header timeout');
  const half = await connectFrom(port, PROXY);
  half.write(encodeProxyHeaderV2(claim('127.0.0.9', 1)).subarray(0, 20));
  t.regex(await readUntilClosed(half), /^ERR BAD_REQUEST /, 'a partial header is not enough');
  t.is(seen.length, 0);
  const refusals = lines.filter((l) => l.msg.includes('no valid PROXY header'));
  t.is(refusals.length, 4);
  t.like(refusals[0]?.fields, { reason: 'no PROXY header' });
  t.like(refusals[2]?.fields, { reason: 'no complete PROXY header within 0.5 s' });
  t.deepEqual(failures, ['invalid', 'invalid', 'timeout', 'timeout'], 'each one counted, by reason');
});

test('a proxy that hangs up before its header costs nothing and logs only at debug', async (t) => {
  const { port, seen, server, lines, failures } = await plainServer();
  t.teardown(() => server.close());
  const socket = await connectFrom(port, PROXY);
  socket.end('PROX');
  await readUntilClosed(socket);
  t.true(await waitForLine(lines, 'trusted proxy left before its PROXY header'));
  t.is(seen.length, 0);
  t.deepEqual(failures, ['closed']);
  t.false(lines.some((l) => l.level === 'info'));
});

async function waitForLine(lines: Array<{ msg: string }>, msg: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (lines.some((l) => l.msg === msg)) return true;
    await sleep(20);
  }
  return false;
}

// --- TLS: the header comes before the handshake ---------------------------------------------------

let certs: TestCertificates;
test.before(async () => {
  certs = await createTestCertificates();
});
test.after.always(async () => {
  await certs?.remove();
});

async function tlsServer(timeoutMs?: number) {
  const seen: Seen[] = [];
  const tlsLog = captureLog();
  const server = createTlsFileServer(
    { certFile: certs.cert, keyFile: certs.key },
    { noDelay: true, highWaterMark: 1 << 16 },
    echo(seen),
    tlsLog.log,
  );
  const started = await startEcho(server, { explain: false, timeoutMs });
  return { ...started, seen, server, tlsLines: tlsLog.lines };
}

test('TLS: a handshake that fails behind a proxy is logged with the client the header named', async (t) => {
  const { port, seen, server, tlsLines } = await tlsServer();
  t.teardown(() => server.close());
  const socket = await connectFrom(port, PROXY);
  socket.write(Buffer.concat([encodeProxyHeaderV1(claim('127.0.0.9', 6000)), Buffer.from('NOOP\r\n\r\n')]));
  await readUntilClosed(socket);
  t.true(await waitForLine(tlsLines, 'TLS handshake failed, connection closed'));
  const line = tlsLines.find((l) => l.msg === 'TLS handshake failed, connection closed');
  t.like(line?.fields, { peer: '127.0.0.9:6000' });
  t.regex((line?.fields as { proxy?: string } | undefined)?.proxy ?? '', /^127\.0\.0\.5:/);
  t.is(seen.length, 0);
});

test('TLS: the header is read from the raw socket, then the handshake runs on it (same segment or not)', async (t) => {
  t.truthy(readFileSync(certs.cert));
  const { port, seen, server, lines } = await tlsServer();
  t.teardown(() => server.close());
  for (const [i, sameSegment] of [true, false].entries()) {
    for (const header of [
      encodeProxyHeaderV1(claim('127.0.0.9', 7000 + i)),
      encodeProxyHeaderV2(claim('127.0.0.9', 7100 + i)),
    ]) {
      const tls = await connectTlsThroughHeader(port, PROXY, header, { sameSegment });
      tls.write('NOOP\n');
      const text = await until(tls as unknown as Socket, (s) => s.includes('echo:'));
      t.regex(text, /^HELLO 127\.0\.0\.9:7[01]0[01]\necho:NOOP\n$/, `same segment: ${sameSegment}`);
      tls.destroy();
    }
  }
  t.is(seen.length, 4);
  for (const s of seen)
    t.regex(s.client.proxy ?? '', /^127\.0\.0\.5:/, 'the TLS socket maps back to its header');
  // The ClientHello came in the same read as the header, and was handed to TLS from there.
  const following = lines
    .filter((l) => l.msg === 'PROXY header')
    .map((l) => (l.fields as { following: number }).following);
  t.true((following[0] ?? 0) > 0 && (following[1] ?? 0) > 0, JSON.stringify(following));
});

test('TLS: a trusted proxy with no header is closed without a word; an untrusted client needs none', async (t) => {
  const { port, seen, server } = await tlsServer(500);
  t.teardown(() => server.close());
  const garbage = await connectFrom(port, PROXY);
  garbage.write('NOOP\n');
  t.is(await readUntilClosed(garbage), '', 'no text on a TLS port');
  const direct = await connectTlsThroughHeader(port, DIRECT, Buffer.alloc(0), { sameSegment: false });
  t.regex(await until(direct as unknown as Socket, (s) => s.includes('\n')), /^HELLO 127\.0\.0\.6:\d+\n$/);
  direct.destroy();
  t.is(seen.length, 1);
});
