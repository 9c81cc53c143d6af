// What a transfer's progress line says: name, bar, percent, bytes, current rate and time left. Pure:
// times come in as numbers, so the tests need no clock.
import { displayName, formatBytes } from './format.js';

/** The rate is measured over about this long: it follows a change within seconds but does not jitter. */
const RATE_WINDOW_MS = 3_000;
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

/** Bytes per second over the last few seconds of (time, bytes done) samples. */
export class RateMeter {
  private readonly samples: Sample[] = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  add(at: number, bytes: number): void {
    this.samples.push({ at, bytes });
    // Keep the newest sample that is older than the window, so the window stays fully covered.
    while (this.samples.length > 2 && (this.samples[1] as Sample).at <= at - this.windowMs)
      this.samples.shift();
  }

  /** Bytes per second, or null until the samples span enough time to say. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (first === undefined || last === undefined || last.at - first.at < MIN_RATE_SPAN_MS) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}

export interface ProgressView {
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
  const label = shorten(displayName(view.label), Math.min(MAX_LABEL, Math.max(8, room - MIN_BAR - 1)));
  const barWidth = Math.min(MAX_BAR, room - [...label].length - 1);
  const line =
    barWidth >= MIN_BAR ? `${label} ${formatBar(percent, barWidth)}  ${tail}` : `${label}  ${tail}`;
  const chars = [...line];
  return chars.length <= width ? line : chars.slice(0, width).join('');
}
