// Two filehive instances on one storage root, one real Prometheus scraping both sidecars with an
// `instance` label each (as grafana/prometheus.yml does): bytes move through each instance, one
// instance's upload makes the other refuse the same name with BUSY (the shared lock folder), sessions
// are held open on both; then the dashboard's Cluster queries must give the sum and the per-instance
// split, and the `instance` variable must select. (The one-instance checks are in
// metrics-prometheus.test.ts; this file runs beside it.) Skipped without the binaries on a developer
// machine, failed without them under CI.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { QUERIES, type QueryKey } from '../../grafana/dashboard.js';
import { createChecksum } from '../../src/protocol/checksum.js';
import {
  type PromSample,
  type RunningPrometheus,
  startPrometheus,
  substituteMacros,
  testWithTool,
} from '../_helpers/prometheus.js';
import { q, RawClient } from '../_helpers/raw-client.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

const prometheusTest = testWithTool('prometheus', { serial: true });

const KiB = 1024;
const DATA = randomBytes(1536 * KiB); // above the 1 MiB floor of the per-transfer throughput histogram

/** host:port of the sidecar, from the server's `metrics on http://HOST:PORT/metrics` line. */
function metricsTarget(server: RunningServer): string {
  const target = /metrics on http:\/\/([^/\s]+)\/metrics/.exec(server.output())?.[1];
  if (!target) throw new Error(`no "metrics on" line in the server output:\n${server.output()}`);
  return target;
}

function byLabels(result: PromSample[], ...labels: string[]): Map<string, number> {
  return new Map(result.map((s) => [labels.map((l) => s.metric[l] ?? '').join(' '), Number(s.value[1])]));
}

/** A dashboard query with its macros filled in: the rate window, and the instance selection. */
function dashboardQuery(key: QueryKey, window: string, instance = '.*'): string {
  return substituteMacros(QUERIES[key], window, window, instance);
}

/**
 * Waits until Prometheus has scraped every target successfully after `afterMs`, and returns the time of
 * the latest of those scrapes (Unix seconds): a query evaluated then sees every event before `afterMs`.
 */
async function scrapedAfter(prom: RunningPrometheus, afterMs: number, targets: number): Promise<number> {
  let at = 0;
  const ok = await waitFor(
    async () => {
      // timestamp() gives a sample's own time only when applied directly to a selector (not to `up == 1`).
      const times = (await prom.query('timestamp(up{job="filehive"})')).map((s) => Number(s.value[1]));
      at = Math.max(...times);
      if (times.length !== targets || Math.min(...times) * 1000 <= afterMs) return false;
      return (await prom.query('up{job="filehive"} == 1', at)).length === targets;
    },
    15_000,
    200,
  );
  if (!ok) throw new Error(`not every target was scraped after ${new Date(afterMs).toISOString()}`);
  return at;
}

async function upload(client: RawClient, name: string, data: Buffer): Promise<number> {
  const reply = await client.upload(name, data);
  if (reply.status !== 'OK') throw new Error(`UPLOAD ${name}: ${reply.line}`);
  return data.length;
}

async function download(client: RawClient, name: string): Promise<number> {
  const { data, reply } = await client.download(name);
  if (reply.status !== 'OK' || !data) throw new Error(`DOWNLOAD ${name}: ${reply.line}`);
  return data.length;
}

