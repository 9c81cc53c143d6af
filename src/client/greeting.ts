// Opening a session: TCP (or TLS) connect, then the HELLO greeting (PROTOCOL.md#session).
import { type ChecksumAlgorithm, isChecksumAlgorithm, PROTOCOL, type Reply } from '../protocol/index.js';
import { Connection, takeReply } from './connection.js';
import { FilehiveClientError, fromErrReply, protocolError } from './errors.js';
import { createDeferred } from './replies.js';
import { connectSocket, type TlsConnectOption } from './tls-connect.js';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Bounds connecting and the greeting; 10 s by default. Later replies have no deadline. */
  timeoutMs?: number;
  /** Log in as this account right after the greeting (PROTOCOL.md#login); needs `password`. */
  user?: string;
  password?: string;
  /** Speak TLS; the server's certificate is always checked (docs/SECURITY.md#tls). */
  tls?: TlsConnectOption;
}

/** What the greeting told us about the server. */
export interface ServerInfo {
  protocol: string;
  software: string;
  /** Algorithms the server offers, its default first; only those this client also knows. */
  checksums: ChecksumAlgorithm[];
  /** Optional protocol features the server offers (`features=` in the greeting). */
  features: string[];
}

const [PROTOCOL_NAME, PROTOCOL_MAJOR] = PROTOCOL.split('/') as [string, string];

/** Parses HELLO; refuses another protocol or another major version (`filehive/1.3` is fine). */
export function parseGreeting(reply: Reply): ServerInfo {
  if (reply.status !== 'HELLO') throw protocolError(`expected HELLO, got ${reply.status}`);
  const protocol = reply.fields.get('proto') ?? '';
  const [name, version = ''] = protocol.split('/');
  if (name !== PROTOCOL_NAME || version.split('.')[0] !== PROTOCOL_MAJOR) {
    throw protocolError(`server speaks ${protocol || 'an unknown protocol'}, this client speaks ${PROTOCOL}`);
  }
  const offered = (reply.fields.get('checksums') ?? '').split(',');
  return {
    protocol,
    software: reply.fields.get('server') ?? '',
    checksums: offered.filter(isChecksumAlgorithm),
    features: (reply.fields.get('features') ?? '').split(',').filter((f) => f !== ''),
  };
}

/** Connects and reads the greeting. Anything failing here is CONNECT_FAILED, except an ERR reply. */
export async function openSession(
  options: ConnectOptions,
): Promise<{ connection: Connection; server: ServerInfo }> {
  const { host, port, timeoutMs = 10_000 } = options;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const socket = connectSocket({ host, port, tls: options.tls });
  const connection = new Connection(socket);
  // The greeting is the reply to no request; a server that refuses sessions (full, stopping) answers
  // ERR instead, with its own code.
  const greeting = createDeferred<Reply>();
  connection.expect({
    read(input) {
      const reply = takeReply(input);
      if (reply === null) return false;
      if (reply.status === 'ERR') greeting.reject(fromErrReply(reply));
      else greeting.resolve(reply);
      return true;
    },
    fail: (err) => greeting.reject(err),
  });
  socket.setTimeout(timeoutMs, () =>
    connection.destroy(
      new FilehiveClientError(
        'CONNECT_FAILED',
        `cannot connect to ${where}: no greeting within ${timeoutMs} ms${options.tls ? '' : ' (a TLS port? use --tls)'}`,
      ),
    ),
  );
  try {
    const hello = await greeting.promise.catch((err: FilehiveClientError) => {
      if (err.code === 'CONNECTION_LOST') {
        throw new FilehiveClientError('CONNECT_FAILED', `cannot connect to ${where}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    });
    const server = parseGreeting(hello);
    socket.setTimeout(0);
    return { connection, server };
  } catch (err) {
    connection.destroy(err instanceof FilehiveClientError ? err : protocolError(String(err)));
    throw err;
  }
}
