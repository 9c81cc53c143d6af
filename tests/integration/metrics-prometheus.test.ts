// A real Prometheus scrapes the real server's metrics sidecar every second while clients move bytes;
// then every dashboard query is evaluated through Prometheus' HTTP API and the byte counters are
// compared with the bytes the clients actually sent, also across a killed and replaced worker.
// Two instances on one root are covered by metrics-prometheus-cluster.test.ts.
// Without the binaries these tests are skipped on a developer machine and fail under CI.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import { QUERIES } from '../../grafana/dashboard.js';
import { createChecksum } from '../../src/protocol/checksum.js';
import { childPids } from '../_helpers/processes.js';
import {
  type PromSample,
  type RunningPrometheus,
  runTool,
  startPrometheus,
  substituteMacros,
  testWithTool,
} from '../_helpers/prometheus.js';
import { q, RawClient } from '../_helpers/raw-client.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

const prometheusTest = testWithTool('prometheus', { serial: true });
const promtoolTest = testWithTool('promtool', { serial: true });

const MiB = 1 << 20;
/** One buffer; uploads send slices of it (random, so nothing compresses or deduplicates). */
const DATA = randomBytes(2 * MiB);

// ---------------------------------------------------------------------------------------------------
// Server, Prometheus and queries

/** host:port of the sidecar, from the server's `metrics on http://HOST:PORT/metrics` line. */
async function metricsTarget(server: RunningServer): Promise<string> {
  const pattern = /metrics on http:\/\/([^/\s]+)\/metrics/;
  const found = await waitFor(() => pattern.test(server.output()), 10_000);
  if (!found) throw new Error(`no "metrics on" line in the server output:\n${server.output()}`);
  return pattern.exec(server.output())?.[1] as string;
}

async function startBoth(t: ExecutionContext, workers = 2) {
  const server = await startServer({ workers, args: ['--metrics-port', '0'] });
  t.teardown(() => server.stop());
  const target = await metricsTarget(server);
  const prom = await startPrometheus({ targets: [target], scrapeInterval: '1s' });
  t.teardown(() => prom.stop());
  const up = await waitFor(async () => (await value(prom, 'up{job="filehive"}')) === 1, 15_000, 200);
  if (!up) throw new Error(`prometheus never scraped ${target} successfully:\n${prom.log()}`);
  return { server, target, prom };
}

/** The single value of an expression that must yield one sample (NaN when it yields none). */
async function value(prom: RunningPrometheus, expr: string, time?: number): Promise<number> {
  const result = await prom.query(expr, time);
  if (result.length > 1) throw new Error(`${expr}: ${result.length} samples, expected one`);
  return result[0] ? Number(result[0].value[1]) : Number.NaN;
}

function byLabel(result: PromSample[], label: string): Map<string, number> {
  return new Map(result.map((s) => [s.metric[label] ?? '', Number(s.value[1])]));
}

/**
 * Waits for a successful scrape that started after `afterMs` and returns its time in Unix seconds, so
 * queries evaluated at that time see every byte counted before `afterMs`.
 */
async function scrapedAfter(prom: RunningPrometheus, afterMs: number): Promise<number> {
  let last = 0;
  const ok = await waitFor(
    async () => {
      // timestamp() gives a sample's own time only when applied directly to a selector.
      last = await value(prom, 'timestamp(up{job="filehive"})');
      return last * 1000 > afterMs && (await value(prom, 'up{job="filehive"}', last)) === 1;
    },
    15_000,
    200,
  );
  if (!ok) throw new Error(`no successful scrape after ${new Date(afterMs).toISOString()}`);
  return last;
}

// ---------------------------------------------------------------------------------------------------
// Workload: each lane is one connection doing upload, download, a missing download and, now and then,
// an upload with a wrong checksum (its bytes still arrive and count).

interface Totals {
  uploaded: number;
  downloaded: number;
  rounds: number;
}

