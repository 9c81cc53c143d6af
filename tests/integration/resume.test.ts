// Resumed transfers against the real server (docs/PROTOCOL.md#resume): the documented exchange, the
// check of the part both sides have (RESUME_MISMATCH, nothing corrupt), the lock that keeps two
// sessions off one partial, immediate resumable uploads, and what is (not) kept when cut off.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { FilehiveClient } from '../../src/client/index.js';
import { createChecksum } from '../../src/protocol/checksum.js';
import { rejectsWith, withClient } from '../_helpers/fake-client.js';
import { q, sha256 } from '../_helpers/raw-client.js';
import { useSharedServer } from '../_helpers/shared-server.js';
import { leftovers, partials, sweepRan } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

// A short sweep interval: every test here also checks that sweeps leave unexpired partials alone.
const shared = useSharedServer(test, { workers: 2, args: ['--sweep-interval', '0.3'] });

const root = () => shared.current().root;
const partialDir = () => join(root(), '.filehive', 'partial');

function xxh3(data: Buffer): string {
  const hash = createChecksum('xxh3-64');
  hash.update(data);
  return hash.digest();
}

async function locksReleased(): Promise<boolean> {
  const entries = await readdir(join(root(), '.filehive', 'locks')).catch(() => [] as string[]);
  return !entries.some((e) => e.endsWith('.lock'));
}

/** The size of the one partial in the store, or -1. */
async function keptBytes(): Promise<number> {
  const [name, ...more] = await partials(root());
  if (name === undefined || more.length > 0) return -1;
  return stat(join(partialDir(), name)).then((s) => s.size);
}

/**
 * A resumable upload of `data` to `name` (in `folder`) that dies after `cut` bytes: the server keeps
 * them. Returns once the server has wound the upload up (its lock is free).
 */
async function cutResumableUpload(folder: string, name: string, data: Buffer, cut: number): Promise<void> {
  const c = await shared.session(folder);
  const go = await c.request(`UPLOAD ${q(name)} ${data.length} resume=yes`);
  if (go.status !== 'GO') throw new Error(go.line);
  c.send(data.subarray(0, cut));
  const arrived = await waitFor(async () => (await keptBytes()) === cut, 20_000);
  c.close();
  if (!arrived) throw new Error(`the server did not receive ${cut} bytes`);
  if (!(await waitFor(locksReleased, 20_000))) throw new Error('the cut upload kept its lock');
}

async function connectIn(folder: string): Promise<FilehiveClient> {
  await mkdir(join(root(), folder), { recursive: true });
  const client = await FilehiveClient.connect({ host: '127.0.0.1', port: shared.current().port });
  await client.chdir(folder);
  return client;
}

test.afterEach.always(async () => {
  await rm(partialDir(), { recursive: true, force: true });
});

test.serial('the greeting offers resume', async (t) => {
  const c = await shared.session('greet');
  t.regex(c.greeting, /features=[^ ]*\bresume\b/);
  c.close();
});

