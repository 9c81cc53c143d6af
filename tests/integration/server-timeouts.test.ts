// --idle-timeout and --stall-timeout (docs/SECURITY.md#limits) on the real built server: idle and
// trickling sessions are closed with ERR TIMEOUT, a client that stops sending mid-upload or stops
// reading mid-download is cut and leaves nothing behind, and clients that keep moving are never cut.
// The limits are 3 s: a session that moves every 250 ms stays far from them even on a loaded machine.
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { RawClient } from '../_helpers/raw-client.js';
import { sampleSum, scrape } from '../_helpers/scrape.js';
import { useSharedServer } from '../_helpers/shared-server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const LIMIT_MS = 3_000;
// One worker: "the worker still serves others" means the same process.
const shared = useSharedServer(test, {
  workers: 1,
  args: ['--idle-timeout', String(LIMIT_MS / 1000), '--stall-timeout', String(LIMIT_MS / 1000)],
});

// Before the shared server's own after.always hook removes the root.
test.after('no session left a temp file or a lock behind', async (t) => {
  t.deepEqual(await leftovers(shared.current().root), []);
});

function xxh3(data: Buffer): string {
  const hash = createChecksum('xxh3-64');
  hash.update(data);
  return hash.digest();
}

test('a session with no request for --idle-timeout gets ERR TIMEOUT and is closed', async (t) => {
  const c = await RawClient.connect(shared.current().port);
  t.teardown(() => c.close());
  t.is((await c.request('PWD')).status, 'OK');
  const started = Date.now();
  const reply = await c.reply(20_000);
  t.is(reply.code, 'TIMEOUT', reply.line);
  t.regex(reply.fields.msg ?? '', /no request for 3 s/);
  t.true(Date.now() - started >= LIMIT_MS / 2, 'not long before the limit');
  await c.closed();
});

test('a request line that trickles in never outlasts the idle timeout', async (t) => {
  const c = await RawClient.connect(shared.current().port);
  t.teardown(() => c.close());
  const started = Date.now();
  const trickle = setInterval(() => c.send('D'), 250);
  t.teardown(() => clearInterval(trickle));
  const reply = await c.reply(20_000);
  clearInterval(trickle);
  t.is(reply.code, 'TIMEOUT', reply.line);
  t.true(Date.now() - started >= LIMIT_MS / 2, 'not long before the limit');
  await c.closed();
});

test('a line that never ends is still cut at the line limit', async (t) => {
  const c = await RawClient.connect(shared.current().port);
  t.teardown(() => c.close());
  c.send('x'.repeat(16_385));
  const reply = await c.reply();
  t.is(reply.code, 'BAD_REQUEST', reply.line);
  t.regex(reply.fields.msg ?? '', /line too long/);
  await c.closed();
});

test('a session that keeps sending requests outlives the idle timeout', async (t) => {
  const c = await RawClient.connect(shared.current().port);
  t.teardown(() => c.close());
  const until = Date.now() + LIMIT_MS * 1.5;
  while (Date.now() < until) {
    t.is((await c.request('NOOP')).status, 'OK');
    await sleep(250);
  }
  t.false(c.isClosed);
});

test('an upload whose client stops sending is cut: ERR TIMEOUT, closed, no temp file, lock released', async (t) => {
  const c = await shared.session('upload-stall');
  t.teardown(() => c.close());
  t.is((await c.request('UPLOAD big.bin 1048576')).status, 'GO');
  c.send(randomBytes(64 << 10));
  const reply = await c.reply(20_000);
  t.is(reply.code, 'TIMEOUT', reply.line);
  t.regex(reply.fields.msg ?? '', /stalled/);
  await c.closed();
  const folder = join(shared.current().root, 'upload-stall');
  t.deepEqual(await leftovers(folder), []);
  await t.throwsAsync(access(join(folder, 'big.bin')));
  // The lock went with it: the same name takes an upload at once.
  const again = await shared.session('upload-stall');
  t.teardown(() => again.close());
  t.is((await again.upload('big.bin', Buffer.from('fine'))).status, 'OK');
});

test('an upload whose CHECKSUM line never comes is cut', async (t) => {
  const c = await shared.session('checksum-stall');
  t.teardown(() => c.close());
  t.is((await c.request('UPLOAD f.bin 5')).status, 'GO');
  c.send('hello');
  const reply = await c.reply(20_000);
  t.is(reply.code, 'TIMEOUT', reply.line);
  await c.closed();
  await t.throwsAsync(access(join(shared.current().root, 'checksum-stall', 'f.bin')));
});

