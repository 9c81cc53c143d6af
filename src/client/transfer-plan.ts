// What an UPLOAD or DOWNLOAD of several names, wildcards or folders (-r) will do, worked out before
// the first byte moves: the files with their source and target, and the folders to create first.
// A missing source, a wildcard that matches nothing or a destination that cannot take the files fails
// the whole command here, with nothing sent (docs/CLIENT.md#many-files).
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import type { FilehiveClient } from './client.js';
import { FilehiveClientError, localError } from './errors.js';
import { compileGlob, hasWildcard, splitLast } from './glob.js';
import type { DirEntry } from './replies.js';

export interface UploadJob {
  localPath: string;
  /** Relative to the session's folder, or absolute. */
  remotePath: string;
  size: number;
}

export interface DownloadJob {
  remotePath: string;
  localDir: string;
  /** The name to save as; the remote name when absent. */
  localName?: string;
  /** From the listing; null for a name given as is (known once DATA arrives). */
  size: number | null;
}

export interface TransferPlan<J> {
  jobs: J[];
  /** Folders to create before the files, parents first: remote for UPLOAD, local for DOWNLOAD. */
  folders: string[];
  /** What a wildcard or -r matched but will not be transferred (folders without -r, devices, links). */
  skipped: string[];
  /** More than one file could come out of the request (several names, a wildcard, -r). */
  multi: boolean;
}

export interface PlanRequest {
  sources: readonly string[];
  /** The last argument when there were two or more: a folder, or one file's new name. */
  destination?: string;
  recursive: boolean;
}

/** Names the client never sends: its own temporary and partial download files. */
function isClientTempName(name: string): boolean {
  return name.startsWith('.filehive') || name.endsWith('.filehive-partial');
}

/** Whether a request can give more than one file; then the destination must be a folder. */
export function isMulti(request: PlanRequest): boolean {
  return (
    request.sources.length > 1 ||
    request.recursive ||
    request.sources.some((s) => hasWildcard(splitLast(s).name))
  );
}

/** A destination written as a folder: `docs/`, `.`, `..`, `/`. */
function namesFolder(path: string): boolean {
  return path.endsWith('/') || ['.', '..'].includes(splitLast(path).name);
}

/**
 * Whether a remote path is a folder, a file or nothing, in one round trip: CHDIR there and CHDIR
 * back go out together (replies come in order, so the session ends where it started).
 */
export async function probeRemote(client: FilehiveClient, path: string): Promise<'dir' | 'file' | 'none'> {
  const home = client.cwd;
  const [there, back] = await Promise.allSettled([client.chdir(path), client.chdir(home)]);
  if (back.status === 'rejected') throw back.reason;
  if (there.status === 'fulfilled') return 'dir';
  const code = (there.reason as FilehiveClientError).code;
  if (code === 'NOT_A_DIRECTORY') return 'file';
  if (code === 'NOT_FOUND') return 'none';
  throw there.reason;
}

function notAFolder(destination: string, kind: 'file' | 'none', where: 'remote' | 'local') {
  if (kind === 'none') {
    const fix = where === 'remote' ? 'MKDIR it first' : 'create it first';
    return new FilehiveClientError('NOT_FOUND', `no ${where} folder ${destination} (${fix})`);
  }
  return new FilehiveClientError(
    'NOT_A_DIRECTORY',
    `${destination} is a ${where} file: several files need a folder to go into`,
  );
}

// ---- UPLOAD ----------------------------------------------------------------------------------------

interface LocalSource {
  path: string;
  kind: 'file' | 'dir';
  size: number;
}

