// A hand-written protocol peer for tests: raw lines and bytes, so tests can also send what no
// well-behaved client would.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { ByteQueue } from '../../src/protocol/byte-queue.js';
import { createChecksum } from '../../src/protocol/checksum.js';
import { encodeToken } from '../../src/protocol/tokens.js';

export interface RawReply {
  readonly line: string;
  readonly status: string;
  readonly code: string | undefined;
  readonly fields: Record<string, string>;
}

/** Parses a reply line loosely (tests want to see even malformed ones). */
export function parseRawReply(line: string): RawReply {
  const status = line.split(' ')[0] ?? '';
  const code = status === 'ERR' ? line.split(' ')[1] : undefined;
  const fields: Record<string, string> = {};
  for (const m of line.matchAll(/([a-z][a-z0-9-]*)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const raw = m[2] as string;
    fields[m[1] as string] = raw.startsWith('"')
      ? (JSON.parse(raw.replace(/\\x([0-9a-f]{2})/g, '\\u00$1')) as string)
      : raw;
  }
  return { line, status, code, fields };
}

export const q = encodeToken;

export class RawClient {
  private readonly queue = new ByteQueue();
  private ended = false;
  private wake: (() => void) | null = null;
  greeting = '';

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.notify();
    });
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static async connect(
    port: number,
    /** `preface`: bytes sent right after connecting, before the greeting (a PROXY header). */
    options: { host?: string; localAddress?: string; preface?: string | Buffer } = {},
  ): Promise<RawClient> {
    const socket = connect({
      port,
      host: options.host ?? '127.0.0.1',
      localAddress: options.localAddress,
      noDelay: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    if (options.preface !== undefined) socket.write(options.preface);
    client.greeting = await client.line();
    return client;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async waitData(timeoutMs: number): Promise<void> {
    if (this.ended) throw new Error('connection closed');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the server')), timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  async line(timeoutMs = 10_000): Promise<string> {
    for (;;) {
      const line = this.queue.takeLine(1 << 20);
      if (line instanceof Buffer) return line.toString('utf8');
      await this.waitData(timeoutMs);
    }
  }

  async reply(timeoutMs?: number): Promise<RawReply> {
    return parseRawReply(await this.line(timeoutMs));
  }

  async bytes(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const slice = this.queue.takeBytes(left);
      if (slice) {
        parts.push(Buffer.from(slice));
        left -= slice.length;
      } else await this.waitData(30_000);
    }
    return Buffer.concat(parts);
  }

  /** Resolves when the server has closed the connection. */
  async closed(timeoutMs = 10_000): Promise<void> {
    while (!this.ended) await this.waitData(timeoutMs).catch(() => undefined);
  }

  get isClosed(): boolean {
    return this.ended;
  }

  async request(line: string): Promise<RawReply> {
    this.send(`${line}\n`);
    return this.reply();
  }

  async list(path = '.'): Promise<{ entries: RawReply[]; final: RawReply }> {
    this.send(`DIR ${q(path)}\n`);
    const entries: RawReply[] = [];
    for (;;) {
      const reply = await this.reply();
      if (reply.status !== 'ENTRY') return { entries, final: reply };
      entries.push(reply);
    }
  }

  /** A complete, correct upload; `checksumHex` overrides the trailer (to test mismatches). */
  async upload(name: string, data: Buffer, options: { checksumHex?: string } = {}): Promise<RawReply> {
    const go = await this.request(`UPLOAD ${q(name)} ${data.length}`);
    if (go.status !== 'GO') return go;
    const hash = createChecksum('xxh3-64');
    hash.update(data);
    this.send(data);
    this.send(`CHECKSUM xxh3-64:${options.checksumHex ?? hash.digest()}\n`);
    return this.reply(60_000);
  }

  async download(name: string): Promise<{ data: Buffer | null; reply: RawReply }> {
    const head = await this.request(`DOWNLOAD ${q(name)}`);
    if (head.status !== 'DATA') return { data: null, reply: head };
    const data = await this.bytes(Number(head.fields.size));
    return { data, reply: await this.reply() };
  }

  close(): void {
    this.socket.destroy();
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** DOWNLOAD on a session of its own: the sha256 of the bytes, or the refusal's code (else its line). */
export async function downloadDigest(port: number, name: string): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    const { data, reply } = await c.download(name);
    return data ? sha256(data) : (reply.code ?? reply.line);
  } finally {
    c.close();
  }
}
