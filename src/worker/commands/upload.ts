import type { FileHandle } from 'node:fs/promises';
import { lstat, rename } from 'node:fs/promises';
import { FilehiveError, fromErrno } from '../../errors.js';
import type { LockHandle } from '../../locks/lock-manager.js';
import type { Transfer } from '../../metrics/transfers.js';
import type { ChecksumAlgorithm } from '../../protocol/checksum.js';
import { createChecksum, formatChecksum } from '../../protocol/checksum.js';
import { encodeReply, MAX_LINE_BYTES, parseRequest } from '../../protocol/messages.js';
import { createTempFile, fsyncDir, removeQuietly, tempPathFor } from '../../storage/temp-files.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import { ConnectionLost } from '../connection-lost.js';
import type { Session } from '../session.js';

/**
 * Bytes handed to one writev: whatever arrived while the previous write ran, up to this much. 2 MiB
 * keeps a worker's peak RSS within a few MiB of a bare Node pipe's during large uploads.
 */
const MAX_WRITE = 2 << 20;

interface UploadRequest {
  path: string;
  size: number;
  checksum: ChecksumAlgorithm;
  immediate?: true;
}

/** Writes all of `chunks` at the file's current end, looping over short writes. */
async function writeAll(file: FileHandle, chunks: Buffer[]): Promise<void> {
  const pending = chunks;
  while (pending.length > 0) {
    const { bytesWritten } = await file.writev(pending);
    let skip = bytesWritten;
    while (pending.length > 0 && skip >= (pending[0] as Buffer).length)
      skip -= (pending.shift() as Buffer).length;
    if (skip > 0 && pending.length > 0) pending[0] = (pending[0] as Buffer).subarray(skip);
  }
}

/** Reads exactly `size` body bytes into the file, hashing as they come. */
async function receiveBody(
  session: Session,
  file: FileHandle,
  request: UploadRequest,
  signal: AbortSignal,
  transfer: Transfer,
) {
  const hash = createChecksum(request.checksum);
  let remaining = request.size;
  // A lost lock must stop the upload even while the client sends nothing.
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(signal.reason);
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  while (remaining > 0) {
    const chunks = await Promise.race([session.input.chunks(Math.min(remaining, MAX_WRITE)), aborted]);
    if (chunks.length === 0) throw new ConnectionLost('connection closed during upload');
    let received = 0;
    for (const chunk of chunks) received += chunk.length;
    remaining -= received;
    transfer.progress(received);
    // Hashed before the write is started: measured, starting the write first and hashing while it
    // runs made the worker's RSS grow with the upload's size (to 330 MiB for 256 MiB).
    for (const chunk of chunks) hash.update(chunk);
    const written = writeAll(file, chunks);
    try {
      await written;
    } catch (err) {
      throw fromErrno(err);
    }
  }
  return hash.digest();
}

/** Reads the CHECKSUM line that must follow the body (PROTOCOL.md#upload). */
async function readClientChecksum(session: Session, algorithm: ChecksumAlgorithm): Promise<string> {
  const line = await session.input.line(MAX_LINE_BYTES);
  if (line === null) throw new ConnectionLost('connection closed before CHECKSUM');
  if (line === 'too-long') {
    session.desynced = true;
    throw new FilehiveError('BAD_REQUEST', 'line too long');
  }
  const parsed = parseRequest(line);
  if (!parsed.ok || parsed.value.verb !== 'CHECKSUM' || parsed.value.algorithm !== algorithm) {
    throw new FilehiveError(
      'BAD_REQUEST',
      `expected CHECKSUM ${algorithm}:HEX after the bytes; upload discarded`,
    );
  }
  return parsed.value.hex;
}

/**
 * An immediate upload's bytes and CHECKSUM line were sent without waiting for GO: after a refusal they
 * are read and dropped, so the session stays in step (PROTOCOL.md#upload).
 */
export async function skipRefusedBody(session: Session, request: UploadRequest): Promise<void> {
  if (!(await session.input.skip(request.size))) throw new ConnectionLost('connection closed during upload');
  const line = await session.input.line(MAX_LINE_BYTES);
  if (line === null) throw new ConnectionLost('connection closed before CHECKSUM');
  if (line === 'too-long') session.desynced = true;
}

