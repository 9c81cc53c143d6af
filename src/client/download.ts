// DOWNLOAD (PROTOCOL.md#download-name-checksumalgo): bytes go to a temporary file in the download
// folder, which becomes the real file only when its checksum equals the one in the final OK. A
// resumable download (PROTOCOL.md#resume) uses `.NAME.filehive-partial` instead and keeps it when cut
// off, so the next one asks only for the rest.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type ByteQueue,
  type Checksum,
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
import { hashLocalPrefix, openPartialDownload, partialDownloadName } from './resume.js';
import type { ProgressListener } from './upload.js';

/** Progress is reported at most once per this many bytes (and at the end). */
const PROGRESS_STEP_BYTES = 1024 * 1024;

export interface DownloadRequest {
  remotePath: string;
  dir: string;
  checksum: ChecksumAlgorithm;
  onProgress?: ProgressListener;
  /** Continue `.NAME.filehive-partial` if there is one, and keep it if cut off. */
  resume?: boolean;
  /** Save as this name in `dir`; the remote file's name by default. */
  localName?: string;
  /** false (--no-verify): keep the file without computing or comparing its checksum. */
  verify?: boolean;
}

export interface DownloadResult {
  name: string;
  bytes: number;
  seconds: number;
  localPath: string;
  /** A resumed download: the bytes that were already here, which were not fetched again. */
  resumedFrom?: number;
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

/**
 * Reads `DATA size=N`, N raw bytes into the sink, then the final OK (or an ERR instead of DATA). For a
 * resumed download (`offset` given), DATA must repeat the offset and only N - offset bytes follow.
 */
function createDownloadReader(
  sink: () => FileSink,
  hash: { update(chunk: Uint8Array): void },
  result: Deferred<{ reply: Reply; bytes: number }>,
  onProgress: ProgressListener | undefined,
  offset?: number,
) {
  let phase: 'head' | 'body' | 'tail' = 'head';
  let size = 0;
  let received = offset ?? 0;
  let reported = received;
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
        if (offset !== undefined && parseSize(reply.fields.get('offset') ?? '') !== offset) {
          throw protocolError(`DATA for a resumed download must say offset=${offset}`);
        }
        if (announced < received) throw protocolError('DATA size is smaller than the offset');
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

/** Codes after which a resumable download's partial cannot be trusted to continue the file. */
const DISCARDS_PARTIAL = new Set(['RESUME_MISMATCH', 'CHECKSUM_MISMATCH', 'PROTOCOL_ERROR']);

/**
 * The file the bytes go to: a fresh temporary file, or for `resume` the partial and what it holds.
 * The temporary name starts with `.filehive` like the server's own temporary files; 'wx' makes sure
 * we never write into a file that someone else created.
 */
async function openTarget(dir: string, name: string, resume: boolean) {
  if (resume) {
    const path = join(dir, partialDownloadName(name));
    return { path, ...(await openPartialDownload(path)) };
  }
  const path = join(dir, `.filehive-${randomBytes(8).toString('hex')}.part`);
  const file = await open(path, 'wx').catch((err) => {
    throw localError('create a file in', dir, err);
  });
  return { path, file, bytes: 0 };
}

export async function runDownload(connection: Connection, request: DownloadRequest): Promise<DownloadResult> {
  const { remotePath, dir, checksum: algorithm, onProgress } = request;
  const name = localNameFor(request.localName ?? remotePath, dir);
  const localPath = join(dir, name);
  const resume = request.resume === true;
  const target = await openTarget(dir, name, resume);
  const { path: tempPath, file } = target;
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
  const verify = request.verify !== false;
  // --no-verify: nothing will be compared, so nothing is computed either.
  const hash: Checksum = verify ? createChecksum(algorithm) : { algorithm, update() {}, digest: () => '' };
  const result = createDeferred<{ reply: Reply; bytes: number }>();
  const offset = resume ? target.bytes : undefined;
  const reader = createDownloadReader(getSink, hash, result, onProgress, offset);
  let kept = false;
  let discard = !resume;
  try {
    // The bytes we have are hashed into the transfer checksum too: the final OK covers the whole file.
    const sha256 = offset ? await hashLocalPrefix(file, offset, hash, tempPath) : undefined;
    const point = offset === undefined ? undefined : sha256 === undefined ? { offset } : { offset, sha256 };
    connection.request(
      encodeRequest({
        verb: 'DOWNLOAD',
        path: remotePath,
        checksum: algorithm,
        ...(point ? { resume: point } : {}),
      }),
      reader,
    );
    const { reply, bytes } = await result.promise;
    await getSink()
      .finish()
      .catch((err) => {
        throw localError('write', tempPath, err);
      });
    const announced = parseChecksum(reply.fields.get('checksum') ?? '');
    if (announced === null) throw protocolError('OK after DATA without checksum=ALGO:HEX');
    if (verify && (announced.algorithm !== algorithm || announced.hex !== hash.digest())) {
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
    return {
      name,
      bytes,
      seconds: (performance.now() - started) / 1000,
      localPath,
      ...(offset === undefined ? {} : { resumedFrom: offset }),
    };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && DISCARDS_PARTIAL.has(code)) discard = true;
    if (resume && code === 'RESUME_MISMATCH' && err instanceof FilehiveClientError) {
      throw new FilehiveClientError(
        code,
        `${err.message}; the partial download was discarded, so the next resume starts over`,
        { fields: { ...err.fields } },
      );
    }
    throw err;
  } finally {
    if (!kept) {
      // Wait for a write in flight before removing (or keeping) the file under it.
      await (sink as FileSink | null)?.finish().catch(() => {});
      // A resumable download keeps what arrived; an empty partial is not worth keeping.
      const size = discard
        ? 0
        : await file.stat().then(
            (s) => s.size,
            () => 0,
          );
      await file.close().catch(() => {});
      if (size === 0) await unlink(tempPath).catch(() => {});
    }
  }
}
