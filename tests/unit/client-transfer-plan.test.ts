// Planning many files on the local side (UPLOAD), and the CLI's pure helpers around transfers.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  entryJson,
  fileJson,
  formatTotal,
  parseParallel,
  splitDestination,
  totalJson,
} from '../../src/client/cli-transfer.js';
import type { FilehiveClient } from '../../src/client/client.js';
import { stripContinueMark } from '../../src/client/command-line.js';
import { FilehiveClientError } from '../../src/client/errors.js';
import type { TransferSummary } from '../../src/client/transfer-many.js';
import { isMulti, planUpload } from '../../src/client/transfer-plan.js';

// Without a destination, planning an upload never asks the server.
const noServer = null as unknown as FilehiveClient;

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'filehive-plan-'));
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), body);
  }
  return root;
}

test('UPLOAD -r: folders parents first, files sorted, links to folders and client temp files left out', async (t) => {
  const root = await tree({
    'src/b.txt': 'bb',
    'src/a/one.txt': '1',
    'src/a/z/deep.txt': 'deep',
    'src/.filehive-1234.part': 'temporary download',
    'src/.c.txt.filehive-partial': 'partial download',
    'outside/secret.txt': 'pointed at',
  });
  try {
    await mkdir(join(root, 'src', 'empty'));
    await symlink(join(root, 'outside'), join(root, 'src', 'link-to-folder'));
    await symlink(join(root, 'outside', 'secret.txt'), join(root, 'src', 'link-to-file.txt'));
    const plan = await planUpload(noServer, { sources: [join(root, 'src')], recursive: true });
    t.true(plan.multi);
    t.deepEqual(plan.folders, ['src', 'src/a', 'src/a/z', 'src/empty']);
    t.deepEqual(
      plan.jobs.map((j) => [j.remotePath, j.size]),
      [
        ['src/a/one.txt', 1],
        ['src/a/z/deep.txt', 4],
        ['src/b.txt', 2],
        ['src/link-to-file.txt', 10],
      ],
    );
    t.deepEqual(plan.skipped, [join(root, 'src', 'link-to-folder')]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('UPLOAD wildcards: local matches; a folder or nothing matched fails before anything is sent', async (t) => {
  const root = await tree({ 'a.log': 'a', 'b.log': 'bb', 'c.txt': 'c', 'd.log/inner': 'x' });
  try {
    const plan = await planUpload(noServer, { sources: [join(root, '*.log')], recursive: false });
    t.deepEqual(
      plan.jobs.map((j) => j.remotePath),
      ['a.log', 'b.log'],
    );
    t.deepEqual(plan.skipped, [join(root, 'd.log')]);
    await t.throwsAsync(planUpload(noServer, { sources: [join(root, '*.bin')], recursive: false }), {
      message: /^no local file matches .*\*\.bin$/,
    });
    await t.throwsAsync(planUpload(noServer, { sources: [join(root, 'd.*')], recursive: false }), {
      message: /only 1 folder\(s\) or special file\(s\): use -r for folders/,
    });
    const missing = await t.throwsAsync(
      planUpload(noServer, { sources: [join(root, 'a.log'), join(root, 'nope')], recursive: false }),
    );
    t.is((missing as FilehiveClientError).code, 'LOCAL_ERROR');
    t.regex(missing?.message ?? '', /cannot open .*nope: no such file or folder/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('what makes a transfer multi-file, and LOCAL... [REMOTE]', (t) => {
  t.false(isMulti({ sources: ['a.txt'], recursive: false }));
  t.false(isMulti({ sources: ['a.txt'], destination: 'b.txt', recursive: false }));
  t.true(isMulti({ sources: ['a.txt', 'b.txt'], recursive: false }));
  t.true(isMulti({ sources: ['*.txt'], recursive: false }));
  t.true(isMulti({ sources: ['logs/a?.txt'], recursive: false }));
  t.false(isMulti({ sources: ['a*b/c.txt'], recursive: false }));
  t.true(isMulti({ sources: ['dir'], recursive: true }));
  t.deepEqual(splitDestination(['a']), { sources: ['a'] });
  t.deepEqual(splitDestination(['a', 'b', 'dest']), { sources: ['a', 'b'], destination: 'dest' });
});

test('--parallel takes 1 to 32', (t) => {
  t.is(parseParallel('1'), 1);
  t.is(parseParallel('32'), 32);
  for (const bad of ['0', '33', '-1', '2.5', 'four', '']) {
    t.throws(() => parseParallel(bad), { message: /--parallel must be a number from 1 to 32/ }, bad);
  }
});

test('a leading - marks a batch line that goes on after an error', (t) => {
  t.deepEqual(stripContinueMark('-DELETE x'), { text: 'DELETE x', continueOnError: true });
  t.deepEqual(stripContinueMark('  - DELETE x'), { text: ' DELETE x', continueOnError: true });
  t.deepEqual(stripContinueMark('DELETE -x'), { text: 'DELETE -x', continueOnError: false });
});

test('the total line and the JSON lines', (t) => {
  const summary: TransferSummary = {
    direction: 'upload',
    multi: true,
    files: 20,
    failed: 2,
    bytes: 1_258_291,
    seconds: 0.456_78,
    failures: [],
  };
  t.is(formatTotal(summary), 'total: 20 files, 1.2 MiB in 0.46 s (2.6 MiB/s), 2 failed');
  t.is(
    formatTotal({ ...summary, files: 1, failed: 0, bytes: 3 }),
    'total: 1 file, 3 B in 0.46 s (7 B/s), 0 failed',
  );
  t.deepEqual(totalJson(summary), {
    event: 'total',
    direction: 'upload',
    files: 20,
    failed: 2,
    bytes: 1_258_291,
    seconds: 0.457,
    bytesPerSecond: 2_754_698,
  });
  const base = { direction: 'download' as const, local: '/tmp/a b', remote: 'x/a b' };
  t.deepEqual(fileJson({ ...base, ok: true, bytes: 5, seconds: 0.1234, resumedFrom: 2 }), {
    event: 'download',
    local: '/tmp/a b',
    remote: 'x/a b',
    status: 'ok',
    bytes: 5,
    seconds: 0.123,
    resumedFrom: 2,
  });
  t.deepEqual(fileJson({ ...base, ok: false, error: new FilehiveClientError('BUSY', 'locked') }), {
    event: 'download',
    local: '/tmp/a b',
    remote: 'x/a b',
    status: 'failed',
    code: 'BUSY',
    message: 'locked',
  });
  const mtime = new Date('2026-11-25T10:01:02.345Z');
  t.deepEqual(entryJson({ name: 'd', type: 'dir', size: 0, mtime }), {
    event: 'entry',
    name: 'd',
    type: 'dir',
    size: 0,
    mtime: '2026-11-25T10:01:02.345Z',
  });
});
