// Small measuring helpers shared by the sections.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { MIB } from './config.js';

export { MIB };
export const KIB = 1024;
export const GIB = 1024 * MIB;

/** Decimal megabytes per second, as iperf3 and curl report them. */
export const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Milliseconds that `fn` took. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Writes `bytes` of random data (a repeated 1 MiB block: incompressible enough for loopback). */
export async function makeFile(path: string, bytes: number): Promise<void> {
  const block = randomBytes(Math.min(bytes, MIB));
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += block.length) {
    const n = Math.min(block.length, bytes - written);
    if (!out.write(n === block.length ? block : block.subarray(0, n))) {
      await new Promise<void>((r) => out.once('drain', () => r()));
    }
  }
  out.end();
  await finished(out);
}
