// The client library: one FilehiveClient per session, one method per command.
import { basename } from 'node:path';
import {
  type ChecksumAlgorithm,
  DEFAULT_CHECKSUM,
  encodeRequest,
  type Reply,
  type Request,
} from '../protocol/index.js';
import type { Connection } from './connection.js';
import { type DownloadResult, runDownload } from './download.js';
import { FilehiveClientError } from './errors.js';
import { type ConnectOptions, openSession, type ServerInfo } from './greeting.js';
import { createDeferred, createFinalReader, type DirEntry, parseEntry } from './replies.js';
import { assertResumable } from './resume.js';
import { type ProgressListener, runUpload, type UploadResult } from './upload.js';

export interface UploadOptions {
  /** Name (or path) on the server, relative to the current folder; the local basename by default. */
  remoteName?: string;
  checksum?: ChecksumAlgorithm;
  onProgress?: ProgressListener;
  /**
   * Resumable (PROTOCOL.md#resume): continue what the server kept of an earlier, interrupted
   * resumable upload of this file, and have it keep the bytes if this one is cut off too.
   */
  resume?: boolean;
}

export interface DownloadOptions {
  /** Local folder to save into; the process's working folder by default. */
  dir?: string;
  checksum?: ChecksumAlgorithm;
  onProgress?: ProgressListener;
  /** Resumable: continue `.NAME.filehive-partial` in `dir`, and keep it if cut off. */
  resume?: boolean;
  /** Save under this name in `dir` instead of the remote file's own name. */
  localName?: string;
  /** false: keep the file without comparing its checksum with the server's (--no-verify). */
  verify?: boolean;
}

/** How long close() waits for the server's answer to QUIT before dropping the connection. */
const QUIT_TIMEOUT_MS = 2_000;

/** A session with a filehive server. Methods reject with FilehiveClientError. */
export class FilehiveClient {
  private currentFolder = '/';
  private account: string | null = null;

  private constructor(
    private readonly connection: Connection,
    readonly host: string,
    readonly port: number,
    readonly server: ServerInfo,
    /** Kept for reopen(): the same server, TLS settings and account. */
    private readonly options: ConnectOptions,
  ) {}

  /** Connects, reads the greeting and checks the protocol version; with `user`, logs in too. */
  static async connect(options: ConnectOptions): Promise<FilehiveClient> {
    if (options.user !== undefined && options.password === undefined) {
      throw new FilehiveClientError('USAGE', 'a password is needed to log in as a user');
    }
    const { connection, server } = await openSession(options);
    const client = new FilehiveClient(connection, options.host, options.port, server, options);
    if (options.user !== undefined) {
      try {
        await client.login(options.user, options.password as string);
      } catch (err) {
        client.destroy(err instanceof FilehiveClientError ? err : undefined);
        throw err;
      }
    }
    return client;
  }

  /**
   * Another session like this one: the same server, TLS settings and account, in the same folder.
   * For more connections (transfers in parallel), or a new one after this one was lost.
   */
  async reopen(): Promise<FilehiveClient> {
    const next = await FilehiveClient.connect(this.options);
    if (this.currentFolder !== '/') {
      await next.chdir(this.currentFolder).catch(async (err) => {
        await next.close();
        throw err;
      });
    }
    return next;
  }

  /** LOGIN: AUTH_FAILED for a wrong name or password. The session's `/` becomes the account's home. */
  async login(user: string, password: string): Promise<void> {
    const reply = await this.call({ verb: 'LOGIN', user, password });
    this.account = reply.fields.get('user') ?? user;
    this.currentFolder = '/';
  }

  /** The account this session logged in as, or null. */
  get user(): string | null {
    return this.account;
  }

  /** The session's current folder as last reported by the server (sessions start at `/`). */
  get cwd(): string {
    return this.currentFolder;
  }

  /** True once the session is over; every later call fails with CONNECTION_LOST. */
  get closed(): boolean {
    return this.connection.closed;
  }

