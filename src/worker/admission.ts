// The worker's side of admission: asks the primary's AdmissionAuthority (src/primary/admission.ts)
// whether a new connection may have a session, tells it when a session ends, and reports logins.
// One round trip per connection; release and login successes are one-way messages.
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/server-config.js';
import type { AdmissionReply, AdmissionRequest } from '../ipc.js';
import { clientOf } from '../net/proxy-accept.js';
import { normalizeAddress } from '../peer-address.js';
import { AdmissionAuthority, admissionLimits, type RefusalReason } from '../primary/admission.js';
import { encodeError } from '../protocol/messages.js';
import type { WorkerContext } from './context.js';

export type RefusalCode = 'TOO_MANY_CONNECTIONS' | 'BANNED' | 'AUTH_REQUIRED';
export type AdmitResult = { ok: true } | { ok: false; code: RefusalCode; message: string };
export interface LoginVerdict {
  readonly delayMs: number;
  readonly banned: boolean;
}

/**
 * Connection limits and login bans, shared by every worker of the server.
 *
 * Addresses are the client's address: the socket's peer, or with --proxy-protocol the client a trusted
 * proxy's header names (`clientOf(socket)`); IPv4-mapped
 * IPv6 addresses are normalized here, so callers need not.
 */
export interface Admission {
  /** Called once per new connection, before the greeting. `ok: false` means: greet with ERR, close. */
  admit(ip: string): Promise<AdmitResult>;
  /** Called exactly once for each connection that admit() accepted, when it closes. */
  release(ip: string): void;
  /**
   * A LOGIN from `ip` failed (wrong user or password). Contract for the LOGIN command:
   * - call it once per failed attempt, before answering;
   * - wait `delayMs` (it doubles with each failure in a row from that address), then answer;
   * - when `banned` is true, answer `ERR BANNED` instead of `ERR AUTH_FAILED` and close the session:
   *   the address has now had --login-failures failures and new connections from it are refused
   *   for --login-ban (other sessions already open from it are left alone).
   * The count is per address across all workers and is forgotten after a successful login.
   */
  loginFailed(ip: string): Promise<LoginVerdict>;
  /** A LOGIN from `ip` succeeded: forget the address's failures (a running ban is not lifted). */
  loginSucceeded(ip: string): void;
}

/** How the client reaches the authority: in a worker, the cluster IPC channel. */
export interface AdmissionChannel {
  send(message: AdmissionRequest): void;
  /** Installs the one listener for the authority's replies. */
  listen(onReply: (message: AdmissionReply) => void): void;
}

/** A primary that does not answer admit within this refuses the connection (never admits blindly). */
export const ADMIT_TIMEOUT_MS = 10_000;
/** A refused client gets this long to read its ERR greeting before the socket is destroyed. */
const REFUSAL_LINGER_MS = 2_000;

const REFUSALS: Record<RefusalReason, { code: RefusalCode; message: string }> = {
  max_connections: {
    code: 'TOO_MANY_CONNECTIONS',
    message: 'the server has too many connections, try again later',
  },
  max_per_ip: {
    code: 'TOO_MANY_CONNECTIONS',
    message: 'too many connections from your address, close one and try again',
  },
  banned: { code: 'BANNED', message: 'too many failed logins from this address, try again later' },
  anonymous_remote: {
    code: 'AUTH_REQUIRED',
    message: 'this server has no accounts: anonymous access is for loopback clients only',
  },
};
const NO_ANSWER = { code: 'TOO_MANY_CONNECTIONS', message: 'the server is busy, try again later' } as const;

export function refusalFor(reason: RefusalReason): { code: RefusalCode; message: string } {
  return REFUSALS[reason];
}

function isAdmissionReply(message: unknown): message is AdmissionReply {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'filehive:admit-result' || type === 'filehive:login-result';
}

