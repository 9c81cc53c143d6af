// Many files in one call: names, wildcards and folders (-r) are planned (transfer-plan.ts), folders
// are created, then the files go over up to `parallel` connections (transfer-pool.ts) with retries.
// The CLI's UPLOAD and DOWNLOAD are this with printing on top; a single file is the same path.
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChecksumAlgorithm } from '../protocol/index.js';
import type { FilehiveClient } from './client.js';
import type { DownloadResult } from './download.js';
import { FilehiveClientError, localError } from './errors.js';
import { NO_RETRY, type RetryPolicy, withRetry } from './retry.js';
import {
  type DownloadJob,
  type PlanRequest,
  planDownload,
  planUpload,
  type TransferPlan,
  type UploadJob,
} from './transfer-plan.js';
import { type Lanes, runPool } from './transfer-pool.js';
import { IMMEDIATE_MAX_BYTES, type UploadResult } from './upload.js';

export interface ManyOptions {
  /** Walk folders (-r). */
  recursive?: boolean;
  /** Connections at most, this client's included (1 by default). */
  parallel?: number;
  retry?: RetryPolicy;
  checksum?: ChecksumAlgorithm;
  resume?: boolean;
  /** DOWNLOAD: false keeps files without comparing checksums (--no-verify). */
  verify?: boolean;
  signal?: AbortSignal;
  /**
   * A new connection in place of `client` once it is lost (a retry reconnects); by default
   * `client.reopen()`, and the new one is closed at the end since the caller does not know it.
   */
  replaceClient?: () => Promise<FilehiveClient>;
  /** Bytes done and expected over all files (expected grows as sizes become known). */
  onProgress?: (done: number, total: number) => void;
  /** Once the plan is made: how many files and how many bytes (of those whose size is known). */
  onPlanned?: (files: number, bytes: number) => void;
  /** Each file's outcome, as it settles. */
  onFile?: (outcome: FileOutcome) => void;
  onRetry?: (what: string, err: FilehiveClientError, attempt: number, delayMs: number) => void;
  /** Something worth a line that is not an error: names skipped, a connection the server refused. */
  onNote?: (text: string) => void;
}

interface OutcomeBase {
  direction: 'upload' | 'download';
  /** Local path and remote path (relative to the session's folder, or absolute). */
  local: string;
  remote: string;
}

export type FileOutcome =
  | (OutcomeBase & { ok: true; bytes: number; seconds: number; checksum?: string; resumedFrom?: number })
  | (OutcomeBase & { ok: false; error: FilehiveClientError });

export interface TransferSummary {
  direction: 'upload' | 'download';
  /** Several files could come out of the request (several names, a wildcard, -r). */
  multi: boolean;
  files: number;
  failed: number;
  /** Bytes of the files that arrived. */
  bytes: number;
  seconds: number;
  /** Each failure, in the order they settled. */
  failures: Array<Extract<FileOutcome, { ok: false }>>;
}

/** Files of at most this size share pipelined batches (the size of an immediate upload). */
const SMALL_FILE_BYTES = IMMEDIATE_MAX_BYTES;

/** Tracks the lane-0 connection through reconnects, for planning and the folder step. */
class FirstLane {
  private replaced: FilehiveClient | null = null;

  constructor(
    private client: FilehiveClient,
    private readonly options: ManyOptions,
  ) {}

  get current(): FilehiveClient {
    return this.client;
  }

  async replace(): Promise<FilehiveClient> {
    const next = this.options.replaceClient ? await this.options.replaceClient() : await this.client.reopen();
    if (!this.options.replaceClient) {
      await this.replaced?.close();
      this.replaced = next;
    }
    this.client = next;
    return next;
  }

  /** Closes a connection this object opened itself. */
  async close(): Promise<void> {
    await this.replaced?.close();
  }

  lanes(): Lanes<FilehiveClient> {
    return {
      first: this.client,
      replaceFirst: () => this.replace(),
      openMore: () => this.client.reopen(),
    };
  }

  /** Runs a read-only step (a plan, a folder step) with the retry policy, reconnecting as needed. */
  retrying<T>(task: (client: FilehiveClient) => Promise<T>): Promise<T> {
    const { retry = NO_RETRY, signal, onRetry } = this.options;
    return withRetry(retry, () => task(this.client), {
      kind: 'repeatable',
      reconnect: async () => {
        await this.replace();
      },
      onRetry: (err, attempt, delay) => onRetry?.('listing', err, attempt, delay),
      signal,
    });
  }
}

/** Sums the progress of files that run at the same time. */
class ProgressTotal {
  private readonly done = new Map<unknown, number>();
  private readonly total = new Map<unknown, number>();

  constructor(
    jobs: ReadonlyArray<{ size: number | null }>,
    private readonly report?: (done: number, total: number) => void,
  ) {
    for (const job of jobs) this.total.set(job, job.size ?? 0);
  }

  listener(job: unknown): ((done: number, total: number) => void) | undefined {
    if (!this.report) return undefined;
    return (done, total) => {
      this.done.set(job, done);
      this.total.set(job, total);
      this.emit();
    };
  }

  private emit(): void {
    let done = 0;
    let total = 0;
    for (const n of this.done.values()) done += n;
    for (const n of this.total.values()) total += n;
    this.report?.(done, total);
  }
}

function summarize(direction: 'upload' | 'download', multi: boolean): TransferSummary {
  return { direction, multi, files: 0, failed: 0, bytes: 0, seconds: 0, failures: [] };
}

