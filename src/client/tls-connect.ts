// The client's socket: plain TCP, or TLS with the server's certificate always checked
// (docs/SECURITY.md#tls). There is deliberately no way to turn the check off: a private CA or a
// self-signed certificate is trusted by passing it as `ca`.
import net from 'node:net';
import tls from 'node:tls';
import { FilehiveClientError } from './errors.js';

/**
 * `true`: TLS, trusting Node's bundled CAs. An object: TLS trusting `ca` (PEM, one or more
 * certificates) instead, and checking the certificate against `servername` instead of the host.
 */
export type TlsConnectOption = boolean | { ca?: string | Buffer; servername?: string };

export interface SocketTarget {
  host: string;
  port: number;
  tls?: TlsConnectOption;
}

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

/** Opens the socket; TLS errors (certificate refused...) arrive as its 'error' event. */
export function connectSocket(target: SocketTarget): net.Socket {
  const { host, port } = target;
  if (!target.tls) return net.connect({ host, port, noDelay: true });
  const { ca, servername } = target.tls === true ? {} : target.tls;
  if (ca !== undefined && !ca.toString().includes(PEM_CERTIFICATE)) {
    // Node would ignore it silently and fall back to no trusted CA at all.
    throw new FilehiveClientError('CONNECT_FAILED', 'the CA given to trust holds no PEM certificate');
  }
  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({
      host,
      port,
      // Node sends no SNI for an IP address and checks the certificate against `host` by default.
      ...(servername !== undefined ? { servername } : {}),
      ...(ca !== undefined ? { ca } : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
  } catch (err) {
    // A CA that looks like PEM but does not parse.
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    throw new FilehiveClientError('CONNECT_FAILED', `cannot use the CA given to trust: ${reason}`, {
      cause: err,
    });
  }
  socket.setNoDelay(true);
  return socket;
}
