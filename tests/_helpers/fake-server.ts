// A small in-memory server speaking docs/PROTOCOL.md through the real codec, with knobs for the
// failures a client must survive (early ERR, dropped connections, wrong checksums). It holds one
// share in memory: `files` and `dirs` keyed by absolute virtual path.
import net from 'node:net';
import { posix } from 'node:path';
import type { ErrorCode } from '../../src/errors.js';
import {
  ByteQueue,
  type Checksum,
  type ChecksumAlgorithm,
  createChecksum,
  encodeError,
  encodeReply,
  formatChecksum,
  MAX_LINE_BYTES,
  parseRequest,
  type Request,
} from '../../src/protocol/index.js';
import { FakeShare } from './fake-share.js';

export { FAKE_MTIME } from './fake-share.js';

export interface FakeServerOptions {
  /** Replaces the HELLO line (newline added). */
  greeting?: string;
  /** UPLOAD: after this many bytes answer `ERR NO_SPACE` at once and stop reading the session. */
  abortUploadAfter?: number;
  /** DOWNLOAD: close the connection after sending this many bytes of the file. */
  dropDownloadAfter?: number;
  /** DOWNLOAD: announce a checksum that does not match the bytes. */
  wrongDownloadChecksum?: boolean;
}

export interface FakeServer {
  host: string;
  port: number;
  files: Map<string, Buffer>;
  dirs: Set<string>;
  /** Every request line received, decoded, in order. */
  requests: string[];
  close(): Promise<void>;
}

const DEFAULT_GREETING = 'HELLO proto=filehive/1 server="fake 0" checksums=xxh3-64,sha256 max-line=16384';

type Fail = { code: ErrorCode; msg: string; fields?: Record<string, string> };
const fail = (code: ErrorCode, msg: string, fields?: Record<string, string>): Fail => ({ code, msg, fields });

interface Upload {
  path: string;
  size: number;
  chunks: Buffer[];
  received: number;
  hash: Checksum;
  algorithm: ChecksumAlgorithm;
}

export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const share = new FakeShare();
  const { files } = share;
  const isDir = (p: string) => share.isDir(p);
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();

  function serve(socket: net.Socket): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const input = new ByteQueue();
    let cwd = '/';
    let upload: Upload | null = null;
    let awaitingChecksum: Upload | null = null;
    let stopped = false;
    const send = (text: string | Buffer) => socket.write(text);
    const sendError = (f: Fail) => send(encodeError(f.code, f.msg, f.fields));
    const resolve = (p: string) => posix.resolve('/', cwd, p);

    socket.write(`${options.greeting ?? DEFAULT_GREETING}\n`);
    socket.on('data', (chunk: Buffer) => {
      if (stopped) return;
      input.push(chunk);
      while (!stopped && input.size > 0) {
        if (upload) {
          if (!receiveUploadBytes(upload)) return;
          continue;
        }
        const line = input.takeLine(MAX_LINE_BYTES);
        if (line === null) return;
        if (line === 'too-long') {
          sendError(fail('BAD_REQUEST', 'line too long'));
          socket.end();
          stopped = true;
          return;
        }
        const parsed = parseRequest(line);
        requests.push(line.toString('utf8'));
        if (!parsed.ok) sendError(fail(parsed.code, parsed.message));
        else handle(parsed.value);
      }
    });

    function receiveUploadBytes(u: Upload): boolean {
      const chunk = input.takeBytes(u.size - u.received);
      if (chunk === null) return false;
      u.chunks.push(Buffer.from(chunk));
      u.hash.update(chunk);
      u.received += chunk.length;
      if (options.abortUploadAfter !== undefined && u.received >= options.abortUploadAfter) {
        // PROTOCOL.md#stopping-a-transfer-in-the-middle: ERR at once, then stop reading.
        sendError(fail('NO_SPACE', 'disk full'));
        stopped = true;
        socket.pause();
        return false;
      }
      if (u.received === u.size) {
        upload = null;
        awaitingChecksum = u;
      }
      return true;
    }

    function handle(request: Request): void {
      if (awaitingChecksum) {
        const u = awaitingChecksum;
        awaitingChecksum = null;
        const digest = u.hash.digest();
        if (request.verb !== 'CHECKSUM' || request.algorithm !== u.algorithm) {
          sendError(fail('BAD_REQUEST', 'expected CHECKSUM'));
        } else if (request.hex !== digest) {
          sendError(fail('CHECKSUM_MISMATCH', 'checksum mismatch'));
        } else {
          files.set(u.path, Buffer.concat(u.chunks));
          send(
            encodeReply('OK', {
              size: u.size,
              checksum: formatChecksum(u.algorithm, digest),
              msg: `stored ${u.path}`,
            }),
          );
        }
        return;
      }
      const outcome = run(request);
      if (outcome !== undefined) sendError(outcome);
    }

    function run(request: Request): Fail | undefined {
      switch (request.verb) {
        case 'UPLOAD': {
          const path = resolve(request.path);
          if (!isDir(posix.dirname(path))) return fail('NOT_FOUND', 'no such folder');
          if (isDir(path)) return fail('IS_A_DIRECTORY', 'is a folder');
          if (posix.basename(path) === 'busy.bin') return fail('BUSY', 'locked', { holder: 'upload' });
          upload = {
            path,
            size: request.size,
            chunks: [],
            received: 0,
            hash: createChecksum(request.checksum),
            algorithm: request.checksum,
          };
          send(encodeReply('GO', { size: request.size }));
          if (request.size === 0) {
            awaitingChecksum = upload;
            upload = null;
          }
          return;
        }
        case 'DOWNLOAD': {
          const path = resolve(request.path);
          const data = files.get(path);
          if (isDir(path)) return fail('IS_A_DIRECTORY', 'is a folder');
          if (!data) return fail('NOT_FOUND', 'no such file');
          send(encodeReply('DATA', { size: data.length, checksum: request.checksum }));
          if (options.dropDownloadAfter !== undefined) {
            send(data.subarray(0, options.dropDownloadAfter));
            socket.end();
            stopped = true;
            return;
          }
          send(data);
          const hash = createChecksum(request.checksum);
          hash.update(options.wrongDownloadChecksum ? Buffer.from('tampered') : data);
          const checksum = formatChecksum(request.checksum, hash.digest());
          send(encodeReply('OK', { size: data.length, checksum, msg: `sent ${path}` }));
          return;
        }
        case 'QUIT':
          send(encodeReply('OK', { msg: 'bye' }));
          socket.end();
          stopped = true;
          return;
        default: {
          const result = share.run(cwd, request);
          cwd = result.cwd;
          for (const line of result.lines) send(line);
          return;
        }
      }
    }
  }

  const server = net.createServer(serve);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    files,
    dirs: share.dirs,
    requests,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}
