// A TCP proxy in front of the real server that moves at most `bytesPerSecond` each way, so a
// transfer on loopback lasts long enough to watch its progress or cancel it, however fast the machine.
import type net from 'node:net';
import { startTcpProxy } from './tcp-proxy.js';

export type { TcpProxy as ThrottleProxy } from './tcp-proxy.js';

export function startThrottleProxy(target: { host: string; port: number }, bytesPerSecond: number) {
  return startTcpProxy(target, (from, to) => pump(from, to, bytesPerSecond));
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
