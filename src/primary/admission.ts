// The admission authority: the one place that knows how many sessions are open (in total, per client
// address, per worker) and which addresses are banned after failed logins. It lives in the primary so
// every worker sees the same counts. Pure: no I/O, the clock is injected.
import type { ServerConfig } from '../config/server-config.js';
import { addressKey, isLoopbackAddress } from '../peer-address.js';

export type RefusalReason = 'max_connections' | 'max_per_ip' | 'banned' | 'anonymous_remote';
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'max_connections',
  'max_per_ip',
  'banned',
  'anonymous_remote',
];

export type AdmitDecision = { ok: true } | { ok: false; reason: RefusalReason };

export interface LoginFailure {
  /** How long to wait before answering the failed login. */
  readonly delayMs: number;
  /** The address is banned (now or already): refuse, close the session. */
  readonly banned: boolean;
  /** This failure started the ban (count it once). */
  readonly newlyBanned: boolean;
}

export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** No accounts and no --allow-anonymous: only loopback clients get a session. */
  readonly loopbackOnly: boolean;
  readonly loginFailures: number;
  /** 0: no bans (delays still grow). */
  readonly loginBanMs: number;
  readonly loginDelayMs: number;
}

/** Who holds a session: a worker's key (its cluster id). */
export type WorkerKey = number;

/** The longest delay before a failed login's answer, however many failures came before. */
export const MAX_LOGIN_DELAY_MS = 60_000;
/** Failures are forgotten this long after an address's last one (or after --login-ban, if longer). */
export const FAILURE_MEMORY_MS = 15 * 60_000;
/** Bounds the failure and ban tables: a flood of addresses cannot grow the primary without limit. */
export const MAX_TRACKED_ADDRESSES = 100_000;

export function admissionLimits(config: ServerConfig): AdmissionLimits {
  return {
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    loopbackOnly: config.usersFile === null && !config.allowAnonymous,
    loginFailures: config.loginFailures,
    loginBanMs: config.loginBanMs,
    loginDelayMs: config.loginDelayMs,
  };
}

interface FailureRecord {
  count: number;
  last: number;
}

/** Session counts, failure counts and bans; every method takes the client address as the peer reports it. */
export class AdmissionAuthority {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly perWorker = new Map<WorkerKey, Map<string, number>>();
  // Both maps are kept in time order (a record is re-inserted when it changes), so expired entries
  // are always at the front and the oldest is the one dropped when the table is full.
  private readonly failures = new Map<string, FailureRecord>();
  private readonly bans = new Map<string, number>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Decides on a new connection; an admitted one is counted until release() or workerGone(). */
  admit(worker: WorkerKey, address: string): AdmitDecision {
    if (this.limits.loopbackOnly && !isLoopbackAddress(address))
      return { ok: false, reason: 'anonymous_remote' };
    const key = addressKey(address);
    if (this.isBanned(key)) return { ok: false, reason: 'banned' };
    if (this.total >= this.limits.maxConnections) return { ok: false, reason: 'max_connections' };
    const fromAddress = this.perAddress.get(key) ?? 0;
    if (fromAddress >= this.limits.maxConnectionsPerIp) return { ok: false, reason: 'max_per_ip' };
    this.total++;
    this.perAddress.set(key, fromAddress + 1);
    let own = this.perWorker.get(worker);
    if (!own) {
      own = new Map();
      this.perWorker.set(worker, own);
    }
    own.set(key, (own.get(key) ?? 0) + 1);
    return { ok: true };
  }

  /** An admitted session ended. A release the worker does not hold (a duplicate) changes nothing. */
  release(worker: WorkerKey, address: string): void {
    const key = addressKey(address);
    const own = this.perWorker.get(worker);
    const held = own?.get(key) ?? 0;
    if (!own || held === 0) return;
    if (held === 1) own.delete(key);
    else own.set(key, held - 1);
    this.drop(key, 1);
  }

  /** A worker died: its sessions died with it. Returns how many were dropped. */
  workerGone(worker: WorkerKey): number {
    const own = this.perWorker.get(worker);
    if (!own) return 0;
    this.perWorker.delete(worker);
    let dropped = 0;
    for (const [key, count] of own) {
      this.drop(key, count);
      dropped += count;
    }
    return dropped;
  }

  private drop(key: string, count: number): void {
    this.total -= count;
    const left = (this.perAddress.get(key) ?? 0) - count;
    if (left > 0) this.perAddress.set(key, left);
    else this.perAddress.delete(key);
  }

  /**
   * Counts a failed login. The delay doubles with each failure in a row (--login-delay, 2x, 4x ...,
   * at most MAX_LOGIN_DELAY_MS); the --login-failures-th failure bans the address for --login-ban.
   */
  loginFailed(address: string): LoginFailure {
    const key = addressKey(address);
    const now = this.now();
    this.sweep();
    const record = this.failures.get(key) ?? { count: 0, last: now };
    record.count++;
    record.last = now;
    const delayMs = Math.min(
      this.limits.loginDelayMs * 2 ** Math.min(record.count - 1, 30),
      Math.max(MAX_LOGIN_DELAY_MS, this.limits.loginDelayMs),
    );
    if (this.isBanned(key)) return { delayMs, banned: true, newlyBanned: false };
    this.failures.delete(key);
    if (this.limits.loginBanMs > 0 && record.count >= this.limits.loginFailures) {
      this.bans.set(key, now + this.limits.loginBanMs);
      trim(this.bans);
      return { delayMs, banned: true, newlyBanned: true };
    }
    this.failures.set(key, record);
    trim(this.failures);
    return { delayMs, banned: false, newlyBanned: false };
  }

  /** A login succeeded: the address's failures are forgotten (a ban stays until it expires). */
  loginSucceeded(address: string): void {
    this.failures.delete(addressKey(address));
  }

  private isBanned(key: string): boolean {
    const until = this.bans.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.bans.delete(key);
    return false;
  }

  /** Forgets expired bans and failures; cheap (stops at the first live entry). */
  sweep(): void {
    const now = this.now();
    for (const [key, until] of this.bans) {
      if (until > now) break;
      this.bans.delete(key);
    }
    const memory = Math.max(FAILURE_MEMORY_MS, this.limits.loginBanMs);
    for (const [key, record] of this.failures) {
      if (record.last + memory > now) break;
      this.failures.delete(key);
    }
  }

  get openSessions(): number {
    return this.total;
  }

  sessionsFrom(address: string): number {
    return this.perAddress.get(addressKey(address)) ?? 0;
  }

  /** Addresses banned now. */
  activeBans(): number {
    this.sweep();
    return this.bans.size;
  }

  /** Failed logins counted against an address now (0 after a ban, a success or the memory window). */
  failuresFrom(address: string): number {
    return this.failures.get(addressKey(address))?.count ?? 0;
  }
}

function trim(map: Map<string, unknown>): void {
  while (map.size > MAX_TRACKED_ADDRESSES) {
    const oldest = map.keys().next().value as string;
    map.delete(oldest);
  }
}
