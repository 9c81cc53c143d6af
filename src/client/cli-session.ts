// The CLI's state between commands: the current connection and the options that shape transfers.
import type { Writable } from 'node:stream';
import type { ChecksumAlgorithm } from '../protocol/index.js';
import { type CommandOutcome, checkArgs, findCommand } from './cli-commands.js';
import { splitCommandOptions } from './cli-options.js';
import { obtainPassword, type SecretReader } from './cli-password.js';
import { createProgressLine, type ProgressMode } from './cli-progress.js';
import { FilehiveClient } from './client.js';
import { parseCommandLine } from './command-line.js';
import type { DownloadResult } from './download.js';
import { FilehiveClientError } from './errors.js';
import type { TlsConnectOption } from './tls-connect.js';
import type { UploadResult } from './upload.js';

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
}

export type TerminalStream = Writable & { isTTY?: boolean; columns?: number };

export class CliSession {
  private client: FilehiveClient | null = null;
  /** The last server connected to: a cancel reconnects there without asking for the password again. */
  private target: { host: string; port: number; user?: string; password?: string } | null = null;
  /** The remote folder a cancel left; reconnectAfterCancel() goes back there. */
  private cancelledIn: string | null = null;
  /** Asks for a password when FILEHIVE_PASSWORD is not set; null: nobody to ask. */
  secretReader: SecretReader | null = null;

  constructor(
    private readonly options: CliOptions,
    private readonly stdout: TerminalStream,
    private readonly stderr: TerminalStream,
  ) {}

  print(line: string): void {
    this.stdout.write(`${line}\n`);
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
    if (this.client?.closed) this.client = null;
    return this.client;
  }

  /** Connects first and only then drops the old connection, so a typo in CONNECT loses nothing. */
  async connect(host: string, port: number, user?: string): Promise<void> {
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const password =
      user === undefined
        ? undefined
        : await obtainPassword(user, where, this.options.env ?? process.env, this.secretReader);
    const next = await FilehiveClient.connect({ host, port, tls: this.options.tls, user, password });
    await this.disconnect();
    this.client = next;
    this.target = { host, port, user, password };
  }

  /**
   * After a cancel: the same server, account and folder again, so the user can go on. Returns the
   * folder, or null when there is nothing to restore (no cancel, or still connected).
   */
  async reconnectAfterCancel(): Promise<string | null> {
    const folder = this.cancelledIn;
    this.cancelledIn = null;
    if (folder === null || this.target === null || this.liveClient()) return null;
    this.client = await FilehiveClient.connect({ ...this.target, tls: this.options.tls });
    if (folder !== '/') await this.client.chdir(folder);
    return folder;
  }

  async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.close();
  }

  /**
   * Aborts whatever the connection is doing (Ctrl-C): closing the session is how transfers stop
   * (PROTOCOL.md#stopping-a-transfer-in-the-middle). False when there was no connection to close.
   */
  cancel(): boolean {
    const client = this.liveClient();
    if (!client) return false;
    this.cancelledIn = client.cwd;
    client.destroy(new FilehiveClientError('CANCELLED', 'cancelled; connection closed'));
    return true;
  }

  upload(localPath: string, how: { resume?: boolean } = {}): Promise<UploadResult> {
    return this.withProgress(localPath, (onProgress) =>
      this.requireClient().upload(localPath, { checksum: this.options.checksum, onProgress, ...how }),
    );
  }

  download(remotePath: string, how: { resume?: boolean } = {}): Promise<DownloadResult> {
    return this.withProgress(remotePath, (onProgress) =>
      this.requireClient().download(remotePath, {
        dir: this.options.downloadDir,
        checksum: this.options.checksum,
        onProgress,
        ...how,
      }),
    );
  }

  private async withProgress<T>(
    label: string,
    transfer: (onProgress?: (done: number, total: number) => void) => Promise<T>,
  ): Promise<T> {
    const progress = createProgressLine(this.stderr, label, this.options.progress);
    try {
      return await transfer(progress?.update);
    } finally {
      progress?.clear();
    }
  }

  /** Runs one command line. Throws FilehiveClientError; returns 'exit' for EXIT. */
  async execute(line: string): Promise<CommandOutcome> {
    const parsed = parseCommandLine(line);
    if (parsed === null) return undefined;
    const command = findCommand(parsed.name);
    if (!command) throw new FilehiveClientError('USAGE', `unknown command ${parsed.name} (try HELP)`);
    const { args, options } = splitCommandOptions(command.name, command.options, parsed.args);
    checkArgs(command, args);
    await command.run(this, args, options);
    return command.exits ? 'exit' : undefined;
  }
}
