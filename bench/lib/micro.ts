// Micro-benchmarks of what a worker does per chunk: hashing it and counting it in the metrics. Each runs
// in this process on data already in memory, so only the call itself is measured.
import { createHash } from 'node:crypto';
import { type Transfer, TransferRegistry } from '../../src/metrics/transfers.js';
import { createChecksum } from '../../src/protocol/checksum.js';
import { MIB } from './measure.js';

export const HASH_KINDS = ['buffer copy', 'sha256 (node:crypto)', 'xxh3-64 (checksum.ts)'] as const;
export type HashKind = (typeof HASH_KINDS)[number];

/** MB/s of one kind over `total` bytes fed as 1 MiB buffers. */
export function hashRate(kind: HashKind, block: Buffer, total: number): number {
  const blocks = Math.max(1, Math.round(total / block.length));
  const started = performance.now();
  if (kind === 'buffer copy') {
    const target = Buffer.allocUnsafe(block.length);
    for (let i = 0; i < blocks; i++) block.copy(target);
  } else if (kind === 'sha256 (node:crypto)') {
    const hash = createHash('sha256');
    for (let i = 0; i < blocks; i++) hash.update(block);
    hash.digest('hex');
  } else {
    const hash = createChecksum('xxh3-64');
    for (let i = 0; i < blocks; i++) hash.update(block);
    hash.digest();
  }
  const ms = performance.now() - started;
  return (blocks * block.length) / 1e6 / (ms / 1000);
}

/** Warms every kind up on a few MiB so that the timed passes do not include first-call costs. */
export function warmHashes(block: Buffer): void {
  for (const kind of HASH_KINDS) hashRate(kind, block, 8 * MIB);
}

/** The per-chunk call without metrics: what Transfer.progress leaves when the metrics are taken out. */
class ByteCount {
  bytes = 0;
  progress(bytes: number): void {
    this.bytes += bytes;
  }
}

// Two loops rather than one taking either target: a call site that sees both classes is polymorphic,
// which would add its own dispatch cost to both figures.
function timeTransfer(target: Transfer, calls: number, chunk: number): number {
  const started = performance.now();
  for (let i = 0; i < calls; i++) target.progress(chunk);
  return ((performance.now() - started) * 1e6) / calls;
}

function timeByteCount(target: ByteCount, calls: number, chunk: number): number {
  const started = performance.now();
  for (let i = 0; i < calls; i++) target.progress(chunk);
  return ((performance.now() - started) * 1e6) / calls;
}

/** Nanoseconds per progress() call, with metrics (the worker's Transfer) and without (a byte count). */
export function progressCost(calls: number, chunk: number): { onNs: number; offNs: number } {
  const registry = new TransferRegistry(0);
  const transfer = registry.begin('upload', '/bench/progress', calls * chunk);
  const count = new ByteCount();
  // Warm both up so that the timed loops run optimized code.
  timeTransfer(transfer, 50_000, chunk);
  timeByteCount(count, 50_000, chunk);
  const onNs = timeTransfer(transfer, calls, chunk);
  const offNs = timeByteCount(count, calls, chunk);
  transfer.end('OK');
  return { onNs, offNs };
}
