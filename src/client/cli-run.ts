// Running a batch, which stops at the first failure (the prompt is cli-prompt.ts).
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { CliSession, TerminalStream } from './cli-session.js';
import { isSkippable, stripContinueMark } from './command-line.js';
import { toClientError } from './errors.js';
import { exitCodeFor } from './exit-codes.js';
import { displayMessage } from './format.js';

/** One command of a batch and where it came from, for the error line. */
export interface BatchLine {
  text: string;
  where: string;
}

/** `error: CODE: message`, one line, never a stack trace. */
export function printError(stderr: TerminalStream, err: unknown, where?: string): void {
  const { code, message } = toClientError(err);
  stderr.write(`error: ${code}: ${displayMessage(message)}${where ? ` (${where})` : ''}\n`);
}

/**
 * Runs commands in order; at the first failure, stops with that error's exit code (exit-codes.ts),
 * unless the line starts with `-`, which goes on. 0 when all succeed (or fail with `-`) or one says EXIT.
 */
export async function runBatch(
  session: CliSession,
  lines: Iterable<BatchLine> | AsyncIterable<BatchLine>,
  stderr: TerminalStream,
): Promise<number> {
  for await (const { text, where } of lines) {
    if (isSkippable(text)) continue;
    try {
      if ((await session.execute(text)) === 'exit') return 0;
    } catch (err) {
      printError(stderr, err, where);
      if (!stripContinueMark(text).continueOnError) return exitCodeFor(err);
    }
  }
  return 0;
}

/** Numbers the lines of a stream (stdin) as they arrive. */
export async function* readBatchLines(input: Readable): AsyncGenerator<BatchLine> {
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
  let n = 0;
  try {
    for await (const text of rl) yield { text, where: `line ${++n}` };
  } finally {
    rl.close();
  }
}

/** Splits a batch file's text into numbered lines. */
export function numberLines(text: string): BatchLine[] {
  return text.split(/\r?\n/).map((line, i) => ({ text: line, where: `line ${i + 1}` }));
}