async function upload(client: RawClient, name: string, data: Buffer, totals: Totals, wrongChecksum = false) {
  const go = await client.request(`UPLOAD ${q(name)} ${data.length}`);
  if (go.status !== 'GO') throw new Error(`UPLOAD ${name}: ${go.line}`);
  client.send(data);
  // Counted once the server has them all: the reply comes after the last byte arrived.
  if (wrongChecksum) {
    client.send('CHECKSUM xxh3-64:0000000000000000\n');
    const reply = await client.reply(30_000);
    if (reply.code !== 'CHECKSUM_MISMATCH') throw new Error(`bad checksum upload: ${reply.line}`);
  } else {
    const hash = createChecksum('xxh3-64');
    hash.update(data);
    client.send(`CHECKSUM xxh3-64:${hash.digest()}\n`);
    const reply = await client.reply(30_000);
    if (reply.status !== 'OK') throw new Error(`UPLOAD ${name}: ${reply.line}`);
  }
  totals.uploaded += data.length;
}

async function runLane(port: number, lane: number, totals: Totals, keepGoing: () => boolean) {
  const client = await RawClient.connect(port);
  try {
    for (let round = 0; keepGoing(); round++) {
      // 1 to 2 MiB: above the 1 MiB threshold of the per-transfer throughput histogram.
      const size = MiB + ((lane * 7919 + round * 104729) % MiB);
      const name = `lane${lane}-${round % 3}.bin`;
      await upload(client, name, DATA.subarray(0, size), totals, round % 5 === 4);
      const { data, reply } = await client.download(
        round % 5 === 4 ? `lane${lane}-${(round + 1) % 3}.bin` : name,
      );
      if (reply.status === 'OK' && data) totals.downloaded += data.length;
      const missing = await client.request(`DOWNLOAD ${q(`missing-${lane}.bin`)}`);
      if (missing.code !== 'NOT_FOUND') throw new Error(`missing download: ${missing.line}`);
      totals.rounds++;
      await sleep(50); // paces the load: Prometheus and the server share two cores
    }
  } finally {
    client.close();
  }
}

/** Runs `lanes` connections until stop(), which resolves when every lane has finished its round. */
function startWorkload(port: number, lanes: number) {
  const totals: Totals = { uploaded: 0, downloaded: 0, rounds: 0 };
  let running = true;
  const done = Promise.all(
    Array.from({ length: lanes }, (_, lane) => runLane(port, lane, totals, () => running)),
  );
  done.catch(() => undefined); // surfaced by stop()
  return {
    totals,
    async stop(): Promise<Totals> {
      running = false;
      await done;
      return totals;
    },
  };
}

/** A fixed amount of traffic: `rounds` rounds on each of `lanes` connections. */
async function runRounds(port: number, lanes: number, rounds: number): Promise<Totals> {
  const totals: Totals = { uploaded: 0, downloaded: 0, rounds: 0 };
  await Promise.all(
    Array.from({ length: lanes }, (_, lane) => {
      let left = rounds;
      return runLane(port, lane, totals, () => left-- > 0);
    }),
  );
  return totals;
}

// ---------------------------------------------------------------------------------------------------

