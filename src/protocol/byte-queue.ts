// An incremental input buffer for one connection: lines in line mode, raw slices in byte mode. Pure:
// it never copies file bytes (slices share the pushed chunks) and never holds more than it was given.

export type LineResult = Buffer | null | 'too-long';

/** Bytes received but not yet consumed, as a queue of chunks. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private total = 0;

  get size(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * Takes one line without its `\n` (and without a `\r` before it). Returns null when no full line is
   * buffered yet, or 'too-long' when more than `maxLength` bytes (newline included) came without one.
   */
  takeLine(maxLength: number): LineResult {
    let scanned = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c] as Buffer;
      const start = c === 0 ? this.head : 0;
      const nl = chunk.indexOf(0x0a, start);
      if (nl >= 0) {
        const length = scanned + (nl - start) + 1;
        if (length > maxLength) return 'too-long';
        const line = this.consume(length);
        const end = line.length >= 2 && line[line.length - 2] === 0x0d ? line.length - 2 : line.length - 1;
        return line.subarray(0, end);
      }
      scanned += chunk.length - start;
      if (scanned >= maxLength) return 'too-long';
    }
    return null;
  }

  /** Takes up to `max` raw bytes as one slice of the first chunk (no copy), or null when empty. */
  takeBytes(max: number): Buffer | null {
    if (this.total === 0 || max <= 0) return null;
    const chunk = this.chunks[0] as Buffer;
    const n = Math.min(max, chunk.length - this.head);
    const slice = chunk.subarray(this.head, this.head + n);
    this.advance(n);
    return slice;
  }

  /** Drops up to `max` bytes, returning how many were dropped. */
  discard(max: number): number {
    let dropped = 0;
    while (dropped < max && this.total > 0) {
      const chunk = this.chunks[0] as Buffer;
      const n = Math.min(max - dropped, chunk.length - this.head);
      this.advance(n);
      dropped += n;
    }
    return dropped;
  }

  private advance(n: number): void {
    this.head += n;
    this.total -= n;
    if (this.head === (this.chunks[0] as Buffer).length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  private consume(length: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.head >= length) {
      const out = first.subarray(this.head, this.head + length);
      this.advance(length);
      return out;
    }
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0] as Buffer;
      const n = Math.min(length - filled, chunk.length - this.head);
      chunk.copy(out, filled, this.head, this.head + n);
      filled += n;
      this.advance(n);
    }
    return out;
  }
}
