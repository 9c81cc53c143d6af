// An upload that sends its first bytes and then waits, holding its lock for as long as a test needs,
// and finishes on demand: what the multi-instance tests use to watch a live lock across instances.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readHolder } from '../../src/locks/lock-manager.js';
import { lockIdOf } from '../../src/locks/lock-names.js';
import { q, type RawClient, type RawReply, sha256 } from './raw-client.js';

export interface LongUpload {
  readonly name: string;
  readonly data: Buffer;
  readonly c: RawClient;
  /** Bytes sent so far. */
  readonly sent: number;
  /** The worker running it, from its lock's holder record. */
  readonly worker: number;
}

/** Starts an upload of `size` random bytes to `name` on session `c` and sends the first `sent`. */
export async function beginLongUpload(
  c: RawClient,
  root: string,
  name: string,
  size: number,
  sent: number,
): Promise<LongUpload> {
  const data = randomBytes(size);
  const go = await c.request(`UPLOAD ${q(name)} ${size} checksum=sha256`);
  if (go.status !== 'GO') throw new Error(`UPLOAD ${name}: ${go.line}`);
  c.send(data.subarray(0, sent));
  const holder = await readHolder(join(root, '.filehive/locks', `${lockIdOf(name)}.holder`));
  // (A pid of 0 or -1 would make process.kill signal a whole process group, or every process.)
  if (!holder || holder.pid <= 1) throw new Error(`UPLOAD ${name}: no holder record`);
  return { name, data, c, sent, worker: holder.pid };
}

/** Sends the rest and the CHECKSUM line; the final reply. Closes the session. */
export async function finishLongUpload(u: LongUpload): Promise<RawReply> {
  u.c.send(u.data.subarray(u.sent));
  u.c.send(`CHECKSUM sha256:${sha256(u.data)}\n`);
  try {
    return await u.c.reply(30_000);
  } finally {
    u.c.close();
  }
}
