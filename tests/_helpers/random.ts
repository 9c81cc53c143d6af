// A seeded generator for tests that pick random operations: a failing run is logged with its seed and
// can be replayed with FILEHIVE_TEST_SEED.
import { randomInt } from 'node:crypto';

export interface Random {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  below(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: small, fast, good enough to choose test operations. */
export function createRandom(seed = Number(process.env.FILEHIVE_TEST_SEED ?? randomInt(2 ** 31))): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  const below = (n: number): number => Math.floor(next() * n);
  return { seed, next, below, pick: (items) => items[below(items.length)] as (typeof items)[number] };
}
