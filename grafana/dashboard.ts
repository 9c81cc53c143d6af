// The filehive Grafana dashboard as code. `npm run dashboard` writes grafana/dashboards/filehive.json;
// tests compare that file with renderDashboard() and evaluate every QUERIES expression against a real
// Prometheus scraping a real server, so the dashboard shows exactly what was tested.
//
// PromQL rules followed here (STACK-NOTES 2.3 to 2.5):
// - worker counters are per worker (`worker="<slot>"`, reused by a replacement), so a worker restart is
//   an ordinary counter reset: always rate() first, then sum; never sum first.
// - gauges that count things (transfers, connections, pending bytes) add up across workers; per-process
//   gauges (memory, event-loop lag) do not, and are shown `by (worker)`.
// - histograms are summed by `le` (identical buckets in every worker) before histogram_quantile().
// - `$__rate_interval` (>= 4 scrape intervals) keeps rate() from seeing fewer than two samples.
// - several instances share one root; each is one scrape target whose `instance` label names it. Every
//   selector carries `instance=~"$instance"` (the multi-select variable, All = `.*`), so every panel
//   shows the selected instances; worker slots repeat across instances, so per-process series are
//   told apart `by (instance, worker)`, and counters are rated per series before any sum across both.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

const R = '$__rate_interval';

/** The dashboard variable that selects instances (a regex: Grafana joins a multi-selection as a|b). */
export const INSTANCE_VARIABLE = 'instance';
const INSTANCE = `instance=~"$${INSTANCE_VARIABLE}"`;

/** A selector of `metric` on the selected instances, with optional further matchers. */
function sel(metric: string, extra?: string): string {
  return `${metric}{${INSTANCE}${extra ? `, ${extra}` : ''}}`;
}

/** Upload or download byte rate of one counter, labelled with its direction, per worker. */
function byteRate(direction: 'upload' | 'download'): string {
  return `label_replace(rate(${sel(`filehive_${direction}_bytes_total`)}[${R}]), "direction", "${direction}", "", "")`;
}

