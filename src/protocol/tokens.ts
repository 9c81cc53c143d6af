// Tokenizing and quoting of protocol lines (docs/PROTOCOL.md#quoting-the-one-escaping-rule). Pure.

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// ignoreBOM keeps a leading U+FEFF: by default the decoder would drop it, and names are byte-exact.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One token: `key` is set for an option token (`key=value` whose key was written bare). */
export interface Token {
  readonly value: string;
  readonly key?: string;
}

export type TokenizeResult = { ok: true; tokens: Token[] } | { ok: false; reason: string };

const KEY = /^[a-z][a-z0-9-]*$/;

function isControl(byte: number): boolean {
  return byte < 0x20 || byte === 0x7f;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

const SIMPLE_ESCAPES: Record<number, number> = { 92: 0x5c, 34: 0x22, 110: 0x0a, 114: 0x0d, 116: 0x09 };

/**
 * Splits one line (without its newline) into tokens. A token may be bare or double-quoted; in
 * `key=value` the value may be quoted on its own (`msg="a b"`). Never throws.
 */
export function tokenize(line: Uint8Array): TokenizeResult {
  const tokens: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i] as number;
    if (c === SPACE || c === TAB) {
      i++;
      continue;
    }
    const bytes: number[] = [];
    let inQuotes = false;
    let quoted = false;
    let keyEnd = -1; // index in `bytes` of a bare `=` seen before any quote
    for (; i < n; i++) {
      const b = line[i] as number;
      if (inQuotes) {
        if (b === QUOTE) {
          inQuotes = false;
          continue;
        }
        if (b === BACKSLASH) {
          const e = line[i + 1];
          if (e === undefined) return { ok: false, reason: 'unfinished escape' };
          const simple = SIMPLE_ESCAPES[e];
          if (simple !== undefined) {
            bytes.push(simple);
            i++;
            continue;
          }
          if (e === 0x78) {
            const hi = hexValue(line[i + 2] ?? 0);
            const lo = hexValue(line[i + 3] ?? 0);
            if (hi < 0 || lo < 0) return { ok: false, reason: 'bad \\x escape' };
            bytes.push(hi * 16 + lo);
            i += 3;
            continue;
          }
          return { ok: false, reason: 'unknown escape' };
        }
        if (isControl(b)) return { ok: false, reason: 'control character in quoted token' };
        bytes.push(b);
        continue;
      }
      if (b === SPACE || b === TAB) break;
      if (b === QUOTE) {
        // A quote opens a quoted run at the start of a token or right after `=` (key="value").
        if (quoted || !(bytes.length === 0 || bytes[bytes.length - 1] === 0x3d)) {
          return { ok: false, reason: 'unexpected quote' };
        }
        inQuotes = true;
        quoted = true;
        continue;
      }
      if (quoted) return { ok: false, reason: 'text after closing quote' };
      if (isControl(b)) return { ok: false, reason: 'control character' };
      if (b === 0x3d && keyEnd < 0) keyEnd = bytes.length;
      bytes.push(b);
    }
    if (inQuotes) return { ok: false, reason: 'missing closing quote' };
    let text: string;
    try {
      text = utf8.decode(Uint8Array.from(bytes));
    } catch {
      return { ok: false, reason: 'invalid UTF-8' };
    }
    const key = keyEnd > 0 ? text.slice(0, text.indexOf('=')) : '';
    tokens.push(KEY.test(key) ? { key, value: text.slice(key.length + 1) } : { value: text });
  }
  return { ok: true, tokens };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what forces quoting
const NEEDS_QUOTES = /[\s"=\\\x00-\x1f\x7f]/;

/** Encodes a string as one token, quoting only when needed. The result never contains CR or LF. */
export function encodeToken(value: string): string {
  if (value.length > 0 && !NEEDS_QUOTES.test(value)) return value;
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Separates positional tokens from `key=value` options. */
export function splitOptions(tokens: readonly Token[]): {
  positional: string[];
  options: Map<string, string>;
} {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (const token of tokens) {
    if (token.key === undefined) positional.push(token.value);
    else options.set(token.key, token.value);
  }
  return { positional, options };
}

/** Encodes `key=value` with the value quoted when needed. */
export function encodeField(key: string, value: string | number): string {
  return `${key}=${encodeToken(String(value))}`;
}
