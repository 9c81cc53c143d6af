// Server configuration: defaults < environment (FILEHIVE_*) < flags. Pure: takes argv and env, returns
// a frozen config or every problem at once.
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

export type LogFormat = 'pretty' | 'json';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly root: string;
  readonly workers: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly fsync: boolean;
  readonly lockDir: string;
  readonly lockStaleMs: number;
  readonly lockWaitMs: number;
  readonly sweepIntervalMs: number;
  readonly metricsHost: string;
  /** null: no metrics sidecar (`--metrics-port off`). */
  readonly metricsPort: number | null;
}

interface OptionSpec {
  readonly flag: string;
  readonly kind: 'string' | 'boolean';
  readonly arg?: string;
  readonly help: string;
}

/** Every flag, in --help order. Each is also read from FILEHIVE_<NAME> (dashes become underscores). */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { flag: 'host', kind: 'string', arg: 'HOST', help: 'address to listen on (default 127.0.0.1)' },
  { flag: 'port', kind: 'string', arg: 'PORT', help: 'TCP port, 0 picks a free one (default 9400)' },
  { flag: 'root', kind: 'string', arg: 'DIR', help: 'storage folder, created if missing (default ./data)' },
  { flag: 'workers', kind: 'string', arg: 'N', help: 'worker processes (default: number of CPUs)' },
  {
    flag: 'shutdown-grace',
    kind: 'string',
    arg: 'SECONDS',
    help: 'on SIGINT/SIGTERM, time running transfers get to finish (default 10)',
  },
  { flag: 'log-level', kind: 'string', arg: 'LEVEL', help: `${LOG_LEVELS.join('|')} (default info)` },
  { flag: 'log-format', kind: 'string', arg: 'FORMAT', help: 'pretty|json (default pretty)' },
  {
    flag: 'fsync',
    kind: 'boolean',
    help: 'flush each upload and its folder to disk before acknowledging it',
  },
  {
    flag: 'lock-dir',
    kind: 'string',
    arg: 'DIR',
    help: 'lock folder shared by every instance on this root (default ROOT/.filehive/locks)',
  },
  {
    flag: 'lock-stale',
    kind: 'string',
    arg: 'SECONDS',
    help: 'a lock not refreshed for this long is taken over; one value per deployment (default 10)',
  },
  {
    flag: 'lock-wait',
    kind: 'string',
    arg: 'MS',
    help: 'how long UPLOAD/DELETE/MOVE wait for a locked name before BUSY (default 0)',
  },
  {
    flag: 'sweep-interval',
    kind: 'string',
    arg: 'SECONDS',
    help: 'how often orphaned upload temp files are looked for, 0 = only at start (default 600)',
  },
  {
    flag: 'metrics-host',
    kind: 'string',
    arg: 'HOST',
    help: 'address of the metrics sidecar (default 127.0.0.1)',
  },
  {
    flag: 'metrics-port',
    kind: 'string',
    arg: 'PORT',
    help: 'port of the metrics sidecar, 0 picks a free one, off disables it (default 9401)',
  },
  { flag: 'help', kind: 'boolean', help: 'show this help' },
];

