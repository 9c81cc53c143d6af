// One TCP session to a server: writes request lines, and hands incoming bytes to response readers in
// the order the requests were sent. Replies are matched by position (PROTOCOL.md#session), so the
// readers form a queue, which is what lets a caller pipeline requests.
import type net from 'node:net';
import { ByteQueue, MAX_LINE_BYTES, parseReply, type Reply } from '../protocol/index.js';
import { describeSocketError, FilehiveClientError, protocolError, toClientError } from './errors.js';

/** Consumes the reply lines (and raw bytes) of one request from the shared input. */
export interface ResponseReader {
  /**
   * Takes what it can from `input`; returns true once its response is complete. It may call
   * `connection.hold()` to stop input until its sink catches up. Throwing a FilehiveClientError
   * (a protocol violation) ends the session.
   */
  read(input: ByteQueue, connection: Connection): boolean;
  /** The session ended before the response was complete. */
  fail(err: FilehiveClientError): void;
}

/** Takes one reply line from `input`, or null when no full line is buffered yet. */
export function takeReply(input: ByteQueue): Reply | null {
  const line = input.takeLine(MAX_LINE_BYTES);
  if (line === null) return null;
  if (line === 'too-long') throw protocolError(`reply line longer than ${MAX_LINE_BYTES} bytes`);
  const parsed = parseReply(line);
  if (!parsed.ok) throw protocolError(parsed.message);
  return parsed.value;
}

interface Queued {
  line: string;
  reader: ResponseReader;
  holdWrites: boolean;
  /** Bytes written right after the line, with nothing in between (an immediate upload's body). */
  payload: Buffer[];
}

export class Connection {
  private readonly input = new ByteQueue();
  private readonly readers: ResponseReader[] = [];
  /** Requests waiting for an upload to finish its bytes: nothing may be written in between. */
  private readonly queued: Queued[] = [];
  private writesHeld = false;
  private inputHeld = false;
  private endedWith: FilehiveClientError | null = null;
  private failure: FilehiveClientError | null = null;
  private readonly drainWaiters = new Set<() => void>();

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.input.push(chunk);
      this.pump();
    });
    socket.on('drain', () => this.wakeDrainWaiters());
    socket.on('end', () =>
      this.inputEnded(new FilehiveClientError('CONNECTION_LOST', 'the server closed the connection')),
    );
    socket.on('error', (err) =>
      this.inputEnded(new FilehiveClientError('CONNECTION_LOST', describeSocketError(err), { cause: err })),
    );
    socket.on('close', () => this.inputEnded(new FilehiveClientError('CONNECTION_LOST')));
  }

  /**
   * The socket will deliver nothing more. While input is held, bytes already buffered may still
   * complete a response (a download's last bytes and its OK), so the failure waits for `release()`.
   */
  private inputEnded(err: FilehiveClientError): void {
    if (this.inputHeld) this.endedWith ??= err;
    else this.fail(err);
  }

  /** True once the session is over (closed by either side, or failed). */
  get closed(): boolean {
    return this.failure !== null;
  }

  /** Registers a reader for a response that needs no request (the greeting). */
  expect(reader: ResponseReader): void {
    this.assertOpen();
    this.readers.push(reader);
    this.pump();
  }

  /**
   * Sends one request line in one write and queues its reader. With `holdWrites`, later requests
   * wait until `releaseWrites()`: an upload's bytes must follow its GO with nothing in between.
   */
  request(
    line: string,
    reader: ResponseReader,
    options: { holdWrites?: boolean; payload?: Buffer[] } = {},
  ): void {
    this.assertOpen();
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
      throw new FilehiveClientError('BAD_REQUEST', `request longer than ${MAX_LINE_BYTES} bytes`);
    }
    const item = { line, reader, holdWrites: options.holdWrites === true, payload: options.payload ?? [] };
    if (this.writesHeld) this.queued.push(item);
    else this.send(item);
  }

  private assertOpen(): void {
    if (this.failure) {
      throw new FilehiveClientError('CONNECTION_LOST', `the session is over: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }

  private send(item: Queued): void {
    this.readers.push(item.reader);
    this.writesHeld = item.holdWrites;
    if (item.payload.length === 0) this.socket.write(item.line);
    else {
      // One writev for the line and its bytes.
      this.socket.cork();
      this.socket.write(item.line);
      for (const chunk of item.payload) this.socket.write(chunk);
      this.socket.uncork();
    }
    this.pump();
  }

  /** Writes raw bytes while holding writes; false means wait for `drained()`. */
  write(data: Buffer | string): boolean {
    if (this.failure) return false;
    return this.socket.write(data);
  }

  releaseWrites(): void {
    this.writesHeld = false;
    while (!this.writesHeld && !this.failure) {
      const next = this.queued.shift();
      if (!next) return;
      this.send(next);
    }
  }

  /** Resolves when the socket can take more, or the session ended (callers check state after). */
  drained(): Promise<void> {
    if (this.failure || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.add(resolve));
  }

  /** Stops reading from the socket until `release()`; used while a download's file write is behind. */
  hold(): void {
    this.inputHeld = true;
    this.socket.pause();
  }

  release(): void {
    if (!this.inputHeld) return;
    this.inputHeld = false;
    this.pump();
    if (this.inputHeld || this.failure) return;
    if (this.endedWith) this.fail(this.endedWith);
    else this.socket.resume();
  }

  private pump(): void {
    while (!this.inputHeld && !this.failure) {
      const reader = this.readers[0];
      if (reader === undefined) return;
      let done: boolean;
      try {
        done = reader.read(this.input, this);
      } catch (err) {
        // A reader throws protocol errors; anything else came from a caller's callback (onProgress).
        this.destroy(toClientError(err));
        return;
      }
      if (!done) return;
      this.readers.shift();
    }
  }

  /** Ends the session at once; every pending response fails with `reason`. */
  destroy(reason: FilehiveClientError = new FilehiveClientError('CANCELLED')): void {
    this.fail(reason);
  }

  /** Ends our side after pending writes; resolves once the socket is closed. */
  end(): Promise<void> {
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  private fail(err: FilehiveClientError): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
    const pending = [...this.readers, ...this.queued.map((q) => q.reader)];
    this.readers.length = 0;
    this.queued.length = 0;
    for (const reader of pending) reader.fail(err);
    this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    for (const wake of this.drainWaiters) wake();
    this.drainWaiters.clear();
  }
}