async function runPlan<J extends { size: number | null }, R extends { bytes: number; seconds: number }>(
  first: FirstLane,
  plan: TransferPlan<J>,
  options: ManyOptions,
  describe: (job: J, result?: R) => OutcomeBase,
  perform: (client: FilehiveClient, job: J, onProgress?: (done: number, total: number) => void) => Promise<R>,
  extra: (result: R) => { checksum?: string; resumedFrom?: number },
): Promise<TransferSummary> {
  const summary = summarize(describe(plan.jobs[0] as J).direction, plan.multi);
  for (const skipped of plan.skipped)
    options.onNote?.(`skipped ${skipped} (a folder without -r, or not a file)`);
  const progress = new ProgressTotal(plan.jobs, options.onProgress);
  options.onPlanned?.(
    plan.jobs.length,
    plan.jobs.reduce((bytes, job) => bytes + (job.size ?? 0), 0),
  );
  const started = performance.now();
  const small = (job: J) => (job.size !== null && job.size <= SMALL_FILE_BYTES ? job.size : null);
  const result = await runPool(plan.jobs, {
    parallel: options.parallel ?? 1,
    retry: options.retry ?? NO_RETRY,
    lanes: first.lanes(),
    signal: options.signal,
    // A resumed upload asks the server first (PARTIAL), so it goes alone.
    batchWeight: options.resume ? undefined : small,
    perform: (client, job) => perform(client, job, progress.listener(job)),
    onDone(job, outcome) {
      if (outcome.ok) {
        summary.bytes += outcome.result.bytes;
        options.onFile?.({
          ...describe(job, outcome.result),
          ok: true,
          bytes: outcome.result.bytes,
          seconds: outcome.result.seconds,
          ...extra(outcome.result),
        });
      } else {
        const failure = { ...describe(job), ok: false as const, error: outcome.error };
        summary.failures.push(failure);
        options.onFile?.(failure);
      }
    },
    onRetry: (job, err, attempt, delay) => options.onRetry?.(describe(job).local, err, attempt, delay),
    onLaneRefused: (err) =>
      options.onNote?.(`one connection fewer: the server refused another (${err.code}: ${err.message})`),
  });
  summary.files = plan.jobs.length;
  summary.failed = result.failed;
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/**
 * UPLOAD of local names, wildcards and (with `recursive`) folders into the session's folder, or into
 * `destination` (a remote folder, or for one file its new name).
 */
export async function uploadMany(
  client: FilehiveClient,
  sources: readonly string[],
  destination: string | undefined,
  options: ManyOptions = {},
): Promise<TransferSummary> {
  const first = new FirstLane(client, options);
  try {
    const request: PlanRequest = { sources, destination, recursive: options.recursive === true };
    const plan = await first.retrying((c) => planUpload(c, request));
    if (plan.folders.length > 0) await first.retrying((c) => createRemoteFolders(c, plan.folders));
    if (plan.jobs.length === 0) return summarize('upload', plan.multi);
    return await runPlan<UploadJob, UploadResult>(
      first,
      plan,
      options,
      (job) => ({ direction: 'upload', local: job.localPath, remote: job.remotePath }),
      (c, job, onProgress) =>
        c.upload(job.localPath, {
          remoteName: job.remotePath,
          checksum: options.checksum,
          resume: options.resume,
          onProgress,
        }),
      (r) => ({ checksum: r.checksum, resumedFrom: r.resumedFrom }),
    );
  } finally {
    await first.close();
  }
}

/**
 * DOWNLOAD of remote names, wildcards and (with `recursive`) folders into `dir`, or into
 * `destination` (a local folder relative to `dir`, or for one file its new name).
 */
export async function downloadMany(
  client: FilehiveClient,
  sources: readonly string[],
  destination: string | undefined,
  dir: string,
  options: ManyOptions = {},
): Promise<TransferSummary> {
  const first = new FirstLane(client, options);
  try {
    const request: PlanRequest = { sources, destination, recursive: options.recursive === true };
    const plan = await first.retrying((c) => planDownload(c, request, dir));
    for (const folder of plan.folders) await createLocalFolder(folder);
    if (plan.jobs.length === 0) return summarize('download', plan.multi);
    return await runPlan<DownloadJob, DownloadResult>(
      first,
      plan,
      options,
      (job, result) => ({
        direction: 'download',
        local:
          result?.localPath ?? join(job.localDir, job.localName ?? job.remotePath.split('/').pop() ?? ''),
        remote: job.remotePath,
      }),
      (c, job, onProgress) =>
        c.download(job.remotePath, {
          dir: job.localDir,
          localName: job.localName,
          checksum: options.checksum,
          resume: options.resume,
          verify: options.verify,
          onProgress,
        }),
      (r) => ({ resumedFrom: r.resumedFrom }),
    );
  } finally {
    await first.close();
  }
}

/**
 * A local folder a DOWNLOAD -r needs. One that exists as a symbolic link is refused: names come
 * from the server, and a link planted in the destination must not carry files somewhere else.
 */
async function createLocalFolder(folder: string): Promise<void> {
  const existing = await lstat(folder).catch(() => null);
  if (existing?.isSymbolicLink()) {
    throw new FilehiveClientError('LOCAL_ERROR', `${folder} is a symbolic link; not downloading through it`);
  }
  if (existing?.isDirectory()) return;
  await mkdir(folder).catch((err) => {
    throw localError('create the folder', folder, err);
  });
}

/**
 * MKDIR of each folder, parents first, all sent at once (replies come in order, so a parent exists
 * before its child is asked for). A folder that already exists is fine.
 */
async function createRemoteFolders(client: FilehiveClient, folders: readonly string[]): Promise<void> {
  const outcomes = await Promise.allSettled(folders.map((folder) => client.mkdir(folder)));
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected' && (outcome.reason as FilehiveClientError).code !== 'EXISTS') {
      throw outcome.reason;
    }
  }
}
