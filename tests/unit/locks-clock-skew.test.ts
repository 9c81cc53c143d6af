// Clock skew against the shared filesystem: the pure estimate and warning policy, and the probe on a
// real folder with this host's clock shifted (the file server's clock is the real one).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { ClockProbe } from '../../src/locks/clock-probe.js';
import {
  describeSkew,
  estimateSkew,
  judgeSkew,
  QUIET_ALARM,
  SKEW_REWARN_MS,
  SKEW_WARN_MS,
} from '../../src/locks/clock-skew.js';
import { clockProbeName } from '../../src/locks/lock-names.js';

test('an mtime inside the round trip proves no skew; outside it, its distance to the interval', (t) => {
  t.deepEqual(estimateSkew(1_000, 1_020, 1_010), { skewMs: 0, roundTripMs: 20 });
  t.deepEqual(estimateSkew(1_000, 1_020, 1_000), { skewMs: 0, roundTripMs: 20 });
  t.deepEqual(estimateSkew(1_000, 1_020, 1_020), { skewMs: 0, roundTripMs: 20 });
  // The file server stamped 400 ms before this host's `before`: this host is at least 400 ms ahead.
  t.deepEqual(estimateSkew(1_000, 1_020, 600), { skewMs: 400, roundTripMs: 20 });
  // Stamped after `after`: this host is behind.
  t.deepEqual(estimateSkew(1_000, 1_020, 4_020), { skewMs: -3_000, roundTripMs: 20 });
  // A slow filesystem widens the interval instead of inventing a skew.
  t.is(estimateSkew(1_000, 9_000, 5_000).skewMs, 0);
});

test('the warning comes when the threshold is crossed, again every ten minutes, and a note on recovery', (t) => {
  let alarm = QUIET_ALARM;
  const step = (skewMs: number, mono: number) => {
    const judged = judgeSkew(alarm, skewMs, mono);
    alarm = judged.alarm;
    return judged.action;
  };
  t.is(step(0, 0), 'quiet');
  t.is(step(SKEW_WARN_MS, 1), 'quiet', 'exactly at the threshold is fine');
  t.is(step(SKEW_WARN_MS + 1, 2), 'warn');
  t.is(step(5_000, 30_000), 'quiet', 'not at every probe');
  t.is(step(-5_000, SKEW_REWARN_MS - 1), 'quiet', 'the sign does not matter');
  t.is(step(-5_000, SKEW_REWARN_MS + 2), 'warn', 'repeated while it lasts');
  t.is(step(100, SKEW_REWARN_MS + 30_000), 'recovered');
  t.is(step(100, SKEW_REWARN_MS + 60_000), 'quiet');
  t.is(step(-2_500, SKEW_REWARN_MS + 90_000), 'warn', 'a new episode warns at once');
});

test('descriptions say which side is ahead', (t) => {
  t.is(describeSkew(0), 'this host agrees with the filesystem clock');
  t.is(describeSkew(3.6), 'this host is 4 ms ahead of the filesystem clock');
  t.is(describeSkew(5_230), 'this host is 5.2 s ahead of the filesystem clock');
  t.is(describeSkew(-3_600_000), 'this host is 3600 s behind the filesystem clock');
});

test('the probe file is named after the host, with nothing that could leave the folder', (t) => {
  t.is(clockProbeName('hive-1.example.org'), 'clock-hive-1.example.org.probe');
  t.is(clockProbeName('a/../b c'), 'clock-a_.._b_c.probe');
  t.is(clockProbeName(''), 'clock-host.probe');
  t.true(clockProbeName('x'.repeat(300)).length <= 'clock-.probe'.length + 64);
});

async function probeWith(t: ExecutionContext, offsetMs: number) {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-clock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const records: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'debug' },
    {
      write(line: string) {
        records.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const seen: number[] = [];
  const probe = new ClockProbe({
    dir,
    log,
    host: 'test-host',
    now: () => Date.now() + offsetMs,
    onSkew: (skewMs) => seen.push(skewMs),
  });
  return { dir, probe, records, seen };
}

test('on a local folder the probe finds (almost) no skew and says so once at info', async (t) => {
  const { dir, probe, records, seen } = await probeWith(t, 0);
  const estimate = await probe.probe();
  t.truthy(estimate);
  // Timestamp granularity (a kernel tick) is the only error on a local disk.
  t.true(Math.abs(estimate?.skewMs ?? Number.NaN) < 100, `skew ${estimate?.skewMs} ms`);
  await probe.probe();
  t.is(seen.length, 2);
  t.deepEqual(await readdir(dir), ['clock-test-host.probe'], 'one file, rewritten in place');
  t.regex(await readFile(join(dir, 'clock-test-host.probe'), 'utf8'), /^\d{4}-\d\d-\d\dT.* \d+\n$/);
  const levels = records.map((r) => r.level);
  t.deepEqual(levels, [30, 20], 'info at the first probe, debug after');
  t.regex(String(records[0]?.msg), /clock skew against the lock folder/);
});

test('a host 5 s ahead is measured as +5 s and warned about, naming what skew does and does not break', async (t) => {
  const { probe, records, seen } = await probeWith(t, 5_000);
  const estimate = await probe.probe();
  // A lower bound: short of the true 5 s by at most the round trip (long on a loaded machine).
  const slack = (estimate?.roundTripMs ?? 0) + 50;
  t.true(Math.abs((estimate?.skewMs ?? 0) - 5_000) <= slack, `skew ${estimate?.skewMs} ms`);
  t.is(seen[0], estimate?.skewMs);
  const warning = records.find((r) => r.level === 40);
  t.truthy(warning, 'a warning');
  t.regex(String(warning?.msg), /this host is 5\.\d s ahead of the filesystem clock/);
  t.regex(String(warning?.msg), /Locks are not affected \(staleness is judged on the monotonic clock/);
  t.regex(String(warning?.msg), /since= fields/);
  t.is(typeof warning?.skewMs, 'number');
  await probe.probe();
  t.is(records.filter((r) => r.level === 40).length, 1, 'not repeated at the next probe');
});

test("filesystemNow is this host's clock until a probe succeeds, then the file server's", async (t) => {
  const { probe } = await probeWith(t, 60_000);
  t.true(Math.abs(probe.filesystemNow() - (Date.now() + 60_000)) < 1_000, 'no estimate yet: its own clock');
  const estimate = await probe.probe();
  const slack = (estimate?.roundTripMs ?? 0) + 1_000;
  t.true(Math.abs(probe.filesystemNow() - Date.now()) < slack, 'the measured skew taken off');
});

test('a host 3 s behind is measured as negative', async (t) => {
  const { probe, records } = await probeWith(t, -3_000);
  const estimate = await probe.probe();
  const slack = (estimate?.roundTripMs ?? 0) + 50;
  t.true(Math.abs((estimate?.skewMs ?? 0) + 3_000) <= slack, `skew ${estimate?.skewMs} ms`);
  t.regex(String(records.find((r) => r.level === 40)?.msg), /3\.\d s behind/);
});

test('a lock folder that cannot be written: one warning, no estimate, no crash', async (t) => {
  const { dir, probe, records, seen } = await probeWith(t, 0);
  await rm(dir, { recursive: true, force: true });
  t.is(await probe.probe(), null);
  t.is(await probe.probe(), null);
  t.is(seen.length, 0);
  t.is(records.filter((r) => r.level === 40).length, 1, 'warned once, not at every probe');
  t.regex(String(records[0]?.msg), /clock skew probe failed/);
});
