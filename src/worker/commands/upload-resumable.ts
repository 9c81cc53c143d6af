// UPLOAD ... resume=yes (docs/PROTOCOL.md#resume): the bytes go to the upload's partial in
// ROOT/.filehive/partial/ instead of a temp file. Cut off, the partial stays for --partial-ttl; resumed
// with offset=K sha256=HEX, its first K bytes are checked and the rest is appended. As with every
// upload, the target changes only by one rename, after the whole file's checksum matched.
import { constants } from 'node:fs';
import { copyFile, type FileHandle, lstat, mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { FilehiveError, fromErrno } from '../../errors.js';
import { metrics } from '../../metrics/worker-metrics.js';
import { type Checksum, createChecksum, formatChecksum } from '../../protocol/checksum.js';
import { encodeReply, type ResumePoint } from '../../protocol/messages.js';
import type { NameTarget } from '../../storage/jail.js';
import { partialFolderOf, partialNameFor } from '../../storage/partial-store.js';
import { createTempFile, fsyncDir, removeQuietly, tempPathFor } from '../../storage/temp-files.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import { failureOutcome } from '../connection-lost.js';
import { checkResumePoint } from '../resume-point.js';
import type { Session } from '../session.js';
import { checkFreeSpace, freeBytes } from '../upload-limits.js';
import {
  bodyLength,
  checkClientChecksum,
  receiveAndClose,
  refuseTooLarge,
  skipRefusedBody,
  type UploadRequest,
} from './upload.js';

type ResumableRequest = UploadRequest & { resume: ResumePoint };

/** Never through a link: the partial folder is the server's own, but a name there is still a name. */
const OPEN_EXISTING = constants.O_RDWR | constants.O_APPEND | constants.O_NOFOLLOW;
const OPEN_FRESH = OPEN_EXISTING | constants.O_CREAT | constants.O_TRUNC;

/**
 * Opens the partial for appending after `offset`: a fresh one for offset 0, else the kept one, checked.
 * A kept partial that does not match is removed: it can never complete this file, and the next
 * resumable upload should start over instead of being refused again.
 */
async function openPartial(
  path: string,
  request: ResumableRequest,
  ttlMs: number,
): Promise<{ file: FileHandle; hash: Checksum }> {
  const hash = createChecksum(request.checksum);
  const { offset } = request.resume;
  if (offset === 0 && request.resume.sha256 === undefined) {
    return { file: await open(path, OPEN_FRESH, 0o644), hash };
  }
  const file = await open(path, OPEN_EXISTING).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw fromErrno(err);
    if (offset === 0) return open(path, OPEN_FRESH, 0o644);
    throw new FilehiveError(
      'RESUME_MISMATCH',
      'the server keeps no partial upload of this file (it may have expired); start over from offset 0',
      { fields: { have: '0' } },
    );
  });
  try {
    const stats = await file.stat();
    const expired = Date.now() - stats.mtimeMs >= ttlMs;
    await checkResumePoint(
      file,
      expired ? 0 : stats.size,
      request.resume,
      hash,
      "the server's partial upload",
    );
    if (stats.size > offset) await file.truncate(offset);
    return { file, hash };
  } catch (err) {
    await file.close().catch(() => undefined);
    if (err instanceof FilehiveError && err.code === 'RESUME_MISMATCH') {
      await removeQuietly(path);
      throw new FilehiveError(
        'RESUME_MISMATCH',
        `${err.message}; it was discarded, so the next resume starts over`,
        {
          fields: { ...err.fields },
        },
      );
    }
    throw err;
  }
}

