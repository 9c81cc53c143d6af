// One connection = one session: greets, reads request lines in order, dispatches each to its command
// handler, and turns every outcome into exactly one final reply. Errors become replies here, once.
import type { Socket } from 'node:net';
import type { Access } from '../accounts/users-file.js';
import { fromErrno } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { metrics } from '../metrics/worker-metrics.js';
import { clientOf } from '../net/proxy-accept.js';
import { CHECKSUM_ALGORITHMS } from '../protocol/checksum.js';
import {
  encodeError,
  encodeReply,
  MAX_LINE_BYTES,
  PROTOCOL,
  parseRequest,
  type Request,
} from '../protocol/messages.js';
import type { Jail } from '../storage/jail.js';
import { checkAccess } from './access.js';
import { COMMANDS } from './commands/index.js';
import { ConnectionLost } from './connection-lost.js';
import type { WorkerContext } from './context.js';
import { waitForDrain } from './drain.js';
import { SocketInput } from './socket-input.js';
import { SessionTimeout } from './timeouts.js';

const LINGER_MS = 5_000;
/** Optional protocol features this server offers, named in the greeting (PROTOCOL.md#session). */
const FEATURES = ['immediate-upload', 'resume'];
const IMMEDIATE_UPLOAD_HINT = /\bgo=no\b/i;

export class Session {
  readonly input: SocketInput;
  log: Logger;
  cwd = '/';
  /** The logged-in account (docs/SECURITY.md#accounts); null before LOGIN or without accounts. */
  account: { readonly name: string; readonly access: Access } | null = null;
  /** Set by a handler that failed with request bytes still unread: the session cannot go on. */
  desynced = false;
  private busy = false;
  /** The verb of the running command: a shutdown that cuts it tells the client, unless it streams bytes. */
  private running: Request['verb'] | null = null;
  private closing = false;
  readonly closed: Promise<void>;

  constructor(
    readonly socket: Socket,
    /** Replaced once, at LOGIN, by a copy whose jail is the account's home. */
    public ctx: WorkerContext,
    readonly id: number,
  ) {
    this.input = new SocketInput(socket, {
      idleMs: ctx.config.idleTimeoutMs,
      stallMs: ctx.config.stallTimeoutMs,
    });
    // The client (behind a trusted proxy: the one its PROXY header names, with `proxy` beside it).
    const client = clientOf(socket);
    const proxy = client.proxy ? { proxy: client.proxy } : {};
    this.log = ctx.log.child({ session: id, peer: `${client.address}:${client.port}`, ...proxy });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (err: NodeJS.ErrnoException) => this.log.debug({ code: err.code }, 'socket error'));
  }

  /** Writes one reply in one write (PROTOCOL.md: small replies must not wait on Nagle). */
  send(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  async run(): Promise<void> {
    this.log.debug('connected');
    this.send(
      encodeReply('HELLO', {
        proto: PROTOCOL,
        server: `filehive ${this.ctx.version}`,
        checksums: CHECKSUM_ALGORITHMS.join(','),
        'max-line': MAX_LINE_BYTES,
        features: FEATURES.join(','),
      }),
    );
    try {
      while (!this.closing) {
        // Replies the client does not read do not pile up: the next request waits (SECURITY.md#limits).
        if (this.socket.writableNeedDrain) {
          const drained = await waitForDrain(this).then(
            () => true,
            () => false,
          );
          if (!drained) break;
        }
        const line = await this.input.line(MAX_LINE_BYTES, 'idle').catch((err: unknown) => {
          if (err instanceof SessionTimeout) return err;
          throw err;
        });
        if (line instanceof SessionTimeout) {
          this.log.info({ code: 'TIMEOUT' }, 'idle session, closing');
          this.send(encodeError('TIMEOUT', line.message));
          this.linger();
          break;
        }
        if (line === null) break;
        if (line === 'too-long') {
          this.log.info({ code: 'BAD_REQUEST' }, 'request line too long, closing');
          this.send(encodeError('BAD_REQUEST', 'line too long'));
          this.linger();
          break;
        }
        const parsed = parseRequest(line);
        if (!parsed.ok) {
          metrics.commandDone('INVALID', parsed.code);
          this.log.info({ code: parsed.code, reason: parsed.message }, 'bad request');
          this.send(encodeError(parsed.code, parsed.message));
          // Bytes of unknown length may follow a request that asked not to wait for GO.
          if (IMMEDIATE_UPLOAD_HINT.test(line.toString('latin1'))) {
            this.desynced = true;
            this.linger();
            break;
          }
          continue;
        }
        if (parsed.value.verb === 'QUIT') {
          this.send(encodeReply('OK', { msg: 'bye' }));
          this.socket.end();
          break;
        }
        await this.dispatch(parsed.value);
        if (this.desynced) {
          this.linger();
          break;
        }
      }
    } finally {
      if (!this.desynced && !this.socket.destroyed) this.socket.end();
      this.log.debug('disconnected');
    }
  }

  private async dispatch(request: Request): Promise<void> {
    const started = performance.now();
    this.busy = true;
    this.running = request.verb;
    let code = 'OK';
    try {
      await checkAccess(this, request);
      await COMMANDS[request.verb](this, request as never);
    } catch (err) {
      if (err instanceof ConnectionLost || this.socket.destroyed) {
        code = 'DISCONNECTED';
        this.closing = true;
        return;
      }
      const failure = fromErrno(err);
      code = failure.code;
      // A stalled transfer leaves the session out of step: after the reply it closes.
      if (code === 'TIMEOUT') this.desynced = true;
      if (failure.code === 'INTERNAL') this.log.error({ err, verb: request.verb }, 'command failed');
      else this.log.info({ verb: request.verb, code, reason: failure.message }, 'command refused');
      this.send(encodeError(failure.code, failure.message, failure.fields));
    } finally {
      this.busy = false;
      metrics.commandDone(request.verb, code);
      this.log.debug({ verb: request.verb, code, ms: Math.round(performance.now() - started) }, 'command');
    }
  }

  /** LOGIN succeeded: from now on the session sees only `home`, and starts at its `/`. */
  logIn(account: { name: string; access: Access }, home: Jail): void {
    this.account = account;
    this.ctx = { ...this.ctx, jail: home };
    this.cwd = '/';
    this.log = this.log.child({ user: account.name });
  }

  /** Ends our side after an abort, drops whatever the peer still sends, and gives up after a while. */
  private linger(): void {
    this.closing = true;
    this.input.discardAll();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  /** Shutdown: an idle session closes now, a busy one after its command. */
  shutdown(): void {
    this.closing = true;
    if (!this.busy) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    }
  }

  /**
   * The grace period is over: abort whatever still runs. A command cut mid-way gets its final
   * `ERR SHUTTING_DOWN` first (PROTOCOL.md#stopping-a-transfer-in-the-middle), except a download,
   * whose raw bytes a reply line cannot interrupt: it just ends without its `OK`.
   */
  abort(): void {
    if (this.busy && this.running !== 'DOWNLOAD') {
      this.send(encodeError('SHUTTING_DOWN', 'the server is shutting down; the command was cut'));
    }
    this.socket.destroy();
  }
}
