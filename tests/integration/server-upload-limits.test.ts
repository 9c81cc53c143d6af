// Upload limits (docs/SECURITY.md#limits) on the real built server: --max-file-size refuses before any
// byte, --min-free-space refuses up front, and a disk that fills mid-upload (a real, small tmpfs)
// fails that upload cleanly: no partial file, the target unchanged, the lock released.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { access, mkdtemp, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { q, RawClient } from '../_helpers/raw-client.js';
import { sampleSum, scrape } from '../_helpers/scrape.js';
import { startServer } from '../_helpers/server.js';
import { leftovers, listTree } from '../_helpers/tree.js';

/** An immediate upload (`go=no`): request line, bytes and CHECKSUM line in one piece. */
function immediate(name: string, data: Buffer): Buffer {
  const hash = createChecksum('xxh3-64');
  hash.update(data);
  return Buffer.concat([
    Buffer.from(`UPLOAD ${q(name)} ${data.length} go=no\n`),
    data,
    Buffer.from(`CHECKSUM xxh3-64:${hash.digest()}\n`),
  ]);
}

async function refusals(server: Parameters<typeof scrape>[0], reason: string): Promise<number> {
  return sampleSum(await scrape(server), 'filehive_refusals_total', { reason });
}

test('an upload over --max-file-size is refused before any byte and the session goes on', async (t) => {
  const server = await startServer({ workers: 1, args: ['--max-file-size', '1K'] });
  t.teardown(() => server.stop());
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.close());
  t.is((await c.upload('keep.txt', Buffer.from('kept'))).status, 'OK');

  // No byte is sent: the refusal is the answer to the request line itself.
  const refused = await c.request('UPLOAD big.bin 1025');
  t.is(refused.code, 'TOO_LARGE', refused.line);
  t.is(refused.fields.max, '1024');
  t.regex(refused.fields.msg ?? '', /limit of 1024 bytes/);
  t.is((await c.request('PWD')).status, 'OK');
  const exact = await c.upload('exact.bin', Buffer.alloc(1024, 7));
  t.is(exact.status, 'OK', `the limit itself is allowed: ${exact.line}`);

  // An immediate upload over the limit: its bytes (which spell a request) are read and dropped.
  c.send(
    Buffer.concat([immediate('big.bin', Buffer.from('DELETE keep.txt\n'.repeat(100))), Buffer.from('PWD\n')]),
  );
  t.is((await c.reply()).code, 'TOO_LARGE');
  t.is((await c.reply()).status, 'OK', 'the pipelined request after it is served');
  t.is(await readFile(join(server.root, 'keep.txt'), 'utf8'), 'kept');
  await t.throwsAsync(access(join(server.root, 'big.bin')));
  t.deepEqual(await leftovers(server.root), []);
  t.is(await refusals(server, 'too_large'), 2);
});

test('a refused immediate upload whose bytes never come is cut by the stall timeout', async (t) => {
  const server = await startServer({ workers: 1, args: ['--max-file-size', '1K', '--stall-timeout', '1'] });
  t.teardown(() => server.stop());
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.close());
  c.send('UPLOAD big.bin 5000 go=no\nabc');
  const reply = await c.reply(15_000);
  t.is(reply.code, 'TIMEOUT', reply.line);
  await c.closed();
  t.is(await refusals(server, 'stall_timeout'), 1);
});

test('an upload that would leave less than --min-free-space is refused up front with NO_SPACE', async (t) => {
  const server = await startServer({ workers: 1, args: ['--min-free-space', '1000T'] });
  t.teardown(() => server.stop());
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.close());
  const refused = await c.request('UPLOAD a.bin 10');
  t.is(refused.code, 'NO_SPACE', refused.line);
  t.regex(refused.fields.msg ?? '', /not enough free disk space/);
  t.is((await c.request('PWD')).status, 'OK', 'the session goes on');
  c.send(Buffer.concat([immediate('b.bin', Buffer.from('DELETE a.bin\n')), Buffer.from('NOOP\n')]));
  t.is((await c.reply()).code, 'NO_SPACE');
  t.is((await c.reply()).status, 'OK');
  t.is((await c.request('MKDIR docs')).status, 'OK', 'other commands are not affected');
  const visible = (await listTree(server.root)).filter((p) => !p.startsWith('.filehive'));
  t.deepEqual(visible, ['docs'], 'nothing was created by the refused uploads');
  t.deepEqual(await leftovers(server.root), []);
  t.is(await refusals(server, 'no_space'), 2);
});

/** Mounts a tmpfs of `size` on a new folder; the reason it cannot, when it cannot. */
function mountTmpfs(dir: string, size: string): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (result.error) return `mount: ${result.error.message}`;
  if (result.status !== 0) return `mount: ${result.stderr.trim() || `exit ${result.status}`}`;
  return null;
}

function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}

// Probed synchronously: ava wants every test declared before the first tick.
const probeDir = mkdtempSync(join(tmpdir(), 'filehive-tmpfs-probe-'));
const cannotMount = mountTmpfs(probeDir, '1m');
if (cannotMount === null) unmount(probeDir);
rmdirSync(probeDir);

const ENOSPC_TITLE = 'a disk that fills during an upload fails it with NO_SPACE, leaving no partial file';
if (cannotMount !== null) {
  // A fresh CI container runs as root, where this test runs.
  test.skip(`${ENOSPC_TITLE} [skipped: cannot mount a tmpfs here: ${cannotMount}]`, () => undefined);
} else {
  test(ENOSPC_TITLE, async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'filehive-tmpfs-'));
    const reason = mountTmpfs(root, '4m');
    if (reason !== null) throw new Error(reason);
    t.teardown(async () => {
      unmount(root);
      await rmdir(root);
    });
    const server = await startServer({ root, workers: 1, args: ['--min-free-space', '0'] });
    t.teardown(() => server.stop());
    const c = await RawClient.connect(server.port);
    t.teardown(() => c.close());
    const original = randomBytes(64 << 10);
    t.is((await c.upload('target.bin', original)).status, 'OK');

    // 3 MiB fit when asked, so the upload starts; then something else fills the disk to 256 KiB.
    const size = 3 << 20;
    const go = await c.request(`UPLOAD target.bin ${size}`);
    t.is(go.status, 'GO', go.line);
    const { bavail, bsize } = await statfs(root);
    await writeFile(join(root, 'filler.bin'), Buffer.alloc(bavail * bsize - (256 << 10)));
    c.send(randomBytes(size));
    c.send('CHECKSUM xxh3-64:0000000000000000\n');
    const reply = await c.reply(15_000);
    t.is(reply.code, 'NO_SPACE', reply.line);
    t.regex(reply.fields.msg ?? '', /filled up during the upload/);
    await c.closed();

    t.deepEqual(await readFile(join(root, 'target.bin')), original, 'the target is unchanged');
    t.deepEqual(await leftovers(root), [], 'no temp file, no lock');
    // With space back, the same name takes an upload at once: the lock was released.
    await rm(join(root, 'filler.bin'));
    const again = await RawClient.connect(server.port);
    t.teardown(() => again.close());
    const replacement = randomBytes(1 << 20);
    t.is((await again.upload('target.bin', replacement)).status, 'OK');
    t.deepEqual(await readFile(join(root, 'target.bin')), replacement);
    t.is(await refusals(server, 'disk_full'), 1);
    t.is(await refusals(server, 'no_space'), 0);
  });
}
