// UPLOAD and DOWNLOAD at the prompt and in batches: reads the command's words and options, runs
// uploadMany/downloadMany (transfer-many.ts) and prints one line per file, then a total line when the
// command could give several files. Text or --json (docs/CLIENT.md#output).
import { relative } from 'node:path';
import { createProgressLine, type ProgressLine } from './cli-progress.js';
import { formatRetryNote } from './cli-retry.js';
import type { CliSession } from './cli-session.js';
import type { FilehiveClient } from './client.js';
import { FilehiveClientError } from './errors.js';
import { markCutOff } from './exit-codes.js';
import {
  displayMessage,
  displayName,
  formatBytes,
  formatRate,
  formatSeconds,
  formatTransfer,
} from './format.js';
import type { DirEntry } from './replies.js';
import { NO_RETRY, withRetry } from './retry.js';
import {
  downloadMany,
  type FileOutcome,
  type ManyOptions,
  type TransferSummary,
  uploadMany,
} from './transfer-many.js';
import { isMulti } from './transfer-plan.js';

/** --parallel above this is a usage error: the server allows 50 sessions per address by default. */
export const MAX_PARALLEL = 32;

/** The options UPLOAD and DOWNLOAD take besides --resume, for the command table. */
export function transferOptions() {
  return [
    { name: '-r', summary: 'folders with everything in them, creating the folders on the other side' },
    {
      name: '--parallel',
      value: 'N',
      summary: "up to N files at once over N connections (default: filehive's --parallel, or 1)",
    },
  ];
}

/** One JSON object per DIR entry (docs/CLIENT.md#json). */
export function entryJson(entry: DirEntry): Record<string, unknown> {
  return {
    event: 'entry',
    name: entry.name,
    type: entry.type,
    size: entry.size,
    mtime: entry.mtime.toISOString(),
  };
}

/** Reads `--parallel N` (a command's own, or the command line's). */
export function parseParallel(text: string): number {
  const n = /^\d{1,3}$/.test(text) ? Number(text) : 0;
  if (n < 1 || n > MAX_PARALLEL) {
    throw new FilehiveClientError(
      'USAGE',
      `--parallel must be a number from 1 to ${MAX_PARALLEL}, not ${text}`,
    );
  }
  return n;
}

/** `LOCAL... [REMOTE]`: with two or more words, the last one is where the files go. */
export function splitDestination(args: readonly string[]): { sources: string[]; destination?: string } {
  if (args.length < 2) return { sources: [...args] };
  return { sources: args.slice(0, -1), destination: args.at(-1) as string };
}

/** The name a file is shown under: its remote path for UPLOAD, its local path for DOWNLOAD. */
function shownName(outcome: FileOutcome, downloadDir: string): string {
  if (outcome.direction === 'upload') return outcome.remote;
  const inside = relative(downloadDir, outcome.local);
  return inside.startsWith('..') || inside === '' ? outcome.local : inside;
}

/** One JSON object per file (docs/CLIENT.md#json). */
export function fileJson(outcome: FileOutcome): Record<string, unknown> {
  const where = { event: outcome.direction, local: outcome.local, remote: outcome.remote };
  if (!outcome.ok) {
    return { ...where, status: 'failed', code: outcome.error.code, message: outcome.error.message };
  }
  return {
    ...where,
    status: 'ok',
    bytes: outcome.bytes,
    seconds: round(outcome.seconds),
    ...(outcome.checksum === undefined ? {} : { checksum: outcome.checksum }),
    ...(outcome.resumedFrom ? { resumedFrom: outcome.resumedFrom } : {}),
  };
}

/** The total as JSON: files, failed, bytes, seconds, bytesPerSecond. */
export function totalJson(summary: TransferSummary): Record<string, unknown> {
  return {
    event: 'total',
    direction: summary.direction,
    files: summary.files,
    failed: summary.failed,
    bytes: summary.bytes,
    seconds: round(summary.seconds),
    bytesPerSecond: Math.round(summary.bytes / Math.max(summary.seconds, 0.001)),
  };
}

