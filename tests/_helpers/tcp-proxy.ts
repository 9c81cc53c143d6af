// A loopback TCP proxy in front of a server, the skeleton of the test proxies that shape traffic
// (throttle-proxy.ts, gate-proxy.ts): each client gets its own upstream connection, and either side
// going away ends both, as a pulled cable would.
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

/** `relay(from, to, direction)` moves one direction's bytes: `up` is client to server. */
export async function startTcpProxy(
  target: { host: string; port: number },
  relay: (from: net.Socket, to: net.Socket, direction: 'up' | 'down') => void,
): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.host, port: target.port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    relay(client, upstream, 'up');
    relay(upstream, client, 'down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
