// The shipped deployment files agree with the server: the systemd unit sets real flags, sandboxes the
// service with the storage root writable and stops it slower than the grace period it gives transfers;
// the HAProxy config balances TCP sessions, checks the greeting and outlasts the server's own timeouts.
// (tests/integration/cluster-haproxy.test.ts runs the HAProxy config for real.)
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { envName, loadServerConfig, SERVER_OPTIONS } from '../../src/config/server-config.js';

const unitText = await readFile(new URL('../../deploy/filehive.service', import.meta.url), 'utf8');
const haproxyText = await readFile(new URL('../../deploy/haproxy.cfg', import.meta.url), 'utf8');

/** `Key=value` lines of a systemd unit; a key may repeat. */
function unitEntries(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('[') && line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]);
}

const unit = unitEntries(unitText);
const one = (key: string) => unit.filter(([k]) => k === key).map(([, v]) => v);
const environment = new Map(
  one('Environment').map((assignment) => assignment.split('=', 2) as [string, string]),
);

test('the unit sets only real FILEHIVE_ variables, and the server accepts their values', (t) => {
  const known = new Set(SERVER_OPTIONS.map((spec) => envName(spec.flag)));
  for (const name of environment.keys()) t.true(known.has(name), `${name} is a server setting`);
  const result = loadServerConfig([], Object.fromEntries(environment), '/');
  t.true(result.ok, JSON.stringify(result));
});

test('the unit runs as its own user in a sandbox where only the storage root is writable', (t) => {
  t.deepEqual(one('User'), ['filehive']);
  for (const [key, value] of [
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['Restart', 'on-failure'],
    ['KillSignal', 'SIGTERM'],
    ['KillMode', 'mixed'],
  ] as const) {
    t.deepEqual(one(key), [value], key);
  }
  t.deepEqual(one('ReadWritePaths'), [environment.get('FILEHIVE_ROOT') as string]);
  t.deepEqual(one('RequiresMountsFor'), [environment.get('FILEHIVE_ROOT') as string]);
  t.true(one('ExecStart')[0]?.endsWith('/dist/server.js'));
  t.deepEqual(one('RestartPreventExitStatus'), ['2'], 'bad settings (exit 2) are not restarted');
});

test('systemd waits longer than the grace period running transfers get', (t) => {
  const grace = Number(environment.get('FILEHIVE_SHUTDOWN_GRACE'));
  const stop = Number(one('TimeoutStopSec')[0]);
  t.true(Number.isFinite(grace) && Number.isFinite(stop));
  t.true(stop >= grace + 10, `TimeoutStopSec ${stop} leaves room after --shutdown-grace ${grace}`);
});

/** An HAProxy duration (`15m`, `5s`, `300ms`, plain ms) in ms. */
function durationMs(text: string): number {
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(text);
  if (!m) return Number.NaN;
  const unit = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}

const haproxyLines = haproxyText
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

test('HAProxy balances TCP sessions by least connections and checks the HELLO greeting', (t) => {
  for (const line of ['mode tcp', 'balance leastconn', 'option tcp-check', 'option redispatch 1']) {
    t.true(haproxyLines.includes(line), line);
  }
  t.true(haproxyLines.some((line) => /^tcp-check expect (r?string) "?\^?HELLO/.test(line)));
  t.false(
    haproxyLines.some((line) => line.includes('shutdown-sessions')),
    'a draining instance keeps its sessions',
  );
});

test('HAProxy timeouts outlast the server’s idle and stall timeouts, so the server is the one that says why', (t) => {
  const config = loadServerConfig([], {}, '/');
  if (!config.ok) throw new Error('default config');
  for (const side of ['client', 'server']) {
    const line = haproxyLines.find((l) => l.startsWith(`timeout ${side} `));
    const ms = durationMs(line?.split(' ')[2] ?? '');
    t.true(ms > config.config.idleTimeoutMs, `timeout ${side} > --idle-timeout`);
    t.true(ms > config.config.stallTimeoutMs, `timeout ${side} > --stall-timeout`);
  }
});