/** `total: 20 files, 1.2 MiB in 0.45 s (2.6 MiB/s), 0 failed` */
export function formatTotal(summary: TransferSummary): string {
  const { files, bytes, seconds, failed } = summary;
  const count = `${files} file${files === 1 ? '' : 's'}`;
  return `total: ${count}, ${formatBytes(bytes)} in ${formatSeconds(seconds)} (${formatRate(bytes, seconds)}), ${failed} failed`;
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/**
 * The session's connection; with --retry, a connection the server closed since the last command
 * (a restart, an idle timeout) is opened again first, as the retry of any other command would.
 */
async function liveClient(session: CliSession): Promise<FilehiveClient> {
  const policy = session.settings.retry ?? NO_RETRY;
  try {
    return session.requireClient();
  } catch (err) {
    if (policy.retries === 0 || !session.canReconnect) throw err;
    return withRetry(policy, () => session.reconnect(), {
      kind: 'repeatable',
      signal: session.cancelSignal,
      onRetry: (e, attempt, delay) => session.warn(formatRetryNote(e, attempt, policy.retries, delay)),
    });
  }
}

export async function runTransferCommand(
  session: CliSession,
  direction: 'upload' | 'download',
  args: readonly string[],
  given: ReadonlyMap<string, string | true>,
): Promise<void> {
  const settings = session.settings;
  const { sources, destination } = splitDestination(args);
  const parallelText = given.get('--parallel');
  const parallel = typeof parallelText === 'string' ? parseParallel(parallelText) : (settings.parallel ?? 1);
  const client = await liveClient(session);
  const recursive = given.has('-r');
  // Per-file error lines only for a command that could give several files; a single file's error is
  // the command's error.
  const multi = isMulti({ sources, destination, recursive });
  let progress: ProgressLine | null = null;
  const print = (line: string) => {
    progress?.clear();
    session.print(line);
  };
  const note = (line: string) => {
    progress?.clear();
    session.warn(line);
  };
  const options: ManyOptions = {
    recursive,
    parallel,
    retry: settings.retry,
    checksum: settings.checksum,
    resume: given.has('--resume'),
    verify: settings.verify,
    signal: session.cancelSignal,
    replaceClient: () => session.reconnect(),
    onPlanned(files) {
      const label = multi ? `${files} file${files === 1 ? '' : 's'}` : displayName(sources[0] as string);
      if (files > 0) progress = createProgressLine(session.errorStream, label, settings.progress);
    },
    onProgress: (done, total) => progress?.update(done, total),
    onFile(outcome) {
      if (settings.json) {
        progress?.clear();
        session.emit(fileJson(outcome));
      } else if (outcome.ok) {
        const verb = direction === 'upload' ? 'uploaded' : 'downloaded';
        print(
          formatTransfer(
            verb,
            shownName(outcome, settings.downloadDir),
            outcome.bytes,
            outcome.seconds,
            outcome.resumedFrom,
          ),
        );
      }
      if (!outcome.ok && multi) {
        note(
          `error: ${outcome.error.code}: ${displayMessage(outcome.error.message)} (${displayName(shownName(outcome, settings.downloadDir))})`,
        );
      }
    },
    onRetry: (what, err, attempt, delay) =>
      note(formatRetryNote(err, attempt, settings.retry?.retries ?? 0, delay, what)),
    onNote: (text) => note(`note: ${displayMessage(text)}`),
  };
  let summary: TransferSummary;
  try {
    summary =
      direction === 'upload'
        ? await uploadMany(client, sources, destination, options)
        : await downloadMany(client, sources, destination, settings.downloadDir, options);
  } finally {
    (progress as ProgressLine | null)?.clear();
  }
  if (summary.multi) {
    if (settings.json) session.emit(totalJson(summary));
    else session.print(formatTotal(summary));
    if (summary.failed > 0) {
      throw new FilehiveClientError('PARTIAL', `${summary.failed} of ${summary.files} files failed`);
    }
    return;
  }
  const failure = summary.failures[0];
  if (failure) {
    markCutOff(failure.error);
    throw failure.error;
  }
}
