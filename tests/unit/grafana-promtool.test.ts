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
  const byteRate = substituteMacros(QUERIES.byteRate, '1m');
  const byDirection = exprs.filter((expr) => expr.startsWith('sum by (direction)'));
  t.true(byDirection.length >= 3, 'before, during and after the restart');
  for (const expr of byDirection) t.is(expr, byteRate);
});

promtoolTest(
  'promtool test rules: rate-then-sum gives the true byte rate across a worker restart',
  async (t, promtool) => {
    const result = await runTool(promtool, ['test', 'rules', SEMANTICS]);
    t.is(result.code, 0, result.stdout + result.stderr);
    t.regex(result.stdout, /SUCCESS/);
  },
);
