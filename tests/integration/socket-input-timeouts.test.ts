// SocketInput's clocks over a real loopback socket pair: a request line must be whole within the idle
// limit however it trickles; inside a command each wait for bytes gets the stall limit afresh; 0 is
// never. Short limits, generous margins: the assertions are about which side of a limit things fall.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { type InputLimits, SocketInput } from '../../src/worker/socket-input.js';
import { SessionTimeout } from '../../src/worker/timeouts.js';

/** A connected pair: `input` reads the server side, `peer` is the client's socket. */
async function pair(limits: InputLimits): Promise<{ input: SocketInput; peer: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const peer = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1' });
  const [socket] = (await accepted) as [Socket];
  server.close();
  return {
    input: new SocketInput(socket, limits),
    peer,
    close() {
      peer.destroy();
      socket.destroy();
    },
  };
}

test('a request line that trickles in fails at the idle limit, counted from the start of the wait', async (t) => {
  const { input, peer, close } = await pair({ idleMs: 600, stallMs: 0 });
  t.teardown(close);
  const trickle = setInterval(() => peer.write('x'), 50);
  t.teardown(() => clearInterval(trickle));
  const started = performance.now();
  const err = await t.throwsAsync(input.line(16_384, 'idle'), { instanceOf: SessionTimeout });
  const elapsed = performance.now() - started;
  t.is(err?.kind, 'idle');
  t.is(err?.code, 'TIMEOUT');
  t.true(elapsed >= 590 && elapsed < 5_000, `${elapsed} ms`);
});

test('a line that arrives in time is returned, and the next wait gets the whole limit again', async (t) => {
  const { input, peer, close } = await pair({ idleMs: 600, stallMs: 0 });
  t.teardown(close);
  for (let i = 0; i < 3; i++) {
    setTimeout(() => peer.write(`NOOP ${i}\n`), 400);
    t.is(String(await input.line(16_384, 'idle')), `NOOP ${i}`);
  }
});

test('upload bytes: each wait gets the stall limit, so a steady slow sender is never cut', async (t) => {
  const { input, peer, close } = await pair({ idleMs: 0, stallMs: 1_000 });
  t.teardown(close);
  let received = 0;
  const sender = (async () => {
    for (let i = 0; i < 8; i++) {
      await sleep(150);
      peer.write(Buffer.alloc(100));
    }
  })();
  while (received < 800) for (const chunk of await input.chunks(1 << 20)) received += chunk.length;
  await sender;
  t.is(received, 800, 'eight sends 150 ms apart, 1.2 s in all, past a 1 s stall limit');
  const started = performance.now();
  await t.throwsAsync(input.chunks(1 << 20), { instanceOf: SessionTimeout, message: /stalled/ });
  t.true(performance.now() - started >= 990);
  await t.throwsAsync(input.skip(10), { instanceOf: SessionTimeout });
});

test('a stall wait after a long idle one is not held to the idle deadline', async (t) => {
  const { input, peer, close } = await pair({ idleMs: 60_000, stallMs: 300 });
  t.teardown(close);
  setTimeout(() => peer.write('UPLOAD x 10\n'), 50);
  t.is(String(await input.line(16_384, 'idle')), 'UPLOAD x 10');
  const started = performance.now();
  await t.throwsAsync(input.chunks(10), { instanceOf: SessionTimeout });
  const elapsed = performance.now() - started;
  t.true(elapsed >= 290 && elapsed < 5_000, `${elapsed} ms`);
});

test('limits of 0 never fire', async (t) => {
  const { input, peer, close } = await pair({ idleMs: 0, stallMs: 0 });
  t.teardown(close);
  setTimeout(() => peer.write('late\n'), 700);
  t.is(String(await input.line(16_384, 'idle')), 'late');
  setTimeout(() => peer.write('abc'), 700);
  t.is(Buffer.concat(await input.chunks(10)).toString(), 'abc');
});

test('a peer that closes ends the waits with null and [] instead of a timeout', async (t) => {
  const { input, peer, close } = await pair({ idleMs: 300, stallMs: 300 });
  t.teardown(close);
  setTimeout(() => peer.end(), 50);
  t.is(await input.line(16_384, 'idle'), null);
  t.deepEqual(await input.chunks(10), []);
});
