// A TCP proxy in front of the real server that forwards at most a byte budget in one direction and
// then stops reading that side: a transfer through it halts at a known point, however fast or slow
// the machine, so a test can kill the client there and know what each side has.
import net from 'node:net';

export interface GateBudget {
  /** Client-to-server bytes to forward (the request lines included), then nothing more. */
  readonly up?: number;
  /** Server-to-client bytes to forward (the greeting and replies included), then nothing more. */
  readonly down?: number;
}

export interface GateProxy {
  readonly port: number;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, stopping (and pausing `from`) once `budget` bytes went through. */
function forward(from: net.Socket, to: net.Socket, budget: number): void {
  let left = budget;
  from.on('data', (chunk: Buffer) => {
    if (left <= 0) return;
    const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
    left -= part.length;
    if (!to.write(part)) {
      from.pause();
      to.once('drain', () => {
        if (left > 0) from.resume();
      });
    }
    if (left <= 0) from.pause();
  });
}

export async function startGateProxy(
  target: { host: string; port: number },
  budget: GateBudget,
): Promise<GateProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.host, port: target.port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      // Either side going away ends both, as a pulled cable would.
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream, budget.up ?? Number.POSITIVE_INFINITY);
    forward(upstream, client, budget.down ?? Number.POSITIVE_INFINITY);
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
