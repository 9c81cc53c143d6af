// Server configuration: defaults < environment (FILEHIVE_*) < flags. Pure: takes argv and env, returns
// a frozen config or every problem at once.
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { parseTrustedProxies } from '../net/trusted-proxies.js';

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
  /** A resumable upload's kept bytes (ROOT/.filehive/partial) expire after this long unused. */
  readonly partialTtlMs: number;
  readonly metricsHost: string;
  /** null: no metrics sidecar (`--metrics-port off`). */
  readonly metricsPort: number | null;
  /** The users file (docs/SECURITY.md#accounts); null: no accounts. */
  readonly usersFile: string | null;
  /** Without a users file, accept clients from any address, not only loopback. */
  readonly allowAnonymous: boolean;
  /** Failed logins from one address before it is banned. */
  readonly loginFailures: number;
  readonly loginBanMs: number;
  /** Delay before answering the first failed login; it doubles with each further failure. */
  readonly loginDelayMs: number;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Largest upload accepted, in bytes. */
  readonly maxFileSize: number;
  /** Uploads that would leave less free space than this are refused, in bytes. */
  readonly minFreeSpace: number;
  /** A session with no request for this long is closed; 0 = never. */
  readonly idleTimeoutMs: number;
  /** A transfer with no byte moving for this long is cut; 0 = never. */
  readonly stallTimeoutMs: number;
  /** Connections from trustedProxies start with a PROXY header naming the client (docs/OPERATIONS.md). */
  readonly proxyProtocol: boolean;
  /** Canonical CIDR ranges (`10.0.0.0/8`, `::1/128`) allowed, and required, to send a PROXY header. */
  readonly trustedProxies: readonly string[];
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
    flag: 'partial-ttl',
    kind: 'string',
    arg: 'SECONDS',
    help: 'how long an interrupted resumable upload is kept for resuming (default 86400)',
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
  {
    flag: 'users',
    kind: 'string',
    arg: 'FILE',
    help: 'users file: sessions must log in (docs/SECURITY.md); manage it with `filehive-server user`',
  },
  {
    flag: 'allow-anonymous',
    kind: 'boolean',
    help: 'without --users, serve clients from any address (default: loopback clients only)',
  },
  {
    flag: 'login-failures',
    kind: 'string',
    arg: 'N',
    help: 'failed logins from one address before it is banned (default 5)',
  },
  { flag: 'login-ban', kind: 'string', arg: 'SECONDS', help: 'how long a ban lasts (default 900)' },
  {
    flag: 'login-delay',
    kind: 'string',
    arg: 'SECONDS',
    help: 'answer to a failed login is delayed this long, doubling per failure (default 1)',
  },
  { flag: 'tls-cert', kind: 'string', arg: 'FILE', help: 'PEM certificate (chain): speak TLS on the port' },
  { flag: 'tls-key', kind: 'string', arg: 'FILE', help: 'PEM private key of --tls-cert' },
  {
    flag: 'max-connections',
    kind: 'string',
    arg: 'N',
    help: 'sessions at once, across all workers (default 2000)',
  },
  {
    flag: 'max-connections-per-ip',
    kind: 'string',
    arg: 'N',
    help: 'sessions at once from one client address (default 50)',
  },
  {
    flag: 'max-file-size',
    kind: 'string',
    arg: 'BYTES',
    help: 'largest upload, suffixes K M G T (default 100G)',
  },
  {
    flag: 'min-free-space',
    kind: 'string',
    arg: 'BYTES',
    help: 'refuse uploads that would leave less free disk space (default 256M)',
  },
  {
    flag: 'idle-timeout',
    kind: 'string',
    arg: 'SECONDS',
    help: 'close sessions idle this long, 0 = never (default 300)',
  },
  {
    flag: 'stall-timeout',
    kind: 'string',
    arg: 'SECONDS',
    help: 'cut a transfer when no byte moves this long, 0 = never (default 60)',
  },
  {
    flag: 'proxy-protocol',
    kind: 'boolean',
    help: 'trusted proxies send a PROXY header (v1/v2) naming the client',
  },
  {
    flag: 'trusted-proxies',
    kind: 'string',
    arg: 'LIST',
    help: 'comma-separated addresses/CIDRs of those balancers (default none)',
  },
  { flag: 'help', kind: 'boolean', help: 'show this help' },
];

