// Reads one connection's input for the session: whole lines, or raw byte slices for upload bodies.
// Holds at most HIGH_WATER bytes before pausing the socket, so a fast sender cannot fill memory.
// Every wait for the client is bounded (docs/SECURITY.md#limits): a request line must be complete
// within the idle timeout, however slowly it trickles in; inside a command (an upload's bytes and its
// CHECKSUM line) the stall timeout bounds each wait for more bytes.
import type { Socket } from 'node:net';
import { metrics } from '../metrics/worker-metrics.js';
import { ByteQueue, type LineResult } from '../protocol/byte-queue.js';
import { SessionTimeout, type TimeoutKind } from './timeouts.js';

const HIGH_WATER = 4 << 20;

/** Milliseconds, 0 = never. */
export interface InputLimits {
  readonly idleMs: number;
  readonly stallMs: number;
}

export class SocketInput {
  private readonly queue = new ByteQueue();
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly limits: InputLimits = { idleMs: 0, stallMs: 0 },
  ) {
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

  /** Waits for more input; past `deadline` (a Date.now() value, 0 = none) fails with SessionTimeout. */
  private async waitForData(deadline: number, kind: TimeoutKind): Promise<void> {
    if (this.socket.isPaused() && !this.ended) this.socket.resume();
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (deadline > 0) {
        timer = setTimeout(
          () => {
            this.wake = null;
            metrics.refused(kind === 'idle' ? 'idle_timeout' : 'stall_timeout');
            reject(new SessionTimeout(kind, kind === 'idle' ? this.limits.idleMs : this.limits.stallMs));
          },
          Math.max(0, deadline - Date.now()),
        );
      }
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private deadline(kind: TimeoutKind): number {
    const ms = kind === 'idle' ? this.limits.idleMs : this.limits.stallMs;
    return ms > 0 ? Date.now() + ms : 0;
  }

  private afterTake(): void {
    if (this.queue.size < HIGH_WATER / 2 && this.socket.isPaused() && !this.ended) this.socket.resume();
  }

  /**
   * The next line, 'too-long', or null at end of input. The whole line must arrive within the limit
   * (`idle` for a request, `stall` for a line inside a command), or this fails with SessionTimeout.
   */
  async line(maxLength: number, limit: TimeoutKind = 'stall'): Promise<LineResult> {
    const deadline = this.deadline(limit);
    for (;;) {
      const line = this.queue.takeLine(maxLength);
      if (line !== null) {
        this.afterTake();
        return line;
      }
      if (this.ended) return null;
      await this.waitForData(deadline, limit);
    }
  }

  /** Every buffered slice up to `max` bytes, waiting for at least one byte; [] at end of input. */
  async chunks(max: number): Promise<Buffer[]> {
    const deadline = this.deadline('stall');
    while (this.queue.size === 0) {
      if (this.ended) return [];
      await this.waitForData(deadline, 'stall');
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
      const deadline = this.deadline('stall');
      while (this.queue.size === 0) {
        if (this.ended) return false;
        await this.waitForData(deadline, 'stall');
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