/** The local files and folders one source names; a wildcard is matched in its folder. */
async function expandLocal(source: string, recursive: boolean, skipped: string[]): Promise<LocalSource[]> {
  const { dir, name } = splitLast(source);
  if (!hasWildcard(name)) {
    const info = await stat(source).catch((err) => {
      throw localError('open', source, err);
    });
    if (info.isFile()) return [{ path: source, kind: 'file', size: info.size }];
    if (info.isDirectory()) {
      if (recursive) return [{ path: source, kind: 'dir', size: 0 }];
      throw new FilehiveClientError('LOCAL_ERROR', `${source} is a folder (use UPLOAD -r)`);
    }
    throw new FilehiveClientError('LOCAL_ERROR', `${source} is not a regular file`);
  }
  const folder = dir === '' ? '.' : dir;
  const matches = compileGlob(name);
  const entries = await readdir(folder, { withFileTypes: true }).catch((err) => {
    throw localError('read', folder, err);
  });
  const found: LocalSource[] = [];
  const passed: string[] = [];
  for (const entry of sortByName(entries.filter((e) => matches(e.name) && !isClientTempName(e.name)))) {
    const path = dir === '' ? entry.name : join(dir, entry.name);
    const info = await stat(path).catch(() => null);
    if (info?.isFile()) found.push({ path, kind: 'file', size: info.size });
    else if (info?.isDirectory() && recursive && !entry.isSymbolicLink()) {
      found.push({ path, kind: 'dir', size: 0 });
    } else passed.push(path);
  }
  if (found.length === 0) throw noMatch(source, 'local', passed.length);
  skipped.push(...passed);
  return found;
}

/** A wildcard that gave nothing to transfer; `passed` counts the folders and others it matched. */
function noMatch(source: string, where: 'local' | 'remote', passed: number): FilehiveClientError {
  const what = where === 'local' ? 'no local file' : 'nothing on the server';
  const also = passed > 0 ? ` (only ${passed} folder(s) or special file(s): use -r for folders)` : '';
  return new FilehiveClientError('NOT_FOUND', `${what} matches ${source}${also}`);
}

/** Folders nested deeper than this stop the walk: on the server, links can make a folder its own child. */
export const MAX_DEPTH = 64;

function tooDeep(path: string): FilehiveClientError {
  return new FilehiveClientError(
    'LOCAL_ERROR',
    `${path} is nested more than ${MAX_DEPTH} folders deep (a link loop?); not walking further`,
  );
}

