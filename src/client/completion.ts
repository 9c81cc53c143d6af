// Tab completion at the prompt, the pure part: which word the cursor is in, what kind of argument it
// is, and the candidates written the way the command line reads them (quoted with the protocol's one
// escaping rule when a name needs it). Listing folders is the caller's job (cli-completer.ts).
import { encodeToken } from '../protocol/index.js';
import { COMMANDS, findCommand } from './cli-commands.js';

/** A name in a listed folder. */
export interface CompletionEntry {
  name: string;
  dir: boolean;
}

/** What an argument names: a remote file or folder, a remote folder, a local path, a command. */
export type ArgumentKind = 'remote' | 'remote-folder' | 'local' | 'command' | 'none';

/** The word being typed (the text before the cursor) and the words before it, decoded. */
export interface WordAtCursor {
  /** Complete words before the current one, decoded (the first is the command). */
  before: string[];
  /** The current word as typed, quotes and escapes included; '' after a space. */
  raw: string;
  /** The current word decoded, as far as it goes (an unfinished escape is left out). */
  value: string;
  /** The word opened a quote. */
  quoted: boolean;
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', r: '\r', t: '\t' };

/** Splits the text before the cursor like the tokenizer, but leniently: the last word is unfinished. */
export function findWordAtCursor(line: string): WordAtCursor {
  const before: string[] = [];
  let raw = '';
  let value = '';
  let quoted = false;
  let inQuotes = false;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (!inQuotes && (ch === ' ' || ch === '\t')) {
      if (inWord) before.push(value);
      inWord = false;
      raw = '';
      value = '';
      quoted = false;
      continue;
    }
    inWord = true;
    raw += ch;
    if (ch === '"' && (inQuotes || raw === '"')) {
      inQuotes = !inQuotes;
      quoted = true;
    } else if (inQuotes && ch === '\\') {
      const next = line[i + 1];
      if (next === undefined) break;
      if (next === 'x') {
        const hex = line.slice(i + 2, i + 4);
        raw += line.slice(i + 1, i + 4);
        i += 3;
        if (/^[0-9a-fA-F]{2}$/.test(hex)) value += String.fromCharCode(Number.parseInt(hex, 16));
      } else {
        raw += next;
        i++;
        value += SIMPLE_ESCAPES[next] ?? '';
      }
    } else value += ch;
  }
  return { before, raw, value, quoted };
}

/** What the argument at `index` (0 = first after the command) of `commandWord` names. */
export function argumentKind(commandWord: string, index: number): ArgumentKind {
  const command = findCommand(commandWord);
  if (!command) return 'none';
  switch (command.name) {
    // UPLOAD and DOWNLOAD take several names, the last maybe the other side's target: while typing
    // it cannot be told which is last, so each is offered from the side most names come from.
    case 'UPLOAD':
      return 'local';
    case 'DOWNLOAD':
      return 'remote';
    case 'HELP':
      return index === 0 ? 'command' : 'none';
    case 'CHDIR':
    case 'RMDIR':
    case 'MKDIR':
    case 'DIR':
      return index === 0 ? 'remote-folder' : 'none';
    case 'DELETE':
      return index < command.maxArgs ? 'remote' : 'none';
    case 'MOVE':
      return index <= 1 ? 'remote' : 'none';
    default:
      return command.maxArgs > 0 && command.usage.includes('path') ? 'remote' : 'none';
  }
}

/** The options a command takes (`--resume`), for words starting with `-`. */
export function commandOptions(commandWord: string): string[] {
  return findCommand(commandWord)?.options?.map((option) => option.name) ?? [];
}

/** Command names starting with `raw`, in the case it was typed in; aliases only when no name fits. */
export function completeCommandName(raw: string): string[] {
  const upper = raw.toUpperCase();
  const lower = raw !== '' && raw === raw.toLowerCase();
  const names = COMMANDS.map((c) => c.name).filter((name) => name.startsWith(upper));
  const fits =
    names.length > 0 ? names : COMMANDS.flatMap((c) => c.aliases).filter((a) => a.startsWith(upper));
  return fits.map((name) => `${lower ? name.toLowerCase() : name} `);
}

/** `docs/re` → folder `docs/` and prefix `re`; the folder is '' for the current one. */
export function splitPathPrefix(value: string): { folder: string; prefix: string } {
  const cut = value.lastIndexOf('/') + 1;
  return { folder: value.slice(0, cut), prefix: value.slice(cut) };
}

/** The body of a quoted token for `text`, without its quotes. */
function quotedBody(text: string): string {
  const token = encodeToken(text);
  return token.startsWith('"') ? token.slice(1, -1) : token;
}

/**
 * Candidates for a path word: `folder` + each entry starting with the prefix, folders with `/` and
 * no space (to go on typing inside), files with a closing quote and a space. When one candidate needs
 * quotes all are quoted, so they share the opening quote and readline can complete their common part.
 * Names starting with `.` are offered only once a `.` is typed.
 */
export function completePath(
  word: Pick<WordAtCursor, 'value' | 'quoted'>,
  entries: readonly CompletionEntry[],
  foldersOnly = false,
): string[] {
  const { folder, prefix } = splitPathPrefix(word.value);
  const matches = entries
    .filter((e) => e.name.startsWith(prefix) && (!foldersOnly || e.dir))
    .filter((e) => prefix.startsWith('.') || !e.name.startsWith('.'))
    .map((e) => ({ path: `${folder}${e.name}${e.dir ? '/' : ''}`, dir: e.dir }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // A trailing `/` never needs quotes; the name before it decides.
  const needsQuotes = (path: string) => encodeToken(path.replace(/\/$/, '')) !== path.replace(/\/$/, '');
  const quote = word.quoted || matches.some((m) => needsQuotes(m.path));
  return matches.map(({ path, dir }) => {
    if (!quote) return dir ? path : `${path} `;
    return `"${quotedBody(path)}${dir ? '' : '" '}`;
  });
}

/** The current word's position among the arguments, not counting options (`--resume`). */
export function argumentIndex(before: readonly string[]): number {
  return before.slice(1).filter((word) => !word.startsWith('-')).length;
}