  /** A folder's entries in byte order of their names. */
  async list(path = '.'): Promise<DirEntry[]> {
    const entries: DirEntry[] = [];
    const done = await this.call({ verb: 'DIR', path }, (entry) => entries.push(parseEntry(entry)));
    // PROTOCOL.md#dir: a folder over the server's sort limit comes in file-system order, `sorted=no`.
    return done.fields.get('sorted') === 'no' ? sortByName(entries) : entries;
  }

  /** Creates a folder; returns its absolute path on the server. */
  async mkdir(path: string): Promise<string> {
    return pathOf(await this.call({ verb: 'MKDIR', path }), path);
  }

  async rmdir(path: string): Promise<string> {
    return pathOf(await this.call({ verb: 'RMDIR', path }), path);
  }

  async delete(path: string): Promise<string> {
    return pathOf(await this.call({ verb: 'DELETE', path }), path);
  }

  /** Changes the session's folder; returns the new one. */
  async chdir(path: string): Promise<string> {
    this.currentFolder = pathOf(await this.call({ verb: 'CHDIR', path }), this.currentFolder);
    return this.currentFolder;
  }

  async pwd(): Promise<string> {
    this.currentFolder = pathOf(await this.call({ verb: 'PWD' }), this.currentFolder);
    return this.currentFolder;
  }

  /** Moves `from` into the folder `to`, or renames it to `to`; returns both absolute paths. */
  async move(from: string, to: string): Promise<{ from: string; to: string }> {
    const reply = await this.call({ verb: 'MOVE', from, to });
    return { from: reply.fields.get('from') ?? from, to: reply.fields.get('to') ?? to };
  }

  async noop(): Promise<void> {
    await this.call({ verb: 'NOOP' });
  }

  async upload(localPath: string, options: UploadOptions = {}): Promise<UploadResult> {
    if (options.resume) assertResumable(this.server.features);
    return runUpload(this.connection, {
      localPath,
      remoteName: options.remoteName ?? basename(localPath),
      checksum: options.checksum ?? this.defaultChecksum(),
      onProgress: options.onProgress,
      immediateAllowed: this.server.features.includes('immediate-upload'),
      resume: options.resume === true,
    });
  }

  async download(remotePath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    if (options.resume) assertResumable(this.server.features);
    return runDownload(this.connection, {
      remotePath,
      dir: options.dir ?? process.cwd(),
      checksum: options.checksum ?? this.defaultChecksum(),
      onProgress: options.onProgress,
      resume: options.resume === true,
      localName: options.localName,
      verify: options.verify,
    });
  }

  /** Says QUIT and waits for the server to close; never throws. */
  async close(): Promise<void> {
    if (this.connection.closed) return;
    const bye = this.call({ verb: 'QUIT' }).catch(() => {});
    const timer = setTimeout(() => this.connection.destroy(), QUIT_TIMEOUT_MS);
    await bye;
    await this.connection.end();
    clearTimeout(timer);
  }

  /** Ends the session at once: a running transfer fails with `reason` (CANCELLED by default). */
  destroy(reason?: FilehiveClientError): void {
    this.connection.destroy(reason);
  }

  /** PROTOCOL.md#session: the server's default is the first algorithm of its greeting. */
  private defaultChecksum(): ChecksumAlgorithm {
    return this.server.checksums[0] ?? DEFAULT_CHECKSUM;
  }

  private call(request: Request, onEntry?: (entry: Reply) => void): Promise<Reply> {
    const result = createDeferred<Reply>();
    try {
      this.connection.request(encodeRequest(request), createFinalReader(result, onEntry));
    } catch (err) {
      result.reject(err as FilehiveClientError);
    }
    return result.promise;
  }
}

/** Sorts by the UTF-8 bytes of the names: each name's bytes as latin1 text compare in byte order. */
function sortByName(entries: DirEntry[]): DirEntry[] {
  const keyed = entries.map((entry) => ({ entry, key: Buffer.from(entry.name, 'utf8').toString('latin1') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map(({ entry }) => entry);
}

function pathOf(reply: Reply, fallback: string): string {
  return reply.fields.get('path') ?? fallback;
}
