// What a transfer's progress line says: name, bar, percent, bytes, current rate and time left. Pure:
// times come in as numbers, so the tests need no clock.
import { formatBytes } from './format.js';

/** The rate is measured over about this long: it follows a change within seconds but does not jitter. */
const RATE_WINDOW_MS = 3_000;
/** Samples closer together than this are merged. */
const MIN_GAP_MS = 50;
/** Without a report for this long, the rate starts to fall. */
const QUIET_MS = 1_000;
/** Below this span between samples a rate would be noise. */
const MIN_RATE_SPAN_MS = 200;
/** The bar never gets wider than this, so the numbers stay near the name on a wide terminal. */
const MAX_BAR = 40;
/** Narrower than this the bar is left out. */
const MIN_BAR = 10;
/** The name gives way to the numbers beyond this many characters. */
const MAX_LABEL = 32;

interface Sample {
  at: number;
  bytes: number;
}

/**
 * Bytes per second over the last few seconds of (time, bytes done) samples. A transfer reports its
 * progress in steps (about every MiB), so between two reports the rate holds; only when no report
 * came for QUIET_MS does it start to fall, which is how a stall shows.
 */
export class RateMeter {
  private readonly samples: Sample[] = [];
  private seeded = false;

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  /**
   * Where the transfer started (0 bytes at its start time), so the first report already gives a
   * rate. It is dropped at the second report: a resumed transfer starts at its offset, not at 0, and
   * its first report would make it look faster than it is.
   */
  seed(at: number, bytes: number): void {
    this.samples.unshift({ at, bytes });
    this.seeded = true;
  }

  add(at: number, bytes: number): void {
    // Reports that come thick and fast (a fast transfer) update the newest sample instead of piling up.
    const previous = this.samples.at(-2);
    const realSamples = this.samples.length - (this.seeded ? 1 : 0);
    if (realSamples >= 2 && previous !== undefined && at - previous.at < MIN_GAP_MS) {
      this.samples[this.samples.length - 1] = { at, bytes };
      return;
    }
    this.samples.push({ at, bytes });
    if (this.seeded && this.samples.length >= 3) {
      this.samples.shift();
      this.seeded = false;
    }
    // Keep the newest sample that is older than the window, so the window stays fully covered.
    while (this.samples.length > 2 && (this.samples[1] as Sample).at <= at - this.windowMs)
      this.samples.shift();
  }

  /** Bytes per second at time `now` (by default the last sample's), or null until it can tell. */
  rate(now?: number): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (first === undefined || last === undefined) return null;
    const end = Math.max(last.at, (now ?? last.at) - QUIET_MS);
    if (end - first.at < MIN_RATE_SPAN_MS) return null;
    return ((last.bytes - first.bytes) * 1000) / (end - first.at);
  }
}

export interface ProgressView {
  /** What is moving, as shown: a file's display name (format.ts displayName) or a count of files. */
  label: string;
  done: number;
  total: number;
  /** Bytes per second now; null when not known yet. */
  rate: number | null;
}

/** `0:07`, `12:34`, `1:02:03`; `--:--` when the rate is unknown or zero. */
export function formatEta(rate: number | null, remaining: number): string {
  if (remaining <= 0) return '0:00';
  if (rate === null || rate <= 0) return '--:--';
  const total = Math.ceil(remaining / rate);
  if (total >= 100 * 3600) return '>99h';
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** `[=======>        ]` for `percent` of `width` characters, brackets included. */
export function formatBar(percent: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const full = Math.floor((inner * percent) / 100);
  if (full >= inner) return `[${'='.repeat(inner)}]`;
  return `[${'='.repeat(full)}>${' '.repeat(inner - full - 1)}]`;
}

/** Cuts a name to `max` characters, marking the cut with `…`. */
function shorten(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/**
 * `report.pdf [=====>     ]  45%  5.6 MiB / 12.4 MiB  48.2 MiB/s  ETA 0:02`, fitted into `columns`
 * (one column is left free: writing the last one makes some terminals wrap).
 */
export function formatProgress(view: ProgressView, columns = 80): string {
  const width = Math.max(20, columns - 1);
  const percent = view.total > 0 ? Math.min(100, Math.floor((view.done * 100) / view.total)) : 100;
  const tail = [
    `${String(percent).padStart(3)}%`,
    `${formatBytes(view.done)} / ${formatBytes(view.total)}`,
    view.rate === null ? '--/s' : `${formatBytes(view.rate)}/s`,
    `ETA ${formatEta(view.rate, view.total - view.done)}`,
  ].join('  ');
  const room = width - tail.length - 2;
  const label = shorten(view.label, Math.min(MAX_LABEL, Math.max(8, room - MIN_BAR - 1)));
  const barWidth = Math.min(MAX_BAR, room - [...label].length - 1);
  const line =
    barWidth >= MIN_BAR ? `${label} ${formatBar(percent, barWidth)}  ${tail}` : `${label}  ${tail}`;
  const chars = [...line];
  return chars.length <= width ? line : chars.slice(0, width).join('');
}
