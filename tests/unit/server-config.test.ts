import { readFileSync } from 'node:fs';
import test from 'ava';
import { formatServerHelp, loadServerConfig, SERVER_OPTIONS } from '../../src/config/server-config.js';
import { nextBackoff } from '../../src/primary/backoff.js';
import { VERSION } from '../../src/version.js';

const load = (argv: string[], env: Record<string, string> = {}) => loadServerConfig(argv, env, '/srv');

test('defaults', (t) => {
  const result = load([]);
  if (!result.ok) return t.fail(result.errors.join());
  t.like(result.config, {
    host: '127.0.0.1',
    port: 9400,
    root: '/srv/data',
    shutdownGraceMs: 10_000,
    logLevel: 'info',
    logFormat: 'pretty',
    fsync: false,
    lockDir: '/srv/data/.filehive/locks',
    lockStaleMs: 10_000,
    lockWaitMs: 0,
  });
  t.true(result.config.workers >= 1);
  t.true(Object.isFrozen(result.config));
});

test('flags beat environment variables, which beat defaults', (t) => {
  const result = load(['--port', '9500', '--root=/x', '--fsync'], {
    FILEHIVE_PORT: '9600',
    FILEHIVE_WORKERS: '3',
  });
  if (!result.ok) return t.fail(result.errors.join());
  t.like(result.config, { port: 9500, root: '/x', workers: 3, fsync: true, lockDir: '/x/.filehive/locks' });
  const env = load([], {
    FILEHIVE_FSYNC: 'false',
    FILEHIVE_SHUTDOWN_GRACE: '2.5',
    FILEHIVE_LOCK_DIR: 'locks',
  });
  if (!env.ok) return t.fail(env.errors.join());
  t.like(env.config, { fsync: false, shutdownGraceMs: 2500, lockDir: '/srv/locks' });
});

test('every problem is reported at once', (t) => {
  const result = load([
    '--port',
    'x',
    '--workers',
    '0',
    '--log-level',
    'loud',
    '--nope',
    '--lock-stale',
    '1',
  ]);
  t.false(result.ok);
  if (!result.ok) {
    t.is(result.errors.length, 5);
    for (const flag of ['--port', '--workers', '--log-level', '--nope', '--lock-stale'])
      t.true(
        result.errors.some((e) => e.includes(flag)),
        flag,
      );
  }
});

test('help lists every option with its environment variable rule', (t) => {
  const help = formatServerHelp();
  for (const option of SERVER_OPTIONS) t.true(help.includes(`--${option.flag}`), option.flag);
  t.regex(help, /FILEHIVE_/);
});

test('respawn back-off doubles up to 10 s and resets after a healthy minute', (t) => {
  t.is(nextBackoff(0, 0), 100);
  t.is(nextBackoff(100, 50), 200);
  t.is(nextBackoff(8000, 50), 10_000);
  t.is(nextBackoff(10_000, 50), 10_000);
  t.is(nextBackoff(10_000, 61_000), 100);
});

test('the version constant matches package.json', (t) => {
  t.is(VERSION, (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
});
