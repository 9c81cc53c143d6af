// Requests and replies of docs/PROTOCOL.md as values, and their encoding to lines. Pure.
import type { ErrorCode } from '../errors.js';
import { type ChecksumAlgorithm, DEFAULT_CHECKSUM, isChecksumAlgorithm, parseChecksum } from './checksum.js';
import { encodeField, encodeToken, splitOptions, tokenize } from './tokens.js';

export const PROTOCOL = 'filehive/1';
/** PROTOCOL.md#limits: a request line, newline included. */
export const MAX_LINE_BYTES = 16_384;
/** PROTOCOL.md#limits: byte counts fit a double exactly. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

export type Request =
  | {
      verb: 'UPLOAD';
      path: string;
      size: number;
      checksum: ChecksumAlgorithm;
      /** `go=no`: the bytes follow the request at once, without waiting for GO (PROTOCOL.md#upload). */
      immediate?: true;
      /** `resume=yes`: the server keeps the bytes if cut off, and continues after `offset` (PROTOCOL.md#resume). */
      resume?: ResumePoint;
    }
  | { verb: 'DOWNLOAD'; path: string; checksum: ChecksumAlgorithm; resume?: ResumePoint }
  /** PROTOCOL.md#resume: how many bytes of a resumable upload the server keeps. */
  | { verb: 'PARTIAL'; path: string; size: number }
  | { verb: 'DELETE' | 'MKDIR' | 'RMDIR' | 'CHDIR'; path: string }
  | { verb: 'DIR'; path: string }
  | { verb: 'MOVE'; from: string; to: string }
  | { verb: 'PWD' | 'NOOP' | 'QUIT' }
  /** PROTOCOL.md#login: required first when the server has accounts. */
  | { verb: 'LOGIN'; user: string; password: string }
  | { verb: 'CHECKSUM'; algorithm: ChecksumAlgorithm; hex: string };

export type Verb = Request['verb'];

/**
 * Where a resumed transfer continues: the receiver already has the first `offset` bytes, whose SHA-256
 * is `sha256` (lower-case hex; required when offset > 0).
 */
export interface ResumePoint {
  offset: number;
  sha256?: string;
}

/** Arguments each verb takes: required positionals, optional positionals, known options. */
const GRAMMAR: Record<Verb, { required: number; optional: number; options: readonly string[] }> = {
  UPLOAD: { required: 2, optional: 0, options: ['checksum', 'go', 'resume', 'offset', 'sha256'] },
  DOWNLOAD: { required: 1, optional: 0, options: ['checksum', 'offset', 'sha256'] },
  PARTIAL: { required: 2, optional: 0, options: [] },
  DELETE: { required: 1, optional: 0, options: [] },
  MKDIR: { required: 1, optional: 0, options: [] },
  RMDIR: { required: 1, optional: 0, options: [] },
  CHDIR: { required: 1, optional: 0, options: [] },
  DIR: { required: 0, optional: 1, options: [] },
  MOVE: { required: 2, optional: 0, options: [] },
  PWD: { required: 0, optional: 0, options: [] },
  NOOP: { required: 0, optional: 0, options: [] },
  QUIT: { required: 0, optional: 0, options: [] },
  LOGIN: { required: 2, optional: 0, options: [] },
  CHECKSUM: { required: 1, optional: 0, options: [] },
};

export const VERBS = Object.keys(GRAMMAR) as Verb[];

const VERB_WORD = /^[A-Za-z]+$/;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

const fail = (code: ErrorCode, message: string): { ok: false; code: ErrorCode; message: string } => ({
  ok: false,
  code,
  message,
});

