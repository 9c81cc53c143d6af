// Virtual paths: what a client sees, `/`-rooted at the share. Pure (docs/PROTOCOL.md#paths).
import { posix } from 'node:path';
import { FilehiveError } from '../errors.js';

export const RESERVED_PREFIX = '.filehive';
const MAX_COMPONENT_BYTES = 255;
const MAX_PATH_BYTES = 4096;

/**
 * What a network filesystem's client leaves for a file deleted or replaced while it is open, until it
 * is closed: libfuse (sshfs) `.fuse_hidden` + 16 hex digits, Linux NFS `.nfs` + 24 hex digits. They
 * hold an old version of some file, not a file of their own (docs/OPERATIONS.md#several-hosts).
 */
const PLACEHOLDER = /^\.(?:fuse_hidden[0-9a-f]{16}|nfs[0-9a-f]{24})$/i;

export function isPlaceholderName(name: string): boolean {
  return PLACEHOLDER.test(name);
}

/**
 * Names the server keeps for itself (state folder, temp files), in any letter case, and network
 * filesystem placeholders: clients neither see nor use them.
 */
export function isReservedName(name: string): boolean {
  return name.slice(0, RESERVED_PREFIX.length).toLowerCase() === RESERVED_PREFIX || isPlaceholderName(name);
}

/**
 * Resolves `input` against the session's folder `cwd` into a normalized absolute virtual path such as
 * `/docs/a.bin` or `/`. `..` above the root is refused, not clamped: a client that tries it is
 * confused or hostile, and silently serving `/` would hide that.
 */
export function resolveVirtualPath(cwd: string, input: string): string {
  if (input.length === 0) throw new FilehiveError('BAD_PATH', 'empty path');
  if (input.includes('\0')) throw new FilehiveError('BAD_PATH', 'NUL byte in path');
  const parts: string[] = [];
  const joined = input.startsWith('/') ? input : `${cwd}/${input}`;
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw new FilehiveError('BAD_PATH', 'path leaves the share');
      parts.pop();
      continue;
    }
    if (isPlaceholderName(part))
      throw new FilehiveError('BAD_PATH', 'the name of a network filesystem placeholder is reserved');
    if (isReservedName(part))
      throw new FilehiveError('BAD_PATH', `names starting with ${RESERVED_PREFIX} are reserved`);
    if (Buffer.byteLength(part) > MAX_COMPONENT_BYTES) throw new FilehiveError('BAD_PATH', 'name too long');
    parts.push(part);
  }
  const resolved = `/${parts.join('/')}`;
  if (Buffer.byteLength(resolved) > MAX_PATH_BYTES) throw new FilehiveError('BAD_PATH', 'path too long');
  return resolved;
}

export function virtualParent(virtualPath: string): string {
  return posix.dirname(virtualPath);
}

export function virtualBase(virtualPath: string): string {
  return posix.basename(virtualPath);
}

/** True when `inner` is `outer` or lies below it (`/a` contains `/a/b`, not `/ab`). */
export function isWithin(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}
