// The two ways of running commands: a batch that stops at the first failure, and the prompt.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createReadlineSecretReader } from './cli-password.js';
import type { CliSession, TerminalStream } from './cli-session.js';
import { isSkippable } from './command-line.js';
import { toClientError } from './errors.js';
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

/** Runs commands in order; exit code 1 at the first failure, 0 when all succeed or one says EXIT. */
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
      return 1;
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

/** The prompt: errors are printed and the session goes on; EXIT or end of input leaves with 0. */
export async function runInteractive(
  session: CliSession,
  io: { stdin: Readable; stdout: TerminalStream; stderr: TerminalStream },
): Promise<number> {
  const rl = createInterface({
    input: io.stdin,
    output: io.stdout,
    terminal: Boolean(io.stdout.isTTY),
    historySize: 500,
  });
  // CONNECT ... user asks for the password through the prompt, with echo and history off.
  session.secretReader = createReadlineSecretReader(rl, io.stdout);
  let running = false;
  // Ctrl-C: cancel the running command (closing the connection is how a transfer stops), or else
  // drop the half-typed line like a shell does.
  rl.on('SIGINT', () => {
    if (running) {
      session.cancel();
      return;
    }
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    io.stdout.write('\n');
    rl.prompt();
  });
  const prompt = () => {
    rl.setPrompt(session.prompt());
    rl.prompt();
  };
  prompt();
  try {
    for await (const line of rl) {
      if (!isSkippable(line)) {
        running = true;
        try {
          if ((await session.execute(line)) === 'exit') return 0;
        } catch (err) {
          printError(io.stderr, err);
        } finally {
          running = false;
        }
      }
      prompt();
    }
    // End of input: finish the prompt's line so the shell prompt starts on a fresh one.
    if (io.stdout.isTTY) io.stdout.write('\n');
    return 0;
  } finally {
    rl.close();
  }
}
