// How the CLI shows sizes, rates, listings and names. Pure.
import { encodeToken } from '../protocol/index.js';
import type { DirEntry } from './replies.js';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Binary units with one decimal (`12.4 MiB`); plain bytes below 1 KiB (`512 B`). */
export function formatBytes(bytes: number): string {
  if (Math.round(bytes) < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  // Compare the rounded value, so 1023.96 KiB becomes `1.0 MiB`, not `1024.0 KiB`.
  while (Number(value.toFixed(1)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Bytes per second in binary units; a transfer too fast to time counts as taking 1 ms. */
export function formatRate(bytes: number, seconds: number): string {
  return `${formatBytes(bytes / Math.max(seconds, 0.001))}/s`;
}

export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(2)} s`;
}

/**
 * `uploaded report.pdf 12.4 MiB in 0.21 s (59.0 MiB/s)`; a resumed transfer adds where it resumed,
 * and its rate counts only the bytes that travelled: `..., resumed at 8.0 MiB`.
 */
export function formatTransfer(
  verb: 'uploaded' | 'downloaded',
  name: string,
  bytes: number,
  seconds: number,
  resumedFrom = 0,
): string {
  const line = `${verb} ${displayName(name)} ${formatBytes(bytes)} in ${formatSeconds(seconds)} (${formatRate(bytes - resumedFrom, seconds)})`;
  return resumedFrom > 0 ? `${line}, resumed at ${formatBytes(resumedFrom)}` : line;
}

/** `YYYY-MM-DD HH:MM` in UTC, so listings do not depend on the viewer's time zone. */
export function formatMtime(mtime: Date): string {
  return mtime.toISOString().slice(0, 16).replace('T', ' ');
}

const TYPE_MARKS: Record<DirEntry['type'], string> = { dir: 'd', file: '-', other: '?' };

/** One line per entry: type mark, size in bytes right-aligned to the widest, mtime, name. */
export function formatListing(entries: readonly DirEntry[]): string[] {
  const width = Math.max(1, ...entries.map((e) => String(e.size).length));
  return entries.map(
    (e) =>
      `${TYPE_MARKS[e.type]} ${String(e.size).padStart(width)} ${formatMtime(e.mtime)} ${displayName(e.name)}`,
  );
}

// C1 controls (U+0080-U+009F) include CSI, which a terminal would obey like ESC [.
const C1_CONTROLS = /[\u0080-\u009f]/;

/**
 * A name as the user would type it in a command: bare when it can be, else quoted with the protocol's
 * escapes. That also keeps control characters in a remote name from reaching the terminal raw; C1
 * controls, which the protocol quoting leaves alone, are written as their UTF-8 bytes (`\xc2\x9b`).
 */
export function displayName(name: string): string {
  const token = encodeToken(name);
  if (!C1_CONTROLS.test(name)) return token;
  const quoted = token.startsWith('"') ? token.slice(1, -1) : token;
  let out = '';
  for (const ch of quoted) {
    out += C1_CONTROLS.test(ch)
      ? [...Buffer.from(ch, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')
      : ch;
  }
  return `"${out}"`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to neutralise
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/** A server message or local error text on one line, without terminal control characters. */
export function displayMessage(text: string): string {
  return text.replace(CONTROLS, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