test('a slow upload that keeps moving is not cut', async (t) => {
  const c = await shared.session('slow-upload');
  t.teardown(() => c.close());
  const data = randomBytes(16 << 10);
  t.is((await c.request(`UPLOAD slow.bin ${data.length}`)).status, 'GO');
  // 1 KiB every 250 ms: 4 s in all, longer than the stall limit.
  for (let i = 0; i < data.length; i += 1024) {
    c.send(data.subarray(i, i + 1024));
    await sleep(250);
  }
  c.send(`CHECKSUM xxh3-64:${xxh3(data)}\n`);
  const reply = await c.reply(20_000);
  t.is(reply.status, 'OK', reply.line);
});

/** A DOWNLOAD on a plain socket the test pauses and resumes; keeps every byte that arrives. */
function rawDownload(port: number, path: string) {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let total = 0;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  socket.write(`DOWNLOAD ${path}\n`);
  return {
    socket,
    closed,
    total: () => total,
    received: () => Buffer.concat(chunks),
    /** The last `n` bytes received, as latin1 text. */
    tail: (n: number) => {
      const last: Buffer[] = [];
      for (let i = chunks.length - 1, got = 0; i >= 0 && got < n; i--) {
        last.unshift(chunks[i] as Buffer);
        got += (chunks[i] as Buffer).length;
      }
      return Buffer.concat(last).subarray(-n).toString('latin1');
    },
  };
}

test('a download whose client stops reading is cut, and the worker goes on serving others', async (t) => {
  const server = shared.current();
  const folder = join(server.root, 'download-stall');
  await mkdir(folder, { recursive: true });
  const size = 48 << 20;
  await writeFile(join(folder, 'big.bin'), Buffer.alloc(size, 1));
  await writeFile(join(folder, 'small.txt'), 'small');
  const before = sampleSum(await scrape(server), 'filehive_transfers_failed_total', {
    direction: 'download',
    code: 'TIMEOUT',
  });

  const stuck = rawDownload(server.port, '/download-stall/big.bin');
  t.teardown(() => stuck.socket.destroy());
  // Read the greeting and the DATA line, then stop reading.
  t.true(await waitFor(() => stuck.received().includes('DATA size='), 10_000, 10));
  stuck.socket.pause();

  const other = await shared.session('download-stall');
  t.teardown(() => other.close());
  const cut = await waitFor(
    async () => {
      // Served while the stuck download holds its place, and after it is cut.
      t.deepEqual((await other.download('small.txt')).data, Buffer.from('small'));
      const text = await scrape(server);
      const failed = { direction: 'download', code: 'TIMEOUT' };
      return sampleSum(text, 'filehive_transfers_failed_total', failed) > before;
    },
    30_000,
    250,
  );
  t.true(cut, 'the stalled download was cut');

  // The client now reads what was still on the way: part of the file, no final OK, then the close.
  stuck.socket.resume();
  await stuck.closed;
  t.true(stuck.total() < size, `fewer bytes than announced: ${stuck.total()}`);
  t.notRegex(stuck.tail(200), /OK size=/);
  t.is((await other.request('PWD')).status, 'OK');
  t.true(sampleSum(await scrape(server), 'filehive_refusals_total', { reason: 'stall_timeout' }) >= 1);
});

test('a slow download that keeps reading is not cut', async (t) => {
  const server = shared.current();
  const folder = join(server.root, 'download-slow');
  await mkdir(folder, { recursive: true });
  const data = randomBytes(16 << 20);
  await writeFile(join(folder, 'f.bin'), data);
  const slow = rawDownload(server.port, '/download-slow/f.bin');
  t.teardown(() => slow.socket.destroy());
  // About 4 MiB/s: 1 MiB, then a pause of 250 ms; the whole file takes about 4 s.
  let window = 0;
  slow.socket.on('data', (chunk: Buffer) => {
    window += chunk.length;
    if (window >= 1 << 20) {
      slow.socket.pause();
      setTimeout(() => {
        window = 0;
        slow.socket.resume();
      }, 250);
    }
  });
  const done = await waitFor(() => /OK size=\d+ checksum=\S+ msg=/.test(slow.tail(200)), 60_000, 50);
  t.true(done, 'the download completed');
  const all = slow.received();
  const start = all.indexOf('\n', all.indexOf('DATA size=')) + 1;
  const body = all.subarray(start, start + data.length);
  t.is(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(data).digest('hex'));
});