test.serial('the documented exchange: PARTIAL, then UPLOAD and DOWNLOAD from offset 7', async (t) => {
  const data = Buffer.from('hello, resumed world\n');
  await cutResumableUpload('doc', 'hello.txt', data, 7);
  const names = await partials(root());
  t.is(names.length, 1);
  t.regex(names[0] as string, /^[0-9a-f]{40}-[0-9a-f]{32}\.part$/, 'partial names are hashes only');
  await t.throwsAsync(stat(join(root(), 'doc', 'hello.txt')), { code: 'ENOENT' });

  const c = await shared.session('doc');
  const kept = await c.request('PARTIAL hello.txt 21');
  t.is(kept.status, 'OK', kept.line);
  t.like(kept.fields, { size: '21', offset: '7' });
  t.true(Date.parse(kept.fields.expires ?? '') > Date.now() + 3_600_000, 'expires a day later');
  const first = sha256(data.subarray(0, 7));
  t.is(first, '40a11d59c648b358ae4cc3a40acb67970c1d23345b1da7e5052f68546c85ed7b');
  const go = await c.request(`UPLOAD hello.txt 21 resume=yes offset=7 sha256=${first}`);
  t.is(go.line, 'GO size=21 offset=7');
  c.send(data.subarray(7));
  const ok = await c.request('CHECKSUM xxh3-64:4926db4b3faf5db2');
  t.is(
    ok.line,
    'OK size=21 checksum=xxh3-64:4926db4b3faf5db2 resumed=7 msg="stored /doc/hello.txt, resumed at byte 7"',
  );
  t.deepEqual(await readFile(join(root(), 'doc', 'hello.txt')), data);
  t.deepEqual(await partials(root()), []);

  const head = await c.request(`DOWNLOAD hello.txt offset=7 sha256=${first}`);
  t.is(head.line, 'DATA size=21 offset=7 checksum=xxh3-64');
  t.deepEqual(await c.bytes(14), data.subarray(7));
  t.is((await c.reply()).line, 'OK size=21 checksum=xxh3-64:4926db4b3faf5db2 msg="sent /doc/hello.txt"');
  // Nothing kept: offset 0, and a resume from a part the server does not have is refused.
  t.like((await c.request('PARTIAL hello.txt 21')).fields, { offset: '0' });
  const none = await c.request(`UPLOAD hello.txt 21 resume=yes offset=7 sha256=${first}`);
  t.is(none.code, 'RESUME_MISMATCH', none.line);
  t.is(none.fields.have, '0');
  t.is((await c.request('NOOP')).status, 'OK', 'the session goes on');
  c.close();
  t.deepEqual(await leftovers(root()), []);
});

test.serial('a tampered partial upload is refused with RESUME_MISMATCH and discarded', async (t) => {
  const local = await mkdtemp(join(tmpdir(), 'filehive-resume-'));
  const client = await connectIn('tamper-up');
  try {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(local, 'f.bin'), data);
    await cutResumableUpload('tamper-up', 'f.bin', data, 1024 * 1024);
    const [name] = await partials(root());
    const path = join(partialDir(), name as string);
    const kept = await readFile(path);
    kept[1000] = (kept[1000] as number) ^ 0xff;
    await writeFile(path, kept);

    const err = await t.throwsAsync(client.upload(join(local, 'f.bin'), { resume: true }));
    t.is((err as { code?: string }).code, 'RESUME_MISMATCH');
    t.regex(err?.message ?? '', /differ.*discarded/);
    t.false(client.closed, 'refused before GO: the session goes on');
    await t.throwsAsync(stat(join(root(), 'tamper-up', 'f.bin')), { code: 'ENOENT' }, 'nothing stored');
    t.deepEqual(await partials(root()), [], 'the bad partial is gone');

    const again = await client.upload(join(local, 'f.bin'), { resume: true });
    t.is(again.resumedFrom, 0);
    t.true((await readFile(join(root(), 'tamper-up', 'f.bin'))).equals(data), 'the stored file differs');
    t.deepEqual(await leftovers(root()), []);
  } finally {
    await client.close();
    await rm(local, { recursive: true, force: true });
  }
});

test.serial('the library resumes an upload the server kept, and the whole file is checked', async (t) => {
  const local = await mkdtemp(join(tmpdir(), 'filehive-resume-'));
  const client = await connectIn('lib-up');
  try {
    const data = randomBytes(2 * 1024 * 1024 + 5);
    await writeFile(join(local, 'f.bin'), data);
    await cutResumableUpload('lib-up', 'f.bin', data, 1_500_000);
    t.true(await sweepRan(root()), 'no sweep ran');
    t.is(await keptBytes(), 1_500_000, 'sweeps keep unexpired partials');
    const progress: number[] = [];
    const result = await client.upload(join(local, 'f.bin'), {
      resume: true,
      checksum: 'sha256',
      onProgress: (done) => progress.push(done),
    });
    t.is(result.resumedFrom, 1_500_000);
    t.is(result.bytes, data.length);
    t.is(result.checksum, `sha256:${sha256(data)}`);
    t.true((progress[0] as number) > 1_500_000 && progress.at(-1) === data.length);
    t.true((await readFile(join(root(), 'lib-up', 'f.bin'))).equals(data), 'the stored file differs');
    t.deepEqual(await partials(root()), []);
  } finally {
    await client.close();
    await rm(local, { recursive: true, force: true });
  }
});

