import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { addUser } from '../_helpers/accounts.js';
import { type CliRun, runCli } from '../_helpers/cli.js';
import { startFakeServer } from '../_helpers/fake-server.js';
import { holdForeignLock } from '../_helpers/locks.js';
import { runNode } from '../_helpers/run-node.js';
import { sampleSum, scrape } from '../_helpers/scrape.js';
import { CLIENT_JS, startServer } from '../_helpers/server.js';
import { useSharedServer } from '../_helpers/shared-server.js';
import { listTree } from '../_helpers/tree.js';

const shared = useSharedServer(test, { workers: 2, args: ['--max-file-size', '2M'] });

let work = '';
test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'filehive-many-'));
});
test.after.always(async () => {
  await rm(work, { recursive: true, force: true });
});

const where = () => ['127.0.0.1', String(shared.current().port)];
const remote = (path: string) => join(shared.current().root, path);

/** A fresh local folder for one test, and its remote twin created on the server. */
async function folders(name: string): Promise<{ local: string; down: string }> {
  const local = join(work, name, 'local');
  const down = join(work, name, 'down');
  await mkdir(local, { recursive: true });
  await mkdir(down, { recursive: true });
  await mkdir(remote(name), { recursive: true });
  return { local, down };
}

/** Files with the given relative paths and contents. */
async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), body);
  }
}

