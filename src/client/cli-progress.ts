// A transfer's progress line on stderr, redrawn in place: bar, percent, bytes, current rate, time
// left. On by default only when stderr is a terminal, so logs and pipes get just the summary line;
// `--progress` forces it (then without terminal escapes), `--no-progress` turns it off.

import type { TerminalStream } from './cli-session.js';
import { formatProgress, RateMeter } from './progress-format.js';

export type ProgressMode = 'auto' | 'always' | 'never';

/** Redraws at most this often on updates; a fast transfer would otherwise spend its time drawing. */
const REDRAW_MS = 100;
/** Also redraws this often without updates, so a stalled transfer shows its rate falling. */
const TICK_MS = 500;
/** Transfers shorter than this show no progress at all, only their summary line. */
const FIRST_DRAW_MS = 300;

export interface ProgressLine {
  update(done: number, total: number): void;
  /** Removes the line (the summary line takes its place) and stops the timer. */
  clear(): void;
}

/** Null when progress is not to be shown on `stream`. `now` is the clock, for tests. */
export function createProgressLine(
  stream: TerminalStream,
  label: string,
  mode: ProgressMode = 'auto',
  now: () => number = Date.now,
): ProgressLine | null {
  if (mode === 'never' || (mode === 'auto' && stream.isTTY !== true)) return null;
  const terminal = stream.isTTY === true;
  const started = now();
  const meter = new RateMeter();
  let done = 0;
  let total = -1;
  let lastDraw = Number.NEGATIVE_INFINITY;
  // Characters on screen: a terminal erases the rest with ESC [K, anything else gets spaces over it.
  let drawn = 0;

  const draw = () => {
    const at = now();
    if (total < 0 || at - started < FIRST_DRAW_MS) return;
    lastDraw = at;
    const text = formatProgress({ label, done, total, rate: meter.rate(at) }, stream.columns || 80);
    const width = [...text].length;
    stream.write(terminal ? `\r${text}\x1b[K` : `\r${text}${' '.repeat(Math.max(0, drawn - width))}`);
    drawn = width;
  };
  meter.seed(started, 0);
  const timer = setInterval(draw, TICK_MS);
  timer.unref();
  return {
    update(bytesDone, totalBytes) {
      done = bytesDone;
      total = totalBytes;
      const at = now();
      meter.add(at, bytesDone);
      if (at - lastDraw >= REDRAW_MS) draw();
    },
    clear() {
      clearInterval(timer);
      if (drawn > 0) stream.write(terminal ? '\r\x1b[K' : `\r${' '.repeat(drawn)}\r`);
      drawn = 0;
    },
  };
}
