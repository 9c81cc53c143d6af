import type { FileHandle } from 'node:fs/promises';
import { lstat, rename } from 'node:fs/promises';
import { FilehiveError, fromErrno } from '../../errors.js';
import type { LockHandle } from '../../locks/lock-manager.js';
import type { Transfer } from '../../metrics/transfers.js';
import { metrics } from '../../metrics/worker-metrics.js';
import type { Checksum, ChecksumAlgorithm } from '../../protocol/checksum.js';
import { createChecksum, formatChecksum } from '../../protocol/checksum.js';
import { encodeReply, MAX_LINE_BYTES, parseRequest, type ResumePoint } from '../../protocol/messages.js';
import { createTempFile, fsyncDir, removeQuietly, tempPathFor } from '../../storage/temp-files.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import { ConnectionLost, failureOutcome } from '../connection-lost.js';
import type { Session } from '../session.js';
import { checkFileSize, diskFullError, FreeSpace } from '../upload-limits.js';

/** This worker's free-space readings, shared by its sessions. */
const freeSpace = new FreeSpace();

/**
 * Bytes handed to one writev: whatever arrived while the previous write ran, up to this much. 2 MiB
 * keeps a worker's peak RSS within a few MiB of a bare Node pipe's during large uploads.
 */
const MAX_WRITE = 2 << 20;

export interface UploadRequest {
  path: string;
  size: number;
  checksum: ChecksumAlgorithm;
  immediate?: true;
  /** A resumable upload (upload-resumable.ts): only the bytes after `offset` travel. */
  resume?: ResumePoint;
}

/** The bytes that follow the request or its GO: all of them, or those after a resumed upload's offset. */
export function bodyLength(request: UploadRequest): number {
  return request.size - (request.resume?.offset ?? 0);
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

/**
 * Reads exactly the body's bytes into the file, hashing as they come; `hash` may already hold the
 * bytes a resumed upload kept, so the digest covers the whole file.
 */
export async function receiveBody(
  session: Session,
  file: FileHandle,
  request: UploadRequest,
  signal: AbortSignal,
  transfer: Transfer,
  hash: Checksum = createChecksum(request.checksum),
) {
  let remaining = bodyLength(request);
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

/**
 * Receives the body into `file` (receiveBody) and closes it, synced first with --fsync: the server's
 * digest. On any failure the session is desynced (body bytes or the CHECKSUM line may still be on the
 * way, so it can only close after the reply), and a full disk is NO_SPACE; the caller closes `file`.
 */
export async function receiveAndClose(
  session: Session,
  file: FileHandle,
  request: UploadRequest,
  signal: AbortSignal,
  transfer: Transfer,
  fsync: boolean,
  hash?: Checksum,
): Promise<string> {
  try {
    const hex = await receiveBody(session, file, request, signal, transfer, hash);
    if (fsync) await file.sync();
    await file.close();
    return hex;
  } catch (err) {
    session.desynced = true;
    if (!(err instanceof ConnectionLost) && fromErrno(err).code === 'NO_SPACE') {
      metrics.refused('disk_full');
      throw diskFullError(err);
    }
    throw err;
  }
}

/**
 * Reads the client's CHECKSUM line and compares it with the server's digest: BAD_REQUEST for another
 * line, CHECKSUM_MISMATCH for another digest.
 */
export async function checkClientChecksum(
  session: Session,
  algorithm: ChecksumAlgorithm,
  serverHex: string,
): Promise<void> {
  const clientHex = await readClientChecksum(session, algorithm);
  if (clientHex !== serverHex) {
    throw new FilehiveError('CHECKSUM_MISMATCH', 'checksum mismatch, the upload was discarded');
  }
}

/** Reads the CHECKSUM line that must follow the body (PROTOCOL.md#upload). */
export async function readClientChecksum(session: Session, algorithm: ChecksumAlgorithm): Promise<string> {
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
  if (!(await session.input.skip(bodyLength(request))))
    throw new ConnectionLost('connection closed during upload');
  const line = await session.input.line(MAX_LINE_BYTES);
  if (line === null) throw new ConnectionLost('connection closed before CHECKSUM');
  if (line === 'too-long') session.desynced = true;
}

/** TOO_LARGE, counted as a refusal, for a size over --max-file-size. */
export function refuseTooLarge(size: number, maxFileSize: number): void {
  const tooLarge = checkFileSize(size, maxFileSize);
  if (!tooLarge) return;
  metrics.refused('too_large');
  throw tooLarge;
}

/** The go/no-go checks: size, the target, the lock, the temp file and free space, or the reason to refuse. */
async function prepare(session: Session, request: UploadRequest) {
  const { jail, locks, config } = session.ctx;
  refuseTooLarge(request.size, config.maxFileSize);
  const target = await jail.resolveName(resolveVirtualPath(session.cwd, request.path));
  // The temp file's name is recorded with the lock, so whoever takes a dead holder's lock over removes it.
  const tempPath = tempPathFor(target.dir, locks.idOf(target.key));
  // Checking the target, locking, creating the temp file and measuring free space are independent: run
  // them together.
  const [existing, locked, created, free] = await Promise.allSettled([
    lstat(target.path),
    locks.acquire([target.key], 'upload', tempPath),
    createTempFile(tempPath),
    freeSpace.check(target.dir, request.size, config.minFreeSpace),
  ]);
  let failure: unknown = null;
  if (existing.status === 'fulfilled' && existing.value.isDirectory()) {
    failure = new FilehiveError('IS_A_DIRECTORY', 'a folder has this name');
  } else if (locked.status === 'rejected') {
    failure = locked.reason;
  } else if (created.status === 'rejected') {
    // ENOENT: the folder was removed after the name was resolved (e.g. by RMDIR), a clean NOT_FOUND.
    const folderGone = (created.reason as NodeJS.ErrnoException).code === 'ENOENT';
    failure = fromErrno(created.reason, folderGone ? 'the folder does not exist' : undefined);
  } else if (free.status === 'fulfilled') {
    // (statfs failing says nothing about space: a disk that fills is still caught while writing.)
    failure = free.value;
  }
  if (failure) {
    if (failure instanceof FilehiveError && failure.code === 'NO_SPACE') metrics.refused('no_space');
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
    serverHex = await receiveAndClose(session, file, request, lock.signal, transfer, config.fsync);
    file = null;
    bodyDone = true;
    await checkClientChecksum(session, request.checksum, serverHex);
    lock.signal.throwIfAborted();
    await rename(tempPath, target.path).catch((err: unknown) => {
      throw fromErrno(err);
    });
    tempPath = null;
    if (config.fsync) await fsyncDir(target.dir);
    outcome = 'OK';
  } catch (err) {
    outcome = failureOutcome(err);
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