/** Every file below `dir` with its content, for comparing two trees. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of await listTree(dir)) {
    const body = await readFile(join(dir, path)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EISDIR') return null;
      throw err;
    });
    out[path] = body === null ? '<dir>' : body.toString('base64');
  }
  return out;
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

test('wildcards: UPLOAD matches local names, DOWNLOAD the remote listing; hidden names and folders stay', async (t) => {
  const { local, down } = await folders('glob');
  await writeTree(local, {
    'a1.log': 'one',
    'a2.log': 'two',
    'b3.log': 'three',
    'notes.txt': 'notes',
    '.hidden.log': 'hidden',
    'old.log/inner.txt': 'a folder whose name matches',
  });
  const up = await runCli(['-c', 'CD glob; UPLOAD *.log', ...where()], { cwd: local });
  t.is(up.code, 0, up.stderr);
  t.deepEqual(
    lines(up.stdout)
      .slice(1, 4)
      .map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['uploaded a1.log', 'uploaded a2.log', 'uploaded b3.log'],
  );
  t.regex(lines(up.stdout)[4] ?? '', /^total: 3 files, 11 B in \d+\.\d\d s \(.+\), 0 failed$/);
  t.is(lines(up.stdout).length, 5);
  t.regex(up.stderr, /^note: skipped old\.log \(a folder without -r, or not a file\)\n$/);
  t.deepEqual(await listTree(remote('glob')), ['a1.log', 'a2.log', 'b3.log']);

  // A remote wildcard that matches nothing fails (exit 5 without the '-'); then two patterns.
  const get = await runCli(
    ['--download-dir', down, '-c', 'CD /glob; -DOWNLOAD *.bin; DOWNLOAD "a[!1].log" "?3.log" .', ...where()],
    { cwd: local },
  );
  t.is(get.code, 0, get.stderr);
  t.is(get.stderr, 'error: NOT_FOUND: nothing on the server matches *.bin (command 2)\n');
  t.deepEqual(await listTree(down), ['a2.log', 'b3.log']);
  t.is(await readFile(join(down, 'b3.log'), 'utf8'), 'three');
  t.regex(get.stdout, /total: 2 files, 8 B in /);

  // A wildcard that matches nothing fails with nothing sent: exit 5.
  const none = await runCli(['-c', 'CD /glob; UPLOAD *.bin', ...where()], { cwd: local });
  t.is(none.code, 5);
  t.is(none.stdout, 'now in /glob\n');
  t.is(none.stderr, 'error: NOT_FOUND: no local file matches *.bin (command 2)\n');
});

test('-r copies nested folders both ways, empty ones too, and can run again over what exists', async (t) => {
  const { local, down } = await folders('rec');
  await writeTree(local, {
    'tree/top.txt': 'top',
    'tree/a/one.bin': randomBytes(3000),
    'tree/a/b/two words.txt': 'two',
    'tree/a/b/c/deep.bin': randomBytes(70_000),
    'tree/z/last.txt': 'last',
  });
  await mkdir(join(local, 'tree', 'empty'));
  const original = await snapshot(join(local, 'tree'));

  const up = await runCli(['-c', 'CD rec; UPLOAD -r tree', ...where()], { cwd: local });
  t.is(up.code, 0, up.stderr);
  t.regex(up.stdout, /^uploaded tree\/a\/b\/c\/deep\.bin /m);
  t.regex(up.stdout, /^uploaded "tree\/a\/b\/two words\.txt" /m);
  t.regex(up.stdout, /^total: 5 files, .*, 0 failed\n$/m);
  t.deepEqual(await snapshot(remote('rec/tree')), original);

  // Again, into a folder given as the destination (the folders exist, the files are replaced),
  // then back down.
  const get = await runCli(
    ['--download-dir', down, '-c', 'UPLOAD -r tree /rec; CD rec; DOWNLOAD -r tree', ...where()],
    { cwd: local },
  );
  t.is(get.code, 0, get.stderr);
  t.deepEqual(await snapshot(remote('rec/tree')), original);
  t.regex(get.stdout, /^downloaded tree\/a\/b\/c\/deep\.bin /m);
  t.is(lines(get.stdout).filter((l) => l.startsWith('total: 5 files')).length, 2);
  t.deepEqual(await snapshot(join(down, 'tree')), original);

  // Without -r a folder is refused, before anything is sent. A local folder that is a symbolic link
  // is not downloaded through (the names come from the server).
  const plain = await runCli(['-c', 'CD rec; UPLOAD tree', ...where()], { cwd: local });
  t.is(plain.code, 1);
  t.is(plain.stderr, 'error: LOCAL_ERROR: tree is a folder (use UPLOAD -r) (command 2)\n');
  const elsewhere = join(work, 'rec', 'elsewhere');
  const linked = join(work, 'rec', 'linked');
  await mkdir(elsewhere);
  await mkdir(linked);
  await symlink(elsewhere, join(linked, 'tree'));
  const through = await runCli(['--download-dir', linked, '-c', 'DOWNLOAD -r /rec/tree', ...where()]);
  t.is(through.code, 1);
  t.regex(through.stderr, /^error: LOCAL_ERROR: .*tree is a symbolic link; not downloading through it/);
  t.deepEqual(await listTree(elsewhere), []);
});

test.serial('--parallel 4 with 20 files: identical files, 4 connections, one total line', async (t) => {
  const { local, down } = await folders('par');
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 20; i++) {
    // Every fourth file is too big to be pipelined; the others share batches.
    files[`f${String(i).padStart(2, '0')}.bin`] = randomBytes(i % 4 === 0 ? 600_000 : 1 + i * 5000);
  }
  await writeTree(local, files);
  const server = shared.current();
  const before = sampleSum(await scrape(server), 'filehive_connections_accepted_total');
  const up = await runCli(['--parallel', '4', '-c', 'CD par; UPLOAD *.bin', ...where()], { cwd: local });
  t.is(up.code, 0, up.stderr);
  const accepted = sampleSum(await scrape(server), 'filehive_connections_accepted_total') - before;
  t.is(accepted, 4, 'the session and three more');
  const out = lines(up.stdout);
  t.is(out.filter((l) => l.startsWith('uploaded ')).length, 20);
  t.is(out.filter((l) => l.startsWith('total: ')).length, 1);
  t.regex(out.at(-1) ?? '', /^total: 20 files, .* 0 failed$/);
  t.deepEqual(await snapshot(remote('par')), await snapshot(local));

  const get = await runCli(['--download-dir', down, '-c', 'DOWNLOAD --parallel 4 /par/*', ...where()]);
  t.is(get.code, 0, get.stderr);
  t.is(lines(get.stdout).filter((l) => l.startsWith('total: 20 files')).length, 1);
  t.deepEqual(await snapshot(down), await snapshot(local));
});

test('--json: one JSON object per line for DIR, each file, the total and other commands', async (t) => {
  const { local } = await folders('json');
  await writeTree(local, { 'a.txt': 'aaa', 'b c.txt': 'bb' });
  const run = await runCli(['--json', '-c', 'CD json; UPLOAD a.txt "b c.txt" .; DIR', ...where()], {
    cwd: local,
  });
  t.is(run.code, 0, run.stderr);
  const objects = lines(run.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(objects[0], { event: 'message', text: 'now in /json' });
  const uploads = objects.filter((o) => o.event === 'upload');
  t.deepEqual(
    uploads.map((o) => [o.local, o.remote, o.status, o.bytes]),
    [
      ['a.txt', 'a.txt', 'ok', 3],
      ['b c.txt', 'b c.txt', 'ok', 2],
    ],
  );
  t.regex(String(uploads[0]?.checksum), /^xxh3-64:[0-9a-f]{16}$/);
  const total = objects.find((o) => o.event === 'total');
  t.like(total, { direction: 'upload', files: 2, failed: 0, bytes: 5 });
  const entries = objects.filter((o) => o.event === 'entry');
  t.deepEqual(
    entries.map((o) => [o.name, o.type, o.size]),
    [
      ['a.txt', 'file', 3],
      ['b c.txt', 'file', 2],
    ],
  );
  t.false(Number.isNaN(Date.parse(String(entries[0]?.mtime))));
});

test('exit status: connect refused 3, usage 2, missing 5, busy 6, too large 9, partial 8', async (t) => {
  const { local } = await folders('codes');
  await writeTree(local, { 'x.txt': 'x', 'y.txt': 'y', 'big.bin': Buffer.alloc(3 * 1024 * 1024) });
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as net.AddressInfo;
  await new Promise((resolve) => closed.close(resolve));

  const expect = async (run: CliRun, status: number, stderr: RegExp) => {
    t.is(run.code, status, run.stderr);
    t.regex(run.stderr, stderr);
  };
  await expect(await runCli(['-c', 'PWD', '127.0.0.1', String(port)]), 3, /^error: CONNECT_FAILED: /);
  await expect(await runCli(['-c', 'UPLOAD', ...where()]), 2, /^error: USAGE: usage: UPLOAD /);
  await expect(await runCli(['--parallel', '0', '-c', 'PWD']), 2, /^error: USAGE: --parallel must be/);
  await expect(
    await runCli(['-c', 'CD codes; UPLOAD missing.txt', ...where()], { cwd: local }),
    5,
    /^error: LOCAL_ERROR: cannot open missing\.txt: no such file or folder/,
  );
  await expect(
    await runCli(['-c', 'CD codes; UPLOAD big.bin', ...where()], { cwd: local }),
    9,
    /^error: TOO_LARGE: /,
  );

  const lock = await holdForeignLock(shared.current().root, 'codes/x.txt', { refreshMs: 500 });
  try {
    await expect(
      await runCli(['-c', 'CD codes; UPLOAD x.txt', ...where()], { cwd: local }),
      6,
      /^error: BUSY: /,
    );
    // Two files, one of them locked: the other arrives, the command is partial.
    const partial = await runCli(['-c', 'CD codes; UPLOAD x.txt y.txt .', ...where()], { cwd: local });
    await expect(partial, 8, /^error: BUSY: .*\(x\.txt\)\n/);
    t.regex(partial.stderr, /error: PARTIAL: 1 of 2 files failed \(command 2\)\n$/);
    t.regex(partial.stdout, /^now in \/codes\nuploaded y\.txt .*\ntotal: 2 files, 1 B in .*, 1 failed\n$/);
    t.is(await readFile(remote('codes/y.txt'), 'utf8'), 'y');
  } finally {
    await lock.release();
  }
});

test("'-' lines go on after an error; without it the batch stops with the error's status", async (t) => {
  await folders('dash');
  const goOn = await runCli(['-b', '-', ...where()], {
    stdin: 'CD dash\n-DOWNLOAD missing.txt\n- DELETE missing.txt\nMKDIR made\n',
  });
  t.is(goOn.code, 0, goOn.stderr);
  t.is(goOn.stdout, 'now in /dash\ncreated /dash/made\n');
  t.is(lines(goOn.stderr).length, 2);
  t.regex(goOn.stderr, /^error: NOT_FOUND: .*\(line 2\)\nerror: NOT_FOUND: .*\(line 3\)\n$/);

  const stop = await runCli(['-b', '-', ...where()], {
    stdin: 'CD /dash\nDELETE missing.txt\nMKDIR never\n',
  });
  t.is(stop.code, 5);
  t.is(stop.stdout, 'now in /dash\n');
});

/** Runs the CLI and calls `onStderr` with everything it printed on stderr so far, as it comes. */
function runCliWatching(args: string[], cwd: string, onStderr: (text: string) => void): Promise<CliRun> {
  return runNode(CLIENT_JS, args, { cwd, onStderr });
}

