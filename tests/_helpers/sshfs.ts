// A real network filesystem on one machine: OpenSSH's sshd on a loopback port with its own config and
// freshly made keys, and an sshfs (FUSE) mount of a local folder through it. An instance serving the
// mount reaches the files the way a second host would: every call crosses SFTP, with its caches.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { ToolCommand } from './cluster-tools.js';
import { startDaemon, stopProcess } from './daemon.js';
import { waitFor } from './wait.js';

/**
 * The mount options the tests use, and docs/OPERATIONS.md recommends: no attribute, name or link
 * caching by sshfs (its default keeps them 20 s, far longer than --lock-stale, so a janitor would see
 * a live lock's mtime frozen), none in the kernel either, no page cache (FUSE keys it by path: a
 * download of the old version could read pages of the new one another host renamed over it, and reads
 * would end at the newer version's size), and reconnection after a dropped link. Renames use OpenSSH's
 * posix-rename extension (atomic, replaces the target) without any option.
 */
export const SSHFS_OPTIONS = [
  'dir_cache=no',
  'attr_timeout=0',
  'entry_timeout=0',
  'negative_timeout=0',
  'direct_io',
  'reconnect',
  'ServerAliveInterval=5',
  'ServerAliveCountMax=3',
];

function findOnPath(name: string, extra: readonly string[]): string | undefined {
  for (const dir of [...extra, ...(process.env.PATH ?? '').split(delimiter)]) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

const CACHED_SSH_BIN = resolve(import.meta.dirname, '../../.cache/sshfs/usr/bin');

export interface SshServer {
  readonly port: number;
  readonly user: string;
  /** Private key the server accepts for `user`. */
  readonly identityFile: string;
  /** known_hosts with the server's host key, so the client checks it strictly. */
  readonly knownHosts: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `sshd -D` on 127.0.0.1 with a generated host key and a generated user key for the current
 * user, public-key login only, and the in-process SFTP server. As root it needs the `sshd` user and
 * /run/sshd (privilege separation), which it creates if missing.
 */
export async function startSshd(sshd: ToolCommand): Promise<SshServer> {
  const keygen = findOnPath('ssh-keygen', [CACHED_SSH_BIN]);
  if (!keygen) throw new Error('ssh-keygen not found');
  const dir = await mkdtemp(join(tmpdir(), 'filehive-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  for (const key of [hostKey, userKey]) {
    await promisify(execFile)(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'filehive-test', '-f', key]);
  }
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${userKey}.pub`));
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const user = userInfo().username;
  const configPath = join(dir, 'sshd_config');
  const daemon = await startDaemon({
    name: 'sshd',
    dir,
    bin: sshd.bin,
    env: sshd.env,
    async args(port) {
      const config = [
        'ListenAddress 127.0.0.1',
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `AllowUsers ${user}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The keys live in a temporary folder whose modes sshd's owner checks would question.
        'StrictModes no',
        'Subsystem sftp internal-sftp',
        'LogLevel ERROR',
        '',
      ].join('\n');
      await writeFile(configPath, config);
      // -D: no daemon; -e: log to stderr.
      return ['-D', '-e', '-f', configPath];
    },
    ready: (d) => canConnect(d.port),
    timeoutMs: 5_000,
  });
  const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${daemon.port} ${hostPub}\n`);
  return {
    port: daemon.port,
    user,
    identityFile: userKey,
    knownHosts,
    log: daemon.log,
    stop: daemon.stop,
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe(true);
    });
    socket.once('error', () => resolveProbe(false));
  });
}

export interface SshfsMount {
  readonly mountpoint: string;
  /** What sshfs printed. */
  log(): string;
  /** Unmounts and waits for sshfs to exit. */
  stop(): Promise<void>;
}

function isMounted(mountpoint: string): boolean {
  try {
    const text = readFileSync('/proc/self/mountinfo', 'utf8');
    return text.split('\n').some((line) => line.split(' ')[4] === mountpoint);
  } catch {
    return false;
  }
}

function unmount(fusermount: ToolCommand | undefined, mountpoint: string, lazy = false): boolean {
  const tries: Array<[string, string[], NodeJS.ProcessEnv]> = [];
  if (fusermount) tries.push([fusermount.bin, [lazy ? '-uz' : '-u', mountpoint], fusermount.env]);
  tries.push(['umount', lazy ? ['-l', mountpoint] : [mountpoint], process.env]);
  for (const [bin, args, env] of tries) {
    if (spawnSync(bin, args, { env, stdio: 'ignore' }).status === 0) return true;
  }
  return !isMounted(mountpoint);
}

/**
 * Mounts `remoteDir` of the SSH server at a new temporary folder with sshfs in the foreground (so the
 * test owns the process) and resolves once the kernel lists the mount.
 */
export async function mountSshfs(
  sshfs: ToolCommand,
  fusermount: ToolCommand | undefined,
  server: SshServer,
  remoteDir: string,
  options: readonly string[] = SSHFS_OPTIONS,
): Promise<SshfsMount> {
  const mountpoint = await mkdtemp(join(tmpdir(), 'filehive-sshfs-'));
  const ssh = findOnPath('ssh', [CACHED_SSH_BIN]);
  const sshOptions = [
    `Port=${server.port}`,
    `IdentityFile=${server.identityFile}`,
    `UserKnownHostsFile=${server.knownHosts}`,
    'StrictHostKeyChecking=yes',
    'BatchMode=yes',
    'IdentitiesOnly=yes',
    ...(ssh ? [`ssh_command=${ssh}`] : []),
  ];
  const proc = spawn(
    sshfs.bin,
    ['-f', `${server.user}@127.0.0.1:${remoteDir}`, mountpoint, '-o', [...sshOptions, ...options].join(',')],
    { env: sshfs.env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // A test process that dies must not leave a mount (or a dead one) behind.
  const reap = () => {
    unmount(fusermount, mountpoint, true);
    proc.kill('SIGKILL');
  };
  process.once('exit', reap);
  proc.once('exit', () => process.off('exit', reap));
  let log = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  proc.on('error', (err) => {
    log += `spawn failed: ${err.message}\n`;
  });
  const mounted = await waitFor(() => proc.exitCode !== null || isMounted(mountpoint), 10_000, 50);
  if (!mounted || !isMounted(mountpoint)) {
    await stopProcess(proc, 'SIGKILL');
    await rm(mountpoint, { recursive: true, force: true });
    throw new Error(`sshfs did not mount: ${log.trim() || 'no output'}`);
  }
  return {
    mountpoint,
    log: () => log,
    async stop() {
      if (!unmount(fusermount, mountpoint)) unmount(fusermount, mountpoint, true);
      await waitFor(() => proc.exitCode !== null || proc.signalCode !== null, 5_000);
      await stopProcess(proc);
      if (!isMounted(mountpoint)) await rm(mountpoint, { recursive: true, force: true });
    },
  };
}

/**
 * Why FUSE mounts cannot work here, or null when they may: /dev/fuse must open for reading and writing
 * and mount(2) needs root (or a setuid fusermount3, which an unpacked package does not have).
 */
export function fuseUnavailable(): string | null {
  try {
    closeSync(openSync('/dev/fuse', 'r+'));
  } catch (err) {
    return `FUSE mounts are not possible here: /dev/fuse cannot be opened (${(err as NodeJS.ErrnoException).code})`;
  }
  if (process.getuid?.() !== 0) return 'FUSE mounts and sshd need root here (the test runs as another user)';
  if (spawnSync('getent', ['passwd', 'sshd']).status !== 0) {
    return 'sshd needs its privilege-separation user "sshd": run scripts/install-cluster-tools.sh as root';
  }
  return null;
}

/**
 * Mounts a scratch folder once to see whether this machine allows FUSE mounts (a container may have
 * /dev/fuse but not the right to mount): the reason when it does not, null when it does or when the
 * failure is something else (which the test then reports as a failure, not a skip).
 */
export async function probeSshfsMount(
  sshd: ToolCommand,
  sshfs: ToolCommand,
  fusermount: ToolCommand | undefined,
): Promise<string | null> {
  const early = fuseUnavailable();
  if (early) return early;
  let server: SshServer | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'filehive-fuse-probe-'));
  try {
    server = await startSshd(sshd);
    const mount = await mountSshfs(sshfs, fusermount, server, dir);
    await mount.stop();
    return null;
  } catch (err) {
    const message = (err as Error).message;
    if (/not permitted|permission denied|EPERM|EACCES|fusermount/i.test(message) && /sshfs/.test(message)) {
      return `FUSE mounting is not permitted here (${message.replaceAll('\n', ' ')})`;
    }
    return null;
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
