// UPLOAD (PROTOCOL.md#upload-name-size-checksumalgo): announce, wait for GO, stream the bytes while
// watching for an early ERR, then send CHECKSUM and wait for the final reply.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  type ByteQueue,
  type Checksum,
  type ChecksumAlgorithm,
  createChecksum,
  encodeRequest,
  formatChecksum,
  type Reply,
} from '../protocol/index.js';
import type { Connection } from './connection.js';
import { takeReply } from './connection.js';
import { FilehiveClientError, fromErrReply, localError, protocolError, toClientError } from './errors.js';
import { createDeferred, type Deferred } from './replies.js';
import { runResumableUpload } from './resume.js';

/** Bytes per file read. Each chunk is a fresh buffer because the socket keeps it until it is sent. */
const CHUNK_BYTES = 1024 * 1024;
/**
 * Files up to this size are sent as immediate uploads (`go=no`): request, bytes and CHECKSUM in one
 * write, without the round trip for GO. A refusal then costs the server a read of these bytes, which
 * is why larger files wait for GO.
 */
export const IMMEDIATE_MAX_BYTES = 256 * 1024;

export type ProgressListener = (bytesDone: number, totalBytes: number) => void;

export interface UploadRequest {
  localPath: string;
  remoteName: string;
  checksum: ChecksumAlgorithm;
  onProgress?: ProgressListener;
  /** The server offers immediate uploads (greeting `features=immediate-upload`). */
  immediateAllowed?: boolean;
  /** Resumable (PROTOCOL.md#resume): continue what the server kept of an earlier try, keep it if cut off. */
  resume?: boolean;
}

export interface UploadResult {
  name: string;
  bytes: number;
  seconds: number;
  /** `algo:hex` as agreed with the server. */
  checksum: string;
  /** A resumed upload: the bytes the server already had, which were not sent again. */
  resumedFrom?: number;
}

/** Reads `GO` (or an ERR instead), then the final OK/ERR, which may come before all bytes are sent. */
function createUploadReader(go: Deferred<Reply>, final: Deferred<Reply>) {
  let phase: 'go' | 'final' | 'done' = 'go';
  return {
    get done() {
      return phase === 'done';
    },
    read(input: ByteQueue): boolean {
      for (;;) {
        const reply = takeReply(input);
        if (reply === null) return false;
        if (phase === 'go' && reply.status === 'GO') {
          phase = 'final';
          go.resolve(reply);
          continue;
        }
        const target = phase === 'go' ? go : final;
        phase = 'done';
        if (reply.status === 'ERR') target.reject(fromErrReply(reply));
        else if (reply.status === 'OK' && target === final) final.resolve(reply);
        else throw protocolError(`unexpected ${reply.status} reply to UPLOAD`);
        return true;
      }
    },
    fail(err: FilehiveClientError): void {
      (phase === 'go' ? go : final).reject(err);
      phase = 'done';
    },
  };
}

export async function runUpload(connection: Connection, request: UploadRequest): Promise<UploadResult> {
  const { localPath, remoteName, checksum: algorithm } = request;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat below then refuses it.
  const file = await open(localPath, constants.O_RDONLY | constants.O_NONBLOCK).catch((err) => {
    throw localError('open', localPath, err);
  });
  try {
    // Stat the open handle, not the path, so the size belongs to the file we will read.
    const opened = await file.stat();
    if (!opened.isFile()) throw new FilehiveClientError('LOCAL_ERROR', `${localPath} is not a regular file`);
    const size = opened.size;
    if (request.resume) return await runResumableUpload(connection, file, request, size);
    if (request.immediateAllowed && size <= IMMEDIATE_MAX_BYTES) {
      return await uploadImmediately(connection, file, request, size);
    }
    const started = performance.now();
    const line = encodeRequest({ verb: 'UPLOAD', path: remoteName, size, checksum: algorithm });
    const hex = await sendUpload(connection, line, file, request, size);
    return {
      name: remoteName,
      bytes: size,
      seconds: (performance.now() - started) / 1000,
      checksum: formatChecksum(algorithm, hex),
    };
  } finally {
    await file.close().catch(() => {});
  }
}

/**
 * Sends an UPLOAD request line, waits for GO, streams the bytes (from `resumed.offset`, hashed into
 * `resumed.hash`, which holds the bytes before it), sends CHECKSUM and waits for the final OK; returns
 * the hex digest of the whole file. `resumed.checkGo` may refuse a GO that does not fit the request.
 */
