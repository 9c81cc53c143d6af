import fsp, { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ensureLockSettings, LockSettingsMismatch } from '../../src/locks/lock-settings.js';

const scratch = async (t: { teardown(fn: () => Promise<void>): void }) => {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-settings-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

test('the first call writes settings.json', async (t) => {
  const dir = await scratch(t);
  await ensureLockSettings(dir, { staleMs: 10_000 });
  const text = await readFile(join(dir, 'settings.json'), 'utf8');
  t.deepEqual(JSON.parse(text), { version: 1, staleMs: 10_000 });
  t.true(text.endsWith('\n'));
});

test('the same value passes and leaves the file as it was', async (t) => {
  const dir = await scratch(t);
  await ensureLockSettings(dir, { staleMs: 4_000 });
  const before = await readFile(join(dir, 'settings.json'), 'utf8');
  await t.notThrowsAsync(ensureLockSettings(dir, { staleMs: 4_000 }));
  await t.notThrowsAsync(ensureLockSettings(dir, { staleMs: 4_000 }));
  t.is(await readFile(join(dir, 'settings.json'), 'utf8'), before);
});

test('a different value throws LockSettingsMismatch naming both values and the file, and changes nothing', async (t) => {
  const dir = await scratch(t);
  await ensureLockSettings(dir, { staleMs: 12_000 });
  const err = await t.throwsAsync(ensureLockSettings(dir, { staleMs: 7_500 }), {
    instanceOf: LockSettingsMismatch,
  });
  t.regex(err.message, /--lock-stale 12\b/);
  t.regex(err.message, /\b7\.5\b/);
  t.true(err.message.includes(join(dir, 'settings.json')), err.message);
  t.deepEqual(JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')), {
    version: 1,
    staleMs: 12_000,
  });
  // And the other way round.
  await t.throwsAsync(ensureLockSettings(dir, { staleMs: 12_001 }), { instanceOf: LockSettingsMismatch });
});

test('a settings file written by hand with another value is refused', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'settings.json'), '{"version":1,"staleMs":30000}');
  const err = await t.throwsAsync(ensureLockSettings(dir, { staleMs: 10_000 }), {
    instanceOf: LockSettingsMismatch,
  });
  t.regex(err.message, /--lock-stale 30\b/);
  t.regex(err.message, /\b10\b/);
});

test('a corrupt settings file throws LockSettingsMismatch naming the file', async (t) => {
  for (const content of ['', '{', 'staleMs=10000', '{"version":1,"staleMs":10000', '\u0000\u0001']) {
    const dir = await scratch(t);
    await writeFile(join(dir, 'settings.json'), content);
    const err = await t.throwsAsync(ensureLockSettings(dir, { staleMs: 10_000 }), {
      instanceOf: LockSettingsMismatch,
    });
    t.true(err.message.includes(join(dir, 'settings.json')), err.message);
    t.is(await readFile(join(dir, 'settings.json'), 'utf8'), content, 'the file is left for the operator');
  }
});

test('JSON without a matching staleMs is refused', async (t) => {
  for (const content of ['{}', '[]', '"10000"', '{"staleMs":"10000"}', '10000']) {
    const dir = await scratch(t);
    await writeFile(join(dir, 'settings.json'), content);
    await t.throwsAsync(ensureLockSettings(dir, { staleMs: 10_000 }), undefined, content);
  }
});

test('settings.json holding JSON null is reported as a settings mismatch (exit 2), not a TypeError', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'settings.json'), 'null');
  await t.throwsAsync(ensureLockSettings(dir, { staleMs: 10_000 }), { instanceOf: LockSettingsMismatch });
});

test('an unreadable settings file throws', async (t) => {
  const dir = await scratch(t);
  // A folder where the file should be: neither writable nor readable as a file (works as root too).
  await mkdir(join(dir, 'settings.json'));
  await t.throwsAsync(ensureLockSettings(dir, { staleMs: 10_000 }));
});

test('a lock folder path that is a file throws', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'locks'), 'not a folder');
  await t.throwsAsync(ensureLockSettings(join(dir, 'locks'), { staleMs: 10_000 }));
});

test('the lock folder is created when missing, with its parents', async (t) => {
  const dir = await scratch(t);
  const locks = join(dir, 'root', '.filehive', 'locks');
  await ensureLockSettings(locks, { staleMs: 10_000 });
  t.true((await stat(locks)).isDirectory());
  t.deepEqual(JSON.parse(await readFile(join(locks, 'settings.json'), 'utf8')), {
    version: 1,
    staleMs: 10_000,
  });
});

// Two instances starting at the same moment on a fresh lock folder (first deployment): the first
// creates settings.json with `wx` and only then writes it, so the second can read the empty file and
// refuse to start (exit 2, "not readable settings; remove it only if no instance is running"). The
// window is made deterministic with a writeFile that, once it has created its file, waits until
// someone has read that file (or 1 s) before filling it: a slow disk or network filesystem.
// Serial: it patches node:fs/promises for the whole worker.
test.serial('instances starting together on a fresh lock folder all start', async (t) => {
  const dir = await scratch(t);
  const original = { writeFile: fsp.writeFile, readFile: fsp.readFile };
  const readers = new Map<string, () => void>();
  const readOf = (path: string) =>
    new Promise<void>((resolve) => {
      readers.set(path, resolve);
      setTimeout(resolve, 1_000);
    });
  const slowWriteFile = async (path: string, data: string, options?: { flag?: string }) => {
    const handle = await fsp.open(path, options?.flag ?? 'w');
    try {
      await readOf(path);
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  };
  const watchedReadFile = async (path: string, options?: unknown) => {
    try {
      return await (original.readFile as (p: string, o?: unknown) => Promise<string | Buffer>)(path, options);
    } finally {
      readers.get(path)?.();
    }
  };
  Object.assign(fsp, { writeFile: slowWriteFile, readFile: watchedReadFile });
  syncBuiltinESMExports();
  try {
    const results = await Promise.allSettled([
      ensureLockSettings(dir, { staleMs: 10_000 }),
      ensureLockSettings(dir, { staleMs: 10_000 }),
    ]);
    for (const result of results) {
      if (result.status === 'rejected') t.fail(String(result.reason));
    }
  } finally {
    Object.assign(fsp, original);
    syncBuiltinESMExports();
  }
  t.deepEqual(JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')), {
    version: 1,
    staleMs: 10_000,
  });
});
