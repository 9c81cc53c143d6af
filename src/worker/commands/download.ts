import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { FilehiveError, fromErrno } from '../../errors.js';
import type { Transfer } from '../../metrics/transfers.js';
import { createChecksum, formatChecksum } from '../../protocol/checksum.js';
import { encodeReply } from '../../protocol/messages.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import { ConnectionLost } from '../connection-lost.js';
import { waitForDrain } from '../drain.js';
import type { Session } from '../session.js';

const CHUNK = 1 << 20;
/** Bytes queued on the socket before reading more from disk: keeps the wire busy while a read runs. */
const WINDOW = 4 << 20;

/**
 * Sends the file it opens, start to end: an upload that replaces the name meanwhile renames a new file
 * over it, and this descriptor keeps reading the complete old one (PROTOCOL.md#download).
 */
export async function download(session: Session, request: { path: string; checksum: 'xxh3-64' | 'sha256' }) {
  const { jail, locks } = session.ctx;
  const virtual = resolveVirtualPath(session.cwd, request.path);
  const target = await jail.resolveExisting(virtual);
  if (target.stats.isDirectory()) throw new FilehiveError('IS_A_DIRECTORY');
  if (!target.stats.isFile()) throw new FilehiveError('NOT_FOUND', 'not a regular file');
  await locks.assertReadable(target.key);
  const file = await open(target.path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
    throw fromErrno(err, 'no such file');
  });
  let transfer: Transfer | undefined;
  try {
    const { size } = await file.stat();
    const hash = createChecksum(request.checksum);
    const socket = session.socket;
    session.send(encodeReply('DATA', { size, checksum: request.checksum }));
    transfer = session.ctx.transfers.begin('download', virtual, size);
    let position = 0;
    while (position < size) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - position));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) {
        // The file shrank under us (changed by something other than filehive): the frame cannot be kept.
        session.log.warn({ path: virtual }, 'file shrank during download, closing the session');
        socket.destroy();
        throw new ConnectionLost('file shrank');
      }
      const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      hash.update(chunk);
      if (socket.destroyed) throw new ConnectionLost('connection closed');
      socket.write(chunk);
      transfer.progress(bytesRead);
      position += bytesRead;
      if (socket.writableLength >= WINDOW) await waitForDrain(socket);
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
    transfer?.end(err instanceof ConnectionLost ? 'DISCONNECTED' : fromErrno(err).code);
    throw err;
  } finally {
    await file.close();
  }
}