export async function sendUpload(
  connection: Connection,
  line: string,
  file: FileHandle,
  request: UploadRequest,
  size: number,
  resumed?: { offset: number; hash: Checksum; checkGo: (go: Reply) => void },
): Promise<string> {
  const go = createDeferred<Reply>();
  const final = createDeferred<Reply>();
  const reader = createUploadReader(go, final);
  connection.request(line, reader, { holdWrites: true });
  let goReply: Reply;
  try {
    goReply = await go.promise;
  } finally {
    // After an ERR instead of GO no bytes follow and the session goes on.
    if (reader.done) connection.releaseWrites();
  }
  let hex: string;
  try {
    resumed?.checkGo(goReply);
    hex = await sendBytes(connection, file, reader, final, request, size, resumed?.offset, resumed?.hash);
  } catch (err) {
    // Mid-stream the server is counting bytes; whatever went wrong, the session cannot go on.
    const clientError = toClientError(err);
    connection.destroy(clientError);
    throw clientError;
  }
  connection.write(encodeRequest({ verb: 'CHECKSUM', algorithm: request.checksum, hex }));
  connection.releaseWrites();
  await final.promise;
  return hex;
}

/**
 * Streams the file's bytes from `offset` to `size` after GO, hashing each chunk into `hash` (which
 * holds the first `offset` bytes already); returns the hex digest of the whole file. Stops early
 * when the final reply arrives before the bytes are all sent (the server aborted).
 */
async function sendBytes(
  connection: Connection,
  file: FileHandle,
  reader: { readonly done: boolean },
  final: Deferred<Reply>,
  request: UploadRequest,
  size: number,
  offset = 0,
  hash: Checksum = createChecksum(request.checksum),
): Promise<string> {
  const { localPath, onProgress } = request;
  const readAt = async (position: number): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - position));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position).catch((cause) => {
      throw localError('read', localPath, cause);
    });
    if (bytesRead === 0) {
      // The server expects `size` bytes; the only honest way to stop is to end the session.
      throw new FilehiveClientError(
        'LOCAL_ERROR',
        `${localPath} shrank to ${position} of ${size} bytes while uploading`,
      );
    }
    return bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
  };
  let sent = offset;
  // One read ahead: the next chunk comes off the disk while the socket sends this one.
  let next: Promise<Buffer> | null = size > offset ? readAt(offset) : null;
  try {
    while (next !== null && !reader.done) {
      const chunk = await next;
      if (reader.done) break;
      sent += chunk.length;
      next = sent < size ? readAt(sent) : null;
      hash.update(chunk);
      if (!connection.write(chunk)) await Promise.race([connection.drained(), final.promise.catch(() => {})]);
      onProgress?.(sent, size);
    }
  } finally {
    // Stopped early: a read still running must not become an unhandled rejection.
    next?.catch(() => {});
  }
  if (reader.done) {
    // PROTOCOL.md#stopping-a-transfer-in-the-middle: the server aborted and stopped reading this
    // session, so it is over; the final reply says why.
    connection.destroy(new FilehiveClientError('CONNECTION_LOST', 'the server aborted the upload'));
    await final.promise;
    throw protocolError('OK before the upload was complete');
  }
  return hash.digest();
}

/**
 * A small file in one go (PROTOCOL.md#upload, `go=no`): the request line, the bytes and the CHECKSUM
 * line leave together, so uploads pipelined on one session cost no round trip each.
 */
async function uploadImmediately(
  connection: Connection,
  file: FileHandle,
  request: UploadRequest,
  size: number,
): Promise<UploadResult> {
  const { localPath, remoteName, checksum: algorithm } = request;
  const started = performance.now();
  const body = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await file.read(body, filled, size - filled, filled).catch((cause) => {
      throw localError('read', localPath, cause);
    });
    if (bytesRead === 0) {
      throw new FilehiveClientError(
        'LOCAL_ERROR',
        `${localPath} shrank to ${filled} of ${size} bytes while uploading`,
      );
    }
    filled += bytesRead;
  }
  const hash = createChecksum(algorithm);
  hash.update(body);
  const hex = hash.digest();
  const final = createDeferred<Reply>();
  connection.request(
    encodeRequest({ verb: 'UPLOAD', path: remoteName, size, checksum: algorithm, immediate: true }),
    createFinalOnlyReader(final),
    { payload: [body, Buffer.from(encodeRequest({ verb: 'CHECKSUM', algorithm, hex }))] },
  );
  await final.promise;
  request.onProgress?.(size, size);
  return {
    name: remoteName,
    bytes: size,
    seconds: (performance.now() - started) / 1000,
    checksum: formatChecksum(algorithm, hex),
  };
}

/** An immediate upload's one reply: OK or ERR, no GO. */
function createFinalOnlyReader(final: Deferred<Reply>) {
  return {
    read(input: ByteQueue): boolean {
      const reply = takeReply(input);
      if (reply === null) return false;
      if (reply.status === 'OK') final.resolve(reply);
      else if (reply.status === 'ERR') final.reject(fromErrReply(reply));
      else throw protocolError(`unexpected ${reply.status} reply to an immediate UPLOAD`);
      return true;
    },
    fail: (err: FilehiveClientError) => final.reject(err),
  };
}
