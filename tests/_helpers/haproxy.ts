// A real HAProxy for tests, configured from the shipped deploy/haproxy.cfg: its defaults, frontend and
// backend as written, with a global section of the test's own (foreground, no chroot or user switch,
// an admin socket in a temporary folder), a loopback port, the test's instances as servers and faster
// health checks.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ToolCommand } from './cluster-tools.js';
import { startDaemon } from './daemon.js';

export const DEPLOY_HAPROXY_CFG = resolve(import.meta.dirname, '../../deploy/haproxy.cfg');

export interface Backend {
  readonly name: string;
  readonly port: number;
}

export interface HaproxyTestSettings {
  readonly port: number;
  readonly backends: readonly Backend[];
  /** Folder for the admin socket. */
  readonly dir: string;
  /** Health-check interval, an HAProxy duration; the shipped file checks every 2 s. */
  readonly checkInterval?: string;
}

interface Section {
  header: string;
  lines: string[];
}

function parseSections(text: string): Section[] {
  const sections: Section[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (/^\S/.test(line)) sections.push({ header: line, lines: [] });
    else sections.at(-1)?.lines.push(line.trim());
  }
  return sections;
}

/**
 * The shipped configuration made runnable in a test. Pure. Keeps every line of `defaults`, the
 * `filehive` frontend and backend except `bind` and `server` lines, which it replaces; drops `global`
 * (and any other section) for its own.
 */
export function renderHaproxyConfig(template: string, settings: HaproxyTestSettings): string {
  const sections = parseSections(template);
  const find = (header: string) => {
    const section = sections.find((s) => s.header === header);
    if (!section) throw new Error(`deploy/haproxy.cfg has no "${header}" section`);
    return section;
  };
  const defaults = find('defaults');
  const frontend = find('frontend filehive');
  const backend = find('backend filehive');
  const interval = settings.checkInterval ?? '300ms';
  const out = [
    'global',
    '    maxconn 2000',
    `    stats socket ${join(settings.dir, 'admin.sock')} mode 600 level admin`,
    '',
    'defaults',
    // No syslog here: "log global" would refer to the shipped global's /dev/log.
    ...defaults.lines.filter((l) => !/^(log|option (tcplog|dontlognull))\b/.test(l)).map((l) => `    ${l}`),
    '',
    'frontend filehive',
    `    bind 127.0.0.1:${settings.port}`,
    ...frontend.lines.filter((l) => !l.startsWith('bind ')).map((l) => `    ${l}`),
    '',
    'backend filehive',
    ...backend.lines.filter((l) => !l.startsWith('server ')).map((l) => `    ${l}`),
    // The shipped checks, faster: a killed instance is out within about two intervals.
    ...settings.backends.map(
      (b) => `    server ${b.name} 127.0.0.1:${b.port} inter ${interval} fastinter ${interval} rise 1`,
    ),
    '',
  ];
  return out.join('\n');
}

export interface RunningHaproxy {
  readonly port: number;
  readonly config: string;
  /** Everything HAProxy printed. */
  log(): string;
  /** Each server's status as HAProxy sees it (`UP`, `DOWN`, `MAINT`, `DRAIN`, `UP 1/2`...). */
  states(): Promise<Record<string, string>>;
  /** Sends a command to the admin socket and returns its answer. */
  admin(command: string): Promise<string>;
  stop(): Promise<void>;
}

function askSocket(path: string, command: string): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    const socket = connect(path);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.once('error', reject);
    socket.once('close', () => resolveAnswer(answer));
    socket.end(`${command}\n`);
  });
}

/** Starts HAProxy on a free loopback port; resolves once every backend is UP. */
export async function startHaproxy(
  tool: ToolCommand,
  backends: readonly Backend[],
  options: { checkInterval?: string; template?: string } = {},
): Promise<RunningHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-haproxy-'));
  const template = options.template ?? (await readFile(DEPLOY_HAPROXY_CFG, 'utf8'));
  const socketPath = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  let config = '';
  const states = async (): Promise<Record<string, string>> => {
    // `show stat` is CSV: proxy name, server name, ..., status in the 18th column.
    const csv = await askSocket(socketPath, 'show stat');
    const found: Record<string, string> = {};
    for (const line of csv.split('\n')) {
      const fields = line.split(',');
      if (fields[0] === 'filehive' && fields[1] && fields[1] !== 'BACKEND' && fields[1] !== 'FRONTEND') {
        found[fields[1]] = fields[17] ?? '';
      }
    }
    return found;
  };
  const daemon = await startDaemon({
    name: 'haproxy',
    dir,
    bin: tool.bin,
    env: tool.env,
    async args(port) {
      config = renderHaproxyConfig(template, { port, backends, dir, ...options });
      await writeFile(configPath, config);
      // -db: foreground, no daemon; -W is not needed for one process.
      return ['-db', '-f', configPath];
    },
    ready: async () => {
      const now = await states();
      return backends.every((b) => now[b.name] === 'UP');
    },
    diagnose: async () => `states: ${JSON.stringify(await states())}`,
  });
  return {
    port: daemon.port,
    config,
    log: daemon.log,
    admin: (command) => askSocket(socketPath, command),
    states,
    // SIGTERM, not SIGUSR1, which would wait for the sessions (soft stop): the tests want it gone.
    stop: daemon.stop,
  };
}
