// UPLOAD (PROTOCOL.md#upload-name-size-checksumalgo): announce, wait for GO, stream the bytes while
// watching for an early ERR, then send CHECKSUM and wait for the final reply.
import { type FileHandle, open, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  type ByteQueue,
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

/** Bytes per file read. Each chunk is a fresh buffer because the socket keeps it until it is sent. */
const CHUNK_BYTES = 1024 * 1024;

export type ProgressListener = (bytesDone: number, totalBytes: number) => void;

export interface UploadRequest {
  localPath: string;
  remoteName: string;
  checksum: ChecksumAlgorithm;
  onProgress?: ProgressListener;
}

export interface UploadResult {
  name: string;
  bytes: number;
  seconds: number;
  /** `algo:hex` as agreed with the server. */
  checksum: string;
}

/** Reads `GO` (or an ERR instead), then the final OK/ERR, which may come before all bytes are sent. */
function createUploadReader(go: Deferred<void>, final: Deferred<Reply>) {
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
          go.resolve();
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
  // Checked before opening too: opening a FIFO would wait for a writer that may never come.
  const before = await stat(localPath).catch((err) => {
    throw localError('open', localPath, err);
  });
  if (!before.isFile()) throw new FilehiveClientError('LOCAL_ERROR', `${localPath} is not a regular file`);
  const file = await open(localPath, 'r').catch((err) => {
    throw localError('open', localPath, err);
  });
  try {
    // Stat the open handle, not the path, so the size belongs to the file we will read.
    const opened = await file.stat();
    if (!opened.isFile()) throw new FilehiveClientError('LOCAL_ERROR', `${localPath} is not a regular file`);
    const size = opened.size;
    const started = performance.now();
    const go = createDeferred<void>();
    const final = createDeferred<Reply>();
    const reader = createUploadReader(go, final);
    const line = encodeRequest({ verb: 'UPLOAD', path: remoteName, size, checksum: algorithm });
    connection.request(line, reader, { holdWrites: true });
    try {
      await go.promise;
    } finally {
      // After an ERR instead of GO no bytes follow and the session goes on.
      if (reader.done) connection.releaseWrites();
    }

    let hex: string;
    try {
      hex = await sendBytes(connection, file, reader, final, request, size);
    } catch (err) {
      // Mid-stream the server is counting bytes; whatever went wrong, the session cannot go on.
      const clientError = toClientError(err);
      connection.destroy(clientError);
      throw clientError;
    }
    connection.write(encodeRequest({ verb: 'CHECKSUM', algorithm, hex }));
    connection.releaseWrites();
    await final.promise;
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
 * Streams exactly `size` bytes of the file after GO, hashing each chunk; returns the hex digest.
 * Stops early when the final reply arrives before the bytes are all sent (the server aborted).
 */
async function sendBytes(
  connection: Connection,
  file: FileHandle,
  reader: { readonly done: boolean },
  final: Deferred<Reply>,
  request: UploadRequest,
  size: number,
): Promise<string> {
  const { localPath, onProgress } = request;
  const hash = createChecksum(request.checksum);
  let sent = 0;
  while (sent < size && !reader.done) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - sent));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, sent).catch((cause) => {
      throw localError('read', localPath, cause);
    });
    if (reader.done) break;
    if (bytesRead === 0) {
      // The server expects `size` bytes; the only honest way to stop is to end the session.
      throw new FilehiveClientError(
        'LOCAL_ERROR',
        `${localPath} shrank to ${sent} of ${size} bytes while uploading`,
      );
    }
    const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    hash.update(chunk);
    sent += bytesRead;
    if (!connection.write(chunk)) await Promise.race([connection.drained(), final.promise.catch(() => {})]);
    onProgress?.(sent, size);
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
