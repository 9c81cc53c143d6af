// Peers extracted from Debian packages into .cache/peers (apt-get download + dpkg-deb -x): nothing is
// installed system-wide, no maintainer script runs and no daemon is started.
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PEERS = resolve('.cache/peers');
export const PEERS_ROOT = join(PEERS, 'root');

const MULTIARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
};

/** Downloads the packages into .cache/peers and unpacks each into .cache/peers/root. */
export async function extractDebs(packages: readonly string[]): Promise<void> {
  await mkdir(PEERS, { recursive: true });
  try {
    await run('apt-get', ['download', ...packages], { cwd: PEERS });
  } catch (err) {
    const detail = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').pop();
    throw new Error(
      `apt-get download ${packages.join(' ')} failed (${detail}); run apt-get update first if the lists are empty`,
    );
  }
  const files = await readdir(PEERS);
  for (const name of packages) {
    const deb = files
      .filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'))
      .sort()
      .pop();
    if (!deb) throw new Error(`apt-get download ${name} produced no .deb in ${PEERS}`);
    await run('dpkg-deb', ['-x', join(PEERS, deb), PEERS_ROOT]);
  }
}

/** The environment for a binary from .cache/peers/root: its extracted libraries come first. */
export function peerEnv(): NodeJS.ProcessEnv {
  const arch = MULTIARCH[process.arch] ?? `${process.arch}-linux-gnu`;
  const libs = [join(PEERS_ROOT, 'usr/lib', arch), join(PEERS_ROOT, 'lib', arch)];
  return { ...process.env, LD_LIBRARY_PATH: [...libs, process.env.LD_LIBRARY_PATH ?? ''].join(':') };
}

/** The path of `name` on PATH, or null. */
export async function onPath(name: string): Promise<string | null> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${name}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}
