// promtool checks of the shipped Prometheus config and of the dashboard's PromQL semantics on synthetic
// series (grafana/tests/dashboard-semantics.yml). Skipped without promtool on a developer machine,
// failed without it under CI.
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { QUERIES } from '../../grafana/dashboard.js';
import { runTool, substituteMacros, testWithTool } from '../_helpers/prometheus.js';

const SEMANTICS = 'grafana/tests/dashboard-semantics.yml';
const promtoolTest = testWithTool('promtool');

promtoolTest('promtool check config accepts grafana/prometheus.yml', async (t, promtool) => {
  const result = await runTool(promtool, ['check', 'config', 'grafana/prometheus.yml']);
  t.is(result.code, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /SUCCESS/);
});

test('the semantics test evaluates exactly the dashboard byte-rate query', async (t) => {
  const text = await readFile(SEMANTICS, 'utf8');
  const exprs = [...text.matchAll(/^\s*- expr: (.+)$/gm)].map((m) => m[1] as string);
  // All, one instance, and two named the way Grafana joins a multi-selection.
  const selections = ['.*', 'hive-2', 'hive-1|hive-2'];
  const byteRates = selections.map((instance) => substituteMacros(QUERIES.byteRate, '1m', '1m', instance));
  const byDirection = exprs.filter((expr) => expr.startsWith('sum by (direction)'));
  t.true(byDirection.length >= 6, 'before, during and after the restart; three selections of two instances');
  for (const expr of byDirection) t.true(byteRates.includes(expr), expr);
  for (const byteRate of byteRates) t.true(byDirection.includes(byteRate), `tested: ${byteRate}`);
});

test('the semantics test evaluates exactly the Cluster row queries', async (t) => {
  const text = await readFile(SEMANTICS, 'utf8');
  const exprs = new Set([...text.matchAll(/^\s*- expr: (.+)$/gm)].map((m) => m[1] as string));
  const cluster = [
    'byteRateByInstance',
    'sessions',
    'sessionsByInstance',
    'lockBusyTotal',
    'lockBusyByInstance',
    'clockSkew',
    'memoryRss',
  ] as const;
  for (const key of cluster) t.true(exprs.has(substituteMacros(QUERIES[key], '1m')), key);
});

promtoolTest(
  'promtool test rules: rate-then-sum gives the true byte rate across a worker restart and across instances',
  async (t, promtool) => {
    const result = await runTool(promtool, ['test', 'rules', SEMANTICS]);
    t.is(result.code, 0, result.stdout + result.stderr);
    t.regex(result.stdout, /SUCCESS/);
  },
);
