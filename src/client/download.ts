// DOWNLOAD (PROTOCOL.md#download-name-checksumalgo): bytes go to a temporary file in the download
// folder, which becomes the real file only when its checksum equals the one in the final OK.
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type ByteQueue,
  type ChecksumAlgorithm,
  createChecksum,
  encodeRequest,
  parseChecksum,
  parseSize,
  type Reply,
} from '../protocol/index.js';
import { type Connection, takeReply } from './connection.js';
import { FilehiveClientError, fromErrReply, localError, protocolError } from './errors.js';
import { FileSink } from './file-sink.js';
import { createDeferred, type Deferred } from './replies.js';
import type { ProgressListener } from './upload.js';

/** Progress is reported at most once per this many bytes (and at the end). */
const PROGRESS_STEP_BYTES = 1024 * 1024;

export interface DownloadRequest {
  remotePath: string;
  dir: string;
  checksum: ChecksumAlgorithm;
  onProgress?: ProgressListener;
}

export interface DownloadResult {
  name: string;
  bytes: number;
  seconds: number;
  localPath: string;
}

/**
 * The local name for a remote path: its last component. Refused when it could not name a file in the
 * download folder (empty, `.`, `..`, a trailing `/`), checked before anything is sent.
 */
export function localNameFor(remotePath: string, dir: string): string {
  const name = remotePath.slice(remotePath.lastIndexOf('/') + 1);
  const inside = name !== '' && name !== '.' && name !== '..' && !name.includes('\0');
  if (!inside || resolve(dir, name) !== join(resolve(dir), name)) {
    throw new FilehiveClientError('BAD_PATH', `cannot save ${JSON.stringify(remotePath)} under its own name`);
  }
  return name;
}

/** Reads `DATA size=N`, N raw bytes into the sink, then the final OK (or an ERR instead of DATA). */
function createDownloadReader(
  sink: () => FileSink,
  hash: { update(chunk: Uint8Array): void },
  result: Deferred<{ reply: Reply; bytes: number }>,
  onProgress: ProgressListener | undefined,
) {
  let phase: 'head' | 'body' | 'tail' = 'head';
  let size = 0;
  let received = 0;
  let reported = 0;
  return {
    /** True while file bytes are still expected: the only time a local failure must end the session. */
    get receiving() {
      return phase !== 'tail';
    },
    read(input: ByteQueue, connection: Connection): boolean {
      if (phase === 'head') {
        const reply = takeReply(input);
        if (reply === null) return false;
        if (reply.status === 'ERR') {
          result.reject(fromErrReply(reply));
          return true;
        }
        const announced = parseSize(reply.fields.get('size') ?? '');
        if (reply.status !== 'DATA' || announced === null) throw protocolError('expected DATA size=N or ERR');
        size = announced;
        phase = 'body';
      }
      if (phase === 'body') {
        while (received < size) {
          const chunk = input.takeBytes(size - received);
          if (chunk === null) return false;
          received += chunk.length;
          hash.update(chunk);
          const keepReading = sink().push(chunk);
          if (onProgress && (received - reported >= PROGRESS_STEP_BYTES || received === size)) {
            reported = received;
            onProgress(received, size);
          }
          if (!keepReading) {
            connection.hold();
            return false;
          }
        }
        phase = 'tail';
      }
      const reply = takeReply(input);
      if (reply === null) return false;
      if (reply.status === 'OK') result.resolve({ reply, bytes: size });
      else if (reply.status === 'ERR') result.reject(fromErrReply(reply));
      else throw protocolError(`unexpected ${reply.status} reply after the data`);
      return true;
    },
    fail: (err: FilehiveClientError) => result.reject(err),
  };
}

export async function runDownload(connection: Connection, request: DownloadRequest): Promise<DownloadResult> {
  const { remotePath, dir, checksum: algorithm, onProgress } = request;
  const name = localNameFor(remotePath, dir);
  const localPath = join(dir, name);
  // The temporary name starts with `.filehive` like the server's own temporary files; 'wx' makes
  // sure we never write into a file that someone else created.
  const tempPath = join(dir, `.filehive-${randomBytes(8).toString('hex')}.part`);
  const file: FileHandle = await open(tempPath, 'wx').catch((err) => {
    throw localError('create a file in', dir, err);
  });
  const started = performance.now();
  let sink: FileSink | null = null;
  const getSink = () => {
    sink ??= new FileSink(
      file,
      () => connection.release(),
      // A download cannot be stopped inside the protocol; closing the session is the way to cancel.
      // Once all bytes are in, the session can go on and the error surfaces from finish().
      (err) => reader.receiving && connection.destroy(localError('write', tempPath, err)),
    );
    return sink;
  };
  const hash = createChecksum(algorithm);
  const result = createDeferred<{ reply: Reply; bytes: number }>();
  const reader = createDownloadReader(getSink, hash, result, onProgress);
  let kept = false;
  try {
    connection.request(encodeRequest({ verb: 'DOWNLOAD', path: remotePath, checksum: algorithm }), reader);
    const { reply, bytes } = await result.promise;
    await getSink()
      .finish()
      .catch((err) => {
        throw localError('write', tempPath, err);
      });
    const announced = parseChecksum(reply.fields.get('checksum') ?? '');
    if (announced === null) throw protocolError('OK after DATA without checksum=ALGO:HEX');
    if (announced.algorithm !== algorithm || announced.hex !== hash.digest()) {
      throw new FilehiveClientError(
        'CHECKSUM_MISMATCH',
        `the bytes received for ${remotePath} do not match the server's checksum`,
      );
    }
    await file.close();
    await rename(tempPath, localPath).catch((err) => {
      throw localError('save', localPath, err);
    });
    kept = true;
    return { name, bytes, seconds: (performance.now() - started) / 1000, localPath };
  } finally {
    if (!kept) {
      // Wait for a write in flight before removing the file under it.
      await (sink as FileSink | null)?.finish().catch(() => {});
      await file.close().catch(() => {});
      await unlink(tempPath).catch(() => {});
    }
  }
}
