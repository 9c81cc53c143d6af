// The CLI's state between commands: the current connection and the options that shape transfers.
import type { Writable } from 'node:stream';
import type { ChecksumAlgorithm } from '../protocol/index.js';
import { type CommandOutcome, checkArgs, findCommand } from './cli-commands.js';
import { splitCommandOptions } from './cli-options.js';
import { obtainPassword, type SecretReader } from './cli-password.js';
import type { ProgressMode } from './cli-progress.js';
import { runWithRetry } from './cli-retry.js';
import { FilehiveClient } from './client.js';
import { parseCommandLine, stripContinueMark } from './command-line.js';
import { FilehiveClientError } from './errors.js';
import type { RetryPolicy } from './retry.js';
import type { TlsConnectOption } from './tls-connect.js';

export interface CliOptions {
  downloadDir: string;
  /** Transfer checksum; the server's default when absent. */
  checksum?: ChecksumAlgorithm;
  /** From --tls / --ca: every CONNECT uses it. */
  tls?: TlsConnectOption;
  /** Where FILEHIVE_PASSWORD is looked up; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** --progress / --no-progress; by default only on a terminal. */
  progress?: ProgressMode;
  /** --parallel N: connections for an UPLOAD or DOWNLOAD of several files (1 by default). */
  parallel?: number;
  /** --retry N (cli-retry.ts, transfer-many.ts). */
  retry?: RetryPolicy;
  /** --json: stdout carries one JSON object per line (docs/CLIENT.md#json). */
  json?: boolean;
  /** --no-verify: downloads are kept without comparing checksums. */
  verify?: boolean;
}

export type TerminalStream = Writable & { isTTY?: boolean; columns?: number };

export class CliSession {
  private client: FilehiveClient | null = null;
  /** The connection the server ended, kept so that reconnect() knows where to go back to. */
  private lost: FilehiveClient | null = null;
  /** Aborted by cancel(): stops waits between retries and the other connections of a transfer. */
  private cancelling = new AbortController();
  /** The connection a cancel closed; reconnectAfterCancel() opens it again, in the same folder. */
  private cancelled: FilehiveClient | null = null;
  /** Asks for a password when FILEHIVE_PASSWORD is not set; null: nobody to ask. */
  secretReader: SecretReader | null = null;

  constructor(
    private readonly options: CliOptions,
    private readonly stdout: TerminalStream,
    private readonly stderr: TerminalStream,
  ) {}

  print(line: string): void {
    // --json: every stdout line is JSON; a confirmation (`created /docs`) becomes a message.
    if (this.options.json) this.emit({ event: 'message', text: line });
    else this.stdout.write(`${line}\n`);
  }

  /** One JSON object on one stdout line (--json). */
  emit(value: Record<string, unknown>): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A note or a per-file error on stderr. */
  warn(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  /** The settings from the command line. */
  get settings(): Readonly<CliOptions> {
    return this.options;
  }

  /** Where progress lines go. */
  get errorStream(): TerminalStream {
    return this.stderr;
  }

  /** Aborted when the user cancels (Ctrl-C). */
  get cancelSignal(): AbortSignal {
    return this.cancelling.signal;
  }

  /** `filehive 127.0.0.1:9400:/docs> `, or `filehive (not connected)> ` */
  prompt(): string {
    const client = this.liveClient();
    if (!client) return 'filehive (not connected)> ';
    return `filehive ${client.user === null ? '' : `${client.user}@`}${this.address()}:${client.cwd}> `;
  }

  /** `host:port` of the live connection, or '' when there is none. */
  address(): string {
    const client = this.liveClient();
    if (!client) return '';
    return `${client.host.includes(':') ? `[${client.host}]` : client.host}:${client.port}`;
  }

  /** The connected client, or NOT_CONNECTED. A session the server ended counts as not connected. */
  requireClient(): FilehiveClient {
    const client = this.liveClient();
    if (!client) throw new FilehiveClientError('NOT_CONNECTED');
    return client;
  }

  private liveClient(): FilehiveClient | null {
    if (this.client?.closed) {
      this.lost = this.client;
      this.client = null;
    }
    return this.client;
  }

  /** True when a connection was lost (not closed on purpose), so reconnect() can open it again. */
  get canReconnect(): boolean {
    return this.client !== null || this.lost !== null;
  }

  /**
   * A new connection to the same server, account and folder in place of a lost one (--retry);
   * NOT_CONNECTED when there was none, or it was closed on purpose.
   */
  async reconnect(): Promise<FilehiveClient> {
    const last = this.client ?? this.lost;
    if (!last) throw new FilehiveClientError('NOT_CONNECTED');
    const next = await last.reopen();
    this.client?.destroy();
    this.client = next;
    this.lost = null;
    return next;
  }

  /**
   * Connects first and only then drops the old connection, so a typo in CONNECT loses nothing. With
   * --retry, connecting is retried; the password is asked for once, before the first attempt.
   */
  async connect(host: string, port: number, user?: string): Promise<void> {
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const password =
      user === undefined
        ? undefined
        : await obtainPassword(user, where, this.options.env ?? process.env, this.secretReader);
    let next: FilehiveClient | undefined;
    await runWithRetry(this, 'CONNECT', async () => {
      next = await FilehiveClient.connect({ host, port, tls: this.options.tls, user, password });
    });
    if (next === undefined) throw new FilehiveClientError('NOT_CONNECTED');
    await this.disconnect();
    this.client = next;
    this.lost = null;
  }

  /**
   * After a cancel: the same server, account and folder again, so the user can go on. Returns the
   * folder, or null when there is nothing to restore (no cancel, or still connected).
   */
  async reconnectAfterCancel(): Promise<string | null> {
    const last = this.cancelled;
    this.cancelled = null;
    if (last === null || this.liveClient()) return null;
    // reopen(): the same server, TLS settings and account (no second password prompt), same folder.
    this.client = await last.reopen();
    this.lost = null;
    return this.client.cwd;
  }

  async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.lost = null;
    await client?.close();
  }

  /**
   * Aborts whatever the connection is doing (Ctrl-C): closing the session is how transfers stop
   * (PROTOCOL.md#stopping-a-transfer-in-the-middle). False when there was no connection to close.
   */
  cancel(): boolean {
    const reason = new FilehiveClientError('CANCELLED', 'cancelled; connection closed');
    const client = this.liveClient();
    if (client) {
      this.cancelled = client;
      client.destroy(reason);
    }
    // Then the rest of a transfer: its other connections and any wait for a retry.
    this.cancelling.abort(reason);
    this.cancelling = new AbortController();
    return client !== null;
  }

  /** Runs one command line. Throws FilehiveClientError; returns 'exit' for EXIT. */
  async execute(line: string): Promise<CommandOutcome> {
    // A batch line `-CMD` goes on after an error (cli-run.ts); the mark itself means nothing here.
    const parsed = parseCommandLine(stripContinueMark(line).text);
    if (parsed === null) return undefined;
    const command = findCommand(parsed.name);
    if (!command) throw new FilehiveClientError('USAGE', `unknown command ${parsed.name} (try HELP)`);
    const { args, options } = splitCommandOptions(command.name, command.options, parsed.args);
    checkArgs(command, args);
    const run = () => command.run(this, args, options);
    await (command.retriesItself ? run() : runWithRetry(this, command.name, run));
    return command.exits ? 'exit' : undefined;
  }
}
