// The benchmark suite cannot rot: a smoke run (tiny sizes, one round, no peers) must finish, print its
// table and write its JSON. Needs the built server (npm test builds before ava).
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import test from 'ava';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', ...args],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** The JSON the run says it wrote (a new file), read and removed. */
async function takeResult(stdout: string, before: Set<string>): Promise<Record<string, unknown>> {
  const m = /wrote (bench\/results\/[^\s]+\.json)/.exec(stdout);
  if (!m) throw new Error(`no "wrote" line in:\n${stdout}`);
  const file = m[1] as string;
  if (before.has(file.split('/').pop() as string)) throw new Error(`${file} existed before the run`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } finally {
    await rm(file, { force: true });
  }
}

const listResults = async () => new Set(await readdir('bench/results').catch(() => [] as string[]));

test.serial('npm run bench -- --quick --smoke prints the table and writes the JSON', async (t) => {
  t.timeout(120_000);
  const before = await listResults();
  const { code, stdout, stderr } = await runBench(['--quick', '--smoke']);
  t.is(code, 0, `bench failed:\n${stdout}\n${stderr}`);
  t.regex(stdout, /\| section\s+\| measure\s+\| median/);
  t.regex(stdout, /^sections: limits [\d.]+ s, single [\d.]+ s, .*parts [\d.]+ s$/m);
  const json = await takeResult(stdout, before);
  for (const key of [
    'meta',
    'skipped',
    'table',
    'single',
    'tls',
    'small',
    'concurrency',
    'memory',
    'parts',
    'locks',
  ]) {
    t.true(key in json, `missing ${key}`);
  }
  const table = json.table as { section: string; name: string; value: { median: number } }[];
  t.true(Array.isArray(table) && table.length > 10);
  for (const section of ['single', 'tls', 'small', 'concurrency', 'memory', 'parts']) {
    t.true(
      table.some((r) => r.section === section),
      `no ${section} rows`,
    );
  }
  const idle = table.find((r) => r.name.startsWith('RSS per idle connection'));
  t.truthy(idle, 'no idle-connection row');
});

test.serial('--only runs just the named sections', async (t) => {
  t.timeout(120_000);
  const before = await listResults();
  const { code, stdout, stderr } = await runBench(['--smoke', '--only', 'parts']);
  t.is(code, 0, `bench failed:\n${stdout}\n${stderr}`);
  const json = await takeResult(stdout, before);
  t.true('parts' in json && 'locks' in json);
  t.false('single' in json);
  const table = json.table as { section: string }[];
  t.true(table.length > 0 && table.every((r) => r.section === 'parts'));
});

test('--only with an unknown section names the valid ones and exits 2', async (t) => {
  const { code, stderr } = await runBench(['--smoke', '--only', 'single,bogus']);
  t.is(code, 2);
  t.regex(stderr, /unknown: bogus/);
  t.regex(stderr, /limits, single, tls, small, concurrency, memory, parts/);
});
