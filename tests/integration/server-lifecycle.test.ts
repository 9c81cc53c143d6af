import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { createChecksum } from '../../src/protocol/checksum.js';
import { RawClient } from '../_helpers/raw-client.js';
import { SERVER_JS, startServer } from '../_helpers/server.js';
import { leftovers } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [SERVER_JS, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 10_000,
  });

async function workerPids(primary: number): Promise<number[]> {
  const { stdout } = await promisify(execFile)('pgrep', ['-P', String(primary)]).catch(() => ({
    stdout: '',
  }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

test('--help documents every flag', (t) => {
  const result = run(['--help']);
  t.is(result.status, 0);
  for (const flag of [
    '--host',
    '--port',
    '--root',
    '--workers',
    '--shutdown-grace',
    '--log-level',
    '--log-format',
    '--fsync',
  ]) {
    t.true(result.stdout.includes(flag), flag);
  }
});

test('bad values get one line each and exit code 2', (t) => {
  for (const args of [
    ['--port', '70000'],
    ['--workers', '0'],
    ['--log-format', 'xml'],
    ['--bogus'],
    ['--port'],
  ]) {
    const result = run(args);
    t.is(result.status, 2, args.join(' '));
    t.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
  }
  const env = run([], { FILEHIVE_WORKERS: 'many' });
  t.is(env.status, 2);
  t.regex(env.stderr, /--workers/);
});

test('the ready line names the real port, the workers and the absolute root; env vars configure it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'filehive-env-'));
  const server = await startServer({ root, workers: 1, env: { FILEHIVE_LOG_FORMAT: 'json' } });
  t.teardown(() => server.stop());
  t.regex(
    server.output(),
    new RegExp(`listening on 127\\.0\\.0\\.1:${server.port} \\(1 workers?, root ${root}\\)`),
  );
  t.true(server.port > 0);
  t.true(
    server
      .output()
      .split('\n')
      .some((line) => line.startsWith('{') && JSON.parse(line).msg === 'ready'),
  );
  t.is(await server.stop(), 0);
});

test('a worker that dies is replaced and the primary logs why', async (t) => {
  const server = await startServer({ workers: 2 });
  t.teardown(() => server.stop());
  const before = await workerPids(server.proc.pid as number);
  t.is(before.length, 2);
  process.kill(before[0] as number, 'SIGKILL');
  t.true(
    await waitFor(async () => {
      const now = await workerPids(server.proc.pid as number);
      return now.length === 2 && !now.includes(before[0] as number);
    }),
  );
  t.regex(server.output(), /worker \d died \(signal SIGKILL\), replacing it/);
  for (let i = 0; i < 4; i++) {
    const c = await RawClient.connect(server.port);
    t.is((await c.request('PWD')).status, 'OK');
    c.close();
  }
  t.is(await server.stop(), 0);
});

test('with --port 0, the replacement of the only worker serves the port the ready line announced', async (t) => {
  const server = await startServer({ workers: 1 });
  t.teardown(() => server.stop());
  const [first] = await workerPids(server.proc.pid as number);
  process.kill(first as number, 'SIGKILL');
  t.true(
    await waitFor(async () => {
      const now = await workerPids(server.proc.pid as number);
      return now.length === 1 && now[0] !== first;
    }),
  );
  // The replacement listens a moment after it is forked: connect until it answers, for a while.
  let greeting = '';
  await waitFor(async () => {
    const c = await RawClient.connect(server.port).catch(() => null);
    greeting = c?.greeting ?? '';
    c?.close();
    return greeting.startsWith('HELLO');
  }, 15_000);
  t.regex(greeting, /^HELLO /, `port ${server.port} answers after the restart`);
  t.is(await server.stop(), 0);
});

test('SIGTERM lets a running transfer finish within the grace period, then exits 0', async (t) => {
  const server = await startServer({ workers: 1, args: ['--shutdown-grace', '10'] });
  t.teardown(() => server.stop());
  const c = await RawClient.connect(server.port);
  t.is((await c.request('UPLOAD slow.bin 6')).status, 'GO');
  c.send('abc');
  server.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  const hash = createChecksum('xxh3-64');
  hash.update(Buffer.from('abcdef'));
  c.send(`def`);
  c.send(`CHECKSUM xxh3-64:${hash.digest()}\n`);
  t.is((await c.reply()).status, 'OK');
  await c.closed();
  t.is(await server.stop({ keepRoot: true }), 0, server.output());
  t.is(await readFile(join(server.root, 'slow.bin'), 'utf8'), 'abcdef');
});

test('SIGTERM aborts a transfer that outlives the grace period, leaving no partial file', async (t) => {
  const server = await startServer({ workers: 2, args: ['--shutdown-grace', '0.5'] });
  t.teardown(() => server.stop());
  const idle = await RawClient.connect(server.port);
  const c = await RawClient.connect(server.port);
  t.is((await c.request('UPLOAD stalled.bin 1000000')).status, 'GO');
  c.send(Buffer.alloc(1000));
  await waitFor(async () => (await leftovers(server.root)).length > 0);
  const started = Date.now();
  t.is(await server.stop({ keepRoot: true }), 0);
  t.true(Date.now() - started < 5_000);
  await idle.closed();
  t.deepEqual(await leftovers(server.root), []);
});

test('a port in use is one clear line and exit code 1', async (t) => {
  const first = await startServer({ workers: 1 });
  t.teardown(() => first.stop());
  const result = run([
    '--port',
    String(first.port),
    '--root',
    first.root,
    '--workers',
    '1',
    '--metrics-port',
    '0',
  ]);
  t.is(result.status, 1);
  t.regex(result.stderr, /address already in use/);
  await first.stop();
});

test('Ctrl-C (SIGINT to the whole process group) stops the server cleanly, without respawning workers', async (t) => {
  const server = await startServer({ workers: 2, detached: true });
  t.teardown(() => server.stop());
  const c = await RawClient.connect(server.port);
  t.is((await c.request('PWD')).status, 'OK');
  process.kill(-(server.proc.pid as number), 'SIGINT');
  t.is(await server.stop({ keepRoot: false }), 0);
  t.notRegex(server.output(), /died/);
  t.regex(server.output(), /stopped/);
});
