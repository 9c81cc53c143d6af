// Ctrl-C outside the prompt (a batch: -c, -b, or stdin that is not a terminal). The running command
// is cancelled the way the prompt cancels one, by closing the session: the server discards an upload
// and the client deletes its partial download instead of leaving it behind. Then the run stops with
// status 130, the shell's status for Ctrl-C. A second Ctrl-C ends the client at once. (At the prompt
// the terminal is in raw mode: Ctrl-C is a key that readline hands to cli-prompt.ts, not a signal.)
import type { BatchLine } from './cli-run.js';
import type { CliSession } from './cli-session.js';

/** 128 + SIGINT, as a shell reports a command stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** Where SIGINT arrives: `process` in the real CLI; absent in tests that run main() in-process. */
export interface InterruptSource {
  on?: (event: 'SIGINT', listener: () => void) => unknown;
  off?: (event: 'SIGINT', listener: () => void) => unknown;
}

export interface InterruptWatch {
  readonly interrupted: boolean;
  /** The batch's lines, ending early once Ctrl-C was pressed. */
  lines(source: Iterable<BatchLine> | AsyncIterable<BatchLine>): AsyncIterable<BatchLine>;
  dispose(): void;
}

export function cancelOnInterrupt(source: InterruptSource, session: CliSession): InterruptWatch {
  let interrupted = false;
  const { on, off } = source;
  const onInterrupt = () => {
    interrupted = true;
    // Without a listener the next SIGINT has its default effect again: the process ends.
    off?.call(source, 'SIGINT', onInterrupt);
    session.cancel();
  };
  on?.call(source, 'SIGINT', onInterrupt);
  return {
    get interrupted() {
      return interrupted;
    },
    async *lines(batch) {
      for await (const line of batch) {
        if (interrupted) return;
        yield line;
      }
    },
    dispose() {
      off?.call(source, 'SIGINT', onInterrupt);
    },
  };
}