test('--retry: a BUSY upload goes through once the name is freed', async (t) => {
  const { local } = await folders('retry');
  await writeTree(local, { 'r.txt': 'finally' });
  const lock = await holdForeignLock(shared.current().root, 'retry/r.txt', { refreshMs: 500 });
  let released: Promise<void> | null = null;
  try {
    const run = await runCliWatching(
      ['--retry', '8', '-c', 'CD retry; UPLOAD r.txt', ...where()],
      local,
      (err) => {
        // Free the name only after the server said BUSY at least once.
        if (released === null && err.includes('note: BUSY')) released = lock.release();
      },
    );
    t.is(run.code, 0, run.stderr);
    t.regex(run.stderr, /^note: BUSY: .* \(r\.txt\); retry 1 of 8 in \d+\.\d s\n/);
    t.regex(run.stdout, /uploaded r\.txt 7 B in /);
    t.is(await readFile(remote('retry/r.txt'), 'utf8'), 'finally');
  } finally {
    await (released ?? lock.release());
  }
});

test('a checksum that does not match is 7 and keeps nothing; --no-verify keeps the file', async (t) => {
  const fake = await startFakeServer({ wrongDownloadChecksum: true });
  const dir = await mkdtemp(join(tmpdir(), 'filehive-verify-'));
  try {
    fake.files.set('/f.bin', Buffer.from('payload'));
    const address = [fake.host, String(fake.port)];
    const checked = await runCli(['--download-dir', dir, '-c', 'DOWNLOAD f.bin', ...address]);
    t.is(checked.code, 7);
    t.regex(checked.stderr, /^error: CHECKSUM_MISMATCH: /);
    t.deepEqual(await listTree(dir), []);
    const trusted = await runCli(['--no-verify', '--download-dir', dir, '-c', 'DOWNLOAD f.bin', ...address]);
    t.is(trusted.code, 0, trusted.stderr);
    t.is(await readFile(join(dir, 'f.bin'), 'utf8'), 'payload');
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a server that is stopping is 10', async (t) => {
  const stopping = await startFakeServer({ greeting: 'ERR SHUTTING_DOWN msg="the server is shutting down"' });
  try {
    const refused = await runCli(['-c', 'PWD', stopping.host, String(stopping.port)]);
    t.is(refused.code, 10);
    t.regex(refused.stderr, /^error: SHUTTING_DOWN: /);
  } finally {
    await stopping.close();
  }
});

test('--parallel with an account: every extra connection logs in and works in the same folder', async (t) => {
  const users = join(work, 'users');
  await addUser(users, 'alice', 'correct horse');
  const server = await startServer({ workers: 1, args: ['--users', users] });
  try {
    const { local } = await folders('accounts');
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`n${i}.txt`] = `note ${i}`;
    await writeTree(local, files);
    const run = await runCli(
      [
        '--user',
        'alice',
        '--parallel',
        '3',
        '-c',
        'MKDIR d; CD d; UPLOAD *.txt',
        '127.0.0.1',
        String(server.port),
      ],
      { cwd: local, env: { FILEHIVE_PASSWORD: 'correct horse' } },
    );
    t.is(run.code, 0, run.stderr);
    // No "one connection fewer" note: the two extra connections logged in too.
    t.is(run.stderr, '');
    t.regex(run.stdout, /total: 6 files, 36 B in .*, 0 failed\n$/);
    t.deepEqual(await snapshot(join(server.root, 'alice', 'd')), await snapshot(local));
  } finally {
    await server.stop();
  }
});