/** Every panel's PromQL, keyed by target; Grafana macros are left in (tests substitute them). */
export const QUERIES = {
  // Cluster: totals over the selected instances, and the same split by instance.
  // The two byte counters carry no direction label; label_replace adds it per worker series, so the
  // outer sum still runs after rate() and a restarted worker's reset is handled per series.
  byteRate: `sum by (direction) (${byteRate('upload')} or ${byteRate('download')})`,
  byteRateByInstance: `sum by (instance, direction) (${byteRate('upload')} or ${byteRate('download')})`,
  sessions: `sum(${sel('filehive_connections_active')})`,
  sessionsByInstance: `sum by (instance) (${sel('filehive_connections_active')})`,
  lockBusyTotal: `sum(rate(${sel('filehive_lock_busy_total')}[${R}]))`,
  lockBusyByInstance: `sum by (instance) (rate(${sel('filehive_lock_busy_total')}[${R}]))`,
  // One series per instance (a primary gauge): max() only drops the job label.
  clockSkew: `max by (instance) (${sel('filehive_clock_skew_seconds')})`,
  throughputP50: `histogram_quantile(0.5, sum by (le, direction) (rate(${sel('filehive_transfer_throughput_bytes_per_second_bucket')}[${R}])))`,
  throughputP90: `histogram_quantile(0.9, sum by (le, direction) (rate(${sel('filehive_transfer_throughput_bytes_per_second_bucket')}[${R}])))`,
  transfersCompleted: `sum by (direction) (rate(${sel('filehive_transfers_completed_total')}[${R}]))`,
  transfersFailed: `sum by (direction, code) (rate(${sel('filehive_transfers_failed_total')}[${R}]))`,
  transfersActive: `sum by (direction) (${sel('filehive_transfers_active')})`,
  bytesPending: `sum by (direction) (${sel('filehive_transfer_bytes_pending')})`,
  connectionsAccepted: `sum(rate(${sel('filehive_connections_accepted_total')}[${R}]))`,
  commandRate: `sum by (command) (rate(${sel('filehive_commands_total')}[${R}]))`,
  commandErrors: `sum by (code) (rate(${sel('filehive_commands_total', 'code!="OK"')}[${R}]))`,
  lockBusy: `sum by (op) (rate(${sel('filehive_lock_busy_total')}[${R}]))`,
  lockWaitP50: `histogram_quantile(0.5, sum by (le) (rate(${sel('filehive_lock_wait_seconds_bucket')}[${R}])))`,
  lockWaitP99: `histogram_quantile(0.99, sum by (le) (rate(${sel('filehive_lock_wait_seconds_bucket')}[${R}])))`,
  lockTakeovers: `sum by (reason) (increase(${sel('filehive_lock_stale_takeovers_total')}[${R}]))`,
  lockCompromised: `sum(increase(${sel('filehive_lock_compromised_total')}[${R}]))`,
  // Refusals: sessions turned away at the greeting, limits hit, logins and bans, failed handshakes.
  connectionsRefused: `sum by (reason) (rate(${sel('filehive_connections_refused_total')}[${R}]))`,
  limitRefusals: `sum by (reason) (rate(${sel('filehive_refusals_total')}[${R}]))`,
  loginFailures: `sum(rate(${sel('filehive_login_failures_total')}[${R}]))`,
  bansActive: `sum(${sel('filehive_bans_active')})`,
  tlsHandshakeFailures: `sum by (reason) (rate(${sel('filehive_tls_handshake_failures_total')}[${R}]))`,
  proxyHeaderFailures: `sum by (reason) (rate(${sel('filehive_proxy_header_failures_total')}[${R}]))`,
  workerRestarts: `sum(increase(${sel('filehive_worker_restarts_total')}[${R}]))`,
  scrapeFailures: `sum(increase(${sel('filehive_metrics_aggregation_failures_total')}[${R}]))`,
  // Primary gauges, one series per instance: the selected instances' workers add up.
  workersReady: `sum(${sel('filehive_workers_ready')})`,
  workersExpected: `sum(${sel('filehive_workers_expected')})`,
  // Per-process values: one line per worker of each instance, never a sum over workers.
  memoryRss: `max by (instance, worker) (${sel('process_resident_memory_bytes')})`,
  heapUsed: `max by (instance, worker) (${sel('nodejs_heap_size_used_bytes')})`,
  cpu: `sum by (instance, worker) (rate(${sel('process_cpu_seconds_total')}[${R}]))`,
  eventLoopLagP99: `max by (instance, worker) (${sel('nodejs_eventloop_lag_p99_seconds')})`,
} as const;

export type QueryKey = keyof typeof QUERIES;

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** A Grafana unit id: Bps, bytes, s, ops, percentunit, short. */
  readonly unit: string;
  readonly targets: readonly { readonly query: QueryKey; readonly legend: string }[];
  readonly width?: number;
  /** Values may be negative (no y-axis floor at 0). */
  readonly signed?: boolean;
}

interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

