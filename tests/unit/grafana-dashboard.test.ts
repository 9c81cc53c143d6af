// The dashboard as code: the committed JSON is the generated one, every metric it queries exists, and
// the PromQL follows the cluster rules (rate then sum, per-process gauges by instance and worker, every
// selector filtered by the instance variable, a Cluster row of totals and per-instance splits).
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import test from 'ava';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DASHBOARD_FILE, QUERIES, type QueryKey, ROWS, renderDashboard } from '../../grafana/dashboard.js';

interface Target {
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  options?: { legend?: { showLegend?: boolean } };
  fieldConfig?: { defaults?: { unit?: string; min?: number } };
}
interface Variable {
  type: string;
  name: string;
  query?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
  __inputs?: unknown;
}

const METRICS_DIR = resolve('src/metrics');
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana template variable
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** Metric names an expression selects: identifiers outside strings, matchers, ranges and groupings. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = m[1] as string;
    if (!PROMQL_KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** Exposed series names of `name` for a metric of `type`. */
function exposedNames(name: string, type: string): string[] {
  return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

/** Names defined in src/metrics/*.ts: `new Counter|Gauge|Histogram({ name: 'filehive_...' })`. */
async function sourceMetrics(): Promise<Map<string, string>> {
  const defined = new Map<string, string>();
  for (const file of await readdir(METRICS_DIR)) {
    if (!file.endsWith('.ts')) continue;
    const text = await readFile(join(METRICS_DIR, file), 'utf8');
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*'(filehive_\w+)'/g)) {
      const type = (m[1] as string).toLowerCase();
      for (const name of exposedNames(m[2] as string, type)) defined.set(name, type);
    }
  }
  return defined;
}

/** prom-client's default metrics, as every worker exports them. */
async function defaultMetrics(): Promise<Map<string, string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const defined = new Map<string, string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const name of exposedNames(metric.name, String(metric.type))) defined.set(name, String(metric.type));
  }
  registry.clear();
  return defined;
}

async function committed(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

function dataPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.filter((panel) => panel.type !== 'row');
}

test('the committed dashboard JSON is what grafana/dashboard.ts generates (npm run dashboard)', async (t) => {
  t.is(await readFile(DASHBOARD_FILE, 'utf8'), renderDashboard());
});

test('the metric-name extraction finds names and ignores functions, labels and keywords', (t) => {
  t.deepEqual(metricNames(QUERIES.byteRate).sort(), [
    'filehive_download_bytes_total',
    'filehive_upload_bytes_total',
  ]);
  t.deepEqual(metricNames(QUERIES.commandErrors), ['filehive_commands_total']);
  t.deepEqual(metricNames('histogram_quantile(0.9, sum by (le) (rate(x_bucket{a="b"}[1m])))'), ['x_bucket']);
  t.deepEqual(metricNames('a / on (worker) group_left b offset 5m'), ['a', 'b']);
});

test('every metric the dashboard queries is defined in src/metrics or by prom-client defaults', async (t) => {
  const defined = new Map([...(await defaultMetrics()), ...(await sourceMetrics())]);
  t.true(defined.has('filehive_upload_bytes_total'), 'worker metrics parsed from src/metrics');
  t.true(defined.has('process_cpu_seconds_total'), 'prom-client default metrics listed');
  const unknown: string[] = [];
  for (const [key, expr] of Object.entries(QUERIES)) {
    const names = metricNames(expr);
    t.true(names.length > 0, `${key} selects no metric`);
    for (const name of names) if (!defined.has(name)) unknown.push(`${key}: ${name}`);
  }
  t.deepEqual(unknown, [], 'metrics not defined anywhere');
});

