// Wildcards for UPLOAD and DOWNLOAD (docs/CLIENT.md#wildcards). Only the last component of a path is
// a pattern (`logs/*.log`, not `logs-*/a.log`), on both sides, so expanding a remote pattern costs one
// DIR of one folder; -r is the way into subfolders. Pure.

/** One piece of a compiled pattern. */
type Part =
  | { kind: 'text'; text: string }
  | { kind: 'any' }
  | { kind: 'one' }
  | { kind: 'set'; negated: boolean; ranges: Array<[string, string]> };

/**
 * Reads a pattern: `*` any run of characters, `?` one character, `[abc]`, `[a-z]` and `[!abc]` (or
 * `[^abc]`) one character of (or not of) a set. A `[` without a closing `]` is an ordinary character;
 * `[*]` is the way to write a literal `*` (there is no backslash escape: a backslash is a legal name
 * character, and the command line already uses it inside quotes). `**` means the same as `*`.
 */
function parsePattern(pattern: string): Part[] {
  const chars = [...pattern];
  const parts: Part[] = [];
  const pushText = (text: string) => {
    const last = parts.at(-1);
    if (last?.kind === 'text') last.text += text;
    else parts.push({ kind: 'text', text });
  };
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') {
      if (parts.at(-1)?.kind !== 'any') parts.push({ kind: 'any' });
    } else if (ch === '?') {
      parts.push({ kind: 'one' });
    } else if (ch === '[') {
      const set = parseSet(chars, i + 1);
      if (set === null) pushText(ch);
      else {
        parts.push(set.part);
        i = set.end;
      }
    } else {
      pushText(ch);
    }
  }
  return parts;
}

/** A bracket set starting after `[` at `start`; null when there is no closing `]`. */
function parseSet(chars: string[], start: number): { part: Part; end: number } | null {
  let i = start;
  let negated = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negated = true;
    i++;
  }
  const ranges: Array<[string, string]> = [];
  // A `]` right after the opening (or after the negation) belongs to the set.
  let first = true;
  for (; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === ']' && !first) return { part: { kind: 'set', negated, ranges }, end: i };
    first = false;
    const to = chars[i + 2];
    if (chars[i + 1] === '-' && to !== undefined && to !== ']') {
      ranges.push([ch, to]);
      i += 2;
    } else {
      ranges.push([ch, ch]);
    }
  }
  return null;
}

/** True when `pattern` has a wildcard (`*`, `?` or a complete `[...]` set). */
export function hasWildcard(pattern: string): boolean {
  return parsePattern(pattern).some((part) => part.kind !== 'text');
}

/** One step of a match: `*`, or a test for exactly one character. */
type Step = 'star' | ((ch: string) => boolean);

function toSteps(parts: Part[]): Step[] {
  const steps: Step[] = [];
  for (const part of parts) {
    if (part.kind === 'any') steps.push('star');
    else if (part.kind === 'one') steps.push(() => true);
    else if (part.kind === 'text') for (const want of part.text) steps.push((ch) => ch === want);
    else {
      const { negated, ranges } = part;
      steps.push((ch) => ranges.some(([from, to]) => ch >= from && ch <= to) !== negated);
    }
  }
  return steps;
}

/**
 * A matcher for one name. As in a shell, a name starting with `.` matches only a pattern that starts
 * with `.` too, so `*` does not pick up hidden files.
 */
export function compileGlob(pattern: string): (name: string) => boolean {
  const steps = toSteps(parsePattern(pattern));
  const dotAllowed = pattern.startsWith('.');
  return (name) => (dotAllowed || !name.startsWith('.')) && matchSteps(steps, [...name]);
}

/** The usual wildcard match with one remembered star: time bounded by pattern length x name length. */
function matchSteps(steps: Step[], name: string[]): boolean {
  let s = 0;
  let n = 0;
  let starStep = -1;
  let starName = 0;
  while (n < name.length) {
    const step = steps[s];
    if (step === 'star') {
      starStep = s++;
      starName = n;
    } else if (step?.(name[n] as string)) {
      s++;
      n++;
    } else if (starStep >= 0) {
      s = starStep + 1;
      n = ++starName;
    } else {
      return false;
    }
  }
  while (steps[s] === 'star') s++;
  return s === steps.length;
}

/**
 * Splits a path into its folder and its last component, for the side's separator `/`. The folder is
 * `''` when the path has none (`*.log`), `/` for `/x`; a trailing `/` is dropped first.
 */
export function splitLast(path: string): { dir: string; name: string } {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const cut = trimmed.lastIndexOf('/');
  if (cut < 0) return { dir: '', name: trimmed };
  return { dir: cut === 0 ? '/' : trimmed.slice(0, cut), name: trimmed.slice(cut + 1) };
}
