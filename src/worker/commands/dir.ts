import type { Dirent } from 'node:fs';
import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FilehiveError } from '../../errors.js';
import { encodeReply } from '../../protocol/messages.js';
import type { Jail } from '../../storage/jail.js';
import { isReservedName, resolveVirtualPath } from '../../storage/virtual-path.js';
import { waitForDrain } from '../drain.js';
import type { Session } from '../session.js';

const BATCH = 128;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeName(raw: Buffer): string | null {
  try {
    return utf8.decode(raw);
  } catch {
    return null;
  }
}

/** Type, size and mtime of one entry; links are followed only while they stay inside the share. */
async function describe(
  jail: Jail,
  dir: string,
  name: string,
): Promise<{ type: string; size: number; mtime: Date }> {
  const path = join(dir, name);
  try {
    let stats = await lstat(path);
    if (stats.isSymbolicLink()) {
      const real = await realpath(path).catch(() => null);
      if (real === null || !jail.contains(real)) return { type: 'other', size: 0, mtime: stats.mtime };
      stats = await stat(real);
    }
    const type = stats.isFile() ? 'file' : stats.isDirectory() ? 'dir' : 'other';
    return { type, size: type === 'file' ? stats.size : 0, mtime: stats.mtime };
  } catch {
    return { type: 'other', size: 0, mtime: new Date(0) };
  }
}

/** Lists a folder in name order, stat-ing in batches so a huge folder never stalls the worker's other sessions. */
export async function dir(session: Session, request: { path: string }): Promise<void> {
  const jail = session.ctx.jail;
  const virtual = resolveVirtualPath(session.cwd, request.path);
  const target = await jail.resolveExisting(virtual);
  if (!target.stats.isDirectory()) throw new FilehiveError('NOT_A_DIRECTORY');
  const names: Buffer[] = [];
  let skipped = 0;
  // Buffer names: a name that is not valid UTF-8 must be seen as such, not silently replaced.
  const options = { encoding: 'buffer', bufferSize: 256 } as unknown as { bufferSize: number };
  const handle = (await opendir(target.path, options)) as unknown as AsyncIterable<Dirent<Buffer>>;
  for await (const entry of handle) names.push(entry.name);
  names.sort(Buffer.compare);
  let count = 0;
  for (let i = 0; i < names.length; i += BATCH) {
    const batch = names
      .slice(i, i + BATCH)
      .map(decodeName)
      .filter((name): name is string => {
        if (name === null) skipped++;
        return name !== null && !isReservedName(name);
      });
    const described = await Promise.all(batch.map((name) => describe(jail, target.path, name)));
    let text = '';
    for (const [j, name] of batch.entries()) {
      const d = described[j] as { type: string; size: number; mtime: Date };
      text += encodeReply('ENTRY', { type: d.type, size: d.size, mtime: d.mtime.toISOString(), name });
    }
    count += batch.length;
    if (text) session.send(text);
    if (session.socket.writableNeedDrain) await waitForDrain(session.socket);
  }
  if (skipped > 0)
    session.log.warn({ skipped, path: virtual }, 'names that are not valid UTF-8 were not listed');
  session.send(
    encodeReply('OK', { count, path: virtual, msg: `${count} ${count === 1 ? 'entry' : 'entries'}` }),
  );
}
