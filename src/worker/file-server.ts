import { createServer, type Server, type Socket } from 'node:net';
import { metrics } from '../metrics/worker-metrics.js';
import { requireProxyHeaders } from '../net/proxy-accept.js';
import { createTlsFileServer } from '../tls/server-tls.js';
import { admitConnection } from './admission.js';
import type { WorkerContext } from './context.js';
import { Session } from './session.js';

/** Socket buffers of 1 MiB: with Node 20's 16 KiB default, loopback transfers run at half speed. */
const SOCKET_HIGH_WATER = 1 << 20;

export interface FileServer {
  readonly server: Server;
  readonly sessions: Map<Session, Promise<void>>;
}

/** Creates (does not start) the TCP (or, with --tls-cert, TLS) server whose every connection runs one Session. */
export function createFileServer(ctx: WorkerContext): FileServer {
  const sessions = new Map<Session, Promise<void>>();
  let nextId = 1;
  const options = { noDelay: true, highWaterMark: SOCKET_HIGH_WATER };
  const onConnection = async (socket: Socket) => {
    socket.setNoDelay(true);
    metrics.connectionOpened();
    socket.once('close', () => metrics.connectionClosed());
    // Limits and bans across all workers; a refused socket got its ERR greeting and is closing.
    if (!(await admitConnection(socket, ctx))) return;
    const session = new Session(socket, ctx, nextId++);
    const running = session
      .run()
      .catch((err: unknown) => {
        session.log.error({ err }, 'session failed');
        socket.destroy();
      })
      .finally(() => sessions.delete(session));
    sessions.set(session, running);
  };
  const { tlsCert, tlsKey } = ctx.config;
  // With TLS, onConnection runs once the handshake is done ('secureConnection').
  const server =
    tlsCert && tlsKey
      ? createTlsFileServer(
          { certFile: tlsCert, keyFile: tlsKey },
          options,
          onConnection,
          ctx.log,
          (failure) => metrics.tlsHandshakeFailed(failure),
        )
      : createServer(options as { noDelay: boolean }, onConnection);
  // --proxy-protocol: a trusted balancer's PROXY header is read first, on the raw socket (before TLS).
  if (ctx.config.proxyProtocol) {
    const { trustedProxies } = ctx.config;
    requireProxyHeaders(server, {
      trustedProxies,
      log: ctx.log,
      explain: !(tlsCert && tlsKey),
      onFailure: (failure) => metrics.proxyHeaderFailed(failure),
    });
  }
  return { server, sessions };
}
