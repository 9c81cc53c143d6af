// Reads one connection's input for the session: whole lines, or raw byte slices for upload bodies.
// Holds at most HIGH_WATER bytes before pausing the socket, so a fast sender cannot fill memory.
import type { Socket } from 'node:net';
import { ByteQueue, type LineResult } from '../protocol/byte-queue.js';

const HIGH_WATER = 4 << 20;

export class SocketInput {
  private readonly queue = new ByteQueue();
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      if (this.queue.size >= HIGH_WATER) socket.pause();
      this.notify();
    });
    const end = () => {
      this.ended = true;
      this.notify();
    };
    socket.on('end', end);
    socket.on('close', end);
  }

  /** True once the peer has closed its side and nothing is left to read. */
  get exhausted(): boolean {
    return this.ended && this.queue.size === 0;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async waitForData(): Promise<void> {
    if (this.socket.isPaused() && !this.ended) this.socket.resume();
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private afterTake(): void {
    if (this.queue.size < HIGH_WATER / 2 && this.socket.isPaused() && !this.ended) this.socket.resume();
  }

  /** The next line, 'too-long', or null at end of input. */
  async line(maxLength: number): Promise<LineResult> {
    for (;;) {
      const line = this.queue.takeLine(maxLength);
      if (line !== null) {
        this.afterTake();
        return line;
      }
      if (this.ended) return null;
      await this.waitForData();
    }
  }

  /** Every buffered slice up to `max` bytes, waiting for at least one byte; [] at end of input. */
  async chunks(max: number): Promise<Buffer[]> {
    while (this.queue.size === 0) {
      if (this.ended) return [];
      await this.waitForData();
    }
    const out: Buffer[] = [];
    let left = max;
    for (let slice = this.queue.takeBytes(left); slice !== null; slice = this.queue.takeBytes(left)) {
      out.push(slice);
      left -= slice.length;
    }
    this.afterTake();
    return out;
  }

  /** Reads and drops exactly `count` bytes; false when the input ended first. */
  async skip(count: number): Promise<boolean> {
    let left = count;
    while (left > 0) {
      while (this.queue.size === 0) {
        if (this.ended) return false;
        await this.waitForData();
      }
      left -= this.queue.discard(left);
      this.afterTake();
    }
    return true;
  }

  /** Drops everything that arrives until the peer closes (a lingering close after an abort). */
  discardAll(): void {
    this.queue.discard(this.queue.size);
    this.socket.removeAllListeners('data');
    this.socket.on('data', () => undefined);
    this.socket.resume();
  }
}
