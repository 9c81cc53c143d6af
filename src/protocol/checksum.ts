// End-to-end transfer checksums. The default, xxh3-64, runs at about 10 GB/s on one core here, so it
// costs a few percent of a loopback transfer; sha256 (about 1.4-1.7 GB/s) stays selectable.
import { createHash } from 'node:crypto';
import { xxh3 } from '@node-rs/xxhash';

export const CHECKSUM_ALGORITHMS = ['xxh3-64', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
export const DEFAULT_CHECKSUM: ChecksumAlgorithm = 'xxh3-64';

export function isChecksumAlgorithm(value: string): value is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(value);
}

/** An incremental digest: feed chunks in order, then read the lower-case hex digest once. */
export interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  update(chunk: Uint8Array): void;
  digest(): string;
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  if (algorithm === 'sha256') {
    const hash = createHash('sha256');
    return { algorithm, update: (chunk) => void hash.update(chunk), digest: () => hash.digest('hex') };
  }
  const hash = xxh3.Xxh3.withSeed(0n);
  return {
    algorithm,
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest().toString(16).padStart(16, '0'),
  };
}

/** Formats `algo:hex` as it travels in CHECKSUM lines and OK replies. */
export function formatChecksum(algorithm: ChecksumAlgorithm, hex: string): string {
  return `${algorithm}:${hex}`;
}

const HEX_LENGTH: Record<ChecksumAlgorithm, number> = { 'xxh3-64': 16, sha256: 64 };

/** Parses `algo:hex`; null when malformed. */
export function parseChecksum(value: string): { algorithm: ChecksumAlgorithm; hex: string } | null {
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (
    colon < 0 ||
    !isChecksumAlgorithm(algorithm) ||
    !new RegExp(`^[0-9a-f]{${HEX_LENGTH[algorithm]}}$`).test(hex)
  ) {
    return null;
  }
  return { algorithm, hex };
}
