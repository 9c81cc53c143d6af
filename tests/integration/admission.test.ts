// Connection limits across workers, on the real built server with two workers: the total and
// per-address limits, their metrics, the loopback-only notice, and a dead worker's sessions.
import test from 'ava';
import { childPids } from '../_helpers/processes.js';
import { RawClient } from '../_helpers/raw-client.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

/** The value of one sample line, e.g. `filehive_connections_refused_total{reason="max_per_ip"}`. */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

/** Open connections per worker slot, from filehive_connections_active. */
function activeByWorker(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^filehive_connections_active\{worker="(\d+)"\} (\S+)$/gm)) {
    out[m[1] as string] = Number(m[2]);
  }
  return out;
}

async function scrape(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.metricsUrl}/metrics`);
  return response.ok ? response.text() : '';
}

/** Connects until the greeting is HELLO (a release travels to the primary after the close). */
async function connectWhenAdmitted(server: RunningServer, localAddress?: string): Promise<RawClient | null> {
  let admitted: RawClient | null = null;
  await waitFor(async () => {
    const client = await RawClient.connect(server.port, { localAddress });
    if (client.greeting.startsWith('HELLO')) admitted = client;
    else client.close();
    return admitted !== null;
  });
  return admitted;
}

test('--max-connections holds across both workers; the refused session gets ERR TOO_MANY_CONNECTIONS', async (t) => {
  t.timeout(60_000);
  const server = await startServer({ workers: 2, args: ['--max-connections', '6'] });
  t.teardown(() => server.stop());
  const clients: RawClient[] = [];
  t.teardown(() => {
    for (const c of clients) c.close();
  });
  for (let i = 0; i < 6; i++) {
    const c = await RawClient.connect(server.port);
    clients.push(c);
    t.regex(c.greeting, /^HELLO /, `session ${i + 1}`);
  }
  const spread = activeByWorker(await scrape(server));
  t.true(
    (spread['0'] ?? 0) > 0 && (spread['1'] ?? 0) > 0,
    `sessions on both workers: ${JSON.stringify(spread)}`,
  );

  const refused = await RawClient.connect(server.port);
  t.regex(refused.greeting, /^ERR TOO_MANY_CONNECTIONS msg=/);
  await refused.closed();
  t.true(refused.isClosed, 'the server closes a refused connection');
  const again = await RawClient.connect(server.port);
  t.regex(again.greeting, /^ERR TOO_MANY_CONNECTIONS /, 'still full');
  again.close();

  t.is((await clients[0]?.request('NOOP'))?.status, 'OK', 'admitted sessions are unaffected');
  clients.shift()?.close();
  const replacement = await connectWhenAdmitted(server);
  t.truthy(replacement, 'a closed session makes room for a new one');
  if (replacement) clients.push(replacement);
  t.is((await replacement?.request('NOOP'))?.status, 'OK');

  const text = await scrape(server);
  t.true(value(text, 'filehive_connections_refused_total{reason="max_connections"}') >= 2);
  t.is(value(text, 'filehive_connections_refused_total{reason="max_per_ip"}'), 0);
  t.is(value(text, 'filehive_connections_refused_total{reason="anonymous_remote"}'), 0);
});

test('--max-connections-per-ip refuses the 4th session from 127.0.0.2 while 127.0.0.3 is admitted', async (t) => {
  t.timeout(60_000);
  const server = await startServer({ workers: 2, args: ['--max-connections-per-ip', '3'] });
  t.teardown(() => server.stop());
  const clients: RawClient[] = [];
  t.teardown(() => {
    for (const c of clients) c.close();
  });
  for (let i = 0; i < 3; i++) {
    const c = await RawClient.connect(server.port, { localAddress: '127.0.0.2' });
    clients.push(c);
    t.regex(c.greeting, /^HELLO /);
  }
  const fourth = await RawClient.connect(server.port, { localAddress: '127.0.0.2' });
  t.regex(fourth.greeting, /^ERR TOO_MANY_CONNECTIONS msg=".*address/);
  await fourth.closed();

  for (let i = 0; i < 3; i++) {
    const other = await RawClient.connect(server.port, { localAddress: '127.0.0.3' });
    clients.push(other);
    t.regex(other.greeting, /^HELLO /, 'another address has its own count');
  }
  t.is(
    value(await scrape(server), 'filehive_connections_refused_total{reason="max_per_ip"}'),
    1,
    'one refusal counted',
  );

  clients.shift()?.close();
  const back = await connectWhenAdmitted(server, '127.0.0.2');
  t.truthy(back, 'after a close, 127.0.0.2 is admitted again');
  if (back) clients.push(back);
  t.is(value(await scrape(server), 'filehive_connections_refused_total{reason="max_connections"}'), 0);
});

test('without --users the start-up output says anonymous access is loopback-only; --allow-anonymous says any address', async (t) => {
  t.timeout(60_000);
  const [local, open] = await Promise.all([
    startServer({ workers: 1 }),
    startServer({ workers: 1, args: ['--allow-anonymous'] }),
  ]);
  t.teardown(() => local.stop());
  t.teardown(() => open.stop());
  t.regex(local.output(), /^filehive: anonymous access for loopback clients only/m);
  t.regex(open.output(), /^filehive: anonymous access from any address/m);
  // With --host 127.0.0.1 every client is a loopback one, whatever 127/8 address it comes from.
  const c = await RawClient.connect(local.port, { localAddress: '127.0.0.7' });
  t.regex(c.greeting, /^HELLO /);
  c.close();
});

test("a worker that dies takes its sessions' counts with it", async (t) => {
  t.timeout(60_000);
  const server = await startServer({ workers: 2, args: ['--max-connections', '4'] });
  t.teardown(() => server.stop());
  const clients: RawClient[] = [];
  t.teardown(() => {
    for (const c of clients) c.close();
  });
  for (let i = 0; i < 4; i++) clients.push(await RawClient.connect(server.port));
  t.true(clients.every((c) => c.greeting.startsWith('HELLO')));
  const full = await RawClient.connect(server.port);
  t.regex(full.greeting, /^ERR TOO_MANY_CONNECTIONS /);
  full.close();

  const [victim] = await childPids(server.proc.pid as number);
  process.kill(victim as number, 'SIGKILL');
  t.true(await waitFor(() => clients.some((c) => c.isClosed)), 'the dead worker took sessions down');
  // Its sessions never sent a release: only the primary's clean-up can make room for them.
  const lost = clients.filter((c) => c.isClosed).length;
  t.true(lost > 0 && lost < 4, `sessions lost: ${lost}`);
  for (let i = 0; i < lost; i++) {
    const c = await connectWhenAdmitted(server);
    t.truthy(c, `replacement session ${i + 1} of ${lost}`);
    if (c) clients.push(c);
  }
  const over = await RawClient.connect(server.port);
  t.regex(over.greeting, /^ERR TOO_MANY_CONNECTIONS /, 'the limit still counts the survivors');
  over.close();
});
