// Turning what the user typed into commands. Arguments use the protocol's own tokenizer
// (PROTOCOL.md#quoting-the-one-escaping-rule), so a name is quoted the same way in both places.
import { tokenize } from '../protocol/index.js';
import { FilehiveClientError } from './errors.js';

export interface CommandLine {
  /** Upper-cased command word. */
  name: string;
  args: string[];
}

/**
 * Splits a `-c` list on `;` outside double quotes. Inside quotes `\"` and `\\` are escapes (as in the
 * tokenizer), so `"a\";b"` stays one piece. Empty pieces are kept; the caller skips them.
 */
export function splitCommandList(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes && ch === '\\') i++;
    else if (ch === '"') inQuotes = !inQuotes;
    else if (ch === ';' && !inQuotes) {
      pieces.push(text.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** True for lines a batch skips: blank, or a `#` comment. */
export function isSkippable(line: string): boolean {
  const trimmed = line.trim();
  return trimmed === '' || trimmed.startsWith('#');
}

/**
 * A batch line written `-CMD` (or `- CMD`) goes on after CMD fails, like `sftp -b`. Returns the line
 * without the mark and whether it was there.
 */
export function stripContinueMark(line: string): { text: string; continueOnError: boolean } {
  const trimmed = line.trimStart();
  if (!trimmed.startsWith('-')) return { text: line, continueOnError: false };
  return { text: trimmed.slice(1), continueOnError: true };
}

/** Parses one command line; null for a blank line. Bad quoting is a USAGE error. */
export function parseCommandLine(line: string): CommandLine | null {
  const result = tokenize(Buffer.from(line, 'utf8'));
  if (!result.ok) throw new FilehiveClientError('USAGE', result.reason);
  // The tokenizer splits bare `key=value` tokens for reply fields; a command argument is the whole text.
  const words = result.tokens.map((token) =>
    token.key === undefined ? token.value : `${token.key}=${token.value}`,
  );
  const [first, ...args] = words;
  if (first === undefined) return null;
  return { name: first.toUpperCase(), args };
}

/** A TCP port to connect to, 1-65535 in plain digits; null otherwise. */
export function parsePort(text: string): number | null {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  return port >= 1 && port <= 65_535 ? port : null;
}
