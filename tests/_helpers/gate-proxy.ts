// A TCP proxy in front of the real server that forwards at most a byte budget in one direction and
// then stops reading that side: a transfer through it halts at a known point, however fast or slow
// the machine, so a test can kill the client there and know what each side has.
import type net from 'node:net';
import { type TcpProxy as GateProxy, startTcpProxy } from './tcp-proxy.js';

export interface GateBudget {
  /** Client-to-server bytes to forward (the request lines included), then nothing more. */
  readonly up?: number;
  /** Server-to-client bytes to forward (the greeting and replies included), then nothing more. */
  readonly down?: number;
}

export type { TcpProxy as GateProxy } from './tcp-proxy.js';

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

export function startGateProxy(
  target: { host: string; port: number },
  budget: GateBudget,
): Promise<GateProxy> {
  return startTcpProxy(target, (from, to, direction) =>
    forward(from, to, budget[direction] ?? Number.POSITIVE_INFINITY),
  );
}
