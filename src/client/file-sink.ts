// Appends downloaded chunks to a file. Chunks that arrive while a write is running are gathered and
// written with one writev, so a fast socket costs few system calls; past a high-water mark the
// caller is told to stop reading until the disk catches up.
import type { FileHandle } from 'node:fs/promises';

/** Queued plus in-flight bytes above which the socket is paused. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

export class FileSink {
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private writingBytes = 0;
  private writing: Promise<void> | null = null;
  private failure: unknown = null;
  private overHighWater = false;

  /**
   * @param onDrain called when the sink went over the high-water mark and is back under it.
   * @param onError called once when a write fails; later chunks are dropped.
   */
  constructor(
    private readonly handle: FileHandle,
    private readonly onDrain: () => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Queues a chunk (kept by reference, not copied); false asks the caller to pause its input. */
  push(chunk: Buffer): boolean {
    if (this.failure !== null) return true;
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.writing === null) this.writing = this.flush();
    this.overHighWater = this.queuedBytes + this.writingBytes > HIGH_WATER_BYTES;
    return !this.overHighWater;
  }

  /** Resolves once everything pushed is written; rejects with the first write error. */
  async finish(): Promise<void> {
    while (this.writing !== null) await this.writing;
    if (this.failure !== null) throw this.failure;
  }

  private async flush(): Promise<void> {
    while (this.queued.length > 0 && this.failure === null) {
      const batch = this.queued;
      this.queued = [];
      this.writingBytes = this.queuedBytes;
      this.queuedBytes = 0;
      try {
        await writeAll(this.handle, batch, this.writingBytes);
      } catch (err) {
        this.failure = err;
        this.queued = [];
        this.onError(err);
      }
      this.writingBytes = 0;
      if (this.overHighWater && this.queuedBytes <= HIGH_WATER_BYTES) {
        this.overHighWater = false;
        this.onDrain();
      }
    }
    this.writing = null;
  }
}

/** writev may write less than asked (a full disk, a signal); continue from where it stopped. */
async function writeAll(handle: FileHandle, buffers: Buffer[], total: number): Promise<void> {
  let pending = buffers;
  let left = total;
  while (left > 0) {
    const { bytesWritten } = await handle.writev(pending);
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    left -= bytesWritten;
    if (left > 0) pending = dropBytes(pending, bytesWritten);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let skip = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) skip -= buffer.length;
    else {
      rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
  }
  return rest;
}
