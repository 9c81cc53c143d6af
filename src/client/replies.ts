// Readers for the plain responses: optional ENTRY lines, then one final OK or ERR.
import { parseSize, type Reply } from '../protocol/index.js';
import type { ResponseReader } from './connection.js';
import { takeReply } from './connection.js';
import { type FilehiveClientError, fromErrReply, protocolError } from './errors.js';

/** A promise with its settle functions; a rejection nobody awaits yet is not reported as unhandled. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: FilehiveClientError): void;
}

export function createDeferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: FilehiveClientError) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers await the promise later (an upload awaits its final reply after sending the bytes).
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Reads `[ENTRY...] OK|ERR`: OK resolves, ERR rejects with the server's code and message. */
export function createFinalReader(result: Deferred<Reply>, onEntry?: (entry: Reply) => void): ResponseReader {
  return {
    read(input) {
      for (;;) {
        const reply = takeReply(input);
        if (reply === null) return false;
        if (reply.status === 'ENTRY' && onEntry) {
          onEntry(reply);
          continue;
        }
        if (reply.status === 'OK') result.resolve(reply);
        else if (reply.status === 'ERR') result.reject(fromErrReply(reply));
        else throw protocolError(`unexpected ${reply.status} reply`);
        return true;
      }
    },
    fail: (err) => result.reject(err),
  };
}

/** One entry of a folder listing. */
export interface DirEntry {
  name: string;
  type: 'file' | 'dir' | 'other';
  size: number;
  mtime: Date;
}

/** PROTOCOL.md#dir: an unknown `type` from a newer server is shown as `other`, not refused. */
export function parseEntry(reply: Reply): DirEntry {
  const name = reply.fields.get('name');
  const size = parseSize(reply.fields.get('size') ?? '');
  const mtime = new Date(reply.fields.get('mtime') ?? '');
  if (name === undefined || size === null || Number.isNaN(mtime.getTime())) {
    throw protocolError('ENTRY without a valid name, size or mtime');
  }
  const type = reply.fields.get('type');
  return { name, type: type === 'file' || type === 'dir' ? type : 'other', size, mtime };
}

/** Reads a required field of a reply, or fails the session: the server broke the protocol. */
export function requireField(reply: Reply, key: string): string {
  const value = reply.fields.get(key);
  if (value === undefined) throw protocolError(`${reply.status} reply without ${key}=`);
  return value;
}
