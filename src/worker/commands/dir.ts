import type { Dir, Dirent } from 'node:fs';
import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FilehiveError } from '../../errors.js';
import { encodeReply } from '../../protocol/messages.js';
import type { Jail } from '../../storage/jail.js';
import { isReservedName, resolveVirtualPath } from '../../storage/virtual-path.js';
import { waitForDrain } from '../drain.js';
import type { Session } from '../session.js';

const BATCH = 128;
/** Enough for any folder people browse; held as latin1 strings, 100,000 names take under 10 MB. */
const DEFAULT_SORT_LIMIT = 100_000;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A name held as latin1 (one char per byte) back to its UTF-8 text; null when it is not valid UTF-8. */
function decodeName(raw: string): string | null {
  try {
    return utf8.decode(Buffer.from(raw, 'latin1'));
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

/** Names a DIR holds in memory to sort them; FILEHIVE_DIR_SORT_LIMIT (undocumented) lowers it for tests. */
function sortLimit(): number {
  const value = Number(process.env.FILEHIVE_DIR_SORT_LIMIT);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_SORT_LIMIT;
}

/**
 * Up to `max` more names from the folder (fewer only at its end), as latin1 strings: a quarter of the
 * memory of a Buffer each (measured: 64 against 260 bytes), and their default sort is byte order.
 */
async function readNames(handle: Dir, max: number): Promise<string[]> {
  const names: string[] = [];
  while (names.length < max) {
    const entry = (await handle.read()) as Dirent<Buffer> | null;
    if (entry === null) break;
    names.push(entry.name.toString('latin1'));
  }
  return names;
}

/**
 * Lists a folder, stat-ing in batches so a huge folder never stalls the worker's other sessions. Up to
 * the sort limit the entries come in name order; a bigger folder is streamed in the order the file
 * system gives, with `sorted=no` in the final reply, so memory stays bounded (PROTOCOL.md#dir).
 */
export async function dir(session: Session, request: { path: string }): Promise<void> {
  const jail = session.ctx.jail;
  const virtual = resolveVirtualPath(session.cwd, request.path);
  const target = await jail.resolveExisting(virtual);
  if (!target.stats.isDirectory()) throw new FilehiveError('NOT_A_DIRECTORY');
  let count = 0;
  let skipped = 0;
  const send = async (names: string[]): Promise<void> => {
    const batch = names.map(decodeName).filter((name): name is string => {
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
    if (session.socket.writableNeedDrain) await waitForDrain(session);
  };
  // Buffer names: a name that is not valid UTF-8 must be seen as such, not silently replaced.
  const options = { encoding: 'buffer', bufferSize: 256 } as unknown as { bufferSize: number };
  const handle = await opendir(target.path, options);
  const limit = sortLimit();
  let sorted: boolean;
  try {
    // One name past the limit tells whether the whole folder fits.
    const held = await readNames(handle, limit + 1);
    sorted = held.length <= limit;
    if (sorted) held.sort();
    for (let i = 0; i < held.length; i += BATCH) await send(held.slice(i, i + BATCH));
    held.length = 0;
    if (!sorted) {
      for (
        let names = await readNames(handle, BATCH);
        names.length > 0;
        names = await readNames(handle, BATCH)
      )
        await send(names);
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
  if (skipped > 0)
    session.log.warn({ skipped, path: virtual }, 'names that are not valid UTF-8 were not listed');
  if (!sorted)
    session.log.info({ count, limit, path: virtual }, 'folder over the sort limit, listed unsorted');
  const msg = `${count} ${count === 1 ? 'entry' : 'entries'}${sorted ? '' : `, unsorted (more than ${limit})`}`;
  session.send(encodeReply('OK', { count, path: virtual, ...(sorted ? {} : { sorted: 'no' }), msg }));
}
