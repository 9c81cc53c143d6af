// The CLI's exit status, for scripts: one fixed number per kind of failure, like curl's. The table is
// printed by --help and copied in README.md and docs/CLIENT.md; a unit test keeps all three equal.
import { FilehiveClientError } from './errors.js';

export interface ExitCodeRow {
  status: number;
  /** A few words for the table. */
  meaning: string;
  /** Error codes that end with this status (the text of the table names them). */
  codes: readonly string[];
}

export const EXIT_CODES: readonly ExitCodeRow[] = [
  { status: 0, meaning: 'success (interactive: left with EXIT or end of input)', codes: [] },
  { status: 1, meaning: 'any other failure (EXISTS, READ_ONLY, LOCAL_ERROR, ...)', codes: [] },
  { status: 2, meaning: 'usage: bad option or value, unknown command, wrong arguments', codes: ['USAGE'] },
  {
    status: 3,
    meaning: 'cannot connect, or the connection was lost outside a transfer',
    codes: ['CONNECT_FAILED', 'CONNECTION_LOST', 'NOT_CONNECTED'],
  },
  { status: 4, meaning: 'login refused', codes: ['AUTH_REQUIRED', 'AUTH_FAILED', 'BANNED'] },
  {
    status: 5,
    meaning: 'not found: remote or local file, or a wildcard that matches nothing',
    codes: ['NOT_FOUND'],
  },
  { status: 6, meaning: 'busy: try again later', codes: ['BUSY', 'LOCK_LOST', 'TOO_MANY_CONNECTIONS'] },
  { status: 7, meaning: 'checksum mismatch', codes: ['CHECKSUM_MISMATCH', 'RESUME_MISMATCH'] },
  {
    status: 8,
    meaning: 'partial: some files of a multi-file transfer failed, or a transfer was cut off',
    codes: ['PARTIAL'],
  },
  { status: 9, meaning: 'too large for the server', codes: ['TOO_LARGE', 'NO_SPACE'] },
  {
    status: 10,
    meaning: 'server error',
    codes: ['INTERNAL', 'SHUTTING_DOWN', 'PROTOCOL_ERROR'],
  },
];

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_PARTIAL = 8;

const BY_CODE = new Map<string, number>(
  EXIT_CODES.flatMap((row) => row.codes.map((code) => [code, row.status] as const)),
);

/** Codes that mean the connection went away: during a transfer that is a transfer cut off (8). */
const CUT_OFF_CODES = new Set(['CONNECTION_LOST', 'TIMEOUT']);

/** Errors that ended a transfer part way (see markCutOff). */
const cutOff = new WeakSet<object>();

/**
 * Marks `err` as having cut a transfer off, when its code says the connection went away: the
 * command then exits 8 (partial) rather than 3, since bytes moved but not all of them.
 */
export function markCutOff(err: unknown): void {
  if (err instanceof FilehiveClientError && CUT_OFF_CODES.has(err.code)) cutOff.add(err);
}

/** The exit status for an error that ended a command (or the run). */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof FilehiveClientError)) return EXIT_FAILED;
  if (cutOff.has(err)) return EXIT_PARTIAL;
  // A local file that does not exist is as much "not found" as a remote one.
  if (err.code === 'LOCAL_ERROR' && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return BY_CODE.get('NOT_FOUND') as number;
  }
  // TIMEOUT outside a transfer: the server closed an idle session, which is a lost connection.
  if (err.code === 'TIMEOUT') return BY_CODE.get('CONNECTION_LOST') as number;
  return BY_CODE.get(err.code) ?? EXIT_FAILED;
}

/** The `Exit status:` section of --help, one line per status. */
export function formatExitCodes(indent = '  '): string[] {
  return EXIT_CODES.map((row) => {
    const codes = row.codes.length > 0 ? ` [${row.codes.join(', ')}]` : '';
    return `${indent}${String(row.status).padStart(2)}  ${row.meaning}${codes}`;
  });
}
