// --proxy-protocol on the file port (docs/OPERATIONS.md#proxy-protocol): a connection from a trusted
// proxy must start with a PROXY header (v1 or v2), read here from the raw TCP socket before anything
// else (before TLS, before admission); the client it names is what limits, bans and logs see.
// Connections from any other address are served as themselves, with no header expected.
import type { Server, Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { normalizeAddress } from '../peer-address.js';
import { encodeError } from '../protocol/messages.js';
import { MAX_HEADER_BYTES, type ProxyHeader, parseProxyHeader } from './proxy-header.js';
import { createProxyTrust } from './trusted-proxies.js';

/**
 * A trusted proxy sends its header at once on connecting (HAProxy does); this leaves room for TCP
 * retransmits (the spec asks for at least 3 s) and drops a trusted peer that sends nothing.
 */
export const PROXY_HEADER_TIMEOUT_MS = 5_000;
/** A peer told why it is closed gets this long to read the line before the socket is destroyed. */
const FAILURE_LINGER_MS = 2_000;

/** Who a connection serves. `proxy` ("address:port" of the balancer) only when a header named the client. */
export interface ClientEndpoint {
  readonly address: string | undefined;
  readonly port: number | undefined;
  readonly proxy?: string;
}

const claimed = new WeakMap<object, Required<ClientEndpoint>>();

/**
 * The client of a connection: the source a trusted proxy's PROXY header named, else the socket's own
 * peer. Works for the raw socket and for the TLS socket a tls.Server built on it (which keeps the raw
 * socket as `_parent`, as Node's tls has since 0.11; tests/integration/proxy-protocol.test.ts covers it).
 */
export function clientOf(socket: Socket): ClientEndpoint {
  const parent = (socket as { _parent?: unknown })._parent;
  const found =
    claimed.get(socket) ?? (parent && typeof parent === 'object' ? claimed.get(parent) : undefined);
  return found ?? { address: socket.remoteAddress, port: socket.remotePort };
}

/** How reading a header failed: bytes that are no header, none in time, or the peer left. */
export type HeaderFailure = 'invalid' | 'timeout' | 'closed';

export type HeaderRead =
  | { readonly ok: true; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly ok: false; readonly reason: string; readonly failure: HeaderFailure };

/**
 * Reads the PROXY header off the start of `socket` (flowing, so call it before anyone else reads).
 * Holds at most one chunk past MAX_HEADER_BYTES; gives up after `timeoutMs`, on bytes that are no
 * header, or when the peer closes. On success the socket is left paused and `rest` holds the bytes
 * that followed the header in the same chunk, for the caller to unshift.
 */
export function readProxyHeader(socket: Socket, timeoutMs = PROXY_HEADER_TIMEOUT_MS): Promise<HeaderRead> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let used = 0;
    const finish = (result: HeaderRead): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      if (used + chunk.length > buffer.length) {
        const grown = Buffer.alloc(
          Math.max(used + chunk.length, Math.min(2 * buffer.length, MAX_HEADER_BYTES), 256),
        );
        buffer.copy(grown, 0, 0, used);
        buffer = grown;
      }
      chunk.copy(buffer, used);
      used += chunk.length;
      const parsed = parseProxyHeader(buffer.subarray(0, used));
      if (parsed.status === 'incomplete') return;
      if (parsed.status === 'invalid') finish({ ok: false, reason: parsed.reason, failure: 'invalid' });
      else {
        const rest = Buffer.from(buffer.subarray(parsed.length, used));
        finish({ ok: true, header: parsed.header, rest });
      }
    };
    const onClose = (): void =>
      finish({ ok: false, reason: 'closed before a complete PROXY header', failure: 'closed' });
    const onError = (err: NodeJS.ErrnoException): void =>
      finish({ ok: false, reason: `connection error ${err.code ?? ''}`.trim(), failure: 'closed' });
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          reason: `no complete PROXY header within ${timeoutMs / 1000} s`,
          failure: 'timeout',
        }),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('end', onClose);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}

export interface ProxyProtocolOptions {
  /** Canonical ranges (config.trustedProxies): peers in them must send a header. */
  readonly trustedProxies: readonly string[];
  readonly log: Logger;
  /**
   * Tell a peer that sent no valid header why it is closed (one ERR line). Only on a plain-text port:
   * on a TLS port the peer expects a handshake, and a text line would only confuse it.
   */
  readonly explain: boolean;
  readonly timeoutMs?: number;
  /** Told of every trusted connection closed for want of a valid header (the worker counts them). */
  readonly onFailure?: (failure: HeaderFailure) => void;
}

/**
 * Makes `server` (a net.Server, or a tls.Server: its 'connection' event sees the raw TCP socket, before
 * the handshake) read a PROXY header from every connection of a trusted proxy before its own
 * 'connection' listeners run. Those get the socket paused, with the bytes after the header put back
 * in front of it; a tls.Server's listener starts the handshake on them. Connections from other
 * addresses go straight through.
 */
export function requireProxyHeaders(server: Server, options: ProxyProtocolOptions): void {
  const isTrusted = createProxyTrust(options.trustedProxies);
  const downstream = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const pass = (socket: Socket): void => {
    for (const listener of downstream) listener.call(server, socket);
  };
  server.on('connection', (socket: Socket) => {
    if (!isTrusted(socket.remoteAddress)) {
      pass(socket);
      return;
    }
    // An error after the header is the session's (or TLS's) to report; this keeps it from being uncaught.
    socket.on('error', () => undefined);
    const proxy = `${socket.remoteAddress}:${socket.remotePort}`;
    void readProxyHeader(socket, options.timeoutMs).then((result) => {
      if (!result.ok) {
        const fields = { proxy, reason: result.reason };
        const closed = result.failure === 'closed';
        if (closed) options.log.debug(fields, 'trusted proxy left before its PROXY header');
        else options.log.info(fields, 'connection from a trusted proxy closed: no valid PROXY header');
        options.onFailure?.(result.failure);
        reject(socket, options.explain && !closed);
        return;
      }
      const { header, rest } = result;
      if (header.command === 'proxy') {
        claimed.set(socket, {
          address: normalizeAddress(header.source.address),
          port: header.source.port,
          proxy,
        });
      }
      options.log.debug(
        {
          proxy,
          version: header.version,
          client:
            header.command === 'proxy' ? `${header.source.address}:${header.source.port}` : header.command,
          // Client bytes that came in the same read as the header (put back in front of the socket).
          following: rest.length,
        },
        'PROXY header',
      );
      if (rest.length > 0) socket.unshift(rest);
      pass(socket);
    });
  });
}

function reject(socket: Socket, explain: boolean): void {
  if (socket.destroyed) return;
  if (!explain) {
    socket.destroy();
    return;
  }
  // Read and drop the rest: closing with unread input would reset the connection and lose the line.
  socket.resume();
  socket.end(
    encodeError(
      'BAD_REQUEST',
      'this address is a trusted proxy: its connections must start with a PROXY header',
    ),
  );
  setTimeout(() => socket.destroy(), FAILURE_LINGER_MS).unref();
}
