/**
 * The error-code table: every code a client can see, with its default message. docs/PROTOCOL.md
 * lists the same codes (a test keeps them in step).
 */
export const ERROR_CODES = {
  BAD_REQUEST: 'malformed request',
  BAD_PATH: 'path not allowed',
  NOT_FOUND: 'no such file or folder',
  EXISTS: 'the name already exists',
  NOT_A_DIRECTORY: 'not a folder',
  IS_A_DIRECTORY: 'is a folder',
  NOT_EMPTY: 'the folder is not empty',
  BUSY: 'the name is locked by another session',
  TOO_LARGE: 'the file is too large',
  CHECKSUM_MISMATCH: 'checksum mismatch, nothing was changed',
  RESUME_MISMATCH: 'the part to resume from differs between the two sides; start the transfer over',
  NO_SPACE: 'no space left on the server',
  LOCK_LOST: 'the lock on this name was lost, the upload was discarded',
  PERMISSION_DENIED: 'permission denied',
  SHUTTING_DOWN: 'the server is shutting down',
  AUTH_REQUIRED: 'log in first',
  AUTH_FAILED: 'wrong user name or password',
  BANNED: 'too many failed logins from this address, try again later',
  READ_ONLY: 'this account may only read',
  TOO_MANY_CONNECTIONS: 'too many connections, try again later',
  TIMEOUT: 'the session was idle or the transfer stalled for too long',
  INTERNAL: 'internal server error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/** An error with a stable code; its message is safe to show to a client (no real paths, no errno text). */
export class FilehiveError extends Error {
  readonly code: ErrorCode;
  /** Extra reply fields, e.g. `holder` and `since` for BUSY. */
  readonly fields: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message?: string,
    options?: { cause?: unknown; fields?: Record<string, string> },
  ) {
    super(message ?? ERROR_CODES[code], options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FilehiveError';
    this.code = code;
    this.fields = options?.fields ?? {};
  }
}

const ERRNO_CODES: Record<string, ErrorCode> = {
  ENOENT: 'NOT_FOUND',
  EEXIST: 'EXISTS',
  ENOTEMPTY: 'NOT_EMPTY',
  ENOTDIR: 'NOT_A_DIRECTORY',
  EISDIR: 'IS_A_DIRECTORY',
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EFBIG: 'TOO_LARGE',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'PERMISSION_DENIED',
  ENAMETOOLONG: 'BAD_PATH',
  ELOOP: 'BAD_PATH',
  EINVAL: 'BAD_PATH',
};

/** The one place that maps errno codes to wire codes. Unknown errors become INTERNAL. */
export function fromErrno(err: unknown, message?: string): FilehiveError {
  if (err instanceof FilehiveError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const code = (errno && ERRNO_CODES[errno]) || 'INTERNAL';
  return new FilehiveError(code, code === 'INTERNAL' ? undefined : message, { cause: err });
}