prometheusTest('every dashboard query returns data; the byte counters equal the bytes moved', async (t) => {
  t.timeout(120_000, 'prometheus scrape');
  const { server, prom } = await startBoth(t);
  t.is(await value(prom, 'sum(filehive_upload_bytes_total)'), 0, 'a fresh server has counted nothing');

  const workload = startWorkload(server.port, 3);
  try {
    // rate() over 10 s needs the window full of 1 s samples before its values mean anything.
    const filled = await waitFor(
      async () => (await value(prom, 'count_over_time(up{job="filehive"}[30s])')) >= 8,
      30_000,
      250,
    );
    t.true(filled, 'at least 8 scrapes in the window');
    await sleep(2_000); // two more scrapes with traffic in them

    const results = new Map<string, PromSample[]>();
    for (const [key, expr] of Object.entries(QUERIES)) {
      const result = await prom.query(substituteMacros(expr, '10s'));
      results.set(key, result);
      t.true(result.length > 0, `${key} returns no data: ${expr}`);
    }
    // Values that must be there while traffic flows, not only series.
    const rates = byLabel(results.get('byteRate') ?? [], 'direction');
    t.true((rates.get('upload') ?? 0) > 0, 'upload byte rate');
    t.true((rates.get('download') ?? 0) > 0, 'download byte rate');
    const p50 = byLabel(results.get('throughputP50') ?? [], 'direction');
    t.true(Number.isFinite(p50.get('upload')) && (p50.get('upload') ?? 0) > 0, 'upload throughput p50');
    const errors = byLabel(results.get('commandErrors') ?? [], 'code');
    t.true((errors.get('NOT_FOUND') ?? 0) > 0, 'NOT_FOUND errors');
    t.true((errors.get('CHECKSUM_MISMATCH') ?? 0) > 0, 'CHECKSUM_MISMATCH errors');
    const failed = results.get('transfersFailed') ?? [];
    t.true(failed.some((s) => s.metric.code === 'CHECKSUM_MISMATCH' && s.metric.direction === 'upload'));
    t.true((byLabel(results.get('commandRate') ?? [], 'command').get('UPLOAD') ?? 0) > 0, 'UPLOAD rate');
    t.is(await value(prom, substituteMacros(QUERIES.workersReady, '10s')), 2);
    t.is(await value(prom, substituteMacros(QUERIES.workersExpected, '10s')), 2);
    for (const key of ['memoryRss', 'cpu', 'eventLoopLagP99'] as const) {
      t.deepEqual(
        [...byLabel(results.get(key) ?? [], 'worker').keys()].sort(),
        ['0', '1'],
        `${key} by worker`,
      );
    }
    t.true((await value(prom, substituteMacros(QUERIES.sessions, '10s'))) >= 1, 'the lanes are connected');
  } finally {
    await workload.stop();
  }
  const totals = workload.totals;
  t.true(totals.uploaded > 8 * MiB, `several MiB uploaded (${totals.uploaded})`);

  // Exact check: no worker restarted, so the raw counters started at 0 and hold every byte.
  const at = await scrapedAfter(prom, Date.now());
  t.is(await value(prom, 'sum(filehive_worker_restarts_total)', at), 0);
  t.is(await value(prom, 'sum(filehive_upload_bytes_total)', at), totals.uploaded);
  t.is(await value(prom, 'sum(filehive_download_bytes_total)', at), totals.downloaded);
  t.is(await value(prom, 'sum(filehive_transfers_active)', at), 0);
  t.is(await value(prom, 'sum(filehive_transfer_bytes_pending)', at), 0);
});

