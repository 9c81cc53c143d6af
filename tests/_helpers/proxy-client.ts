// A client that talks like a load balancer with the PROXY protocol: a real TCP connection from a chosen
// loopback address, a header, then the client's own bytes (plain or TLS).
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

/** A TCP connection from `localAddress` (any of 127/8 on Linux) to the loopback port. */
export async function connectFrom(port: number, localAddress: string): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress, noDelay: true });
  await once(socket, 'connect');
  return socket;
}

/**
 * A Duplex over `socket` whose first write goes out together with `prefix`, in one TCP write: the
 * header and the client's first bytes (a TLS ClientHello) arrive in the same segment, as they may
 * from a balancer.
 */
export function prefixedStream(socket: Socket, prefix: Buffer): Duplex {
  let first = true;
  const stream: Duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      socket.write(first ? Buffer.concat([prefix, chunk]) : chunk, callback);
      first = false;
    },
    final(callback) {
      socket.end(callback);
    },
    read() {
      socket.resume();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('error', (err) => stream.destroy(err));
  return stream;
}

/** TLS (accepting any certificate) over a connection from `localAddress` that starts with `header`. */
export async function connectTlsThroughHeader(
  port: number,
  localAddress: string,
  header: Buffer,
  options: { sameSegment: boolean },
): Promise<TLSSocket> {
  const socket = await connectFrom(port, localAddress);
  let transport: Duplex = socket;
  if (options.sameSegment) transport = prefixedStream(socket, header);
  else socket.write(header);
  const tls = tlsConnect({ socket: transport, rejectUnauthorized: false, servername: 'localhost' });
  await once(tls, 'secureConnect');
  return tls;
}

/** Everything the peer sends until it closes (or `timeoutMs`: then what came so far). */
export async function readUntilClosed(socket: Socket | TLSSocket, timeoutMs = 10_000): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  socket.on('error', () => undefined);
  await Promise.race([once(socket, 'close'), new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  return text;
}