/** An Admission that asks the authority over `channel`. */
export function createAdmissionClient(
  channel: AdmissionChannel,
  options: { timeoutMs?: number } = {},
): Admission {
  const timeoutMs = options.timeoutMs ?? ADMIT_TIMEOUT_MS;
  let nextId = 1;
  const admits = new Map<number, (refused: RefusalReason | null | 'timeout') => void>();
  const logins = new Map<number, (verdict: LoginVerdict) => void>();
  // Admits that timed out: if the authority admits them after all, the count is handed back.
  const abandoned = new Map<number, string>();

  channel.listen((message) => {
    if (message.type === 'filehive:admit-result') {
      const settle = admits.get(message.id);
      if (settle) settle(message.refused);
      else {
        const ip = abandoned.get(message.id);
        abandoned.delete(message.id);
        if (ip !== undefined && message.refused === null) channel.send({ type: 'filehive:release', ip });
      }
    } else {
      logins.get(message.id)?.({ delayMs: message.delayMs, banned: message.banned });
    }
  });

  return {
    admit(address) {
      const ip = normalizeAddress(address);
      const id = nextId++;
      return new Promise<AdmitResult>((resolve) => {
        const settle = (refused: RefusalReason | null | 'timeout'): void => {
          clearTimeout(timer);
          admits.delete(id);
          if (refused === null) resolve({ ok: true });
          else resolve({ ok: false, ...(refused === 'timeout' ? NO_ANSWER : REFUSALS[refused]) });
        };
        const timer = setTimeout(() => {
          abandoned.set(id, ip);
          settle('timeout');
        }, timeoutMs);
        admits.set(id, settle);
        channel.send({ type: 'filehive:admit', id, ip });
      });
    },
    release(address) {
      channel.send({ type: 'filehive:release', ip: normalizeAddress(address) });
    },
    loginFailed(address) {
      const ip = normalizeAddress(address);
      const id = nextId++;
      return new Promise<LoginVerdict>((resolve) => {
        const settle = (verdict: LoginVerdict): void => {
          clearTimeout(timer);
          logins.delete(id);
          resolve(verdict);
        };
        // No answer in time: the caller goes on without a delay (it has waited already) or a ban.
        const timer = setTimeout(() => settle({ delayMs: 0, banned: false }), timeoutMs);
        logins.set(id, settle);
        channel.send({ type: 'filehive:login-failed', id, ip });
      });
    },
    loginSucceeded(address) {
      channel.send({ type: 'filehive:login-succeeded', ip: normalizeAddress(address) });
    },
  };
}

/** An Admission over an authority in this process (a file server run without the cluster primary). */
export function createLocalAdmission(authority: AdmissionAuthority): Admission {
  const worker = 0;
  return {
    async admit(ip) {
      const decision = authority.admit(worker, normalizeAddress(ip));
      return decision.ok ? { ok: true } : { ok: false, ...REFUSALS[decision.reason] };
    },
    release(ip) {
      authority.release(worker, normalizeAddress(ip));
    },
    async loginFailed(ip) {
      const { delayMs, banned } = authority.loginFailed(normalizeAddress(ip));
      return { delayMs, banned };
    },
    loginSucceeded(ip) {
      authority.loginSucceeded(normalizeAddress(ip));
    },
  };
}

function processChannel(): AdmissionChannel {
  // The callback keeps a send on a closing channel from becoming an uncaught 'error' on process.
  const ignore = (): void => undefined;
  return {
    send: (message) => process.send?.(message, undefined, undefined, ignore),
    listen: (onReply) =>
      process.on('message', (message: unknown) => {
        if (isAdmissionReply(message)) onReply(message);
      }),
  };
}

let backend: Admission | null = null;
let standaloneConfig: ServerConfig | null = null;

function currentBackend(): Admission {
  if (backend) return backend;
  if (process.send) backend = createAdmissionClient(processChannel());
  else {
    if (!standaloneConfig) throw new Error('admission used before any connection was admitted');
    backend = createLocalAdmission(new AdmissionAuthority(admissionLimits(standaloneConfig)));
  }
  return backend;
}

/**
 * This worker's admission: through the primary's authority, so limits and bans hold across all
 * workers. Outside a cluster (a file server run on its own) an authority in this process stands in.
 * Nothing is set up until the first call.
 */
export const admission: Admission = {
  admit: (ip) => currentBackend().admit(ip),
  release: (ip) => currentBackend().release(ip),
  loginFailed: (ip) => currentBackend().loginFailed(ip),
  loginSucceeded: (ip) => currentBackend().loginSucceeded(ip),
};

/**
 * The connect-path gate: admits `socket` (true: run its session) or greets it with `ERR <CODE>` and
 * closes it (false). An admitted socket is released when it closes, exactly once.
 */
export async function admitConnection(socket: Socket, ctx: WorkerContext): Promise<boolean> {
  // Until the session adds its own handler, a reset while we wait must not crash the worker.
  socket.on('error', () => undefined);
  // The client a trusted proxy's PROXY header named, else the peer (src/net/proxy-accept.ts).
  const { address } = clientOf(socket);
  if (address === undefined) {
    socket.destroy();
    return false;
  }
  standaloneConfig ??= ctx.config;
  const ip = normalizeAddress(address);
  const result = await admission.admit(ip);
  if (!result.ok) {
    ctx.log.info({ peer: ip, code: result.code, reason: result.message }, 'connection refused');
    refuse(socket, result.code, result.message);
    return false;
  }
  if (socket.destroyed) {
    admission.release(ip);
    return false;
  }
  socket.once('close', () => admission.release(ip));
  return true;
}

function refuse(socket: Socket, code: RefusalCode, message: string): void {
  if (socket.destroyed) return;
  // Read and drop what the client already sent: closing with unread input would reset the connection
  // and could destroy the ERR line before the client reads it.
  socket.resume();
  socket.end(encodeError(code, message));
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}
