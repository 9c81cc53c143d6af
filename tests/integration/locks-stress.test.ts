// Many sessions on two instances sharing one root race UPLOAD, DOWNLOAD, DELETE and MOVE over a few
// names. The locks must keep every download whole, refuse only with the codes a race explains, keep
// every process alive and leave nothing behind.
import test from 'ava';
import {
  assertStressReplies,
  assertStressTree,
  runStressClient,
  STRESS_FOLDER,
  StressTally,
  stressPlan,
} from '../_helpers/lock-stress.js';
import { childPids } from '../_helpers/processes.js';
import { createRandom } from '../_helpers/random.js';
import { RawClient } from '../_helpers/raw-client.js';
import { startServer } from '../_helpers/server.js';

const SECONDS = Number(process.env.FILEHIVE_STRESS_SECONDS ?? 12);
const CLIENTS = 32;
const MAX_OPS_PER_CLIENT = 5_000;
const FOLDER = STRESS_FOLDER;
const PLAN = stressPlan(256 * 1024);

test('32 sessions racing on 8 names over 2 instances x 2 workers: whole downloads, race refusals only, no leaks', async (t) => {
  t.timeout(SECONDS * 1000 + 45_000);
  const first = await startServer({ workers: 2, args: ['--log-level', 'warn'] });
  t.teardown(() => first.stop());
  const second = await startServer({ root: first.root, workers: 2, args: ['--log-level', 'warn'] });
  t.teardown(() => second.stop());
  const primaries = [first.proc.pid as number, second.proc.pid as number];
  const workersBefore = await Promise.all(primaries.map(childPids));
  t.deepEqual(
    workersBefore.map((pids) => pids.length),
    [2, 2],
  );

  const setup = await RawClient.connect(first.port);
  t.is((await setup.request(`MKDIR ${FOLDER}`)).status, 'OK');
  setup.close();

  const seed = createRandom().seed;
  const tally = new StressTally();
  const started = Date.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => {
      const port = [first.port, second.port][i % 2] as number;
      return runStressClient({
        plan: PLAN,
        connect: () => RawClient.connect(port),
        random: createRandom(seed + i),
        tally,
        deadline,
        ops: MAX_OPS_PER_CLIENT,
      });
    }),
  );
  t.log(tally.summary(seed, Date.now() - started));

  assertStressReplies(t, tally);
  t.deepEqual(tally.lost, { CONNECT_FAILED: 0, CONNECTION_LOST: 0 }, 'no session was closed by the server');

  for (const server of [first, second]) t.notRegex(server.output(), /died/);
  t.deepEqual(await Promise.all(primaries.map(childPids)), workersBefore, 'no worker was replaced');

  await assertStressTree(t, { root: first.root, folder: FOLDER, plan: PLAN, tally });
});
