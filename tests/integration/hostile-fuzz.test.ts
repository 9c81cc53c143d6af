// Protocol fuzzing against the running server (docs/SECURITY.md#hostile-input-testing): many sessions
// send generated garbage at once; afterwards the server still serves, nothing changed outside the root,
// no worker died and no lock or temp file is left. Replay a failure with the seed it logs:
//   FILEHIVE_FUZZ_SEED=<seed> npx ava tests/integration/hostile-fuzz.test.ts
// More runs: FILEHIVE_FUZZ_RUNS=500 (and FILEHIVE_FUZZ_TIME_MS for a bigger time budget).
import { randomBytes, randomInt } from 'node:crypto';
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import {
  checkReplies,
  describeScript,
  type HostileScript,
  hostileScript,
  playScript,
} from '../_helpers/hostile.js';
import { childPids } from '../_helpers/processes.js';
import { RawClient, sha256 } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';
import { leftovers, listTree } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const SESSIONS_PER_RUN = 6;
const RUNS = Number(process.env.FILEHIVE_FUZZ_RUNS ?? 80);
const TIME_LIMIT_MS = Number(process.env.FILEHIVE_FUZZ_TIME_MS ?? 12_000);

/** Everything under `dir` except the root: path, type, size, mtime and content hash. */
async function snapshotOutside(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of ['.', ...(await listTree(dir))].filter((p) => p !== 'root' && !p.startsWith('root/'))) {
    const full = join(dir, p);
    const s = await lstat(full);
    const content = s.isFile() ? sha256(await readFile(full)) : '';
    out.push(
      `${p} ${s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : 'f'} ${s.size} ${s.mtimeMs} ${content}`,
    );
  }
  return out;
}

test('hostile sessions neither crash a worker, nor escape the root, nor leave locks or temp files', async (t) => {
  t.timeout(90_000);
  const parent = await mkdtemp(join(tmpdir(), 'filehive-fuzz-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const root = join(parent, 'root');
  await mkdir(join(root, 'dir1'), { recursive: true });
  await mkdir(join(parent, 'sentinel'));
  await writeFile(join(parent, 'sentinel', 'secret.txt'), 'secret');
  await writeFile(join(parent, 'outside.txt'), 'outside');
  await writeFile(join(root, 'f.bin'), 'hello');
  await writeFile(join(root, 'dir1', 'x'), 'x');
  await writeFile(join(root, 'caf\u00e9'), 'nfc');
  // A link inside the root that leads out: the jail must refuse every use of it.
  await symlink('../sentinel', join(root, 'escape'));

  const server = await startServer({ root, workers: 2 });
  t.teardown(() => server.stop());
  const workers = await childPids(server.proc.pid as number);
  t.is(workers.length, 2);
  const before = await snapshotOutside(parent);
  const forbidden = [parent, await realpath(parent)];

  const seed = Number(process.env.FILEHIVE_FUZZ_SEED ?? randomInt(2 ** 31));
  t.log(`fuzz seed ${seed} (replay: FILEHIVE_FUZZ_SEED=${seed})`);
  const codes = new Map<string, number>();
  let sessions = 0;
  const started = Date.now();
  const property = fc.asyncProperty(
    fc.array(hostileScript, { minLength: SESSIONS_PER_RUN, maxLength: SESSIONS_PER_RUN }),
    async (scripts: HostileScript[]) => {
      const received = await Promise.all(
        scripts.map((script, i) => playScript(server.port, `127.0.2.${i + 1}`, script)),
      );
      sessions += scripts.length;
      const problems: string[] = [];
      received.forEach((data, i) => {
        for (const m of data.toString('latin1').matchAll(/^(?:ERR ([A-Z_]+)|(OK|GO))/gm)) {
          const code = (m[1] ?? m[2]) as string;
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
        for (const p of checkReplies(data, forbidden)) {
          problems.push(`${p}\n after script ${describeScript(scripts[i] as HostileScript)}`);
        }
      });
      // Checked after every run, so a failure names the scripts that caused it.
      const all = () => scripts.map((s) => describeScript(s)).join('\n ');
      if (JSON.stringify(await snapshotOutside(parent)) !== JSON.stringify(before)) {
        problems.push(`something outside the root changed after the scripts\n ${all()}`);
      }
      if (JSON.stringify(await childPids(server.proc.pid as number)) !== JSON.stringify(workers)) {
        problems.push(`a worker was replaced after the scripts\n ${all()}`);
      }
      if (problems.length > 0) throw new Error(problems.join('\n'));
    },
  );
  const details = await fc.check(property, {
    seed,
    numRuns: RUNS,
    endOnFailure: true, // no shrinking against a live server: the failing run and its seed are enough
    interruptAfterTimeLimit: TIME_LIMIT_MS,
    markInterruptAsFailure: false,
  });
  t.log(
    `${details.numRuns} runs, ${sessions} sessions in ${Date.now() - started} ms` +
      `${details.interrupted ? ' (time budget reached)' : ''}; replies seen: ` +
      [...codes.entries()].map(([c, n]) => `${c} ${n}`).join(', '),
  );
  if (details.failed) {
    t.log(`replay with FILEHIVE_FUZZ_SEED=${details.seed}`);
    t.fail(
      String(details.errorInstance instanceof Error ? details.errorInstance.message : details.errorInstance),
    );
  }
  t.true(details.numRuns >= Math.min(RUNS, 5), 'enough runs happened within the time budget');

  // The server still serves: a fresh session from an address the fuzz never used.
  const c = await RawClient.connect(server.port);
  const data = randomBytes(1 << 20);
  const name = `/after-fuzz-${randomBytes(4).toString('hex')}.bin`;
  t.is((await c.upload(name, data)).status, 'OK');
  const back = await c.download(name);
  t.is(back.reply.status, 'OK');
  t.is(sha256(back.data as Buffer), sha256(data));
  t.is((await c.request('PWD')).status, 'OK');
  c.close();

  t.deepEqual(await snapshotOutside(parent), before, 'nothing outside the root changed');
  t.deepEqual(await childPids(server.proc.pid as number), workers, 'no worker was replaced');
  t.notRegex(server.output(), /died|replacing it|exited|uncaught|unhandled/i);
  t.true(
    await waitFor(async () => (await leftovers(root)).length === 0, 10_000, 100),
    `left over: ${(await leftovers(root)).join(', ')}`,
  );
  // The planted link may have been replaced, removed or moved (those act on the name itself), but the
  // server never makes a link of its own.
  const links: string[] = [];
  for (const p of await listTree(root)) {
    if ((await lstat(join(root, p))).isSymbolicLink()) links.push(await readlink(join(root, p)));
  }
  t.true(links.length <= 1 && links.every((l) => l === '../sentinel'), `links: ${links.join(', ')}`);
  t.is(await server.stop({ keepRoot: true }), 0);
});
