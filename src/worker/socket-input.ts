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

/** A wait for input with a deadline on the monotonic clock (performance.now(): it never jumps). */
interface Waiter {
  readonly deadline: number;
  readonly kind: TimeoutKind;
  readonly fail: (err: SessionTimeout) => void;
}

export class SocketInput {
  private readonly queue = new ByteQueue();
  private ended = false;
  private wake: (() => void) | null = null;
  private waiter: Waiter | null = null;
  /**
   * One timer for all waits, armed for the earliest deadline it knows of and left running when data
   * comes: a fast upload waits thousands of times a second, and a timer per wait would cost more than
   * the check it makes. When it fires it fails the current wait if that is overdue, else re-arms for it.
   */
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;

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
      this.disarm();
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
    this.waiter = null;
    wake?.();
  }

  /** Waits for more input; past `deadline` (performance.now(); 0 = none) fails with SessionTimeout. */
  private async waitForData(deadline: number, kind: TimeoutKind): Promise<void> {
    if (this.socket.isPaused() && !this.ended) this.socket.resume();
    await new Promise<void>((resolve, reject) => {
      this.wake = resolve;
      if (deadline > 0) {
        this.waiter = { deadline, kind, fail: reject };
        if (this.timer === null || deadline < this.timerAt) this.arm(deadline);
      }
    });
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - performance.now()));
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimer(): void {
    this.timer = null;
    const waiter = this.waiter;
    if (waiter === null) return;
    if (performance.now() < waiter.deadline) {
      this.arm(waiter.deadline);
      return;
    }
    this.waiter = null;
    this.wake = null;
    metrics.refused(waiter.kind === 'idle' ? 'idle_timeout' : 'stall_timeout');
    const ms = waiter.kind === 'idle' ? this.limits.idleMs : this.limits.stallMs;
    waiter.fail(new SessionTimeout(waiter.kind, ms));
  }

  private deadline(kind: TimeoutKind): number {
    const ms = kind === 'idle' ? this.limits.idleMs : this.limits.stallMs;
    return ms > 0 ? performance.now() + ms : 0;
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
