// The benchmark suite cannot rot: a smoke run (tiny sizes, one round, no peers) must finish, print its
// table and write its JSON. Needs the built server (npm test builds before ava).
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';

test('npm run bench -- --quick --smoke prints the table and writes the JSON', async (t) => {
  t.timeout(120_000);
  const before = new Set(await readdir('bench/results').catch(() => [] as string[]));
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'bench/run.ts', '--quick', '--smoke'],
        { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
        (err, out, errOut) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out, stderr: errOut });
        },
      );
      child.stdin?.end();
    },
  );
  t.is(code, 0, `bench failed:\n${stdout}\n${stderr}`);
  t.regex(stdout, /\| section\s+\| measure\s+\| median/);
  const m = /wrote (bench\/results\/[^\s]+\.json)/.exec(stdout);
  t.truthy(m, stdout);
  const file = (m as RegExpExecArray)[1] as string;
  t.false(before.has(file.split('/').pop() as string));
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  for (const key of ['meta', 'skipped', 'table', 'single', 'small', 'concurrency', 'memory', 'locks']) {
    t.true(key in json, `missing ${key}`);
  }
  t.true(Array.isArray(json.table) && (json.table as unknown[]).length > 10);
  await rm(join(file), { force: true });
});