export function envName(flag: string): string {
  return `FILEHIVE_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export function formatServerHelp(): string {
  const lines = [
    'Usage: filehive-server [options]',
    '       filehive-server user add|passwd|remove|list ...   (accounts; see filehive-server user --help)',
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

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** A byte count: digits with an optional binary suffix (K, M, G, T; `KiB`/`KB` spellings too). */
export function parseByteSize(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) return null;
  const bytes = Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] as number));
  return Number.isSafeInteger(bytes) ? bytes : null;
}

function byteSize(raw: Raw, flag: string, fallback: number, errors: string[]): number {
  const value = raw.get(flag);
  if (value === undefined) return fallback;
  const bytes = typeof value === 'string' ? parseByteSize(value) : null;
  if (bytes === null) {
    errors.push(`--${flag} must be a size in bytes like 512M or 10G, got ${JSON.stringify(String(value))}`);
    return fallback;
  }
  return bytes;
}

function path(raw: Raw, flag: string, cwd: string): string | null {
  const value = raw.get(flag);
  return typeof value === 'string' && value !== '' ? resolve(cwd, value) : null;
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

function trustedProxies(raw: Raw, errors: string[]): string[] {
  const value = raw.get('trusted-proxies');
  if (typeof value !== 'string') return [];
  const parsed = parseTrustedProxies(value);
  if (!parsed.ok) {
    for (const error of parsed.errors) errors.push(`--trusted-proxies: ${error}`);
    return [];
  }
  if (parsed.ranges.length === 0) errors.push('--trusted-proxies needs at least one address or CIDR range');
  return parsed.ranges;
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
    // Interrupted resumable uploads hold disk space: they are removed once unused this long.
    partialTtlMs: seconds(raw, 'partial-ttl', 86_400, 1, 86_400 * 365, errors),
    // Loopback by default: metrics and /transfers show paths; expose them on purpose only.
    metricsHost: String(raw.get('metrics-host') ?? '127.0.0.1'),
    metricsPort:
      raw.get('metrics-port') === 'off' ? null : integer(raw, 'metrics-port', 9401, 0, 65535, errors),
    usersFile: path(raw, 'users', cwd),
    allowAnonymous: raw.get('allow-anonymous') === true,
    loginFailures: integer(raw, 'login-failures', 5, 1, 1000, errors),
    loginBanMs: seconds(raw, 'login-ban', 900, 0, 86_400 * 30, errors),
    loginDelayMs: seconds(raw, 'login-delay', 1, 0, 60, errors),
    tlsCert: path(raw, 'tls-cert', cwd),
    tlsKey: path(raw, 'tls-key', cwd),
    maxConnections: integer(raw, 'max-connections', 2000, 1, 1_000_000, errors),
    maxConnectionsPerIp: integer(raw, 'max-connections-per-ip', 50, 1, 1_000_000, errors),
    maxFileSize: byteSize(raw, 'max-file-size', 100 * 2 ** 30, errors),
    minFreeSpace: byteSize(raw, 'min-free-space', 256 * 2 ** 20, errors),
    idleTimeoutMs: seconds(raw, 'idle-timeout', 300, 0, 86_400, errors),
    stallTimeoutMs: seconds(raw, 'stall-timeout', 60, 0, 86_400, errors),
    proxyProtocol: raw.get('proxy-protocol') === true,
    // Only listed balancers may name another client address: anyone else could claim any address.
    trustedProxies: Object.freeze(trustedProxies(raw, errors)),
  });
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    errors.push('--tls-cert and --tls-key go together');
  }
  if (config.proxyProtocol && config.trustedProxies.length === 0 && !raw.has('trusted-proxies')) {
    errors.push(
      '--proxy-protocol needs --trusted-proxies LIST (the addresses of the balancers that send the header)',
    );
  }
  if (!config.proxyProtocol && raw.has('trusted-proxies')) {
    errors.push('--trusted-proxies is used only with --proxy-protocol');
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config, help: raw.get('help') === true };
}
