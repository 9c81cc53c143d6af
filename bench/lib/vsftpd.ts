// The vsftpd peer: found on PATH or extracted into .cache/peers (never installed as a system daemon),
// configured by a generated file on a loopback port, driven by curl.
//
// curl runs in active mode (PORT): curl 7.88's passive mode sometimes waits a full second between the
// EPSV reply and connecting the data channel, which turned hundreds of small transfers into minutes.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extractDebs, onPath, PEERS_ROOT, peerEnv } from './debs.js';
import { freePort } from './net.js';

const run = promisify(execFile);
const EXTRACTED = join(PEERS_ROOT, 'usr/sbin/vsftpd');
/** Files per curl process in uploadMany/downloadMany: bounds what one stuck curl can cost. */
const FILES_PER_CURL = 100;
const SMALL_BATCH_SECONDS = 30;

export interface Vsftpd {
  port: number;
  upload(local: string, name: string): Promise<void>;
  download(name: string, local: string): Promise<void>;
  /** Uploads every file into folder `dir`, 100 files per curl process (one control connection each). */
  uploadMany(locals: readonly string[], dir: string): Promise<void>;
  downloadMany(names: readonly string[], dir: string, localDir: string): Promise<void>;
  stop(): Promise<void>;
}

export async function findVsftpd(): Promise<string | null> {
  if (existsSync(EXTRACTED)) return EXTRACTED;
  for (const p of ['/usr/sbin/vsftpd', '/usr/local/sbin/vsftpd']) if (existsSync(p)) return p;
  return onPath('vsftpd');
}

/** `--install-peers`: apt-get download + dpkg-deb -x into .cache/peers; no maintainer scripts run. */
export async function installVsftpd(): Promise<void> {
  if (existsSync(EXTRACTED)) {
    console.log(`vsftpd already extracted at ${EXTRACTED}`);
    return;
  }
  console.log('installing vsftpd into .cache/peers (apt-get download + dpkg-deb -x; no daemon is started)');
  // libwrap0 is the one run-time library of vsftpd that a slim Debian image usually lacks.
  await extractDebs(['vsftpd', 'libwrap0']);
  try {
    await run('curl', ['--version']);
  } catch {
    console.log('curl is missing: install it (apt-get install curl) to drive the vsftpd peer');
  }
}

export async function startVsftpd(binary: string, work: string): Promise<Vsftpd> {
  await run('curl', ['--version']).catch(() => {
    throw new Error('curl is missing (apt-get install curl): it drives the vsftpd peer');
  });
  const root = join(work, 'anon');
  const empty = join(work, 'empty');
  const pub = join(root, 'pub');
  await mkdir(pub, { recursive: true });
  await mkdir(empty, { recursive: true });
  await chmod(root, 0o555);
  await chmod(pub, 0o777);
  const port = await freePort();
  const conf = join(work, 'vsftpd.conf');
  await writeFile(
    conf,
    [
      'listen=YES',
      'listen_ipv6=NO',
      'listen_address=127.0.0.1',
      `listen_port=${port}`,
      'background=NO',
      'run_as_launching_user=YES',
      'anonymous_enable=YES',
      'no_anon_password=YES',
      `anon_root=${root}`,
      'write_enable=YES',
      'anon_upload_enable=YES',
      'anon_mkdir_write_enable=YES',
      'anon_other_write_enable=YES',
      'anon_umask=022',
      'anon_world_readable_only=NO',
      // Every session runs as the launching user; the names must only exist (a slim image has no `ftp`).
      'ftp_username=nobody',
      'nopriv_user=nobody',
      'local_enable=NO',
      // Active mode is what curl is told to use (see the top); passive stays on for other clients.
      'port_enable=YES',
      'pasv_enable=YES',
      'pasv_address=127.0.0.1',
      'pasv_addr_resolve=NO',
      'pasv_promiscuous=YES',
      'connect_from_port_20=NO',
      `secure_chroot_dir=${empty}`,
      'seccomp_sandbox=NO',
      'isolate=NO',
      'isolate_network=NO',
      'xferlog_enable=NO',
      'dirmessage_enable=NO',
      'check_shell=NO',
      'max_clients=0',
      'max_per_ip=0',
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(binary, [conf], { stdio: ['ignore', 'pipe', 'pipe'], env: peerEnv() });
  let output = '';
  proc.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  const url = `ftp://127.0.0.1:${port}/pub/`;
  // Wait (bounded) until it answers.
  let ready = false;
  for (let i = 0; i < 50 && !ready; i++) {
    if (proc.exitCode !== null) throw new Error(`vsftpd exited ${proc.exitCode}: ${output.trim()}`);
    ready = await run('curl', ['-s', '--max-time', '2', '--ftp-port', '127.0.0.1', '-l', url]).then(
      () => true,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) {
    proc.kill('SIGKILL');
    throw new Error(`vsftpd did not answer: ${output.trim()}`);
  }
  // Bounded: a stuck transfer fails instead of hanging the bench. 100 small files take well under a
  // second, a 1 GiB file a few seconds.
  const curl = (args: string[], maxSeconds = 120) =>
    run('curl', ['-sS', '--fail', '--ftp-port', '127.0.0.1', '--max-time', String(maxSeconds), ...args], {
      maxBuffer: 1 << 20,
      timeout: (maxSeconds + 10) * 1000,
    });
  return {
    port,
    async upload(local, name) {
      await curl(['-T', local, `${url}${name}`]);
    },
    async download(name, local) {
      await curl(['-o', local, `${url}${name}`]);
    },
    async uploadMany(locals, dir) {
      // curl reuses the control connection across the URLs of one invocation; one data connection a file.
      for (let i = 0; i < locals.length; i += FILES_PER_CURL) {
        const args = ['--ftp-create-dirs'];
        for (const l of locals.slice(i, i + FILES_PER_CURL)) args.push('-T', l, `${url}${dir}/`);
        await curl(args, SMALL_BATCH_SECONDS);
      }
    },
    async downloadMany(names, dir, localDir) {
      for (let i = 0; i < names.length; i += FILES_PER_CURL) {
        const args: string[] = [];
        for (const n of names.slice(i, i + FILES_PER_CURL))
          args.push('-o', join(localDir, n), `${url}${dir}/${n}`);
        await curl(args, SMALL_BATCH_SECONDS);
      }
    },
    async stop() {
      process.off('exit', reap);
      proc.kill('SIGTERM');
      await rm(work, { recursive: true, force: true }).catch(() => {});
    },
  };
}