export const ROWS: readonly RowSpec[] = [
  {
    title: 'Cluster',
    panels: [
      {
        title: 'Upload and download byte rate',
        description:
          'Bytes moved per second by every selected instance together, counted as they arrive or leave.',
        unit: 'Bps',
        width: 12,
        targets: [{ query: 'byteRate', legend: '{{direction}}' }],
      },
      {
        title: 'Byte rate per instance',
        description: 'The same byte rate, split by instance.',
        unit: 'Bps',
        width: 12,
        targets: [{ query: 'byteRateByInstance', legend: '{{instance}} {{direction}}' }],
      },
      {
        title: 'Sessions',
        description: 'Open client connections: all selected instances together, and each instance.',
        unit: 'short',
        targets: [
          { query: 'sessions', legend: 'all' },
          { query: 'sessionsByInstance', legend: '{{instance}}' },
        ],
      },
      {
        title: 'Lock refusals (BUSY) per instance',
        description:
          'Requests refused with BUSY because a name was locked (by this or any other instance): all selected instances together, and each instance.',
        unit: 'ops',
        targets: [
          { query: 'lockBusyTotal', legend: 'all' },
          { query: 'lockBusyByInstance', legend: '{{instance}}' },
        ],
      },
      {
        title: 'Clock skew per instance',
        description:
          "Each host's clock minus the shared filesystem's (positive: the host is ahead). Above 2 s the instance logs a warning: locks are unaffected, log times and since= fields are off.",
        unit: 's',
        signed: true,
        targets: [{ query: 'clockSkew', legend: '{{instance}}' }],
      },
    ],
  },
  {
    title: 'Traffic',
    panels: [
      {
        title: 'Per-transfer throughput',
        description: 'Quantiles of the byte rate of single completed transfers of at least 1 MiB.',
        unit: 'Bps',
        width: 12,
        targets: [
          { query: 'throughputP50', legend: 'p50 {{direction}}' },
          { query: 'throughputP90', legend: 'p90 {{direction}}' },
        ],
      },
      {
        title: 'Transfers completed and failed',
        description: 'Transfers per second; failed ones by their result code.',
        unit: 'ops',
        width: 12,
        targets: [
          { query: 'transfersCompleted', legend: 'completed {{direction}}' },
          { query: 'transfersFailed', legend: 'failed {{direction}} {{code}}' },
        ],
      },
      {
        title: 'Transfers in flight',
        description: 'Transfers moving bytes right now, all workers.',
        unit: 'short',
        width: 12,
        targets: [{ query: 'transfersActive', legend: '{{direction}}' }],
      },
      {
        title: 'Bytes pending',
        description: 'Bytes announced by running transfers and not yet moved.',
        unit: 'bytes',
        width: 12,
        targets: [{ query: 'bytesPending', legend: '{{direction}}' }],
      },
    ],
  },
  {
    title: 'Commands and connections',
    panels: [
      {
        title: 'Command rate',
        description: 'Commands handled per second, by command.',
        unit: 'ops',
        targets: [{ query: 'commandRate', legend: '{{command}}' }],
      },
      {
        title: 'Command errors',
        description: 'Commands answered with an error per second, by error code.',
        unit: 'ops',
        targets: [{ query: 'commandErrors', legend: '{{code}}' }],
      },
      {
        title: 'Connections',
        description: 'Open client connections and new connections per second, all selected instances.',
        unit: 'short',
        targets: [
          { query: 'sessions', legend: 'open' },
          { query: 'connectionsAccepted', legend: 'accepted / s' },
        ],
      },
    ],
  },
  {
    title: 'Locks',
    panels: [
      {
        title: 'Lock refusals (BUSY) by operation',
        description: 'Requests refused with BUSY because a name was locked, by the refused operation.',
        unit: 'ops',
        targets: [{ query: 'lockBusy', legend: '{{op}}' }],
      },
      {
        title: 'Lock wait time',
        description: 'Time from asking for a lock to holding it.',
        unit: 's',
        targets: [
          { query: 'lockWaitP50', legend: 'p50' },
          { query: 'lockWaitP99', legend: 'p99' },
        ],
      },
      {
        title: 'Lock takeovers and lost locks',
        description:
          'Locks taken over by the primary because their holder was gone, and locks lost while held.',
        unit: 'short',
        targets: [
          { query: 'lockTakeovers', legend: 'taken over ({{reason}})' },
          { query: 'lockCompromised', legend: 'lost while held' },
        ],
      },
    ],
  },
  {
    title: 'Refusals',
    panels: [
      {
        title: 'Sessions refused at the greeting',
        description:
          'Connections greeted with ERR and closed: connection limits, banned addresses, anonymous access from a remote address.',
        unit: 'ops',
        targets: [{ query: 'connectionsRefused', legend: '{{reason}}' }],
      },
      {
        title: 'Limits hit',
        description:
          'Uploads refused or sessions cut by a server limit: file size, free space, a full disk, idle and stall timeouts.',
        unit: 'ops',
        targets: [{ query: 'limitRefusals', legend: '{{reason}}' }],
      },
      {
        title: 'Failed logins and bans',
        description: 'Failed logins per second, and addresses banned now.',
        unit: 'short',
        targets: [
          { query: 'loginFailures', legend: 'failed logins / s' },
          { query: 'bansActive', legend: 'banned addresses' },
        ],
      },
      {
        title: 'Failed handshakes',
        description:
          'TLS handshakes that did not complete, and connections from a trusted proxy without a valid PROXY header, by reason.',
        unit: 'ops',
        width: 24,
        targets: [
          { query: 'tlsHandshakeFailures', legend: 'TLS {{reason}}' },
          { query: 'proxyHeaderFailures', legend: 'PROXY header {{reason}}' },
        ],
      },
    ],
  },
  {
    title: 'Workers',
    panels: [
      {
        title: 'Workers ready',
        description:
          'Workers listening and serving on the selected instances, against the configured number.',
        unit: 'short',
        targets: [
          { query: 'workersReady', legend: 'ready' },
          { query: 'workersExpected', legend: 'expected' },
        ],
      },
      {
        title: 'Worker restarts and failed scrapes',
        description: 'Workers that died and were replaced; scrapes answered 503 because a worker was silent.',
        unit: 'short',
        targets: [
          { query: 'workerRestarts', legend: 'restarts' },
          { query: 'scrapeFailures', legend: 'failed scrapes' },
        ],
      },
      {
        title: 'Memory per worker',
        description: 'Resident set size and used V8 heap of each worker process.',
        unit: 'bytes',
        targets: [
          { query: 'memoryRss', legend: 'rss {{instance}} worker {{worker}}' },
          { query: 'heapUsed', legend: 'heap {{instance}} worker {{worker}}' },
        ],
      },
      {
        title: 'CPU per worker',
        description: 'CPU time per second of each worker process (1 = one core).',
        unit: 'percentunit',
        targets: [{ query: 'cpu', legend: '{{instance}} worker {{worker}}' }],
      },
      {
        title: 'Event-loop lag per worker',
        description: "99th percentile of each worker's event-loop delay.",
        unit: 's',
        targets: [{ query: 'eventLoopLagP99', legend: '{{instance}} worker {{worker}}' }],
      },
    ],
  },
];

// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana template variable, not a JS placeholder
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Every instance that reports: a primary gauge, present from start whatever the traffic. */
const INSTANCE_VALUES = 'label_values(filehive_workers_expected, instance)';

/** Builds the dashboard model (plain JSON, as Grafana stores it). */
export function buildDashboard() {
  const dashboard = new DashboardBuilder('filehive')
    .uid('filehive-overview')
    .description(
      'filehive file server: the cluster of instances on one storage root, then traffic, commands, locks and workers of the selected instances',
    )
    .tags(['filehive'])
    .editable()
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder(INSTANCE_VARIABLE)
        .label('Instance')
        .description('filehive instances (the instance label of each scrape target)')
        .datasource(DATASOURCE)
        .query(INSTANCE_VALUES)
        .definition(INSTANCE_VALUES)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ selected: true, text: ['All'], value: ['$__all'] }),
    );
  let id = 1;
  for (const row of ROWS) {
    dashboard.withRow(new RowBuilder(row.title).id(id++));
    for (const spec of row.panels) {
      const panel = new TimeseriesBuilder()
        .id(id++)
        .title(spec.title)
        .description(spec.description)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .span(spec.width ?? 8)
        .height(8)
        .fillOpacity(10)
        .legend(
          new VizLegendOptionsBuilder()
            .showLegend(true)
            .displayMode(LegendDisplayMode.List)
            .placement(LegendPlacement.Bottom),
        );
      if (!spec.signed) panel.min(0);
      spec.targets.forEach((target, i) => {
        panel.withTarget(
          new DataqueryBuilder()
            .datasource(DATASOURCE)
            .refId(String.fromCharCode(65 + i))
            .expr(QUERIES[target.query])
            .legendFormat(target.legend),
        );
      });
      dashboard.withPanel(panel);
    }
  }
  return dashboard.build();
}

/** The committed file's exact text. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

export const DASHBOARD_FILE = resolve(import.meta.dirname, 'dashboards/filehive.json');

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  writeFileSync(DASHBOARD_FILE, renderDashboard());
  console.log(`wrote ${DASHBOARD_FILE}`);
}
