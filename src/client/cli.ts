// The CLI: flags, then a batch or the prompt. Returns the exit code; only src/client.ts exits.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import packageJson from '../../package.json' with { type: 'json' };
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, isChecksumAlgorithm } from '../protocol/index.js';
import { formatUsage } from './cli-help.js';
import {
  cancelOnInterrupt,
  EXIT_INTERRUPTED,
  type InterruptSource,
  type InterruptWatch,
} from './cli-interrupt.js';
import { createTerminalSecretReader } from './cli-password.js';
import type { ProgressMode } from './cli-progress.js';
import { runPrompt } from './cli-prompt.js';
import { type BatchLine, numberLines, printError, readBatchLines, runBatch } from './cli-run.js';
import { CliSession, type TerminalStream } from './cli-session.js';
import { readTlsFlags } from './cli-tls.js';
import { parseParallel } from './cli-transfer.js';
import { parsePort, splitCommandList } from './command-line.js';
import { FilehiveClientError, localError } from './errors.js';
import { EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { MAX_RETRIES } from './retry.js';

export interface CliIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: TerminalStream;
  stderr: TerminalStream;
  /** FILEHIVE_PASSWORD is read from here; process.env when absent. */
  env?: NodeJS.ProcessEnv;
  /** Ctrl-C in a batch arrives here (process itself, in the real CLI): cli-interrupt.ts. */
  on?: InterruptSource['on'];
  off?: InterruptSource['off'];
}

/** Every flag; the help test checks that --help names each one. */
export const FLAGS = {
  batch: { type: 'string', short: 'b' },
  commands: { type: 'string', short: 'c' },
  'download-dir': { type: 'string' },
  checksum: { type: 'string' },
  user: { type: 'string', short: 'u' },
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'no-history': { type: 'boolean' },
  parallel: { type: 'string' },
  retry: { type: 'string' },
  json: { type: 'boolean' },
  'no-verify': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

class UsageError extends Error {}

interface Flags {
  batch?: string;
  commands?: string;
  downloadDir?: string;
  checksum?: ChecksumAlgorithm;
  user?: string;
  tls: boolean;
  ca?: string;
  progress: ProgressMode;
  history: boolean;
  parallel?: number;
  retries: number;
  json: boolean;
  verify: boolean;
  help: boolean;
  version: boolean;
  host?: string;
  port?: number;
}

function parseFlags(argv: string[]): Flags {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [host, portText] = positionals;
  if (positionals.length !== 0 && positionals.length !== 2) {
    throw new UsageError(`expected HOST PORT or nothing, got ${positionals.length} argument(s)`);
  }
  const port = portText === undefined ? undefined : parsePort(portText);
  if (port === null) throw new UsageError(`PORT must be a number from 1 to 65535, not ${portText}`);
  const { checksum } = values;
  if (checksum !== undefined && !isChecksumAlgorithm(checksum)) {
    throw new UsageError(`--checksum must be one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
  }
  if (values.user !== undefined && host === undefined) {
    throw new UsageError('--user needs HOST PORT (or use CONNECT host port user)');
  }
  if (values.batch !== undefined && values.commands !== undefined) {
    throw new UsageError('use either -b or -c, not both');
  }
  if (values.progress && values['no-progress'])
    throw new UsageError('use either --progress or --no-progress');
  return {
    batch: values.batch,
    commands: values.commands,
    downloadDir: values['download-dir'],
    checksum,
    user: values.user,
    tls: values.tls === true,
    ca: values.ca,
    progress: values.progress ? 'always' : values['no-progress'] ? 'never' : 'auto',
    history: values['no-history'] !== true,
    parallel:
      values.parallel === undefined ? undefined : readFlag(() => parseParallel(values.parallel as string)),
    retries: values.retry === undefined ? 0 : parseRetries(values.retry),
    json: values.json === true,
    verify: values['no-verify'] !== true,
    help: values.help === true,
    version: values.version === true,
    host,
    port,
  };
}

/** A value check that throws the client's USAGE error, as a flag error. */
function readFlag<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseRetries(text: string): number {
  const n = /^\d{1,3}$/.test(text) ? Number(text) : -1;
  if (n < 0 || n > MAX_RETRIES)
    throw new UsageError(`--retry must be a number from 0 to ${MAX_RETRIES}, not ${text}`);
  return n;
}

async function batchSource(flags: Flags, io: CliIo) {
  if (flags.commands !== undefined) {
    return splitCommandList(flags.commands).map(
      (text, i): BatchLine => ({ text, where: `command ${i + 1}` }),
    );
  }
  if (flags.batch !== undefined && flags.batch !== '-') {
    const path = flags.batch;
    return numberLines(
      await readFile(path, 'utf8').catch((err) => {
        throw localError('read', path, err);
      }),
    );
  }
  return readBatchLines(io.stdin);
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printError(io.stderr, new FilehiveClientError('USAGE', `${err.message} (see filehive --help)`));
    return EXIT_USAGE;
  }
  const { host, port } = flags;
  if (flags.help) {
    io.stdout.write(formatUsage());
    return 0;
  }
  if (flags.version) {
    io.stdout.write(`filehive ${packageJson.version}\n`);
    return 0;
  }
  let tls: Awaited<ReturnType<typeof readTlsFlags>>;
  try {
    tls = await readTlsFlags(flags);
  } catch (err) {
    printError(io.stderr, err);
    return exitCodeFor(err);
  }
  const session = new CliSession(
    {
      downloadDir: flags.downloadDir ?? process.cwd(),
      checksum: flags.checksum,
      tls,
      env: io.env,
      progress: flags.progress,
      parallel: flags.parallel,
      retry: { retries: flags.retries },
      json: flags.json,
      verify: flags.verify,
    },
    io.stdout,
    io.stderr,
  );
  session.secretReader = createTerminalSecretReader(io.stdin, io.stderr);
  let interrupt: InterruptWatch | null = null;
  try {
    const interactive = flags.batch === undefined && flags.commands === undefined && io.stdin.isTTY === true;
    if (!interactive) interrupt = cancelOnInterrupt(io, session);
    // Read the batch before connecting: a missing batch file should not cost a session.
    const lines = interactive ? null : await batchSource(flags, io);
    if (host !== undefined && port !== undefined) {
      await session.connect(host, port, flags.user);
    }
    if (lines === null)
      return await runPrompt(session, io, { history: flags.history, env: io.env ?? process.env });
    const code = await runBatch(session, interrupt ? interrupt.lines(lines) : lines, io.stderr);
    return interrupt?.interrupted ? EXIT_INTERRUPTED : code;
  } catch (err) {
    printError(io.stderr, err);
    return interrupt?.interrupted ? EXIT_INTERRUPTED : exitCodeFor(err);
  } finally {
    interrupt?.dispose();
    await session.disconnect();
  }
}