/** PROTOCOL.md#limits: decimal digits only, no sign, at most 2^53 - 1. */
export function parseSize(text: string): number | null {
  if (!/^[0-9]{1,16}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_SIZE ? n : null;
}

function parseAlgorithm(options: Map<string, string>): ChecksumAlgorithm | null {
  const value = options.get('checksum') ?? DEFAULT_CHECKSUM;
  return isChecksumAlgorithm(value) ? value : null;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * PROTOCOL.md#resume: `offset=K` (at most `size` when the size is known) with `sha256=HEX` of the
 * first K bytes; the hash may be left out only for offset 0. Null when neither is given.
 */
function parseResumePoint(
  options: Map<string, string>,
  size: number | null,
): ParseResult<ResumePoint | null> {
  const offsetText = options.get('offset');
  const sha256 = options.get('sha256');
  if (offsetText === undefined) {
    return sha256 === undefined ? { ok: true, value: null } : fail('BAD_REQUEST', 'sha256 needs offset');
  }
  const offset = parseSize(offsetText);
  if (offset === null) return fail('BAD_REQUEST', 'offset must be a decimal byte count');
  if (size !== null && offset > size) return fail('BAD_REQUEST', 'offset is larger than the size');
  if (sha256 !== undefined && !SHA256_HEX.test(sha256)) {
    return fail('BAD_REQUEST', 'sha256 must be 64 lower-case hex digits');
  }
  if (sha256 === undefined && offset > 0) {
    return fail('BAD_REQUEST', 'offset needs sha256=HEX of the bytes before it');
  }
  return { ok: true, value: sha256 === undefined ? { offset } : { offset, sha256 } };
}

/** Parses one request line (without newline). Never throws; bad input gives BAD_REQUEST. */
export function parseRequest(line: Uint8Array): ParseResult<Request> {
  const tokenized = tokenize(line);
  if (!tokenized.ok) return fail('BAD_REQUEST', tokenized.reason);
  const [first, ...rest] = tokenized.tokens;
  if (first === undefined) return fail('BAD_REQUEST', 'empty line');
  if (first.key !== undefined) return fail('BAD_REQUEST', 'a request starts with a command');
  // Only ASCII letters fold: toUpperCase() alone would map e.g. 'dır' (dotless i) to DIR.
  if (!VERB_WORD.test(first.value)) return fail('BAD_REQUEST', 'unknown command');
  const verb = first.value.toUpperCase() as Verb;
  const grammar = GRAMMAR[verb];
  if (!Object.hasOwn(GRAMMAR, verb) || grammar === undefined) return fail('BAD_REQUEST', 'unknown command');
  const { positional: args, options } = splitOptions(rest);
  if (args.length < grammar.required || args.length > grammar.required + grammar.optional) {
    return fail('BAD_REQUEST', `wrong number of arguments for ${verb}`);
  }
  for (const key of options.keys()) {
    if (!grammar.options.includes(key)) return fail('BAD_REQUEST', `unknown option ${key} for ${verb}`);
  }
  const a0 = args[0] as string;
  const a1 = args[1] as string;
  switch (verb) {
    case 'UPLOAD': {
      const size = parseSize(a1);
      if (size === null) return fail('BAD_REQUEST', 'size must be a decimal byte count');
      const checksum = parseAlgorithm(options);
      if (checksum === null) return fail('BAD_REQUEST', 'unsupported checksum algorithm');
      const go = options.get('go') ?? 'yes';
      if (go !== 'yes' && go !== 'no') return fail('BAD_REQUEST', 'go must be yes or no');
      const resume = options.get('resume') ?? 'no';
      if (resume !== 'yes' && resume !== 'no') return fail('BAD_REQUEST', 'resume must be yes or no');
      const point = parseResumePoint(options, size);
      if (!point.ok) return point;
      if (point.value !== null && resume !== 'yes') return fail('BAD_REQUEST', 'offset needs resume=yes');
      return {
        ok: true,
        value: {
          verb,
          path: a0,
          size,
          checksum,
          ...(go === 'no' ? { immediate: true } : {}),
          ...(resume === 'yes' ? { resume: point.value ?? { offset: 0 } } : {}),
        },
      };
    }
    case 'DOWNLOAD': {
      const checksum = parseAlgorithm(options);
      if (checksum === null) return fail('BAD_REQUEST', 'unsupported checksum algorithm');
      const point = parseResumePoint(options, null);
      if (!point.ok) return point;
      return {
        ok: true,
        value: { verb, path: a0, checksum, ...(point.value ? { resume: point.value } : {}) },
      };
    }
    case 'PARTIAL': {
      const size = parseSize(a1);
      if (size === null) return fail('BAD_REQUEST', 'size must be a decimal byte count');
      return { ok: true, value: { verb, path: a0, size } };
    }
    case 'DELETE':
    case 'MKDIR':
    case 'RMDIR':
    case 'CHDIR':
      return { ok: true, value: { verb, path: a0 } };
    case 'DIR':
      return { ok: true, value: { verb, path: args[0] ?? '.' } };
    case 'MOVE':
      return { ok: true, value: { verb, from: a0, to: a1 } };
    case 'LOGIN':
      return { ok: true, value: { verb, user: a0, password: a1 } };
    case 'CHECKSUM': {
      const checksum = parseChecksum(a0);
      if (checksum === null) return fail('BAD_REQUEST', 'CHECKSUM takes ALGO:HEX');
      return { ok: true, value: { verb, ...checksum } };
    }
    default:
      return { ok: true, value: { verb } as Request };
  }
}

/** Encodes a request as one line, newline included. */
export function encodeRequest(request: Request): string {
  const parts: string[] = [request.verb];
  switch (request.verb) {
    case 'UPLOAD':
      parts.push(encodeToken(request.path), String(request.size), encodeField('checksum', request.checksum));
      if (request.immediate) parts.push(encodeField('go', 'no'));
      if (request.resume)
        parts.push(encodeField('resume', 'yes'), ...encodeResumePoint(request.resume, true));
      break;
    case 'DOWNLOAD':
      parts.push(encodeToken(request.path), encodeField('checksum', request.checksum));
      if (request.resume) parts.push(...encodeResumePoint(request.resume));
      break;
    case 'PARTIAL':
      parts.push(encodeToken(request.path), String(request.size));
      break;
    case 'DELETE':
    case 'MKDIR':
    case 'RMDIR':
    case 'CHDIR':
    case 'DIR':
      parts.push(encodeToken(request.path));
      break;
    case 'MOVE':
      parts.push(encodeToken(request.from), encodeToken(request.to));
      break;
    case 'LOGIN':
      parts.push(encodeToken(request.user), encodeToken(request.password));
      break;
    case 'CHECKSUM':
      parts.push(`${request.algorithm}:${request.hex}`);
      break;
    default:
      break;
  }
  return `${parts.join(' ')}\n`;
}

/** `offset=K sha256=HEX`; with `omitStart`, nothing for offset 0 without a hash (`resume=yes` says it). */
function encodeResumePoint(point: ResumePoint, omitStart = false): string[] {
  if (point.sha256 === undefined) {
    return omitStart && point.offset === 0 ? [] : [encodeField('offset', point.offset)];
  }
  return [encodeField('offset', point.offset), encodeField('sha256', point.sha256)];
}

export type ReplyStatus = 'HELLO' | 'OK' | 'ERR' | 'GO' | 'DATA' | 'ENTRY';
export type Fields = Readonly<Record<string, string | number>>;

/** A reply line as values. `code` is set for ERR only. */
export interface Reply {
  readonly status: ReplyStatus;
  readonly code?: string;
  readonly fields: ReadonlyMap<string, string>;
}

const STATUSES = new Set<string>(['HELLO', 'OK', 'ERR', 'GO', 'DATA', 'ENTRY']);

/** Encodes a reply line with its fields, newline included. */
export function encodeReply(status: Exclude<ReplyStatus, 'ERR'>, fields: Fields = {}): string {
  const parts: string[] = [status];
  for (const [key, value] of Object.entries(fields)) parts.push(encodeField(key, value));
  return `${parts.join(' ')}\n`;
}

/** Encodes `ERR CODE key=value... msg=...`, newline included. */
export function encodeError(code: ErrorCode, message: string, fields: Fields = {}): string {
  const parts: string[] = ['ERR', code];
  for (const [key, value] of Object.entries(fields)) parts.push(encodeField(key, value));
  parts.push(encodeField('msg', message));
  return `${parts.join(' ')}\n`;
}

/** Parses a reply line (client side). Unknown statuses or malformed lines give an error. */
export function parseReply(line: Uint8Array): ParseResult<Reply> {
  const tokenized = tokenize(line);
  if (!tokenized.ok) return fail('BAD_REQUEST', `malformed reply: ${tokenized.reason}`);
  const [first, ...rest] = tokenized.tokens;
  if (first === undefined || first.key !== undefined || !STATUSES.has(first.value)) {
    return fail('BAD_REQUEST', 'malformed reply: unknown status');
  }
  const status = first.value as ReplyStatus;
  const { positional, options } = splitOptions(rest);
  if (status === 'ERR') {
    const code = positional[0];
    if (code === undefined) return fail('BAD_REQUEST', 'malformed reply: ERR without a code');
    return { ok: true, value: { status, code, fields: options } };
  }
  return { ok: true, value: { status, fields: options } };
}