/**
 * A proxy to the shared server whose first `cuts` connections are dropped once `after` bytes came
 * back from the server (mid-download); later ones pass untouched.
 */
async function startCuttingProxy(
  cuts: number,
  after: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const proxy = net.createServer((client) => {
    const cut = count++ < cuts;
    const upstream = net.connect(shared.current().port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    let down = 0;
    upstream.on('data', (chunk: Buffer) => {
      down += chunk.length;
      if (cut && down > after) {
        client.destroy();
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

test('a download cut off mid-file is 8; with --retry it reconnects and gets the whole file', async (t) => {
  const { down } = await folders('cut');
  const body = randomBytes(1_500_000);
  await writeFile(remote('cut/big.bin'), body);
  const proxy = await startCuttingProxy(1, 200_000);
  try {
    const address = ['127.0.0.1', String(proxy.port)];
    const cut = await runCli(['--download-dir', down, '-c', 'CD cut; DOWNLOAD big.bin', ...address]);
    t.is(cut.code, 8);
    t.regex(cut.stderr, /^error: CONNECTION_LOST: /);
    t.deepEqual(await listTree(down), []);

    const again = await startCuttingProxy(1, 200_000);
    try {
      const retried = await runCli([
        '--retry',
        '3',
        '--download-dir',
        down,
        '-c',
        'CD cut; DOWNLOAD big.bin',
        '127.0.0.1',
        String(again.port),
      ]);
      t.is(retried.code, 0, retried.stderr);
      t.regex(retried.stderr, /^note: CONNECTION_LOST: .*; retry 1 of 3 in \d+\.\d s\n$/);
      t.true(body.equals(await readFile(join(down, 'big.bin'))));
    } finally {
      await again.close();
    }
  } finally {
    await proxy.close();
  }
});
