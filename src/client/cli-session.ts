// The CLI's state between commands: the current connection and the options that shape transfers.
import type { Writable } from 'node:stream';
import type { ChecksumAlgorithm } from '../protocol/index.js';
import { type CommandOutcome, checkArgs, findCommand } from './cli-commands.js';
import { obtainPassword, type SecretReader } from './cli-password.js';
import { createProgressLine } from './cli-progress.js';
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
}

export type TerminalStream = Writable & { isTTY?: boolean; columns?: number };

export class CliSession {
  private client: FilehiveClient | null = null;
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
  }

  async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.close();
  }

  /** Aborts whatever the connection is doing (Ctrl-C): closing the session is how transfers stop. */
  cancel(): void {
    this.client?.destroy(new FilehiveClientError('CANCELLED', 'cancelled; connection closed'));
  }

  upload(localPath: string): Promise<UploadResult> {
    return this.withProgress(localPath, (onProgress) =>
      this.requireClient().upload(localPath, { checksum: this.options.checksum, onProgress }),
    );
  }

  download(remotePath: string): Promise<DownloadResult> {
    return this.withProgress(remotePath, (onProgress) =>
      this.requireClient().download(remotePath, {
        dir: this.options.downloadDir,
        checksum: this.options.checksum,
        onProgress,
      }),
    );
  }

  private async withProgress<T>(
    label: string,
    transfer: (onProgress?: (done: number, total: number) => void) => Promise<T>,
  ): Promise<T> {
    const progress = createProgressLine(this.stderr, label);
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
    checkArgs(command, parsed.args);
    await command.run(this, parsed.args);
    return command.exits ? 'exit' : undefined;
  }
}
