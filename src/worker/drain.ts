import type { Socket } from 'node:net';
import { metrics } from '../metrics/worker-metrics.js';
import { ConnectionLost } from './connection-lost.js';
import type { Session } from './session.js';
import { SessionTimeout } from './timeouts.js';

/**
 * Bytes the socket still holds: its stream buffer and, on a TCP handle, libuv's queue of a write in
 * progress, which shrinks as the kernel takes bytes (the stream buffer only when a whole write ends).
 */
function pendingBytes(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: unknown } })._handle;
  const queued = typeof handle?.writeQueueSize === 'number' ? handle.writeQueueSize : 0;
  return socket.writableLength + queued;
}

/**
 * Waits until the socket's write buffer drains; rejects with ConnectionLost if it closes first. A
 * client that takes no byte for --stall-timeout is cut: the connection is destroyed (a reply could not
 * reach it through the full buffer anyway) and this rejects with SessionTimeout.
 */
export function waitForDrain(session: Pick<Session, 'socket' | 'log' | 'ctx'>): Promise<void> {
  const { socket } = session;
  const stallMs = session.ctx.config.stallTimeoutMs;
  if (socket.destroyed) return Promise.reject(new ConnectionLost('connection closed'));
  return new Promise((resolve, reject) => {
    let watch: NodeJS.Timeout | undefined;
    const done = () => {
      clearInterval(watch);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
    };
    const onDrain = () => {
      done();
      resolve();
    };
    const onClose = () => {
      done();
      reject(new ConnectionLost('connection closed'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
    if (stallMs <= 0) return;
    // Polled, not socket.setTimeout(): that would take the socket's one timeout from other users.
    let last = pendingBytes(socket);
    let since = performance.now();
    watch = setInterval(
      () => {
        const now = pendingBytes(socket);
        if (now !== last) {
          last = now;
          since = performance.now();
        } else if (performance.now() - since >= stallMs) {
          done();
          metrics.refused('stall_timeout');
          session.log.info({ code: 'TIMEOUT', pending: now }, 'client stopped reading, connection cut');
          socket.destroy();
          reject(new SessionTimeout('stall', stallMs));
        }
      },
      Math.min(1_000, Math.max(50, stallMs / 10)),
    );
  });
}
