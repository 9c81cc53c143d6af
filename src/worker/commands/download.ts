import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { FilehiveError, fromErrno } from '../../errors.js';
import type { Transfer } from '../../metrics/transfers.js';
import { createChecksum, formatChecksum } from '../../protocol/checksum.js';
import { encodeReply, type ResumePoint } from '../../protocol/messages.js';
import { readAt, readFirstChunk } from '../../storage/sized-read.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import { ConnectionLost, failureOutcome } from '../connection-lost.js';
import { waitForDrain } from '../drain.js';
import { checkResumePoint } from '../resume-point.js';
import type { Session } from '../session.js';

const CHUNK = 1 << 20;
/** Bytes queued on the socket before reading more from disk: keeps the wire busy while a read runs. */
const WINDOW = 4 << 20;
/**
 * O_NONBLOCK: opening a FIFO someone placed in the root must not park a thread-pool thread waiting
 * for a writer; it has no effect on reads of regular files, which are all that is served.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens the real file behind `virtual`: the handle, its size, and the lock key. */
async function openForDownload(session: Session, virtual: string) {
  const { jail, locks } = session.ctx;
  const { path: real, key } = await jail.locate(virtual);
  // The lock check and the open are independent: one round through the thread pool instead of two.
  const [readable, opened] = await Promise.allSettled([
    locks.assertReadable(key),
    open(real, OPEN_FLAGS).then(async (file) => {
      try {
        return { file, stats: await file.stat() };
      } catch (err) {
        await file.close().catch(() => undefined);
        throw err;
      }
    }),
  ]);
  const file = opened.status === 'fulfilled' ? opened.value.file : null;
  const failure =
    readable.status === 'rejected'
      ? readable.reason
      : opened.status === 'rejected'
        ? fromErrno(opened.reason, 'no such file')
        : opened.value.stats.isDirectory()
          ? new FilehiveError('IS_A_DIRECTORY')
          : !opened.value.stats.isFile()
            ? new FilehiveError('NOT_FOUND', 'not a regular file')
            : null;
  if (failure !== null) {
    if (file) void closeQuietly(file);
    throw failure;
  }
  const { stats } = (opened as PromiseFulfilledResult<{ file: FileHandle; stats: { size: number } }>).value;
  return { file: file as FileHandle, size: stats.size };
}

function closeQuietly(file: FileHandle): Promise<void> {
  return file.close().catch(() => undefined);
}

/** How often the open is tried when fstat's size is not the opened file's (a replacement raced it). */
const OPEN_ATTEMPTS = 3;

/**
 * Opens the file and reads its first chunk before anything is sent, so the size in DATA is proven to be
 * the opened file's (storage/sized-read.ts): when it is not, a replacement raced the open and the name
 * is opened again.
 */
async function openConfirmed(session: Session, virtual: string, offset: number) {
  for (let attempt = 1; ; attempt++) {
    const { file, size } = await openForDownload(session, virtual);
    const first =
      offset > size
        ? null
        : await readFirstChunk(file, size, offset, CHUNK).catch(async (err: unknown) => {
            await closeQuietly(file);
            throw fromErrno(err);
          });
    // An offset past the end is for checkResumePoint to refuse.
    if (first !== null || offset > size) return { file, size, first: first ?? Buffer.alloc(0) };
    await closeQuietly(file);
    session.log.info({ path: virtual, size, attempt }, 'size changed while opening for download');
    if (attempt === OPEN_ATTEMPTS) throw new FilehiveError('BUSY', `${virtual} is being replaced, try again`);
  }
}

/**
 * Sends the file it opens, start to end: an upload that replaces the name meanwhile renames a new file
 * over it, and this descriptor keeps reading the complete old one (PROTOCOL.md#download).
 */
export async function download(
  session: Session,
  request: { path: string; checksum: 'xxh3-64' | 'sha256'; resume?: ResumePoint },
) {
  const virtual = resolveVirtualPath(session.cwd, request.path);
  // PROTOCOL.md#resume: the client has the first `offset` bytes; they count in the final checksum.
  const offset = request.resume?.offset ?? 0;
  const { file, size, first } = await openConfirmed(session, virtual, offset);
  let transfer: Transfer | undefined;
  try {
    const hash = createChecksum(request.checksum);
    if (request.resume) await checkResumePoint(file, size, request.resume, hash, 'the file on the server');
    const socket = session.socket;
    session.send(
      encodeReply('DATA', { size, ...(request.resume ? { offset } : {}), checksum: request.checksum }),
    );
    transfer = session.ctx.transfers.begin('download', virtual, size - offset);
    let chunk = first;
    let position = offset;
    for (;;) {
      hash.update(chunk);
      if (socket.destroyed) throw new ConnectionLost('connection closed');
      if (chunk.length > 0) socket.write(chunk);
      transfer.progress(chunk.length);
      position += chunk.length;
      if (position >= size) break;
      if (socket.writableLength >= WINDOW) await waitForDrain(session);
      // A fresh buffer per read: the socket keeps a reference until the bytes are on the wire.
      chunk = await readAt(file, position, Math.min(CHUNK, size - position));
      if (chunk.length === 0) {
        // The file shrank under us (changed by something other than filehive): the frame cannot be kept.
        session.log.warn({ path: virtual }, 'file shrank during download, closing the session');
        socket.destroy();
        throw new ConnectionLost('file shrank');
      }
    }
    session.send(
      encodeReply('OK', {
        size,
        checksum: formatChecksum(request.checksum, hash.digest()),
        msg: `sent ${virtual}`,
      }),
    );
    transfer.end('OK');
  } catch (err) {
    transfer?.end(failureOutcome(err));
    throw err;
  } finally {
    // Not awaited: the next request need not wait for the descriptor to be closed.
    void closeQuietly(file);
  }
}