/** The go/no-go checks of a resumable upload, in order, under the target's lock. */
async function prepare(session: Session, request: ResumableRequest) {
  const { jail, locks, config } = session.ctx;
  refuseTooLarge(request.size, config.maxFileSize);
  const target = await jail.resolveName(resolveVirtualPath(session.cwd, request.path));
  const lockId = locks.idOf(target.key);
  const folder = partialFolderOf(config.root);
  const partialPath = join(
    folder,
    partialNameFor(lockId, session.account?.name ?? '', target.key, request.size),
  );
  // An empty temp file beside the target while the upload runs, as any upload has: RMDIR of the folder
  // answers BUSY instead of pulling the folder away. It also carries the bytes when the partial cannot
  // be renamed onto the target (another file system mounted inside the root). Recorded with the lock,
  // so a takeover removes it.
  const tempPath = tempPathFor(target.dir, lockId);
  // The lock on the target's name also guards its partial: one session at a time appends to it.
  const lock = await locks.acquire([target.key], 'upload', tempPath);
  let placeholder = false;
  try {
    const existing = await lstat(target.path).catch(() => null);
    if (existing?.isDirectory()) throw new FilehiveError('IS_A_DIRECTORY', 'a folder has this name');
    await createTempFile(tempPath)
      .then((file) => file.close())
      .catch((err: NodeJS.ErrnoException) => {
        // The folder was removed after the name was resolved (e.g. by RMDIR): a clean NOT_FOUND.
        throw fromErrno(err, err.code === 'ENOENT' ? 'the folder does not exist' : undefined);
      });
    placeholder = true;
    await mkdir(folder, { recursive: true });
    const free = await freeBytes(folder).catch(() => null);
    const noSpace = free === null ? null : checkFreeSpace(bodyLength(request), free, config.minFreeSpace);
    if (noSpace) {
      metrics.refused('no_space');
      throw noSpace;
    }
    const { file, hash } = await openPartial(partialPath, request, config.partialTtlMs);
    return { target, lock, file, hash, partialPath, tempPath };
  } catch (err) {
    if (placeholder) await removeQuietly(tempPath);
    await lock.release();
    throw err;
  }
}

/** Renames the complete partial over the target; across file systems, through a temp file beside it. */
async function moveIntoPlace(partialPath: string, target: NameTarget, tempPath: string, fsync: boolean) {
  try {
    await rename(partialPath, target.path);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw fromErrno(err);
  }
  try {
    // Over our own empty placeholder, created with O_EXCL | O_NOFOLLOW.
    await copyFile(partialPath, tempPath);
    if (fsync) {
      const copy = await open(tempPath, constants.O_RDONLY | constants.O_NOFOLLOW);
      await copy.sync().finally(() => copy.close());
    }
    await rename(tempPath, target.path);
  } catch (err) {
    throw fromErrno(err);
  }
  await removeQuietly(partialPath);
}

export async function uploadResumable(session: Session, request: ResumableRequest): Promise<void> {
  const { config } = session.ctx;
  const prepared = await prepare(session, request).catch(async (err: unknown) => {
    if (request.immediate) await skipRefusedBody(session, request);
    throw err;
  });
  const { target, lock, partialPath, tempPath } = prepared;
  const { offset } = request.resume;
  let file: FileHandle | null = prepared.file;
  let serverHex = '';
  /** False once the partial is known to be wrong (its bytes do not make the client's file). */
  let keep = true;
  let stored = false;
  const transfer = session.ctx.transfers.begin('upload', target.virtual, bodyLength(request));
  let outcome = 'INTERNAL';
  try {
    if (!request.immediate) session.send(encodeReply('GO', { size: request.size, offset }));
    serverHex = await receiveAndClose(
      session,
      file,
      request,
      lock.signal,
      transfer,
      config.fsync,
      prepared.hash,
    );
    file = null;
    await checkClientChecksum(session, request.checksum, serverHex).catch((err: unknown) => {
      // A cut connection may come back for the CHECKSUM line; a wrong line or digest cannot be resumed.
      const code = fromErrno(err).code;
      if (code === 'BAD_REQUEST' || code === 'CHECKSUM_MISMATCH') keep = false;
      throw err;
    });
    lock.signal.throwIfAborted();
    await moveIntoPlace(partialPath, target, tempPath, config.fsync);
    stored = true;
    if (config.fsync) await fsyncDir(target.dir);
    outcome = 'OK';
  } catch (err) {
    outcome = failureOutcome(err);
    throw err;
  } finally {
    transfer.end(outcome);
    await file?.close().catch(() => undefined);
    await removeQuietly(tempPath);
    if (!stored && !lock.signal.aborted) {
      // (A lost lock may already be someone else's: then the partial is theirs to keep or drop.)
      if (!keep || (offset === 0 && transfer.bytes === 0)) await removeQuietly(partialPath);
      else
        session.log.info(
          { path: target.virtual, kept: offset + transfer.bytes },
          'resumable upload cut off, kept',
        );
    }
    await lock.release();
  }
  session.send(
    encodeReply('OK', {
      size: request.size,
      checksum: formatChecksum(request.checksum, serverHex),
      ...(offset > 0 ? { resumed: offset } : {}),
      msg: offset > 0 ? `stored ${target.virtual}, resumed at byte ${offset}` : `stored ${target.virtual}`,
    }),
  );
}
