// A real Prometheus (and promtool) for tests: found in PROMETHEUS_BIN / PROMTOOL_BIN, then in
// .cache/prometheus/usr/bin (scripts/install-prometheus.sh), then on PATH. Each instance gets its own
// loopback port and a temporary TSDB folder, and is removed again by stop().
// Tests that need a missing binary are skipped on a developer machine and fail when CI is set.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startDaemon } from './daemon.js';

export type Tool = 'prometheus' | 'promtool';

const ENV_NAMES: Record<Tool, string> = { prometheus: 'PROMETHEUS_BIN', promtool: 'PROMTOOL_BIN' };
const CACHE_BIN = resolve(import.meta.dirname, '../../.cache/prometheus/usr/bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary's path, or undefined when it is nowhere to be found. */
export function findTool(tool: Tool): string | undefined {
  const fromEnv = process.env[ENV_NAMES[tool]];
  if (fromEnv) return fromEnv; // explicit: used as given, and a wrong path fails loudly
  const cached = join(CACHE_BIN, tool);
  if (isExecutable(cached)) return cached;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, tool))) return join(dir, tool);
  }
  return undefined;
}

export function prometheusBin(): string | undefined {
  return findTool('prometheus');
}

export function promtoolBin(): string | undefined {
  return findTool('promtool');
}

function missingMessage(tool: Tool): string {
  return (
    `${tool} not found (${ENV_NAMES[tool]}, .cache/prometheus/usr/bin, PATH): ` +
    'run scripts/install-prometheus.sh'
  );
}

type ToolTest = (title: string, fn: (t: ExecutionContext, bin: string) => Promise<void> | void) => void;

/**
 * Declares tests that need `tool`: they run with its path when it is installed; otherwise they are
 * skipped (the title says why) on a developer machine and fail under CI, where a missing tool means a
 * broken install step rather than a choice.
 */
export function testWithTool(tool: Tool, options: { serial?: boolean } = {}): ToolTest {
  const bin = findTool(tool);
  const declare = options.serial ? test.serial : test;
  if (bin) return (title, fn) => declare(title, (t) => fn(t, bin));
  if (process.env.CI) {
    return (title) =>
      declare(title, (t) => {
        t.fail(`${missingMessage(tool)} (required when CI is set)`);
      });
  }
  return (title, fn) => test.skip(`${title} [skipped: ${missingMessage(tool)}]`, (t) => fn(t, ''));
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a binary to completion (30 s at most), with optional stdin; never throws on a non-zero exit. */
export function runTool(bin: string, args: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = execFile(bin, args, { timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      if (typeof code !== 'number') {
        reject(err);
        return;
      }
      resolveRun({ code, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

export interface RunningPrometheus {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Instant query; `time` in Unix seconds (default: now). Throws on errors, with Prometheus' message. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** Range query with `step` seconds between points. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<PromSeries[]>;
  /** Everything Prometheus logged (warnings and errors only). */
  log(): string;
  stop(): Promise<void>;
}

/** A scrape target that carries an `instance` label naming the filehive instance. */
export interface NamedTarget {
  readonly target: string;
  readonly instance: string;
}

export interface PrometheusOptions {
  /**
   * host:port pairs scraped on /metrics by one job named "filehive"; a named target gets its name as
   * the `instance` label (as grafana/prometheus.yml does), a plain one keeps Prometheus' default.
   */
  readonly targets: readonly (string | NamedTarget)[];
  /** A Prometheus duration; default 1s. The scrape timeout equals it. */
  readonly scrapeInterval?: string;
  readonly bin?: string;
}

function addressOf(target: string | NamedTarget): string {
  return typeof target === 'string' ? target : target.target;
}

function configText(options: PrometheusOptions): string {
  const interval = options.scrapeInterval ?? '1s';
  const plain = options.targets.filter((target) => typeof target === 'string');
  const named = options.targets.filter((target) => typeof target !== 'string');
  const groups = [
    ...(plain.length > 0 ? [`      - targets: [${plain.map((target) => `'${target}'`).join(', ')}]`] : []),
    ...named.map(
      (target) => `      - targets: ['${target.target}']\n        labels: { instance: '${target.instance}' }`,
    ),
  ];
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: filehive',
    '    static_configs:',
    ...groups,
    '',
  ].join('\n');
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { status?: string; error?: string; data?: unknown };
  if (body.status !== 'success') throw new Error(`${url}: ${response.status} ${body.error ?? ''}`);
  return body.data;
}

/** Starts Prometheus on a free loopback port and resolves once /-/ready answers 200. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  for (const target of options.targets.map(addressOf)) {
    if (!/^127\.0\.0\.1:\d+$/.test(target)) throw new Error(`not a loopback target: ${target}`);
  }
  const bin = options.bin ?? prometheusBin();
  if (!bin) throw new Error(missingMessage('prometheus'));
  const dir = await mkdtemp(join(tmpdir(), 'filehive-prom-'));
  await writeFile(join(dir, 'prometheus.yml'), configText(options));
  const daemon = await startDaemon({
    name: 'prometheus',
    dir,
    bin,
    args: (port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    ready: async (d) =>
      (await fetch(`http://127.0.0.1:${d.port}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok,
  });
  const url = `http://127.0.0.1:${daemon.port}`;
  return {
    url,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set('time', String(time));
      const data = (await getJson(`${url}/api/v1/query?${params}`)) as { result: PromSample[] };
      return data.result;
    },
    async queryRange(expr, start, end, step) {
      const params = new URLSearchParams({
        query: expr,
        start: String(start),
        end: String(end),
        step: String(step),
      });
      const data = (await getJson(`${url}/api/v1/query_range?${params}`)) as { result: PromSeries[] };
      return data.result;
    },
    log: daemon.log,
    stop: daemon.stop,
  };
}

/**
 * Replaces Grafana's macros with literal durations (Prometheus itself rejects them: "missing unit
 * character in duration") and the dashboard's `$instance` variable with a selection, as Grafana
 * renders it: `.*` for All, `a|b` for several instances.
 */
export function substituteMacros(expr: string, rateInterval: string, range = '1m', instance = '.*'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', rateInterval)
    .replaceAll('$__range', range)
    .replaceAll('$instance', instance);
}
