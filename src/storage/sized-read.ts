// Reads of a file that is sent with its size announced first (DOWNLOAD): the size must be the size of
// the file the descriptor reads, and on some filesystems only a read can prove it. On a FUSE filesystem
// that answers attribute calls by path (sshfs), fstat describes whichever file has the name now, which
// can be a newer version another host renamed over the name after the open (docs/OPERATIONS.md#sshfs).
import type { FileHandle } from 'node:fs/promises';

/** Reads up to `length` bytes at `position`, looping over short reads; fewer only at the file's end. */
export function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  return readAtLeast(file, position, length, length);
}

/**
 * Reads `min` bytes at `position` into room for `max`, looping over short reads, with no read after the
 * `min`th byte: fewer than `min` only at the file's end, more only when a read brought them. A read
 * that had room for a byte past the end and did not fill it proves the end without another call.
 */
async function readAtLeast(file: FileHandle, position: number, min: number, max: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(max);
  let filled = 0;
  // At least one read, even for `min` 0: an empty file's end is proven by reading too.
  do {
    const { bytesRead } = await file.read(buffer, filled, max - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  } while (filled < min);
  return filled === max ? buffer : buffer.subarray(0, filled);
}

/**
 * The first bytes from `offset` (at most `chunk` of them), read in a way that proves the file is
 * exactly `size` bytes long: the read that reaches the end asks for one byte more and must not get it,
 * and a first read that does not reach the end runs beside a read of the last byte and the one after.
 * Null when the file is shorter or longer than `size`. One read for a file within one chunk, two at once
 * for a bigger one (short reads aside). `offset` must not be past `size`.
 */
export async function readFirstChunk(
  file: FileHandle,
  size: number,
  offset: number,
  chunk: number,
): Promise<Buffer | null> {
  const length = Math.min(chunk, size - offset);
  if (offset + length === size) {
    const first = await readAtLeast(file, offset, length, length + 1);
    return first.length === length ? first : null;
  }
  const [first, last] = await Promise.all([readAt(file, offset, length), readAtLeast(file, size - 1, 1, 2)]);
  return first.length === length && last.length === 1 ? first : null;
}