test('rate() and increase() read counters over $__rate_interval; gauges are never rated', async (t) => {
  const defined = new Map([...(await defaultMetrics()), ...(await sourceMetrics())]);
  for (const [key, expr] of Object.entries(QUERIES)) {
    for (const m of expr.matchAll(/\[([^\]]*)\]/g)) t.is(m[1], '$__rate_interval', `${key}: range ${m[0]}`);
    for (const m of expr.matchAll(/\b(rate|increase|irate|deriv)\((\w+)/g)) {
      const name = m[2] as string;
      const type = defined.get(name);
      t.true(type === 'counter' || (type === 'histogram' && name.endsWith('_bucket')), `${key}: ${m[0]}`);
    }
  }
});

test('per-process values are shown by instance and worker, never summed across workers', (t) => {
  let perProcess = 0;
  for (const [key, expr] of Object.entries(QUERIES)) {
    if (!/\b(process|nodejs)_/.test(expr)) continue;
    perProcess++;
    // Worker slots repeat across instances: `by (worker)` alone would merge worker 0 of every instance.
    t.regex(expr, /^(sum|max) by \(instance, worker\) /, key);
  }
  t.true(perProcess >= 3, 'memory, CPU and event-loop lag panels');
});

test('every selector of every query is filtered by the instance variable', (t) => {
  for (const [key, expr] of Object.entries(QUERIES)) {
    const names = metricNames(expr);
    for (const name of names) {
      const all = expr.split(new RegExp(`\\b${name}\\b`)).length - 1;
      const filtered = expr.split(`${name}{instance=~"$instance"`).length - 1;
      t.true(all > 0 && filtered === all, `${key}: ${name} (${filtered} of ${all} selectors filtered)`);
    }
  }
});

test('the instance variable lists every reporting instance, several at once or All', async (t) => {
  const dashboard = await committed();
  const variable = dashboard.templating.list.find((v) => v.name === 'instance');
  t.is(variable?.type, 'query');
  t.is(variable?.query, 'label_values(filehive_workers_expected, instance)');
  t.deepEqual(variable?.datasource, DATASOURCE);
  t.true(variable?.multi, 'multi-select');
  t.true(variable?.includeAll, 'All');
  t.is(variable?.allValue, '.*', 'All matches every instance, also ones that appear later');
  const names = dashboard.templating.list.map((v) => v.name);
  t.true(names.indexOf('datasource') < names.indexOf('instance'), 'the data source is chosen first');
});

