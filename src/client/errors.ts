// Errors a client caller can see. Wire codes come from the server's ERR replies; the client adds its
// own codes for what happens on this side of the socket. Callers branch on `code`, never on text.
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import type { Reply } from '../protocol/index.js';
import { describeTlsError } from './tls-errors.js';

/** Codes raised by the client itself, with default messages. */
export const CLIENT_ERROR_CODES = {
  CONNECT_FAILED: 'cannot connect to the server',
  CONNECTION_LOST: 'the connection to the server was lost',
  PROTOCOL_ERROR: 'the server sent something the protocol does not allow',
  LOCAL_ERROR: 'a local file operation failed',
  CANCELLED: 'cancelled',
  PARTIAL: 'some files of a multi-file transfer failed',
  UNSUPPORTED: 'the server does not offer this',
  NOT_CONNECTED: 'not connected (use CONNECT host port)',
  USAGE: 'bad command',
} as const;

export type ClientOnlyCode = keyof typeof CLIENT_ERROR_CODES;
/** Every code a caller may see. A newer server may send a wire code this table does not know yet. */
export type ClientErrorCode = ErrorCode | ClientOnlyCode | (string & {});

/** An error with a stable `code` and a message fit to show a person. */
export class FilehiveClientError extends Error {
  readonly code: ClientErrorCode;
  /** Extra fields of the server's ERR reply (e.g. `holder` and `since` for BUSY). */
  readonly fields: Readonly<Record<string, string>>;

  constructor(
    code: ClientErrorCode,
    message?: string,
    options?: { cause?: unknown; fields?: Record<string, string> },
  ) {
    super(
      message ?? defaultMessage(code),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'FilehiveClientError';
    this.code = code;
    this.fields = options?.fields ?? {};
  }
}

function defaultMessage(code: string): string {
  if (Object.hasOwn(CLIENT_ERROR_CODES, code)) return CLIENT_ERROR_CODES[code as ClientOnlyCode];
  if (Object.hasOwn(ERROR_CODES, code)) return ERROR_CODES[code as ErrorCode];
  return code;
}

/** Converts an `ERR CODE ... msg=...` reply into an error carrying the server's code and message. */
export function fromErrReply(reply: Reply): FilehiveClientError {
  const fields: Record<string, string> = {};
  for (const [key, value] of reply.fields) if (key !== 'msg') fields[key] = value;
  const code = reply.code ?? 'PROTOCOL_ERROR';
  return new FilehiveClientError(code, reply.fields.get('msg'), { fields });
}

export function protocolError(message: string): FilehiveClientError {
  return new FilehiveClientError('PROTOCOL_ERROR', message);
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'the server stopped reading',
};

/** A short description of a socket error: what happened, not where in Node it happened. */
export function describeSocketError(err: unknown): string {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno !== undefined) return SOCKET_ERRORS[errno] ?? describeTlsError(err) ?? errno;
  return err instanceof Error ? err.message : String(err);
}

/** A local file-system failure, described by errno code and path only (messages stay one line). */
export function localError(action: string, path: string, err: unknown): FilehiveClientError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = LOCAL_ERRORS[errno ?? ''] ?? errno ?? (err instanceof Error ? err.message : String(err));
  return new FilehiveClientError('LOCAL_ERROR', `cannot ${action} ${path}: ${reason}`, { cause: err });
}

const LOCAL_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder',
  ENOTDIR: 'not a folder',
  ENOSPC: 'no space left on device',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
};

/** Wraps anything thrown into a FilehiveClientError, so an unforeseen failure still prints one line. */
export function toClientError(err: unknown): FilehiveClientError {
  if (err instanceof FilehiveClientError) return err;
  return new FilehiveClientError('INTERNAL', err instanceof Error ? err.message : String(err), {
    cause: err,
  });
}
