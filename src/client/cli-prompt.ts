// The interactive prompt: readline with history across sessions, tab completion, and Ctrl-C that
// cancels the running transfer (then reconnects to the same server and folder) instead of the client.
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createCompleter } from './cli-completer.js';
import { HISTORY_LIMIT, HistoryFile, resolveHistoryPath } from './cli-history.js';
import { createReadlineSecretReader } from './cli-password.js';
import { printError } from './cli-run.js';
import type { CliSession, TerminalStream } from './cli-session.js';
import { isSkippable } from './command-line.js';
import { displayName } from './format.js';

export interface PromptIo {
  stdin: Readable;
  stdout: TerminalStream;
  stderr: TerminalStream;
}

export interface PromptOptions {
  /** False for --no-history. */
  history: boolean;
  /** FILEHIVE_HISTORY, XDG_STATE_HOME and HOME are read from here. */
  env: NodeJS.ProcessEnv;
}

const LEAVE_HINT = '(to leave, press Ctrl-C again or Ctrl-D, or type EXIT)';

/** Errors are printed and the session goes on; EXIT, end of input or Ctrl-C twice leave with 0. */
export async function runPrompt(session: CliSession, io: PromptIo, options: PromptOptions): Promise<number> {
  const terminal = io.stdout.isTTY === true;
  // History only on a real prompt: a stdin that merely claims to be a terminal records nothing.
  const path = terminal && options.history ? resolveHistoryPath(options.env) : null;
  const history =
    path === null
      ? null
      : await HistoryFile.open(path, (message) => io.stderr.write(`warning: ${message}\n`));
  let running = false;
  let asking = false;
  const completer = createCompleter(session, { busy: () => running || asking });
  const rl = createInterface({
    input: io.stdin,
    output: io.stdout,
    terminal,
    history: history ? [...history.lines] : [],
    historySize: HISTORY_LIMIT,
    completer: (line: string, callback: (err: null, result: [string[], string]) => void) => {
      completer.complete(line).then((result) => callback(null, result));
    },
  });
  const echo = createEchoSwitch(rl, terminal);
  // CONNECT ... user asks for the password through the prompt, with echo and history off; its own
  // Ctrl-C handler cancels the question.
  const ask = createReadlineSecretReader(rl, io.stdout);
  // Lines entered and not yet run, in order; `hidden`: typed while echo was off, so not shown yet.
  const entered: Array<{ text: string; hidden: boolean }> = [];
  session.secretReader = async (question) => {
    // A line entered after the command (a password pasted with CONNECT, or typed ahead) is the answer,
    // as a terminal's typed-ahead input goes to whoever reads next: never shown, never run.
    const ahead = entered.shift();
    if (ahead !== undefined) {
      io.stdout.write(`${question}\n`);
      return ahead.text;
    }
    asking = true;
    echo.set(true);
    try {
      return await ask(question);
    } finally {
      asking = false;
      echo.set(!running);
    }
  };
  let closed = false;
  let wake: (() => void) | null = null;
  rl.on('line', (text: string) => {
    entered.push({ text, hidden: !echo.on });
    // What follows in the same burst of input (a pasted password, lines typed ahead) is not echoed:
    // readline goes on with it before the line is run. The loop turns echo back on at the next prompt.
    echo.set(false);
    wake?.();
  });
  rl.on('close', () => {
    closed = true;
    wake?.();
  });
  const nextLine = async () => {
    while (entered.length === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    return entered.shift() ?? null;
  };
  let cancelled = false;
  let leaveArmed = false;
  const onKeypress = (_: string, key?: { ctrl?: boolean; name?: string }) => {
    if (!(key?.ctrl && key.name === 'c')) leaveArmed = false;
  };
  io.stdin.on('keypress', onKeypress);
  rl.on('SIGINT', () => {
    if (asking) return;
    if (running) {
      // Closing the session is how a transfer stops; the loop below reconnects once it has failed.
      if (!cancelled) cancelled = session.cancel();
      return;
    }
    if (rl.line === '' && leaveArmed) {
      rl.close();
      return;
    }
    leaveArmed = rl.line === '';
    clearLine(rl);
    io.stdout.write(leaveArmed ? `\n${LEAVE_HINT}\n` : '\n');
    prompt();
  });
  const prompt = () => {
    rl.setPrompt(session.prompt());
    // Keeps the cursor where it was in text typed ahead, which this shows after the prompt.
    rl.prompt(true);
  };
  prompt();
  try {
    for (let next = await nextLine(); next !== null; next = await nextLine()) {
      const line = next.text;
      leaveArmed = false;
      if (next.hidden && terminal) io.stdout.write(`${line}\n`);
      if (!isSkippable(line)) {
        await history?.add(line);
        running = true;
        cancelled = false;
        echo.set(false);
        try {
          if ((await session.execute(line)) === 'exit') return 0;
        } catch (err) {
          printError(io.stderr, err);
        }
        completer.invalidate();
        if (cancelled) await reconnect(session, io.stderr);
        running = false;
      }
      // A line typed ahead comes next: show it after a bare prompt, as if typed there.
      if (entered[0]?.hidden === true && terminal) io.stdout.write(session.prompt());
      else {
        if (entered.length === 0) echo.set(true);
        prompt();
      }
    }
    // End of input: finish the prompt's line so the shell prompt starts on a fresh one.
    if (terminal) io.stdout.write('\n');
    return 0;
  } finally {
    io.stdin.off('keypress', onKeypress);
    rl.close();
  }
}

/** Back to the server and folder a Ctrl-C left, so the user can go on; a failure is one error line. */
async function reconnect(session: CliSession, stderr: TerminalStream): Promise<void> {
  try {
    const folder = await session.reconnectAfterCancel();
    if (folder !== null) session.print(`reconnected to ${session.address()} in ${displayName(folder)}`);
  } catch (err) {
    printError(stderr, err);
  }
}

/**
 * Turns readline's echo off while a command runs: keys typed ahead are kept (and shown after the next
 * prompt) instead of landing in the middle of the progress line and the command's output.
 * _writeToOutput is the same long-standing hook cli-password.ts mutes the password with.
 */
function createEchoSwitch(rl: Interface, terminal: boolean) {
  const internals = rl as unknown as { _writeToOutput: (text: string) => void };
  const write = internals._writeToOutput;
  let on = true;
  return {
    get on() {
      return on;
    },
    set(value: boolean) {
      on = value;
      if (terminal) internals._writeToOutput = value ? write : () => undefined;
    },
  };
}

/** Drops the half-typed line the way a shell does on Ctrl-C. */
function clearLine(rl: Interface): void {
  rl.write(null, { ctrl: true, name: 'e' });
  rl.write(null, { ctrl: true, name: 'u' });
}
