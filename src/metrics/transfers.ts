// The transfers running in this worker: one place that counts their bytes in the metrics and can list
// them for GET /transfers. No secrets: direction, virtual path and byte counts only.
import { type Direction, metrics } from './worker-metrics.js';

export interface TransferInfo {
  readonly direction: Direction;
  readonly path: string;
  readonly bytes: number;
  readonly expectedBytes: number;
  readonly bytesPerSecond: number;
  readonly startedAt: string;
  readonly worker: number;
}

/** One running transfer; end() exactly once. */
export class Transfer {
  bytes = 0;
  private readonly started = performance.now();
  private readonly startedAt = new Date();
  private ended = false;

  constructor(
    private readonly registry: Set<Transfer>,
    readonly direction: Direction,
    readonly path: string,
    readonly expectedBytes: number,
    private readonly worker: number,
  ) {
    registry.add(this);
    metrics.transferStarted(direction, expectedBytes);
  }

  progress(bytes: number): void {
    this.bytes += bytes;
    metrics.transferProgress(this.direction, bytes);
  }

  end(code: string): void {
    if (this.ended) return;
    this.ended = true;
    this.registry.delete(this);
    const seconds = (performance.now() - this.started) / 1000;
    metrics.transferEnded(this.direction, code, this.expectedBytes - this.bytes, seconds, this.bytes);
  }

  info(): TransferInfo {
    const seconds = (performance.now() - this.started) / 1000;
    return {
      direction: this.direction,
      path: this.path,
      bytes: this.bytes,
      expectedBytes: this.expectedBytes,
      bytesPerSecond: seconds > 0 ? Math.round(this.bytes / seconds) : 0,
      startedAt: this.startedAt.toISOString(),
      worker: this.worker,
    };
  }
}

export class TransferRegistry {
  private readonly running = new Set<Transfer>();

  constructor(private readonly worker: number) {}

  begin(direction: Direction, path: string, expectedBytes: number): Transfer {
    return new Transfer(this.running, direction, path, expectedBytes, this.worker);
  }

  list(): TransferInfo[] {
    return [...this.running].map((t) => t.info());
  }
}
