// The prompt's history file: where it lives, how it is read, appended, bounded and protected.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { HistoryFile, parseHistory, resolveHistoryPath } from '../../src/client/cli-history.js';

test('resolveHistoryPath: FILEHIVE_HISTORY, then XDG_STATE_HOME, then ~/.local/state, else none', (t) => {
  t.is(resolveHistoryPath({ HOME: '/home/a' }), '/home/a/.local/state/filehive/history');
  t.is(resolveHistoryPath({ HOME: '/home/a', XDG_STATE_HOME: '/s' }), '/s/filehive/history');
  t.is(
    resolveHistoryPath({ HOME: '/home/a', XDG_STATE_HOME: 'rel' }),
    '/home/a/.local/state/filehive/history',
  );
  t.is(resolveHistoryPath({ HOME: '/home/a', FILEHIVE_HISTORY: '/tmp/h' }), '/tmp/h');
  for (const off of ['off', 'OFF', 'none', '0'])
    t.is(resolveHistoryPath({ HOME: '/h', FILEHIVE_HISTORY: off }), null);
  t.is(resolveHistoryPath({ HOME: '/h', FILEHIVE_HISTORY: '' }), '/h/.local/state/filehive/history');
  t.is(resolveHistoryPath({}), null);
});

test('parseHistory: newest first, blank lines dropped, at most the limit', (t) => {
  t.deepEqual(parseHistory('a\n\nb\nc\n'), ['c', 'b', 'a']);
  t.deepEqual(parseHistory('1\n2\n3\n4\n', 2), ['4', '3']);
  t.deepEqual(parseHistory(''), []);
});

async function withDir(run: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-history-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('appends commands to a file of mode 0600 in a new folder of mode 0700', async (t) => {
  await withDir(async (dir) => {
    const path = join(dir, 'state', 'filehive', 'history');
    const warnings: string[] = [];
    const history = await HistoryFile.open(path, (m) => warnings.push(m));
    t.deepEqual(history.lines, []);
    for (const line of ['DIR', 'DIR', 'CD docs  ', ' secret line', '', 'DIR']) await history.add(line);
    t.is(await readFile(path, 'utf8'), 'DIR\nCD docs\nDIR\n');
    t.is((await stat(path)).mode & 0o777, 0o600);
    t.is((await stat(join(dir, 'state', 'filehive'))).mode & 0o777, 0o700);
    t.deepEqual((await HistoryFile.open(path, (m) => warnings.push(m))).lines, ['DIR', 'CD docs', 'DIR']);
    t.deepEqual(warnings, []);
  });
});

test('a file past the limit is cut back to the newest lines, and a readable one made private', async (t) => {
  await withDir(async (dir) => {
    const path = join(dir, 'history');
    await writeFile(path, Array.from({ length: 25 }, (_, i) => `CMD ${i}\n`).join(''), { mode: 0o644 });
    const history = await HistoryFile.open(path, () => {}, 10);
    t.is(history.lines.length, 10);
    t.is(history.lines[0], 'CMD 24');
    t.is((await readFile(path, 'utf8')).split('\n').filter(Boolean).length, 10);
    t.is((await stat(path)).mode & 0o777, 0o600);
  });
});

test('a history that cannot be written warns once and the prompt goes on', async (t) => {
  await withDir(async (dir) => {
    const blocker = join(dir, 'file');
    await writeFile(blocker, '');
    const warnings: string[] = [];
    const history = await HistoryFile.open(join(blocker, 'history'), (m) => warnings.push(m));
    await history.add('DIR');
    await history.add('PWD');
    t.is(warnings.length, 1);
    t.regex(warnings[0] as string, /cannot (read|write) .*history: ENOTDIR; history is not saved/);
  });
});
