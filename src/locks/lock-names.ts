// Names inside the lock folder. Pure. A lock for the name `docs/a.bin` (its path relative to the storage
// root) is `<id>.lock/` (proper-lockfile's directory) plus `<id>.holder` (who holds it), where `<id>` is
// a hash of the relative path: deep and long names fit, and every host computes the same id.
import { createHash } from 'node:crypto';

export const SETTINGS_FILE = 'settings.json';
export const LOCK_SUFFIX = '.lock';
export const HOLDER_SUFFIX = '.holder';
export const TEMP_RECORD_SUFFIX = '.temp';
const ID = /^[0-9a-f]{40}$/;

export function lockIdOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 40);
}

export function isLockId(value: string): boolean {
  return ID.test(value);
}

/** `<id>.lock` -> `<id>`; anything else -> null. */
export function lockIdFromEntry(entry: string): string | null {
  if (!entry.endsWith(LOCK_SUFFIX)) return null;
  const id = entry.slice(0, -LOCK_SUFFIX.length);
  return isLockId(id) ? id : null;
}

/**
 * `clock-<host>.probe`: the file each host writes to measure its clock skew against the filesystem
 * (clock-probe.ts). One per host, whatever its instances, so restarts leave nothing behind.
 */
export function clockProbeName(host: string): string {
  const safe = host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'host';
  return `clock-${safe}.probe`;
}