prometheusTest(
  'two instances on one root: the Cluster row sums them, splits them by instance, and the variable selects',
  async (t) => {
    t.timeout(90_000, 'two instances and a prometheus');
    const startedAt = Date.now();
    // One worker each: two servers and Prometheus share two cores.
    const a = await startServer({ workers: 1 });
    const b = await startServer({ workers: 1, root: a.root });
    const clients: RawClient[] = [];
    t.teardown(async () => {
      for (const client of clients) client.close();
      await b.stop();
      await a.stop();
    });
    const prom = await startPrometheus({
      targets: [
        { target: metricsTarget(a), instance: 'hive-a' },
        { target: metricsTarget(b), instance: 'hive-b' },
      ],
      scrapeInterval: '1s',
    });
    t.teardown(() => prom.stop());
    const bothUp = await waitFor(
      async () => (await prom.query('up{job="filehive"} == 1')).length === 2,
      15_000,
      200,
    );
    t.true(bothUp, `both instances scraped:\n${prom.log()}`);
    const instances = byLabels(await prom.query(dashboardQuery('workersExpected', '1m')), 'instance');
    t.deepEqual([...instances.keys()], [''], 'the All selection sums to one series');
    const names = (await prom.query('filehive_workers_expected')).map((s) => s.metric.instance).sort();
    t.deepEqual(names, ['hive-a', 'hive-b'], 'the instance label names the filehive instance');
    // Samples before the traffic, so the rate window's sampled span is long (see below).
    const history = await waitFor(
      async () => (await prom.query('count_over_time(up{job="filehive"}[1m]) >= 4')).length === 2,
      15_000,
      250,
    );
    t.true(history, 'four scrapes of each instance before any traffic');

    const connect = async (server: RunningServer) => {
      const client = await RawClient.connect(server.port);
      clients.push(client);
      return client;
    };
    const ca = await connect(a);
    const cb = await connect(b);

    // Bytes through each instance: three uploads into A, one into B; each downloads what the other
    // wrote (one storage root).
    const up = { a: 0, b: 0 };
    const down = { a: 0, b: 0 };
    for (let i = 0; i < 3; i++) up.a += await upload(ca, `from-a-${i}.bin`, DATA);
    up.b += await upload(cb, 'from-b.bin', DATA.subarray(0, 1024 * KiB));
    // A failed transfer (its bytes still arrived and count).
    const bad = await cb.upload('bad.bin', DATA.subarray(0, 64 * KiB), { checksumHex: '0'.repeat(16) });
    t.is(bad.code, 'CHECKSUM_MISMATCH');
    up.b += 64 * KiB;
    down.a += await download(ca, 'from-b.bin');
    for (let i = 0; i < 2; i++) down.b += await download(cb, `from-a-${i}.bin`);

    // An upload running on A locks its name for B too: B refuses it with BUSY, three times.
    const go = await ca.request(`UPLOAD ${q('held.bin')} ${DATA.length}`);
    t.is(go.status, 'GO', go.line);
    ca.send(DATA.subarray(0, 512 * KiB));
    for (let i = 0; i < 3; i++) {
      const busy = await cb.request(`UPLOAD ${q('held.bin')} 10`);
      t.is(busy.code, 'BUSY', busy.line);
      t.is(busy.fields.holder, 'upload', 'the holder record written by the other instance');
    }
    ca.send(DATA.subarray(512 * KiB));
    const hash = createChecksum('xxh3-64');
    hash.update(DATA);
    ca.send(`CHECKSUM xxh3-64:${hash.digest()}\n`);
    t.is((await ca.reply(30_000)).status, 'OK');
    up.a += DATA.length;

    // Sessions held open: A has three, B one.
    await connect(a);
    await connect(a);
    // Quiet scrapes after the traffic: rate() extrapolates the increase it saw from the span of its
    // samples to the window's end, which for the target scraped first lies up to one interval (1 s)
    // later; over a span of 12 s or more (3 s before the traffic, 8 s after) that stays under 9 %.
    const at = await scrapedAfter(prom, Date.now() + 8_000, 2);
    const window = `${Math.ceil(at - startedAt / 1000) + 5}s`;
    const seconds = Number.parseInt(window, 10);
    t.log(`uploaded A ${up.a} B ${up.b}, downloaded A ${down.a} B ${down.b}; window ${window}`);

    const query = async (key: QueryKey, instance = '.*') =>
      prom.query(dashboardQuery(key, window, instance), at);

    // Exact, from the raw counters: each instance counted its own bytes.
    const raw = byLabels(await prom.query('sum by (instance) (filehive_upload_bytes_total)', at), 'instance');
    t.deepEqual(Object.fromEntries(raw), { 'hive-a': up.a, 'hive-b': up.b });
    const rawDown = byLabels(
      await prom.query('sum by (instance) (filehive_download_bytes_total)', at),
      'instance',
    );
    t.deepEqual(Object.fromEntries(rawDown), { 'hive-a': down.a, 'hive-b': down.b });

    // The Cluster row's byte rate over the whole test: the total, and the split that adds up to it. The
    // counters start at 0 inside the window, so rate x window is the bytes moved, up to that
    // extrapolation. (Hive-a moves 6 times hive-b's uploads: the split cannot pass by accident.)
    const close = (actual: number, expected: number, what: string) =>
      t.true(Math.abs(actual - expected) <= expected * 0.1 + 1, `${what}: ${actual} vs ${expected}`);
    const total = byLabels(await query('byteRate'), 'direction');
    t.log(
      `cluster upload: rate x window / bytes = ${((total.get('upload') ?? 0) * seconds) / (up.a + up.b)}`,
    );
    close((total.get('upload') ?? 0) * seconds, up.a + up.b, 'cluster upload bytes');
    close((total.get('download') ?? 0) * seconds, down.a + down.b, 'cluster download bytes');
    const split = byLabels(await query('byteRateByInstance'), 'instance', 'direction');
    t.deepEqual([...split.keys()].sort(), [
      'hive-a download',
      'hive-a upload',
      'hive-b download',
      'hive-b upload',
    ]);
    close((split.get('hive-a upload') ?? 0) * seconds, up.a, 'hive-a upload bytes');
    close((split.get('hive-b upload') ?? 0) * seconds, up.b, 'hive-b upload bytes');
    close((split.get('hive-a download') ?? 0) * seconds, down.a, 'hive-a download bytes');
    close((split.get('hive-b download') ?? 0) * seconds, down.b, 'hive-b download bytes');
    for (const direction of ['upload', 'download']) {
      const parts = (split.get(`hive-a ${direction}`) ?? 0) + (split.get(`hive-b ${direction}`) ?? 0);
      t.true(
        Math.abs(parts - (total.get(direction) ?? 0)) < 1e-6 * parts + 1e-9,
        `${direction} split adds up`,
      );
    }

    // Sessions: gauges, exact.
    t.is(Number((await query('sessions'))[0]?.value[1]), 4);
    t.deepEqual(Object.fromEntries(byLabels(await query('sessionsByInstance'), 'instance')), {
      'hive-a': 3,
      'hive-b': 1,
    });

    // BUSY refusals: all three on B, none on A.
    const busyTotal = Number((await query('lockBusyTotal'))[0]?.value[1]) * seconds;
    t.is(Math.round(busyTotal), 3, `cluster BUSY refusals ${busyTotal}`);
    const busy = byLabels(await query('lockBusyByInstance'), 'instance');
    t.is(Math.round((busy.get('hive-b') ?? 0) * seconds), 3);
    t.is(busy.get('hive-a'), 0);

    // The variable: one instance selected shows only its share; both by name equal All.
    t.is(Number((await query('sessions', 'hive-b'))[0]?.value[1]), 1);
    const onlyB = byLabels(await query('byteRate', 'hive-b'), 'direction');
    t.is(onlyB.get('upload'), split.get('hive-b upload'));
    t.is(onlyB.get('download'), split.get('hive-b download'));
    const named = byLabels(await query('byteRate', 'hive-a|hive-b'), 'direction');
    t.deepEqual(named, total);
    t.is(Number((await query('workersReady'))[0]?.value[1]), 2, 'one worker each');

    // Per-process panels keep worker 0 of each instance apart.
    t.deepEqual([...byLabels(await query('memoryRss'), 'instance', 'worker').keys()].sort(), [
      'hive-a 0',
      'hive-b 0',
    ]);

    // Clock skew: both instances probe the same filesystem from this host, so it is (almost) nil.
    const skew = byLabels(await query('clockSkew'), 'instance');
    t.deepEqual([...skew.keys()].sort(), ['hive-a', 'hive-b']);
    for (const [instance, value] of skew) t.true(Math.abs(value) < 1, `${instance} skew ${value} s`);
    for (const server of [a, b]) t.regex(server.output(), /clock skew against the lock folder/);
    const probes = (await readdir(join(a.root, '.filehive', 'locks'))).filter((e) => e.endsWith('.probe'));
    t.is(probes.length, 1, 'one probe file per host, shared by its instances');

    // Every dashboard query answers over both instances.
    for (const key of Object.keys(QUERIES) as QueryKey[]) {
      t.true((await query(key)).length > 0, `${key} returns no data`);
    }
  },
);
