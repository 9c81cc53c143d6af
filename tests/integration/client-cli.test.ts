// The built CLI (dist/client.js) in batch mode against the fake server: output, errors, exit codes.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { runCli } from '../_helpers/cli.js';
import { type FakeServer, startFakeServer } from '../_helpers/fake-server.js';

async function withServer(
  t: ExecutionContext,
  body: (server: FakeServer, dir: string, where: string[]) => Promise<void>,
): Promise<void> {
  const server = await startFakeServer();
  const dir = await mkdtemp(join(tmpdir(), 'filehive-cli-'));
  try {
    await body(server, dir, [server.host, String(server.port)]);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  t.pass();
}

test('--help and --version exit 0', async (t) => {
  const help = await runCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: filehive \[options\] \[HOST PORT\]/);
  const version = await runCli(['--version']);
  t.is(version.code, 0);
  t.regex(version.stdout, /^filehive \d+\.\d+\.\d+\n$/);
});

test('usage errors exit 2 with one error line', async (t) => {
  for (const args of [
    ['--bogus'],
    ['only-host'],
    ['host', 'port'],
    ['host', '0'],
    ['--checksum', 'md5'],
    ['-b', 'x', '-c', 'PWD'],
    ['-c'],
  ]) {
    const run = await runCli(args);
    t.is(run.code, 2, args.join(' '));
    t.regex(run.stderr, /^error: USAGE: .+\n$/, args.join(' '));
    t.is(run.stdout, '');
  }
});

test('a command list runs every command and prints one line each', async (t) => {
  await withServer(t, async (server, dir, where) => {
    await writeFile(join(dir, 'my report.txt'), 'hello world');
    await mkdir(join(dir, 'out'));
    const commands = [
      'MKDIR docs',
      'cd docs',
      'UPLOAD "my report.txt"',
      'dir',
      'PWD',
      'download "my report.txt"',
      'MOVE "my report.txt" /',
      'CD /',
      'DELETE "my report.txt"',
      'RMDIR docs',
    ].join('; ');
    const run = await runCli(['--download-dir', join(dir, 'out'), '-c', commands, ...where], { cwd: dir });
    t.is(run.stderr, '');
    t.is(run.code, 0);
    const lines = run.stdout.trimEnd().split('\n');
    t.is(lines[0], 'created /docs');
    t.is(lines[1], 'now in /docs');
    t.regex(lines[2] ?? '', /^uploaded "my report.txt" 11 B in \d+\.\d\d s \(\d+(\.\d)? [KMG]?i?B\/s\)$/);
    t.is(lines[3], '- 11 2026-11-25 10:01 "my report.txt"');
    t.is(lines[4], '/docs');
    t.regex(lines[5] ?? '', /^downloaded "my report.txt" 11 B in /);
    t.is(lines[6], 'moved "/docs/my report.txt" to "/my report.txt"');
    t.deepEqual(lines.slice(7), ['now in /', 'deleted "/my report.txt"', 'removed /docs']);
    t.is(lines.length, 10);
    t.is(await readFile(join(dir, 'out', 'my report.txt'), 'utf8'), 'hello world');
    t.is(server.requests.at(-1), 'QUIT');
  });
});

test('downloads land in --download-dir under the remote name', async (t) => {
  await withServer(t, async (server, dir, where) => {
    server.files.set('/a/b.bin', Buffer.from('payload'));
    server.dirs.add('/a');
    const run = await runCli([
      '--download-dir',
      dir,
      '--checksum',
      'sha256',
      '-c',
      'DOWNLOAD a/b.bin',
      ...where,
    ]);
    t.is(run.code, 0, run.stderr);
    t.is(await readFile(join(dir, 'b.bin'), 'utf8'), 'payload');
    t.true(server.requests.includes('DOWNLOAD a/b.bin checksum=sha256'));
  });
});

test('the first failing command stops the batch with its exit status (NOT_FOUND: 5)', async (t) => {
  await withServer(t, async (server, _dir, where) => {
    const run = await runCli(['-c', 'PWD; CD missing; PWD', ...where]);
    t.is(run.code, 5);
    t.is(run.stdout, '/\n');
    t.is(run.stderr, 'error: NOT_FOUND: no such folder (command 2)\n');
    t.deepEqual(server.requests, ['PWD', 'CHDIR missing', 'QUIT']);
  });
});

test('commands without a connection fail with NOT_CONNECTED', async (t) => {
  const run = await runCli(['-c', 'DIR']);
  t.is(run.code, 3);
  t.is(run.stderr, 'error: NOT_CONNECTED: not connected (use CONNECT host port) (command 1)\n');
});

test('an unreachable server is CONNECT_FAILED with exit 3', async (t) => {
  const server = await startFakeServer();
  await server.close();
  const run = await runCli(['-c', 'PWD', server.host, String(server.port)]);
  t.is(run.code, 3);
  t.regex(run.stderr, /^error: CONNECT_FAILED: cannot connect to 127\.0\.0\.1:\d+: connection refused\n$/);
});

test('stdin that is not a terminal is a batch: comments skipped, CONNECT, EXIT stops', async (t) => {
  await withServer(t, async (server, _dir, where) => {
    const script = `# set up\n\nconnect ${where.join(' ')}\r\nmkdir x\nexit\nmkdir y\n`;
    const run = await runCli([], { stdin: script });
    t.is(run.code, 0, run.stderr);
    t.regex(run.stdout, /^connected to 127\.0\.0\.1:\d+ \(fake 0\)\ncreated \/x\n$/);
    t.true(server.dirs.has('/x'));
    t.false(server.dirs.has('/y'));
  });
});

test('a batch file names the failing line; -b - reads stdin', async (t) => {
  await withServer(t, async (_server, dir, where) => {
    await writeFile(join(dir, 'batch.txt'), '# comment\nPWD\n\nUPLOAD missing.bin\nPWD\n');
    const fromFile = await runCli(['-b', join(dir, 'batch.txt'), ...where], { cwd: dir });
    t.is(fromFile.code, 5);
    t.is(fromFile.stdout, '/\n');
    t.regex(
      fromFile.stderr,
      /^error: LOCAL_ERROR: cannot open missing\.bin: no such file or folder \(line 4\)\n$/,
    );

    const fromStdin = await runCli(['-b', '-', ...where], { stdin: 'PWD\nfrobnicate\n' });
    t.is(fromStdin.code, 2);
    t.is(fromStdin.stderr, 'error: USAGE: unknown command FROBNICATE (try HELP) (line 2)\n');
  });
});

test('wrong argument counts and bad quoting are USAGE errors of the command', async (t) => {
  await withServer(t, async (_server, _dir, where) => {
    const counts = await runCli(['-c', 'MOVE a', ...where]);
    t.is(counts.code, 2);
    t.is(counts.stderr, 'error: USAGE: usage: MOVE src dst (command 1)\n');
    const quoting = await runCli(['-c', 'CD "open', ...where]);
    t.is(quoting.stderr, 'error: USAGE: missing closing quote (command 1)\n');
  });
});

test('HELP prints the command list', async (t) => {
  const run = await runCli(['-c', 'HELP; HELP cd']);
  t.is(run.code, 0);
  t.regex(run.stdout, /^commands /);
  t.regex(run.stdout, /CHDIR path: change the remote folder\nalso: CD\n$/);
});
