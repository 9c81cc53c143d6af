// The vsftpd peer: found on PATH or extracted into .cache/peers (never installed as a system daemon),
// configured by a generated file on a loopback port, driven by curl.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PEERS = resolve('.cache/peers');
const EXTRACTED = join(PEERS, 'root/usr/sbin/vsftpd');

export interface Vsftpd {
  port: number;
  upload(local: string, name: string): Promise<void>;
  download(name: string, local: string): Promise<void>;
  /** Uploads every file into folder `dir` with one curl process (one control connection). */
  uploadMany(locals: string[], dir: string): Promise<void>;
  downloadMany(names: string[], dir: string, localDir: string): Promise<void>;
  stop(): Promise<void>;
}

export async function findVsftpd(): Promise<string | null> {
  if (existsSync(EXTRACTED)) return EXTRACTED;
  for (const p of ['/usr/sbin/vsftpd', '/usr/local/sbin/vsftpd']) if (existsSync(p)) return p;
  try {
    const { stdout } = await run('sh', ['-c', 'command -v vsftpd']);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/** `--install-peers`: apt-get download + dpkg-deb -x into .cache/peers; no maintainer scripts run. */
export async function installVsftpd(): Promise<void> {
  if (existsSync(EXTRACTED)) {
    console.log(`vsftpd already extracted at ${EXTRACTED}`);
    return;
  }
  await mkdir(PEERS, { recursive: true });
  console.log('installing vsftpd into .cache/peers (apt-get download + dpkg-deb -x; no daemon is started)');
  // libwrap0 is the one run-time library of vsftpd that a slim Debian image usually lacks.
  await run('apt-get', ['download', 'vsftpd', 'libwrap0'], { cwd: PEERS });
  const debs = (await readdir(PEERS)).filter((f) => /^(vsftpd|libwrap0)_.*\.deb$/.test(f));
  if (!debs.some((f) => f.startsWith('vsftpd_'))) throw new Error('apt-get download vsftpd produced no .deb');
  for (const deb of debs) await run('dpkg-deb', ['-x', join(PEERS, deb), join(PEERS, 'root')]);
  try {
    await run('curl', ['--version']);
  } catch {
    console.log('curl is missing: install it (apt-get install curl) to drive the vsftpd peer');
  }
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
    s.once('error', fail);
  });
}

export async function startVsftpd(binary: string, work: string): Promise<Vsftpd> {
  await run('curl', ['--version']);
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
  // Libraries extracted next to the binary (libwrap0) come first.
  const libs = [join(PEERS, 'root/usr/lib/x86_64-linux-gnu'), join(PEERS, 'root/lib/x86_64-linux-gnu')];
  const env = { ...process.env, LD_LIBRARY_PATH: [...libs, process.env.LD_LIBRARY_PATH ?? ''].join(':') };
  const proc: ChildProcess = spawn(binary, [conf], { stdio: ['ignore', 'pipe', 'pipe'], env });
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
    ready = await run('curl', ['-s', '--max-time', '2', '-l', url]).then(
      () => true,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) {
    proc.kill('SIGKILL');
    throw new Error(`vsftpd did not answer: ${output.trim()}`);
  }
  // Bounded: a stuck transfer fails instead of hanging the bench.
  const curl = (args: string[]) =>
    run('curl', ['-sS', '--fail', '--ftp-pasv', '--max-time', '120', ...args], {
      maxBuffer: 1 << 20,
      timeout: 130_000,
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
      const args = ['--ftp-create-dirs'];
      for (const l of locals) args.push('-T', l, `${url}${dir}/`);
      await curl(args);
    },
    async downloadMany(names, dir, localDir) {
      const args: string[] = [];
      for (const n of names) args.push('-o', join(localDir, n), `${url}${dir}/${n}`);
      await curl(args);
    },
    async stop() {
      process.off('exit', reap);
      proc.kill('SIGTERM');
      await rm(work, { recursive: true, force: true }).catch(() => {});
    },
  };
}