test('the Cluster row comes first: totals across instances and the per-instance split', async (t) => {
  const dashboard = await committed();
  t.is(dashboard.panels[0]?.type, 'row');
  t.is(dashboard.panels[0]?.title, 'Cluster');
  const cluster = ROWS[0]?.panels ?? [];
  const shown = new Map<QueryKey, string>();
  for (const panel of cluster) for (const target of panel.targets) shown.set(target.query, target.legend);
  // Totals: no instance in the grouping, so the selected instances add up.
  for (const key of ['byteRate', 'sessions', 'lockBusyTotal'] as const) {
    t.true(shown.has(key), `${key} in the Cluster row`);
    t.notRegex(QUERIES[key], /by \([^)]*instance/, `${key} sums across instances`);
  }
  // Breakdown: grouped by instance and labelled with it.
  for (const key of [
    'byteRateByInstance',
    'sessionsByInstance',
    'lockBusyByInstance',
    'clockSkew',
  ] as const) {
    t.true(shown.has(key), `${key} in the Cluster row`);
    t.regex(QUERIES[key], /^(sum|max) by \(instance\b/, key);
    t.regex(shown.get(key) ?? '', /\{\{instance\}\}/, `${key} legend names the instance`);
  }
  // The split is the total, grouped: the same inner expression.
  t.is(QUERIES.byteRateByInstance.replace('by (instance, direction)', 'by (direction)'), QUERIES.byteRate);
  t.is(QUERIES.sessionsByInstance.replace('sum by (instance) ', 'sum'), QUERIES.sessions);
  t.is(QUERIES.lockBusyByInstance.replace('sum by (instance) ', 'sum'), QUERIES.lockBusyTotal);
  // Skew is signed: its axis is not floored at 0 like every other panel's.
  const panels = dataPanels(dashboard);
  const skew = panels.find((panel) => panel.title === 'Clock skew per instance');
  t.is(skew?.fieldConfig?.defaults?.unit, 's');
  t.is(skew?.fieldConfig?.defaults?.min, undefined);
  t.is(panels.find((panel) => panel.title === 'Sessions')?.fieldConfig?.defaults?.min, 0);
});

test('every panel has a legend, a unit and targets from QUERIES; every query is shown', async (t) => {
  const dashboard = await committed();
  const panels = dataPanels(dashboard);
  t.true(panels.length >= 15);
  const used = new Set<string>();
  for (const panel of panels) {
    t.is(panel.type, 'timeseries', `${panel.title}`);
    t.true(panel.options?.legend?.showLegend, `${panel.title}: legend`);
    t.truthy(panel.fieldConfig?.defaults?.unit, `${panel.title}: unit`);
    t.true((panel.targets ?? []).length > 0, `${panel.title}: targets`);
    for (const target of panel.targets ?? []) {
      t.truthy(target.legendFormat, `${panel.title}: legendFormat`);
      t.true(Object.values(QUERIES).includes(target.expr as never), `${panel.title}: ${target.expr}`);
      used.add(target.expr as string);
    }
  }
  t.deepEqual(
    Object.entries(QUERIES)
      .filter(([, expr]) => !used.has(expr))
      .map(([key]) => key),
    [],
    'queries no panel shows',
  );
  const units = new Map(panels.map((panel) => [panel.title, panel.fieldConfig?.defaults?.unit]));
  t.is(units.get('Upload and download byte rate'), 'Bps');
  t.is(units.get('Memory per worker'), 'bytes');
});

test('the data source is a template variable, not an import-time __inputs placeholder', async (t) => {
  const dashboard = await committed();
  t.is(dashboard.__inputs, undefined);
  const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
  t.is(variable?.type, 'datasource');
  t.is(variable?.query, 'prometheus');
  for (const panel of dataPanels(dashboard)) {
    t.deepEqual(panel.datasource, DATASOURCE, `${panel.title}`);
    for (const target of panel.targets ?? []) {
      t.deepEqual(target.datasource, DATASOURCE, `${panel.title}`);
    }
  }
  t.false((await readFile(DASHBOARD_FILE, 'utf8')).includes('DS_PROMETHEUS'));
});

test('provisioning: the datasource time interval is the scrape interval; each instance is a labelled target', async (t) => {
  const prometheus = await readFile('grafana/prometheus.yml', 'utf8');
  const datasource = await readFile('grafana/provisioning/datasources/prometheus.yaml', 'utf8');
  const dashboards = await readFile('grafana/provisioning/dashboards/filehive.yaml', 'utf8');
  const scrape = /^\s*scrape_interval:\s*(\S+)/m.exec(prometheus)?.[1];
  t.is(scrape, '5s');
  t.is(/^\s*timeInterval:\s*(\S+)/m.exec(datasource)?.[1], scrape, '$__rate_interval depends on it');
  t.regex(prometheus, /targets: \[["']127\.0\.0\.1:9401["']\]/);
  // Several instances, each named by an `instance` label (the dashboard's variable lists those names).
  const named = [
    ...prometheus.matchAll(/^\s*- targets: \[["'][^"']+["']\]\n\s*labels: \{ instance: ([\w.-]+) \}$/gm),
  ];
  t.true(named.length >= 2, 'two or more targets with an instance label');
  t.is(new Set(named.map((m) => m[1])).size, named.length, 'instance names are unique');
  t.regex(datasource, /^\s*type: prometheus$/m);
  t.regex(dashboards, /^\s*type: file$/m);
  t.regex(dashboards, /^\s*path: \S+$/m);
});
