import { join } from 'node:path';
import { encodeReply } from '../../protocol/messages.js';
import { partialFolderOf, partialNameFor, statPartial } from '../../storage/partial-store.js';
import { resolveVirtualPath } from '../../storage/virtual-path.js';
import type { Session } from '../session.js';

/**
 * PARTIAL name size (docs/PROTOCOL.md#resume): how many bytes of a resumable upload of `size` bytes to
 * `name` this account's partial holds. Only a look: the UPLOAD that resumes checks them under the lock.
 */
export async function partial(session: Session, request: { path: string; size: number }): Promise<void> {
  const { jail, locks, config } = session.ctx;
  const target = await jail.resolveName(resolveVirtualPath(session.cwd, request.path));
  const name = partialNameFor(locks.idOf(target.key), session.account?.name ?? '', target.key, request.size);
  const kept = await statPartial(join(partialFolderOf(config.root), name), config.partialTtlMs);
  // More bytes than the size cannot come from an upload of this file: as good as none.
  const bytes = kept !== null && kept.bytes <= request.size ? kept.bytes : 0;
  session.send(
    encodeReply('OK', {
      size: request.size,
      offset: bytes,
      ...(bytes > 0 && kept ? { expires: kept.expiresAt.toISOString() } : {}),
      msg: bytes > 0 ? `${bytes} of ${request.size} bytes kept` : 'no partial upload',
    }),
  );
}