prometheusTest(
  'a killed worker: increase() keeps every byte, the raw sum drops its share once',
  async (t) => {
    t.timeout(120_000, 'prometheus scrape across a worker restart');
    const startedAt = Date.now();
    const { server, target, prom } = await startBoth(t);

    // Phase A: traffic on both workers (the primary deals connections round-robin), all of it scraped.
    let uploadedBefore = 0;
    let perWorker = new Map<string, number>();
    for (let attempt = 0; attempt < 5; attempt++) {
      uploadedBefore += (await runRounds(server.port, 4, 3)).uploaded;
      const at = await scrapedAfter(prom, Date.now());
      perWorker = byLabel(await prom.query('filehive_upload_bytes_total', at), 'worker');
      if (perWorker.size === 2 && [...perWorker.values()].every((v) => v > 0)) break;
    }
    t.deepEqual([...perWorker.keys()].sort(), ['0', '1']);
    t.is(
      [...perWorker.values()].reduce((a, b) => a + b, 0),
      uploadedBefore,
      'scraped before the kill',
    );

    const pids = await childPids(server.proc.pid as number);
    t.is(pids.length, 2);
    process.kill(pids[0] as number, 'SIGKILL');
    const died = /worker (\d+) died \(signal SIGKILL\), replacing it/;
    t.true(await waitFor(() => died.test(server.output()), 10_000), 'the primary saw the death');
    const slot = died.exec(server.output())?.[1] as string;
    const deadShare = perWorker.get(slot) ?? Number.NaN;
    t.true(deadShare > 0, `worker ${slot} had counted bytes`);
    const replaced = await waitFor(async () => {
      const response = await fetch(`http://${target}/healthz`).catch(() => null);
      const now = await childPids(server.proc.pid as number);
      return response?.status === 200 && now.length === 2 && !now.includes(pids[0] as number);
    }, 20_000);
    t.true(replaced, 'a replacement worker is ready');
    // Prometheus must see the replacement's counter near 0 before phase B: were the next scrape to
    // find it already past the dead worker's last value, no reset could be seen (true of any counter
    // whose series outlives its process).
    await scrapedAfter(prom, Date.now());

    // Phase B: more traffic after the replacement is serving.
    const after = await runRounds(server.port, 4, 3);
    const uploaded = uploadedBefore + after.uploaded;
    const at = await scrapedAfter(prom, Date.now());
    t.is(await value(prom, 'sum(filehive_worker_restarts_total)', at), 1);

    // The raw sum is what the live workers hold: the dead worker's share is gone, exactly once, and the
    // replacement's counter started from 0 again instead of carrying it over (no double counting).
    t.is(await value(prom, 'sum(filehive_upload_bytes_total)', at), uploaded - deadShare);
    const windowSeconds = Math.ceil(at - startedAt / 1000) + 5;
    const rawSums = await prom.queryRange('sum(filehive_upload_bytes_total)', at - windowSeconds, at, 1);
    const peak = Math.max(...(rawSums[0]?.values ?? []).map(([, v]) => Number(v)));
    t.true(peak <= uploaded, `the raw sum never exceeded the bytes uploaded (${peak} > ${uploaded})`);

    // increase() handles the drop as a counter reset per worker series and adds the dead worker's last
    // value back. It is approximate in general: it extrapolates from the first and last samples in the
    // window towards the window's edges, and bytes a dying worker counted after its last scrape are lost.
    // Here the window starts before the first scrape (counters at 0: no extrapolation at the start), is
    // evaluated at the last scrape, and the dead worker's bytes were all scraped, so it is close to exact;
    // a few percent leave room for the extrapolation of the killed worker's series.
    const increase = await value(prom, `sum(increase(filehive_upload_bytes_total[${windowSeconds}s]))`, at);
    t.log(`uploaded ${uploaded}, worker ${slot} died with ${deadShare}, increase ${increase}`);
    t.true(
      Math.abs(increase - uploaded) <= uploaded * 0.03,
      `increase ${increase} vs ${uploaded} uploaded (raw sum ${uploaded - deadShare})`,
    );
    // The same as a rate: the dashboard's sum(rate()) over the whole test times its length.
    const rate = await value(prom, `sum(rate(filehive_upload_bytes_total[${windowSeconds}s]))`, at);
    t.true(Math.abs(rate * windowSeconds - increase) <= increase * 0.001, 'rate() = increase() / window');
  },
);

promtoolTest('promtool check metrics finds nothing wrong in the filehive_ families', async (t, promtool) => {
  t.timeout(60_000, 'metrics lint');
  const server = await startServer({ workers: 2, args: ['--metrics-port', '0'] });
  t.teardown(() => server.stop());
  const target = await metricsTarget(server);
  await runRounds(server.port, 2, 3); // commands, errors and failed transfers add labelled series

  const response = await fetch(`http://${target}/metrics`);
  t.is(response.status, 200);
  const text = await response.text();
  const ours = filterFamilies(text, (name) => name.startsWith('filehive_'));
  const families = [...ours.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1] as string);
  t.true(families.length >= 20, `filehive_ families found: ${families.join(' ')}`);
  t.is(new Set(families).size, families.length, 'no family twice (worker and primary names differ)');
  for (const name of ['filehive_upload_bytes_total', 'filehive_workers_ready', 'filehive_commands_total']) {
    t.true(families.includes(name), name);
  }

  const result = await runTool(promtool, ['check', 'metrics'], ours);
  t.is(result.code, 0, result.stdout + result.stderr);
  t.is((result.stdout + result.stderr).trim(), '');
});

/** The exposition text of the families whose name passes `keep` (HELP, TYPE and sample lines). */
function filterFamilies(text: string, keep: (name: string) => boolean): string {
  const lines: string[] = [];
  let family = '';
  for (const line of text.split('\n')) {
    const meta = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    if (meta) family = meta[1] as string;
    else if (line && !line.startsWith('#')) {
      const name = /^[^{\s]+/.exec(line)?.[0] ?? '';
      if (!name.startsWith(family)) family = name;
    }
    if (line && keep(family)) lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}
