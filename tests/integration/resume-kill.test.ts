// UPLOAD --resume and DOWNLOAD --resume after the CLI was killed mid-transfer (SIGKILL, so it cleans up
// nothing): the next --resume sends only the rest, and the result is byte for byte the source. A gate
// proxy halts the first transfer at a known byte count, so the kill lands mid-file on any machine.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '../_helpers/cli.js';
import { startGateProxy } from '../_helpers/gate-proxy.js';
import { CLIENT_JS, startServer } from '../_helpers/server.js';
import { leftovers, partials } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
/** Where the gate stops the first try: well inside the file, far from both ends. */
const CUT = 24 * MiB;

async function writeRandomFile(path: string, size: number): Promise<Buffer> {
  const data = randomBytes(size);
  await writeFile(path, data);
  return data;
}

function spawnCli(args: string[], cwd: string): ChildProcess {
  const child = spawn(process.execPath, [CLIENT_JS, ...args], { cwd, stdio: 'ignore' });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return child;
}

const sizeOf = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => -1,
  );

/** No lock of the server is held any more: the cut-off upload has been wound up. */
async function locksReleased(root: string): Promise<boolean> {
  const entries = await readdir(join(root, '.filehive', 'locks')).catch(() => [] as string[]);
  return !entries.some((e) => e.endsWith('.lock'));
}

test('UPLOAD --resume after the client was killed mid-file stores the file intact', async (t) => {
  t.timeout(90_000);
  const server = await startServer({ workers: 2 });
  const local = await mkdtemp(join(tmpdir(), 'filehive-resume-up-'));
  const proxy = await startGateProxy({ host: server.host, port: server.port }, { up: CUT });
  try {
    const source = await writeRandomFile(join(local, 'big.bin'), SIZE);
    const child = spawnCli(['-c', 'UPLOAD --resume big.bin', '127.0.0.1', String(proxy.port)], local);
    const exited = once(child, 'exit');
    // The gate passes CUT bytes, the request lines among them: the partial stops just short of CUT.
    const partialPath = async () => {
      const [name] = await partials(server.root);
      return name === undefined ? null : join(server.root, '.filehive', 'partial', name);
    };
    t.true(
      await waitFor(async () => {
        const path = await partialPath();
        return path !== null && (await sizeOf(path)) >= CUT - 1024;
      }, 45_000),
      'the first try never reached the gate',
    );
    child.kill('SIGKILL');
    await exited;
    // The gate stopped reading the dead client's socket, so it cannot see it close: the proxy's
    // connections go down with it, as the kernel's would.
    await proxy.close();
    t.true(await waitFor(() => locksReleased(server.root), 20_000), 'the cut upload kept its lock');
    const kept = await sizeOf((await partialPath()) as string);
    t.true(kept > 0 && kept <= CUT, `kept ${kept}`);
    await t.throwsAsync(stat(join(server.root, 'big.bin')), { code: 'ENOENT' }, 'nothing at the target yet');

    const resumed = await runCli(['-c', 'UPLOAD --resume big.bin', server.host, String(server.port)], {
      cwd: local,
    });
    t.is(resumed.code, 0, resumed.stderr);
    t.regex(resumed.stdout, /^uploaded big\.bin 64\.0 MiB in .*, resumed at 2\d\.\d MiB\n$/);
    t.true((await readFile(join(server.root, 'big.bin'))).equals(source), 'the stored file differs');
    t.deepEqual(await partials(server.root), []);
    t.deepEqual(await leftovers(server.root), []);
  } finally {
    await proxy.close();
    await server.stop();
    await rm(local, { recursive: true, force: true });
  }
});

test('DOWNLOAD --resume after the client was killed mid-file saves the file intact', async (t) => {
  t.timeout(90_000);
  const server = await startServer({ workers: 2 });
  const local = await mkdtemp(join(tmpdir(), 'filehive-resume-down-'));
  const proxy = await startGateProxy({ host: server.host, port: server.port }, { down: CUT });
  try {
    // Files put into the root by other means are served.
    const source = await writeRandomFile(join(server.root, 'big.bin'), SIZE);
    const into = join(local, 'dl');
    await mkdir(into);
    const partial = join(into, '.big.bin.filehive-partial');
    const args = ['--download-dir', into, '-c', 'DOWNLOAD --resume big.bin'];
    const child = spawnCli([...args, '127.0.0.1', String(proxy.port)], local);
    const exited = once(child, 'exit');
    t.true(
      await waitFor(async () => (await sizeOf(partial)) >= CUT - 1024, 45_000),
      'the first try never reached the gate',
    );
    child.kill('SIGKILL');
    await exited;
    const kept = await sizeOf(partial);
    t.true(kept > 0 && kept < CUT, `kept ${kept}`);
    t.deepEqual(await readdir(into), ['.big.bin.filehive-partial']);

    const resumed = await runCli([...args, server.host, String(server.port)], { cwd: local });
    t.is(resumed.code, 0, resumed.stderr);
    t.regex(resumed.stdout, /^downloaded big\.bin 64\.0 MiB in .*, resumed at 2\d\.\d MiB\n$/);
    t.true((await readFile(join(into, 'big.bin'))).equals(source), 'the saved file differs');
    t.deepEqual(await readdir(into), ['big.bin'], 'the partial is gone');
  } finally {
    await proxy.close();
    await server.stop();
    await rm(local, { recursive: true, force: true });
  }
});
