import {
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  realpath,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { LockManager } from '../../src/locks/lock-manager.js';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { lockIdOfTempName, tempPathFor } from '../../src/storage/temp-files.js';
import { sweepTempFiles } from '../../src/storage/temp-sweeper.js';
import { waitFor } from '../_helpers/wait.js';

const NOW = Date.now();
const OLDER_THAN = 60_000;
const OLD = NOW - 10 * 60_000;
const YOUNG = NOW - 1_000;

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

const setup = async (t: ExecutionContext) => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'filehive-sweep-')));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  await mkdir(root);
  /** Writes a file (and its folders) dated `mtimeMs`. */
  const put = async (path: string, mtimeMs = OLD) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, 'data');
    const when = new Date(mtimeMs);
    await utimes(path, when, when);
    return path;
  };
  return { base, root, put };
};

const tempName = (key: string, random = '0123456789abcdef') => `.filehive-${lockIdOf(key)}-${random}.tmp`;

test('temp names carry the lock id; other names are not temp files', (t) => {
  const id = lockIdOf('docs/a.bin');
  const path = tempPathFor('/srv/root/docs', id);
  t.regex(path, new RegExp(`^/srv/root/docs/\\.filehive-${id}-[0-9a-f]{16}\\.tmp$`));
  t.is(lockIdOfTempName(path.slice('/srv/root/docs/'.length)), id);
  t.not(tempPathFor('/d', id), tempPathFor('/d', id));
  for (const name of [
    '.filehive-x.tmp',
    'notes.tmp',
    `.filehive-${id}-0123456789abcde.tmp`,
    `.filehive-${id}-0123456789abcdef0.tmp`,
    `.filehive-${id}-0123456789ABCDEF.tmp`,
    `.filehive-${id.toUpperCase()}-0123456789abcdef.tmp`,
    `.filehive-${id}-0123456789abcdef.tmp.bak`,
    `x.filehive-${id}-0123456789abcdef.tmp`,
    `.filehive-${id}-0123456789abcdef.TMP`,
  ]) {
    t.is(lockIdOfTempName(name), null, name);
  }
});

test('removes old temp files whose lock is not held; keeps young, held and other names', async (t) => {
  const { root, put } = await setup(t);
  const old = await put(join(root, tempName('old.bin')));
  const oldNested = await put(join(root, 'a', 'b', 'c', tempName('a/b/c/deep.bin')));
  const young = await put(join(root, tempName('young.bin')), YOUNG);
  const edge = await put(join(root, tempName('edge.bin')), NOW - OLDER_THAN + 1);
  const exactlyOld = await put(join(root, tempName('exact.bin')), NOW - OLDER_THAN);
  const held = await put(join(root, 'a', tempName('a/held.bin')));
  const kept = [
    await put(join(root, '.filehive-x.tmp')),
    await put(join(root, 'notes.tmp')),
    await put(join(root, 'a', `.filehive-${lockIdOf('z')}-0123456789abcde.tmp`)),
    await put(join(root, 'a', `${tempName('z')}.part`)),
    await put(join(root, 'old-user-file.bin')),
  ];
  // A folder that happens to be named like a temp file is not a temp file.
  const folderLike = join(root, tempName('folder'));
  await mkdir(folderLike);

  const asked: string[] = [];
  const result = await sweepTempFiles({
    root,
    olderThanMs: OLDER_THAN,
    now: NOW,
    isHeld: async (id) => {
      asked.push(id);
      return id === lockIdOf('a/held.bin');
    },
  });

  t.deepEqual(result.removed.sort(), [exactlyOld, old, oldNested].sort());
  t.is(result.scanned, 6);
  for (const path of [old, oldNested, exactlyOld]) t.false(await exists(path), path);
  for (const path of [young, edge, held, ...kept, folderLike]) t.true(await exists(path), path);
  t.deepEqual(
    asked.sort(),
    ['old.bin', 'a/b/c/deep.bin', 'exact.bin', 'a/held.bin'].map((key) => lockIdOf(key)).sort(),
    'only old candidates are checked against the locks',
  );
});

test('leaves the root’s .filehive state folder alone', async (t) => {
  const { root, put } = await setup(t);
  const inState = await put(join(root, '.filehive', tempName('state.bin')));
  const inLocks = await put(join(root, '.filehive', 'locks', tempName('locks.bin')));
  const result = await sweepTempFiles({ root, olderThanMs: OLDER_THAN, now: NOW, isHeld: async () => false });
  t.deepEqual(result.removed, []);
  t.is(result.scanned, 0);
  t.true(await exists(inState));
  t.true(await exists(inLocks));
});

