// A TCP proxy in front of the real server that moves at most `bytesPerSecond` each way, so a
// transfer on loopback lasts long enough to watch its progress or cancel it, however fast the machine.
import net from 'node:net';

export interface ThrottleProxy {
  port: number;
  close(): Promise<void>;
}

export async function startThrottleProxy(target: { host: string; port: number }, bytesPerSecond: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.host, port: target.port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      // Either side going away ends both, as a cable pulled out would.
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    pump(client, upstream, bytesPerSecond);
    pump(upstream, client, bytesPerSecond);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  } satisfies ThrottleProxy;
}

/** Forwards each chunk, then reads nothing for as long as that chunk should have taken. */
function pump(from: net.Socket, to: net.Socket, bytesPerSecond: number): void {
  from.on('data', (chunk: Buffer) => {
    to.write(chunk);
    from.pause();
    setTimeout(() => from.destroyed || from.resume(), (chunk.length / bytesPerSecond) * 1000);
  });
  from.on('end', () => to.end());
}
