// A command's lock must be gone by the time its reply arrives: a client that got OK (or an error) and
// then acts on the name from another session, as a second client or a reconnect does, must not get
// BUSY from a lock nobody holds any more (docs/LOCKS.md: UPLOAD locks "until the rename").
import test from 'ava';
import { RawClient, type RawReply } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';

const ROUNDS = 150;

test('a name is free for other sessions as soon as the reply of the command that locked it arrived', async (t) => {
  t.timeout(40_000);
  const server = await startServer({ workers: 2, args: ['--log-level', 'warn'] });
  t.teardown(() => server.stop());
  // Consecutive connections go to the two workers in turn: the probe runs on the other worker.
  const a = await RawClient.connect(server.port);
  const b = await RawClient.connect(server.port);
  t.teardown(() => {
    a.close();
    b.close();
  });
  const late = new Map<string, string[]>();
  const expect = (after: string, probe: string, reply: RawReply, want: string) => {
    const got = reply.status === 'ERR' ? reply.code : reply.status;
    if (got !== want) late.set(after, [...(late.get(after) ?? []), `${probe}: ${reply.line}`]);
  };

  for (let i = 0; i < ROUNDS; i++) {
    t.is((await a.upload('x', Buffer.from(`v${i}`))).status, 'OK');
    expect('UPLOAD OK', 'DOWNLOAD x', (await b.download('x')).reply, 'OK');

    const mismatch = await a.upload('x', Buffer.from('other'), { checksumHex: '0'.repeat(16) });
    t.is(mismatch.code, 'CHECKSUM_MISMATCH');
    expect('UPLOAD CHECKSUM_MISMATCH', 'DOWNLOAD x', (await b.download('x')).reply, 'OK');

    t.is((await a.request('MOVE x y')).status, 'OK');
    expect('MOVE OK', 'DOWNLOAD y', (await b.download('y')).reply, 'OK');
    // MOVE locks before it looks: a free name that does not exist is NOT_FOUND, a locked one BUSY.
    expect('MOVE OK', 'MOVE x z', await b.request('MOVE x z'), 'NOT_FOUND');

    t.is((await a.request('DELETE y')).status, 'OK');
    expect('DELETE OK', 'MOVE y z', await b.request('MOVE y z'), 'NOT_FOUND');
  }
  const summary = Object.fromEntries(
    [...late].map(([after, lines]) => [after, `${lines.length}x ${lines[0]}`]),
  );
  t.deepEqual(summary, {}, `probes right after each reply, ${ROUNDS} rounds`);
});