test('does not follow links to folders or files outside the root', async (t) => {
  const { base, root, put } = await setup(t);
  const outside = join(base, 'outside');
  const outsideTemp = await put(join(outside, tempName('outside.bin')));
  await symlink(outside, join(root, 'link-to-outside'));
  await mkdir(join(root, 'sub'));
  await symlink('../../outside', join(root, 'sub', 'relative-link'));
  // A link named like a temp file, pointing at a temp file outside: neither is removed.
  const outsideTarget = await put(join(outside, tempName('target.bin', 'fedcba9876543210')));
  const linkAsTemp = join(root, tempName('link.bin'));
  await symlink(outsideTarget, linkAsTemp);
  const dangling = join(root, tempName('dangling.bin'));
  await symlink(join(outside, 'nothing'), dangling);
  // The links themselves are old enough too.
  for (const link of [linkAsTemp, dangling, join(root, 'link-to-outside')]) {
    await lutimes(link, new Date(OLD), new Date(OLD));
  }

  const result = await sweepTempFiles({ root, olderThanMs: OLDER_THAN, now: NOW, isHeld: async () => false });
  t.deepEqual(result.removed, []);
  t.true(await exists(outsideTemp));
  t.true(await exists(outsideTarget));
  t.true(await exists(linkAsTemp));
  t.true(await lstat(dangling).then(() => true));
});

test('walks nested folders', async (t) => {
  const { root, put } = await setup(t);
  const paths: string[] = [];
  let dir = root;
  for (let depth = 0; depth < 30; depth++) {
    dir = join(dir, `level-${depth}`);
    paths.push(await put(join(dir, tempName(`f${depth}`))));
  }
  for (let i = 0; i < 300; i++) paths.push(await put(join(root, 'wide', tempName(`w${i}`))));
  const result = await sweepTempFiles({ root, olderThanMs: OLDER_THAN, now: NOW, isHeld: async () => false });
  t.is(result.removed.length, paths.length);
  t.is(result.scanned, paths.length);
  for (const path of paths) t.false(await exists(path));
});

test('a missing root sweeps nothing', async (t) => {
  const { root } = await setup(t);
  const result = await sweepTempFiles({
    root: join(root, 'gone'),
    olderThanMs: OLDER_THAN,
    isHeld: async () => false,
  });
  t.deepEqual(result, { scanned: 0, removed: [] });
});

test('with a real LockManager: a held upload’s temp file stays, a released one’s goes', async (t) => {
  const { root, put } = await setup(t);
  const locks = await LockManager.open({
    dir: join(root, '.filehive', 'locks'),
    staleMs: 10_000,
    waitMs: 0,
    instance: 'sweep-test',
  });
  const heldTemp = await put(
    tempPathFor(join(root, 'docs'), locks.idOf('docs/held.bin')),
    Date.now() - 60_000,
  );
  const freeTemp = await put(
    tempPathFor(join(root, 'docs'), locks.idOf('docs/free.bin')),
    Date.now() - 60_000,
  );
  const handle = await locks.acquire(['docs/held.bin'], 'upload', heldTemp);
  const sweep = () => sweepTempFiles({ root, olderThanMs: 10_000, isHeld: (id) => locks.isHeld(id) });

  t.deepEqual((await sweep()).removed, [freeTemp]);
  t.true(await exists(heldTemp));
  await handle.release();
  t.deepEqual((await sweep()).removed, [heldTemp]);
});

test('with a real LockManager: an old temp file of a name another command holds goes; the upload’s own stays', async (t) => {
  const { root, put } = await setup(t);
  const lockDir = join(root, '.filehive', 'locks');
  const locks = await LockManager.open({ dir: lockDir, staleMs: 10_000, waitMs: 0, instance: 'sweep-test' });
  const dir = join(root, 'docs');
  const old = Date.now() - 60_000;
  const sweep = async () =>
    (
      await sweepTempFiles({ root, olderThanMs: 10_000, isHeld: (id, name) => locks.mayUseTemp(id, name) })
    ).removed.sort();
  // A worker died between creating its temp file and being refused: the name's lock is someone else's.
  const besideDelete = await put(tempPathFor(dir, locks.idOf('docs/deleted.bin')), old);
  const besideUpload = await put(tempPathFor(dir, locks.idOf('docs/up.bin')), old);
  const uploadOwn = await put(tempPathFor(dir, locks.idOf('docs/up.bin')), old);
  const besideUnrecorded = await put(tempPathFor(dir, locks.idOf('docs/young.bin')), old);
  const held = [
    await locks.acquire(['docs/deleted.bin'], 'delete'),
    await locks.acquire(['docs/up.bin'], 'upload', uploadOwn),
    await locks.acquire(['docs/young.bin'], 'upload', join(dir, 'not-recorded.tmp')),
  ];
  // Uploads record their temp file after 50 ms; until then nobody can tell whose an old file is. One
  // record is removed to stand for that moment.
  const record = (key: string) => join(lockDir, `${locks.idOf(key)}.temp`);
  // Records are symbolic links whose target is the text: lstat, not stat.
  const recorded = (key: string) =>
    lstat(record(key)).then(
      () => true,
      () => false,
    );
  t.true(await waitFor(async () => (await recorded('docs/up.bin')) && recorded('docs/young.bin')));
  await rm(record('docs/young.bin'));
  t.deepEqual(await sweep(), [besideDelete, besideUpload].sort());
  t.true(await exists(uploadOwn), 'the running upload keeps its temp file');
  t.true(
    await exists(besideUnrecorded),
    'beside an upload that has not recorded its temp file, a file stays',
  );
  for (const handle of held) await handle.release();
  t.deepEqual(await sweep(), [uploadOwn, besideUnrecorded].sort());
});
