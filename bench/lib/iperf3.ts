// The raw loopback TCP limit: iperf3 found on PATH or extracted into .cache/peers by --install-peers.
// Each measurement runs a one-shot server (-1) bound to 127.0.0.1 on a free port, then one client.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extractDebs, onPath, PEERS_ROOT, peerEnv } from './debs.js';
import { freePort } from './net.js';

const run = promisify(execFile);
const EXTRACTED = join(PEERS_ROOT, 'usr/bin/iperf3');

export const IPERF3_HINT =
  'npm run bench -- --install-peers extracts it into .cache/peers, or apt-get install iperf3';

/** PATH first, then .cache/peers; null when neither has a working iperf3. */
export async function findIperf3(): Promise<string | null> {
  const candidates = [await onPath('iperf3'), existsSync(EXTRACTED) ? EXTRACTED : null];
  for (const binary of candidates) {
    if (!binary) continue;
    const works = await run(binary, ['--version'], { env: peerEnv(), timeout: 5000 }).then(
      () => true,
      () => false,
    );
    if (works) return binary;
  }
  return null;
}

/** `--install-peers`: iperf3 and its libraries, unpacked only (the package's service is never started). */
export async function installIperf3(): Promise<void> {
  const found = await findIperf3();
  if (found) {
    console.log(`iperf3 already available at ${found}`);
    return;
  }
  console.log('installing iperf3 into .cache/peers (apt-get download + dpkg-deb -x; no daemon is started)');
  // libsctp1 is a run-time library of libiperf0 that a slim Debian image lacks.
  await extractDebs(['iperf3', 'libiperf0', 'libsctp1']);
}

/** One measurement of `seconds`: bytes per second received, as iperf3's JSON reports it. */
export async function measureIperf3(binary: string, seconds: number): Promise<number> {
  const env = peerEnv();
  const port = await freePort();
  const server = spawn(binary, ['-s', '-B', '127.0.0.1', '-p', String(port), '-1', '--forceflush'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const reap = () => server.kill('SIGKILL');
  process.once('exit', reap);
  try {
    await new Promise<void>((ok, fail) => {
      let output = '';
      const timer = setTimeout(() => fail(new Error(`iperf3 server did not start: ${output.trim()}`)), 5000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/listening/i.test(output)) {
          clearTimeout(timer);
          ok();
        }
      };
      server.stdout?.on('data', onData);
      server.stderr?.on('data', onData);
      server.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`iperf3 server exited ${code}: ${output.trim()}`));
      });
    });
    const { stdout } = await run(
      binary,
      ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J'],
      { env, timeout: (seconds + 15) * 1000, maxBuffer: 8 << 20 },
    );
    const report = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = report.end?.sum_received?.bits_per_second;
    if (typeof bps !== 'number') throw new Error('iperf3 printed no sum_received.bits_per_second');
    return bps / 8;
  } finally {
    process.off('exit', reap);
    server.kill('SIGTERM');
  }
}
