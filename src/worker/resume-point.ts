// The check every resumed transfer starts with (docs/PROTOCOL.md#resume): the first `offset` bytes
// one side has must hash to the SHA-256 the other side sent, or nothing is sent at all.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { FilehiveError } from '../errors.js';
import type { Checksum } from '../protocol/checksum.js';
import type { ResumePoint } from '../protocol/messages.js';

const CHUNK = 1 << 20;

/**
 * Reads the first `length` bytes of `file` once, feeding them to `also` (the transfer's checksum,
 * which must cover the whole file) and to a SHA-256. Returns its hex, or null when the file is shorter.
 */
export async function hashPrefix(file: FileHandle, length: number, also: Checksum): Promise<string | null> {
  const sha256 = createHash('sha256');
  // One buffer for the whole read: both digests consume a chunk before the next read starts.
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(length, 1)));
  let position = 0;
  while (position < length) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) return null;
    const chunk = buffer.subarray(0, bytesRead);
    sha256.update(chunk);
    also.update(chunk);
    position += bytesRead;
  }
  return sha256.digest('hex');
}

/**
 * Verifies that `file` (of `size` bytes) starts with the part described by `point`, feeding that part
 * to `checksum`. RESUME_MISMATCH otherwise; `what` names the file in the message.
 */
export async function checkResumePoint(
  file: FileHandle,
  size: number,
  point: ResumePoint,
  checksum: Checksum,
  what: string,
): Promise<void> {
  if (point.offset > size) {
    throw new FilehiveError(
      'RESUME_MISMATCH',
      `${what} has only ${size} of the ${point.offset} bytes to resume from`,
      {
        fields: { have: String(size) },
      },
    );
  }
  const hex = await hashPrefix(file, point.offset, checksum);
  if (hex === null)
    throw new FilehiveError('RESUME_MISMATCH', `${what} became shorter than ${point.offset} bytes`);
  if (point.sha256 !== undefined && hex !== point.sha256) {
    throw new FilehiveError('RESUME_MISMATCH', `the first ${point.offset} bytes differ from ${what}`);
  }
}
