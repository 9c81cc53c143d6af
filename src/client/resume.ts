// Resumed transfers, client side (PROTOCOL.md#resume). An upload asks the server how much it kept
// (PARTIAL), then sends `offset` and the SHA-256 of its own first `offset` bytes, which the server
// checks before GO. A download keeps its bytes in `.NAME.filehive-partial` and sends the same pair.
// Either way the final checksum covers the whole file.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  type Checksum,
  createChecksum,
  encodeRequest,
  formatChecksum,
  parseSize,
  type Reply,
} from '../protocol/index.js';
import type { Connection } from './connection.js';
import { FilehiveClientError, localError, protocolError } from './errors.js';
import { createDeferred, createFinalReader } from './replies.js';
import { sendUpload, type UploadRequest, type UploadResult } from './upload.js';

const CHUNK_BYTES = 1024 * 1024;
const PARTIAL_SUFFIX = '.filehive-partial';
/** File names longer than this (in bytes) cannot be created on common file systems. */
const MAX_NAME_BYTES = 255;

/** The server must offer resuming (greeting `features=resume`) before either side asks for it. */
export function assertResumable(features: readonly string[]): void {
  if (!features.includes('resume')) {
    throw new FilehiveClientError('UNSUPPORTED', 'this server cannot resume transfers (no "resume" feature)');
  }
}

/**
 * Where a resumable download of `name` keeps its bytes: `.NAME.filehive-partial` beside the file it
 * becomes, so a later DOWNLOAD --resume finds it. A name too long for that gets a hash of itself.
 */
export function partialDownloadName(name: string): string {
  const plain = `.${name}${PARTIAL_SUFFIX}`;
  if (Buffer.byteLength(plain) <= MAX_NAME_BYTES) return plain;
  return `.${createHash('sha256').update(name).digest('hex').slice(0, 32)}${PARTIAL_SUFFIX}`;
}

/**
 * Opens (or creates) a resumable download's partial for appending: never through a symbolic link,
 * never anything but a plain file. Returns the handle and the bytes it already holds.
 */
export async function openPartialDownload(path: string): Promise<{ file: FileHandle; bytes: number }> {
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW;
  const file = await open(path, flags, 0o666).catch((err) => {
    throw localError('open', path, err);
  });
  const stats = await file.stat().catch(async (err) => {
    await file.close().catch(() => {});
    throw localError('read', path, err);
  });
  if (!stats.isFile()) {
    await file.close().catch(() => {});
    throw new FilehiveClientError('LOCAL_ERROR', `${path} is not a regular file`);
  }
  return { file, bytes: stats.size };
}

/**
 * Reads the first `length` bytes of `file` into `checksum` and a SHA-256; returns the SHA-256 hex.
 * A file shorter than `length` is a LOCAL_ERROR (it changed while we looked).
 */
export async function hashLocalPrefix(
  file: FileHandle,
  length: number,
  checksum: Checksum,
  path: string,
): Promise<string> {
  const sha256 = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(length, 1)));
  let position = 0;
  while (position < length) {
    const { bytesRead } = await file
      .read(buffer, 0, Math.min(buffer.length, length - position), position)
      .catch((err) => {
        throw localError('read', path, err);
      });
    if (bytesRead === 0) {
      throw new FilehiveClientError('LOCAL_ERROR', `${path} shrank below ${length} bytes while reading it`);
    }
    const chunk = buffer.subarray(0, bytesRead);
    sha256.update(chunk);
    checksum.update(chunk);
    position += bytesRead;
  }
  return sha256.digest('hex');
}

/** PARTIAL: how many bytes of an upload of `size` bytes to `remoteName` the server keeps. */
async function queryPartial(connection: Connection, remoteName: string, size: number): Promise<number> {
  const result = createDeferred<Reply>();
  connection.request(encodeRequest({ verb: 'PARTIAL', path: remoteName, size }), createFinalReader(result));
  const reply = await result.promise;
  const offset = parseSize(reply.fields.get('offset') ?? '');
  if (offset === null || offset > size) throw protocolError('PARTIAL reply without a valid offset=');
  return offset;
}

/** UPLOAD ... resume=yes: continue after what the server kept, or start a partial it will keep. */
export async function runResumableUpload(
  connection: Connection,
  file: FileHandle,
  request: UploadRequest,
  size: number,
): Promise<UploadResult> {
  const { remoteName, checksum: algorithm } = request;
  const started = performance.now();
  const offset = await queryPartial(connection, remoteName, size);
  const hash = createChecksum(algorithm);
  const sha256 = await hashLocalPrefix(file, offset, hash, request.localPath);
  const resume = offset > 0 ? { offset, sha256 } : { offset: 0 };
  const line = encodeRequest({ verb: 'UPLOAD', path: remoteName, size, checksum: algorithm, resume });
  const hex = await sendUpload(connection, line, file, request, size, {
    offset,
    hash,
    checkGo(go) {
      if (parseSize(go.fields.get('offset') ?? '') !== offset) {
        throw protocolError(`GO for a resumed upload must say offset=${offset}`);
      }
    },
  });
  return {
    name: remoteName,
    bytes: size,
    seconds: (performance.now() - started) / 1000,
    checksum: formatChecksum(algorithm, hex),
    resumedFrom: offset,
  };
}