function sortByName<T extends { name: string }>(entries: T[]): T[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Everything under a local folder, parents before children. Links to files are sent as the files
 * they point to; links to folders are skipped, so a loop of links cannot make the walk endless.
 */
async function walkLocal(
  dir: string,
  remoteDir: string,
  plan: TransferPlan<UploadJob>,
  depth = 1,
): Promise<void> {
  if (depth > MAX_DEPTH) throw tooDeep(dir);
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch((err) => {
    throw localError('read', dir, err);
  });
  const kept = sortByName(entries.filter((e) => !isClientTempName(e.name)));
  const infos = await Promise.all(
    kept.map((e) => (e.isDirectory() ? null : stat(join(dir, e.name)).catch(() => null))),
  );
  for (const [i, entry] of kept.entries()) {
    const path = join(dir, entry.name);
    const remotePath = posix.join(remoteDir, entry.name);
    if (entry.isDirectory()) {
      plan.folders.push(remotePath);
      await walkLocal(path, remotePath, plan, depth + 1);
      continue;
    }
    const info = infos[i];
    if (info?.isFile()) plan.jobs.push({ localPath: path, remotePath, size: info.size });
    else plan.skipped.push(path);
  }
}

/** UPLOAD's plan: local names, wildcards and folders against the remote folder or `destination`. */
export async function planUpload(
  client: FilehiveClient,
  request: PlanRequest,
): Promise<TransferPlan<UploadJob>> {
  const plan: TransferPlan<UploadJob> = { jobs: [], folders: [], skipped: [], multi: isMulti(request) };
  const sources: LocalSource[] = [];
  for (const source of request.sources)
    sources.push(...(await expandLocal(source, request.recursive, plan.skipped)));

  let base = '';
  const { destination } = request;
  if (destination !== undefined) {
    const kind = await probeRemote(client, destination);
    const [only] = sources;
    if (kind === 'dir') base = destination;
    else if (!plan.multi && !namesFolder(destination) && only?.kind === 'file') {
      return { ...plan, jobs: [{ localPath: only.path, remotePath: destination, size: only.size }] };
    } else throw notAFolder(destination, kind, 'remote');
  }
  for (const source of sources) {
    // The name of `.` or `..` is the folder's real name, never `..` on the server.
    const remotePath = posix.join(base, basename(resolve(source.path)));
    if (source.kind === 'file') plan.jobs.push({ localPath: source.path, remotePath, size: source.size });
    else {
      plan.folders.push(remotePath);
      await walkLocal(source.path, remotePath, plan);
    }
  }
  return plan;
}

// ---- DOWNLOAD --------------------------------------------------------------------------------------

/** A name from a listing that can be a local file name as it is (a server could send anything). */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

async function walkRemote(
  client: FilehiveClient,
  remoteDir: string,
  localDir: string,
  plan: TransferPlan<DownloadJob>,
  listed?: DirEntry[],
  depth = 1,
): Promise<void> {
  if (depth > MAX_DEPTH) throw tooDeep(remoteDir);
  const entries = listed ?? (await client.list(remoteDir));
  for (const entry of entries) {
    const remotePath = posix.join(remoteDir, entry.name);
    if (!isPlainName(entry.name) || isClientTempName(entry.name) || entry.type === 'other') {
      plan.skipped.push(remotePath);
    } else if (entry.type === 'dir') {
      const local = join(localDir, entry.name);
      plan.folders.push(local);
      await walkRemote(client, remotePath, local, plan, undefined, depth + 1);
    } else {
      plan.jobs.push({ remotePath, localDir, size: entry.size });
    }
  }
}

/** The local folder a remote folder becomes: its own name (for `.`, `..` and `/`, the real one). */
function localFolderFor(client: FilehiveClient, remote: string, base: string): string {
  const name = posix.basename(posix.resolve(client.cwd, remote));
  return name === '' ? base : join(base, name);
}

/**
 * DOWNLOAD's plan: remote names, wildcards (one DIR of their folder) and folders (-r) against the
 * download folder, or `destination` (relative to the download folder).
 */
export async function planDownload(
  client: FilehiveClient,
  request: PlanRequest,
  downloadDir: string,
): Promise<TransferPlan<DownloadJob>> {
  const plan: TransferPlan<DownloadJob> = { jobs: [], folders: [], skipped: [], multi: isMulti(request) };
  let base = downloadDir;
  let rename: { dir: string; name: string } | null = null;
  const { destination } = request;
  if (destination !== undefined) {
    const target = resolve(downloadDir, destination);
    const info = await stat(target).catch(() => null);
    if (info?.isDirectory()) base = target;
    else if (!plan.multi && !namesFolder(destination)) {
      rename = { dir: resolve(target, '..'), name: basename(target) };
    } else throw notAFolder(destination, info ? 'file' : 'none', 'local');
  }
  for (const source of request.sources) {
    const { dir, name } = splitLast(source);
    if (hasWildcard(name)) {
      const folder = dir === '' ? '.' : dir;
      const matches = compileGlob(name);
      const entries = (await client.list(folder)).filter((e) => matches(e.name));
      const before = plan.jobs.length + plan.folders.length;
      const skippedBefore = plan.skipped.length;
      for (const entry of entries) {
        const remotePath = dir === '' ? entry.name : posix.join(dir, entry.name);
        if (entry.type === 'file' && isPlainName(entry.name)) {
          plan.jobs.push({ remotePath, localDir: base, size: entry.size });
        } else if (entry.type === 'dir' && request.recursive && isPlainName(entry.name)) {
          const local = join(base, entry.name);
          plan.folders.push(local);
          await walkRemote(client, remotePath, local, plan);
        } else plan.skipped.push(remotePath);
      }
      if (plan.jobs.length + plan.folders.length === before) {
        throw noMatch(source, 'remote', plan.skipped.length - skippedBefore);
      }
      continue;
    }
    if (request.recursive) {
      // One DIR tells a folder (its listing) from a file (NOT_A_DIRECTORY).
      const listed = await client.list(source).catch((err: FilehiveClientError) => {
        if (err.code === 'NOT_A_DIRECTORY') return null;
        throw err;
      });
      if (listed !== null) {
        const local = localFolderFor(client, source, base);
        if (local !== base) plan.folders.push(local);
        await walkRemote(client, source, local, plan, listed);
        continue;
      }
    }
    plan.jobs.push(
      rename
        ? { remotePath: source, localDir: rename.dir, localName: rename.name, size: null }
        : { remotePath: source, localDir: base, size: null },
    );
  }
  return plan;
}