test.serial('a tampered partial download is refused with RESUME_MISMATCH and discarded', async (t) => {
  const local = await mkdtemp(join(tmpdir(), 'filehive-resume-'));
  const client = await connectIn('tamper-down');
  try {
    const data = randomBytes(2 * 1024 * 1024 + 3);
    await writeFile(join(root(), 'tamper-down', 'f.bin'), data);
    const partial = join(local, '.f.bin.filehive-partial');
    const tampered = Buffer.from(data.subarray(0, 1024 * 1024));
    tampered[5] = (tampered[5] as number) ^ 1;
    await writeFile(partial, tampered);

    const err = await t.throwsAsync(client.download('f.bin', { dir: local, resume: true }));
    t.is((err as { code?: string }).code, 'RESUME_MISMATCH');
    t.regex(err?.message ?? '', /differ.*discarded/);
    t.deepEqual(await readdir(local), [], 'no file and no partial');

    // Longer than the file on the server: refused the same way.
    await writeFile(partial, Buffer.concat([data, Buffer.from('more')]));
    const longer = await t.throwsAsync(client.download('f.bin', { dir: local, resume: true }));
    t.is((longer as { code?: string }).code, 'RESUME_MISMATCH');
    t.deepEqual(await readdir(local), []);

    // An honest partial is continued.
    await writeFile(partial, data.subarray(0, 777_777));
    const result = await client.download('f.bin', { dir: local, resume: true });
    t.is(result.resumedFrom, 777_777);
    t.true((await readFile(join(local, 'f.bin'))).equals(data), 'the saved file differs');
    t.deepEqual(await readdir(local), ['f.bin']);
  } finally {
    await client.close();
    await rm(local, { recursive: true, force: true });
  }
});

test.serial('a download cut off with --resume keeps its partial; without, it leaves nothing', async (t) => {
  const local = await mkdtemp(join(tmpdir(), 'filehive-resume-'));
  try {
    const data = randomBytes(8 * 1024 * 1024);
    await mkdir(join(root(), 'cut-down'), { recursive: true });
    await writeFile(join(root(), 'cut-down', 'f.bin'), data);
    for (const resume of [true, false]) {
      const client = await connectIn('cut-down');
      let cancelled = false;
      const onProgress = (done: number) => {
        if (done >= 2 * 1024 * 1024 && !cancelled) {
          cancelled = true;
          client.destroy();
        }
      };
      const err = await t.throwsAsync(client.download('f.bin', { dir: local, resume, onProgress }));
      t.is((err as { code?: string }).code, 'CANCELLED');
      const names = await readdir(local);
      if (resume) {
        t.deepEqual(names, ['.f.bin.filehive-partial']);
        const kept = await readFile(join(local, '.f.bin.filehive-partial'));
        t.true(kept.length >= 2 * 1024 * 1024 && kept.length < data.length, `kept ${kept.length}`);
        t.true(kept.equals(data.subarray(0, kept.length)), 'the kept part differs');
        await rm(join(local, '.f.bin.filehive-partial'));
      } else {
        t.deepEqual(names, []);
      }
    }
  } finally {
    await rm(local, { recursive: true, force: true });
  }
});

test.serial(
  'an upload without resume=yes keeps nothing when cut off; an empty resumable one neither',
  async (t) => {
    const c = await shared.session('plain');
    const data = randomBytes(1024 * 1024);
    t.is((await c.request(`UPLOAD f.bin ${data.length}`)).status, 'GO');
    c.send(data.subarray(0, 300_000));
    await waitFor(async () => (await leftovers(root())).some((p) => p.endsWith('.tmp')), 10_000);
    c.close();
    const d = await shared.session('plain');
    t.is((await d.request(`UPLOAD g.bin ${data.length} resume=yes`)).status, 'GO');
    d.close();
    t.true(
      await waitFor(async () => (await locksReleased()) && (await leftovers(root())).length === 0, 20_000),
    );
    t.deepEqual(await partials(root()), []);
    t.deepEqual(await readdir(join(root(), 'plain')), []);
  },
);

