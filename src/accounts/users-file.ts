// The users file (docs/SECURITY.md#accounts): one account a line, in the protocol's token syntax.
// Pure: text in, entries or every problem with its line number out; entries in, text out.
//
//   # comment
//   alice hash=scrypt:32768:8:3:SALT:KEY home=/alice access=read-write
//   "bob" hash=... home="/team docs" access=read-only
import { FilehiveError } from '../errors.js';
import { encodeField, encodeToken, splitOptions, tokenize } from '../protocol/tokens.js';
import { isReservedName, resolveVirtualPath } from '../storage/virtual-path.js';
import { formatScryptHash, parseScryptHash, type ScryptHash } from './password-hash.js';

export type Access = 'read-write' | 'read-only';

export interface UserEntry {
  readonly name: string;
  readonly hash: ScryptHash;
  /** The account's folder as a path inside the storage root (`/alice`); the session's `/`. */
  readonly home: string;
  readonly access: Access;
}

export interface UsersFileProblem {
  readonly line: number;
  readonly message: string;
}

export type ParseUsersResult = { ok: true; users: UserEntry[] } | { ok: false; problems: UsersFileProblem[] };

/** Letters, digits and `. _ @ -`, starting with a letter or digit: safe in logs, paths and shells. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const ACCESS: readonly Access[] = ['read-write', 'read-only'];
const KNOWN_FIELDS = new Set(['hash', 'home', 'access']);

export const USERS_FILE_HEADER = [
  '# filehive users file (docs/SECURITY.md#accounts); edit it with `filehive-server user`.',
  '# NAME hash=scrypt:N:r:p:SALT:KEY home=/FOLDER access=read-write|read-only',
];

export function isValidUserName(name: string): boolean {
  return USER_NAME.test(name);
}

/** The home folder as a normalized path inside the root, or the reason it is not one. */
export function normalizeHome(input: string): { ok: true; home: string } | { ok: false; reason: string } {
  if (!input.startsWith('/'))
    return { ok: false, reason: 'the home must start with / (a folder inside the root)' };
  try {
    return { ok: true, home: resolveVirtualPath('/', input) };
  } catch (err) {
    return { ok: false, reason: `bad home: ${err instanceof FilehiveError ? err.message : String(err)}` };
  }
}

/**
 * Whether a users file at `file` would be served to clients: it lies inside the storage root `root`
 * (both real paths) and not below a reserved `.filehive*` name, which clients can never reach.
 */
export function isServedByRoot(file: string, root: string, sep = '/'): boolean {
  const prefix = root.endsWith(sep) ? root : root + sep;
  if (!file.startsWith(prefix)) return false;
  return !file.slice(prefix.length).split(sep).some(isReservedName);
}

/** The default home of a new account: a folder named after it at the top of the root. */
export function defaultHome(name: string): string {
  return `/${name}`;
}

function parseLine(text: string): { ok: true; user: UserEntry } | { ok: false; reason: string } {
  const tokenized = tokenize(Buffer.from(text, 'utf8'));
  if (!tokenized.ok) return { ok: false, reason: tokenized.reason };
  const { positional, options } = splitOptions(tokenized.tokens);
  const [name, ...extra] = positional;
  if (name === undefined) return { ok: false, reason: 'expected a user name first' };
  if (extra.length > 0)
    return { ok: false, reason: `unexpected ${JSON.stringify(extra[0])} (fields are key=value)` };
  if (!isValidUserName(name)) {
    return {
      ok: false,
      reason: `bad user name ${JSON.stringify(name)} (letters, digits, . _ @ -; at most 64)`,
    };
  }
  for (const key of options.keys()) {
    if (!KNOWN_FIELDS.has(key)) return { ok: false, reason: `unknown field ${JSON.stringify(key)}` };
  }
  const hashText = options.get('hash');
  if (hashText === undefined) return { ok: false, reason: 'missing hash=' };
  const hash = parseScryptHash(hashText);
  if (!hash.ok) return { ok: false, reason: hash.reason };
  const home = normalizeHome(options.get('home') ?? defaultHome(name));
  if (!home.ok) return { ok: false, reason: home.reason };
  const access = options.get('access') ?? 'read-write';
  if (!ACCESS.includes(access as Access)) {
    return { ok: false, reason: `access must be ${ACCESS.join(' or ')}, got ${JSON.stringify(access)}` };
  }
  return { ok: true, user: { name, hash: hash.hash, home: home.home, access: access as Access } };
}

/** Parses the whole file; blank lines and lines starting with `#` are skipped. Never throws. */
export function parseUsersFile(text: string): ParseUsersResult {
  const users: UserEntry[] = [];
  const problems: UsersFileProblem[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const parsed = parseLine(line);
    if (!parsed.ok) {
      problems.push({ line: i + 1, message: parsed.reason });
      continue;
    }
    const first = seen.get(parsed.user.name);
    if (first !== undefined) {
      problems.push({ line: i + 1, message: `user ${parsed.user.name} is already defined on line ${first}` });
      continue;
    }
    seen.set(parsed.user.name, i + 1);
    users.push(parsed.user);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, users };
}

export function formatUserLine(user: UserEntry): string {
  return [
    encodeToken(user.name),
    encodeField('hash', formatScryptHash(user.hash)),
    encodeField('home', user.home),
    encodeField('access', user.access),
  ].join(' ');
}

/** The file's text: the header, then one line per user, in the order given. */
export function serializeUsersFile(users: readonly UserEntry[]): string {
  return `${[...USERS_FILE_HEADER, ...users.map(formatUserLine)].join('\n')}\n`;
}
