import type { Socket } from 'node:net';
import { ConnectionLost } from './connection-lost.js';

/** Waits until the socket's write buffer drains; rejects with ConnectionLost if it closes first. */
export function waitForDrain(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.reject(new ConnectionLost('connection closed'));
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new ConnectionLost('connection closed'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}
