// A transfer progress line on a terminal's stderr, redrawn in place. Nothing when stderr is not a
// terminal: logs and pipes get only the summary line.

import type { TerminalStream } from './cli-session.js';
import { displayName, formatBytes } from './format.js';

/** Redraws at most this often; a fast transfer would otherwise spend its time on the terminal. */
const REDRAW_MS = 100;
/** Transfers shorter than this show no progress at all, only their summary line. */
const FIRST_DRAW_MS = 300;

export interface ProgressLine {
  update(done: number, total: number): void;
  clear(): void;
}

export function createProgressLine(stream: TerminalStream, label: string): ProgressLine | null {
  if (!stream.isTTY) return null;
  let lastDraw = Date.now() - REDRAW_MS + FIRST_DRAW_MS;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      drawn = true;
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      const text = `${displayName(label)} ${percent}% ${formatBytes(done)} / ${formatBytes(total)}`;
      // \r and "erase line" so a shorter line does not leave the tail of a longer one.
      stream.write(`\r\x1b[K${text.slice(0, Math.max(10, (stream.columns || 80) - 1))}`);
    },
    clear() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
