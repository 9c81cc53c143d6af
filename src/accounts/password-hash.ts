// Password hashes: scrypt from node:crypto, salted, parameters stored with each hash
// (docs/SECURITY.md#accounts). Hashing runs on the thread pool (crypto.scrypt), never on the event loop.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptHash {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelization. */
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/**
 * N=2^15, r=8, p=1: 32 MiB and about 0.1-0.15 s of one core per login. Twice the work of Django's and
 * Node's scrypt defaults (N=2^14) and of libsodium's "interactive" limits that pure-ftpd uses, near
 * SFTPGo's bcrypt cost 10; below OWASP's N=2^17 minimum, which costs 128 MiB and 0.5 s per login and
 * would let a burst of logins starve transfers. Entries keep their own parameters, so raising this
 * later leaves existing hashes valid (docs/SECURITY.md#accounts).
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Accepted ranges: a users file must not make a login cost unbounded memory or time. */
const LIMITS = { minLogN: 10, maxLogN: 20, maxR: 32, maxP: 16, maxMemory: 256 * 2 ** 20 } as const;

const B64URL = /^[A-Za-z0-9_-]+$/;
const INTEGER = /^[1-9][0-9]{0,9}$/;

/** `scrypt:N:r:p:SALT:KEY`, salt and key in unpadded base64url. */
export function formatScryptHash(hash: ScryptHash): string {
  return [
    'scrypt',
    hash.N,
    hash.r,
    hash.p,
    hash.salt.toString('base64url'),
    hash.key.toString('base64url'),
  ].join(':');
}

/** Parses `scrypt:N:r:p:SALT:KEY`; the reason names what is wrong. Pure. */
export function parseScryptHash(
  text: string,
): { ok: true; hash: ScryptHash } | { ok: false; reason: string } {
  const parts = text.split(':');
  if (parts[0] !== 'scrypt') return { ok: false, reason: 'the hash must start with scrypt:' };
  if (parts.length !== 6) return { ok: false, reason: 'the hash must be scrypt:N:r:p:SALT:KEY' };
  const [, nText, rText, pText, saltText, keyText] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (![nText, rText, pText].every((t) => INTEGER.test(t))) {
    return { ok: false, reason: 'scrypt N, r and p must be whole numbers' };
  }
  const [N, r, p] = [Number(nText), Number(rText), Number(pText)];
  const logN = Math.log2(N);
  if (!Number.isInteger(logN) || logN < LIMITS.minLogN || logN > LIMITS.maxLogN) {
    return {
      ok: false,
      reason: `scrypt N must be a power of two from 2^${LIMITS.minLogN} to 2^${LIMITS.maxLogN}`,
    };
  }
  if (r > LIMITS.maxR || p > LIMITS.maxP) {
    return { ok: false, reason: `scrypt r must be at most ${LIMITS.maxR} and p at most ${LIMITS.maxP}` };
  }
  if (memoryOf({ N, r, p }) > LIMITS.maxMemory) {
    return { ok: false, reason: 'scrypt N and r ask for more than 256 MiB per login' };
  }
  if (!B64URL.test(saltText) || !B64URL.test(keyText)) {
    return { ok: false, reason: 'scrypt salt and key must be base64url' };
  }
  const salt = Buffer.from(saltText, 'base64url');
  const key = Buffer.from(keyText, 'base64url');
  if (salt.length < 8) return { ok: false, reason: 'the scrypt salt must be at least 8 bytes' };
  if (key.length < 16 || key.length > 64)
    return { ok: false, reason: 'the scrypt key must be 16 to 64 bytes' };
  return { ok: true, hash: { N, r, p, salt, key } };
}

/** What OpenSSL's scrypt allocates: the V array plus the B blocks (its maxmem check counts both). */
function memoryOf(params: { N: number; r: number; p: number }): number {
  return 128 * params.r * (params.N + 2) + 128 * params.r * params.p;
}

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }, keylen: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      keylen,
      { ...params, maxmem: memoryOf(params) + 2 ** 20 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/** A fresh salt and the derived key, with the default parameters. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<ScryptHash> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return { N: params.N, r: params.r, p: params.p, salt, key };
}

/** True when `password` derives the stored key; the comparison takes the same time wherever bytes differ. */
export async function verifyPassword(hash: ScryptHash, password: string): Promise<boolean> {
  const key = await derive(password, hash.salt, hash, hash.key.length);
  return timingSafeEqual(key, hash.key);
}