export function envName(flag: string): string {
  return `FILEHIVE_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export function formatServerHelp(): string {
  const lines = [
    'Usage: filehive-server [options]',
    '',
    'Serves the storage folder over the filehive protocol (docs/PROTOCOL.md).',
    '',
    'Options (each also settable as FILEHIVE_<NAME>, e.g. FILEHIVE_PORT=9500):',
  ];
  for (const o of SERVER_OPTIONS) {
    const left = `  --${o.flag}${o.arg ? ` ${o.arg}` : ''}`;
    lines.push(`${left.padEnd(28)}${o.help}`);
  }
  lines.push('', 'Exit codes: 0 after a clean shutdown, 1 on a fatal error, 2 on bad options.');
  return `${lines.join('\n')}\n`;
}

export type ConfigResult =
  | { ok: true; config: ServerConfig; help: boolean }
  | { ok: false; errors: string[] };

type Raw = Map<string, string | boolean>;

function collect(argv: readonly string[], env: NodeJS.ProcessEnv, errors: string[]): Raw {
  const raw: Raw = new Map();
  for (const o of SERVER_OPTIONS) {
    const value = env[envName(o.flag)];
    if (value !== undefined && value !== '' && o.flag !== 'help') {
      raw.set(o.flag, o.kind === 'boolean' ? !/^(0|false|no|off)$/i.test(value) : value);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const spec = m ? SERVER_OPTIONS.find((o) => o.flag === m[1]) : undefined;
    if (!m || !spec) {
      errors.push(`unknown argument ${JSON.stringify(arg)} (see --help)`);
      continue;
    }
    if (spec.kind === 'boolean') {
      if (m[2] !== undefined) errors.push(`--${spec.flag} takes no value`);
      raw.set(spec.flag, true);
    } else if (m[2] !== undefined) {
      raw.set(spec.flag, m[2]);
    } else if (i + 1 < argv.length) {
      raw.set(spec.flag, argv[++i] as string);
    } else {
      errors.push(`--${spec.flag} needs a value ${spec.arg ?? ''}`.trim());
    }
  }
  return raw;
}

function integer(
  raw: Raw,
  flag: string,
  fallback: number,
  min: number,
  max: number,
  errors: string[],
): number {
  const value = raw.get(flag);
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    errors.push(
      `--${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(String(value))}`,
    );
    return fallback;
  }
  return Number(value);
}

function seconds(
  raw: Raw,
  flag: string,
  fallback: number,
  min: number,
  max: number,
  errors: string[],
): number {
  const value = raw.get(flag);
  if (value === undefined) return fallback * 1000;
  const n = typeof value === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) {
    errors.push(
      `--${flag} must be a number of seconds from ${min} to ${max}, got ${JSON.stringify(String(value))}`,
    );
    return fallback * 1000;
  }
  return Math.round(n * 1000);
}

function choice<T extends string>(
  raw: Raw,
  flag: string,
  options: readonly T[],
  fallback: T,
  errors: string[],
): T {
  const value = raw.get(flag);
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !options.includes(value as T)) {
    errors.push(`--${flag} must be one of ${options.join(', ')}, got ${JSON.stringify(String(value))}`);
    return fallback;
  }
  return value as T;
}

/** Reads argv and env into a config; `cwd` anchors relative folders. */
export function loadServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): ConfigResult {
  const errors: string[] = [];
  const raw = collect(argv, env, errors);
  const host = String(raw.get('host') ?? '127.0.0.1');
  if (host === '' || /\s/.test(host)) errors.push('--host must be an address or host name');
  const root = resolve(cwd, String(raw.get('root') ?? 'data'));
  const lockDirRaw = raw.get('lock-dir');
  const config: ServerConfig = Object.freeze({
    host,
    port: integer(raw, 'port', 9400, 0, 65535, errors),
    root,
    workers: integer(raw, 'workers', availableParallelism(), 1, 256, errors),
    shutdownGraceMs: seconds(raw, 'shutdown-grace', 10, 0, 3600, errors),
    logLevel: choice(raw, 'log-level', LOG_LEVELS, 'info', errors),
    logFormat: choice(raw, 'log-format', ['pretty', 'json'] as const, 'pretty', errors),
    fsync: raw.get('fsync') === true,
    lockDir:
      typeof lockDirRaw === 'string' && lockDirRaw !== ''
        ? isAbsolute(lockDirRaw)
          ? lockDirRaw
          : resolve(cwd, lockDirRaw)
        : resolve(root, '.filehive', 'locks'),
    // Stale locks of crashed holders block their names this long; below 2 s proper-lockfile clamps anyway.
    lockStaleMs: seconds(raw, 'lock-stale', 10, 2, 3600, errors),
    lockWaitMs: integer(raw, 'lock-wait', 0, 0, 3_600_000, errors),
    // A full walk of the tree: rare, since the janitor already removes the temp files of dead holders.
    sweepIntervalMs: seconds(raw, 'sweep-interval', 600, 0, 86_400, errors),
    // Loopback by default: metrics and /transfers show paths; expose them on purpose only.
    metricsHost: String(raw.get('metrics-host') ?? '127.0.0.1'),
    metricsPort:
      raw.get('metrics-port') === 'off' ? null : integer(raw, 'metrics-port', 9401, 0, 65535, errors),
  });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config, help: raw.get('help') === true };
}