/** The go/no-go checks: the target, the lock and the temp file, or the reason to refuse. */
async function prepare(session: Session, request: UploadRequest) {
  const { jail, locks } = session.ctx;
  const target = await jail.resolveName(resolveVirtualPath(session.cwd, request.path));
  // The temp file's name is recorded with the lock, so whoever takes a dead holder's lock over removes it.
  const tempPath = tempPathFor(target.dir, locks.idOf(target.key));
  // Checking the target, locking and creating the temp file are independent: run them together.
  const [existing, locked, created] = await Promise.allSettled([
    lstat(target.path),
    locks.acquire([target.key], 'upload', tempPath),
    createTempFile(tempPath),
  ]);
  const failure =
    existing.status === 'fulfilled' && existing.value.isDirectory()
      ? new FilehiveError('IS_A_DIRECTORY', 'a folder has this name')
      : locked.status === 'rejected'
        ? locked.reason
        : created.status === 'rejected'
          ? // The folder was removed after the name was resolved (e.g. by RMDIR): a clean NOT_FOUND.
            fromErrno(created.reason, 'the folder does not exist')
          : null;
  if (failure) {
    if (created.status === 'fulfilled') await created.value.close().catch(() => undefined);
    if (created.status === 'fulfilled') await removeQuietly(tempPath);
    if (locked.status === 'fulfilled') await locked.value.release();
    throw failure;
  }
  return {
    target,
    tempPath,
    lock: (locked as PromiseFulfilledResult<LockHandle>).value,
    file: (created as PromiseFulfilledResult<FileHandle>).value,
  };
}

/**
 * UPLOAD: go/no-go before any byte, body into a temp file beside the target, rename over the target
 * only when both checksums agree. Whatever happens, the temp file never outlives the command.
 */
export async function upload(session: Session, request: UploadRequest): Promise<void> {
  const { config } = session.ctx;
  const prepared = await prepare(session, request).catch(async (err: unknown) => {
    if (request.immediate) await skipRefusedBody(session, request);
    throw err;
  });
  const { target, lock } = prepared;
  let tempPath: string | null = prepared.tempPath;
  let file: FileHandle | null = prepared.file;
  let bodyDone = false;
  let serverHex = '';
  const transfer = session.ctx.transfers.begin('upload', target.virtual, request.size);
  let outcome = 'INTERNAL';
  try {
    if (!request.immediate) session.send(encodeReply('GO', { size: request.size }));
    try {
      serverHex = await receiveBody(session, file, request, lock.signal, transfer);
    } catch (err) {
      // Body bytes may still be on the way: this session can only be closed after the reply.
      session.desynced = true;
      throw err;
    }
    bodyDone = true;
    if (config.fsync) await file.sync();
    await file.close();
    file = null;
    const clientHex = await readClientChecksum(session, request.checksum);
    if (clientHex !== serverHex) {
      throw new FilehiveError('CHECKSUM_MISMATCH', 'checksum mismatch, the upload was discarded');
    }
    lock.signal.throwIfAborted();
    await rename(tempPath, target.path).catch((err: unknown) => {
      throw fromErrno(err);
    });
    tempPath = null;
    if (config.fsync) await fsyncDir(target.dir);
    outcome = 'OK';
  } catch (err) {
    outcome = err instanceof ConnectionLost ? 'DISCONNECTED' : fromErrno(err).code;
    throw err;
  } finally {
    transfer.end(outcome);
    if (!bodyDone && lock.signal.aborted)
      session.log.warn({ path: target.virtual }, 'upload lock lost, discarded');
    await file?.close().catch(() => undefined);
    if (tempPath !== null) await removeQuietly(tempPath);
    await lock.release();
  }
  // Replied only after the release: a client that hears OK may use the name at once, from any session.
  session.send(
    encodeReply('OK', {
      size: request.size,
      checksum: formatChecksum(request.checksum, serverHex),
      msg: `stored ${target.virtual}`,
    }),
  );
}
