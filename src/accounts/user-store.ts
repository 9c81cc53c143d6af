// Reading and writing the users file on disk. Writes are atomic (temp file, fsync, rename) with mode
// 0600, so a server reading the file never sees half of an edit.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseUsersFile, serializeUsersFile, type UserEntry } from './users-file.js';

/** A users file that cannot be used, with one line saying why (the path included). */
export class UsersFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsersFileError';
  }
}

export interface LoadedUsers {
  readonly users: UserEntry[];
  /** Problems worth a warning that do not stop the server (e.g. the file is readable by others). */
  readonly warnings: string[];
}

/** Group- or world-writable: anyone in the group could add an account (OpenSSH's StrictModes refuses too). */
const UNSAFE_WRITE = 0o022;
const UNSAFE_READ = 0o044;

/** Reads and validates the file. Throws UsersFileError; `missingOk` turns a missing file into no users. */
export async function loadUsersFile(
  path: string,
  options: { missingOk?: boolean } = {},
): Promise<LoadedUsers> {
  let text: string;
  const warnings: string[] = [];
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw new UsersFileError(`users file ${path} is not a regular file`);
    if ((stats.mode & UNSAFE_WRITE) !== 0) {
      throw new UsersFileError(
        `users file ${path} is writable by other users (mode ${(stats.mode & 0o777).toString(8)}); chmod 600 ${path}`,
      );
    }
    if ((stats.mode & UNSAFE_READ) !== 0) {
      warnings.push(`users file ${path} is readable by other users; chmod 600 ${path}`);
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof UsersFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.missingOk) return { users: [], warnings };
    throw new UsersFileError(`cannot read users file ${path}: ${describe(code, err)}`, { cause: err });
  }
  const parsed = parseUsersFile(text);
  if (!parsed.ok) {
    const [first, ...rest] = parsed.problems;
    const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
    throw new UsersFileError(`users file ${path} line ${first?.line}: ${first?.message}${more}`);
  }
  return { users: parsed.users, warnings };
}

function describe(code: string | undefined, err: unknown): string {
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder';
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** Replaces the file with `users` in one step: temp file beside it (mode 0600), fsync, rename. */
export async function writeUsersFile(path: string, users: readonly UserEntry[]): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(serializeUsersFile(users), 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsersFileError(`cannot write users file ${path}: ${describe(code, err)}`, { cause: err });
  }
  // The rename is durable only once the folder is flushed too.
  const dir = await open(dirname(path), 'r').catch(() => null);
  await dir?.sync().catch(() => undefined);
  await dir?.close();
}
