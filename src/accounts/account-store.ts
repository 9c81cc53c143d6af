// The accounts a worker checks LOGIN against. Verifying costs the same whether or not the name exists,
// so timing does not tell which names do.
import { randomBytes } from 'node:crypto';
import { DEFAULT_SCRYPT, type ScryptHash, verifyPassword } from './password-hash.js';
import type { UserEntry } from './users-file.js';

/**
 * scrypt runs on libuv's thread pool (4 threads by default), which file reads and writes share: at
 * most this many verifications run at once per worker, so a burst of logins cannot starve transfers.
 */
const MAX_CONCURRENT_VERIFY = 2;

export class AccountStore {
  private users = new Map<string, UserEntry>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Verified against when the name is unknown: a random key no password derives. */
  private readonly dummy: ScryptHash = {
    ...DEFAULT_SCRYPT,
    salt: randomBytes(16),
    key: randomBytes(32),
  };

  /** `check` is the password verifier; tests pass a recording one to see that the dummy path runs. */
  constructor(
    users: readonly UserEntry[],
    private readonly check: (hash: ScryptHash, password: string) => Promise<boolean> = verifyPassword,
  ) {
    this.replace(users);
  }

  get size(): number {
    return this.users.size;
  }

  /** Swaps in a new list (the file was read again); sessions already logged in keep their account. */
  replace(users: readonly UserEntry[]): void {
    this.users = new Map(users.map((u) => [u.name, u]));
  }

  /** The account when name and password match; null otherwise, after the same work either way. */
  async verify(name: string, password: string): Promise<UserEntry | null> {
    const user = this.users.get(name);
    await this.slot();
    try {
      const ok = await this.check(user?.hash ?? this.dummy, password);
      return ok && user !== undefined ? user : null;
    } finally {
      this.release();
    }
  }

  private async slot(): Promise<void> {
    if (this.running < MAX_CONCURRENT_VERIFY) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