test.serial(
  'while one session appends to a partial, another gets BUSY, and so does RMDIR of its folder',
  async (t) => {
    const data = randomBytes(2 * 1024 * 1024);
    await cutResumableUpload('busy', 'f.bin', data, 500_000);
    const first = sha256(data.subarray(0, 500_000));
    const a = await shared.session('busy');
    const b = await shared.session('busy');
    const go = await a.request(`UPLOAD f.bin ${data.length} resume=yes offset=500000 sha256=${first}`);
    t.is(go.line, `GO size=${data.length} offset=500000`);
    a.send(data.subarray(500_000, 1_000_000));
    t.is(
      (await b.request(`PARTIAL f.bin ${data.length}`)).status,
      'OK',
      'PARTIAL only looks: no lock needed',
    );
    const refused = await b.request(`UPLOAD f.bin ${data.length} resume=yes offset=500000 sha256=${first}`);
    t.is(refused.code, 'BUSY', refused.line);
    const rmdir = await b.request('RMDIR /busy');
    t.is(rmdir.code, 'BUSY', `the folder of a running resumable upload stays: ${rmdir.line}`);
    a.send(data.subarray(1_000_000));
    const ok = await a.request(`CHECKSUM xxh3-64:${xxh3(data)}`);
    t.is(ok.status, 'OK', ok.line);
    t.is(ok.fields.resumed, '500000');
    t.true((await readFile(join(root(), 'busy', 'f.bin'))).equals(data), 'the stored file differs');
    a.close();
    b.close();
  },
);

test.serial('immediate resumable uploads: the body is size - offset, also when refused', async (t) => {
  const c = await shared.session('immediate');
  await mkdir(join(root(), 'immediate', 'folder'));
  const data = Buffer.from('0123456789');
  const first = sha256(data.subarray(0, 4));
  // The refused body spells a request: were the wrong number of bytes skipped, it would run.
  const sneaky = Buffer.from('MKDIR x\n');
  c.send(
    Buffer.concat([
      Buffer.from(`UPLOAD folder 12 resume=yes offset=4 sha256=${first} go=no\n`),
      sneaky,
      Buffer.from(`CHECKSUM xxh3-64:${'0'.repeat(16)}\n`),
      Buffer.from(`UPLOAD ten.txt 10 resume=yes go=no\n`),
      data,
      Buffer.from(`CHECKSUM xxh3-64:${xxh3(data)}\n`),
    ]),
  );
  t.is((await c.reply()).code, 'IS_A_DIRECTORY');
  const ok = await c.reply();
  t.is(ok.status, 'OK', ok.line);
  t.is(await readFile(join(root(), 'immediate', 'ten.txt'), 'utf8'), '0123456789');
  t.deepEqual((await readdir(join(root(), 'immediate'))).sort(), ['folder', 'ten.txt']);
  t.is((await c.request('NOOP')).status, 'OK');
  c.close();
});

test.serial('bad resume options are BAD_REQUEST', async (t) => {
  const c = await shared.session('bad');
  const hex = sha256(Buffer.from('x'));
  for (const line of [
    `UPLOAD f 10 offset=1 sha256=${hex}`,
    'UPLOAD f 10 resume=yes offset=11',
    'UPLOAD f 10 resume=yes offset=4',
    'UPLOAD f 10 resume=yes offset=4 sha256=ABC',
    'UPLOAD f 10 resume=maybe',
    `DOWNLOAD f sha256=${hex}`,
    'PARTIAL f',
    'PARTIAL f -1',
  ]) {
    t.is((await c.request(line)).code, 'BAD_REQUEST', line);
  }
  t.is((await c.request('PARTIAL ../../x 10')).code, 'BAD_PATH');
  t.is((await c.request('PARTIAL .filehive/partial 10')).code, 'BAD_PATH');
  c.close();
});

test('a server without the resume feature is told nothing: the client refuses with UNSUPPORTED', async (t) => {
  // The fake server greets like an older server: no features at all.
  await withClient(t, async ({ client, server, dir }) => {
    await writeFile(join(dir, 'f.bin'), 'data');
    const up = await rejectsWith(t, client.upload(join(dir, 'f.bin'), { resume: true }), 'UNSUPPORTED');
    t.regex(up.message, /cannot resume/);
    await rejectsWith(t, client.download('f.bin', { dir, resume: true }), 'UNSUPPORTED');
    t.deepEqual(server.requests, []);
    t.deepEqual(await readdir(dir), ['f.bin'], 'no partial file was made');
    await client.upload(join(dir, 'f.bin'));
    t.is(server.files.get('/f.bin')?.toString(), 'data', 'plain transfers work as before');
  });
});
