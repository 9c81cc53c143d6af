// The rows of the result table: printed at the end and written with the raw figures to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fmt, type Stat, summarize } from './stats.js';

export interface Row {
  section: string;
  name: string;
  unit: string;
  value: Stat;
  /** Per-round value / baseline, summarized; present when a baseline of the same rounds was given. */
  ratio?: Stat;
  vs?: string;
  note?: string;
}

/** Per-round figures of a baseline measured in the same run. */
export interface Baseline {
  values: readonly number[];
  vs: string;
}

export class Report {
  readonly rows: Row[] = [];
  readonly skipped: string[] = [];

  /** Adds a row of per-round values; with a baseline of as many rounds, also their per-round ratio. */
  add(section: string, name: string, unit: string, values: readonly number[], baseline?: Baseline): Row {
    const row: Row = { section, name, unit, value: summarize(values) };
    if (baseline && baseline.values.length === values.length && values.length > 0) {
      row.ratio = summarize(values.map((v, i) => v / (baseline.values[i] as number)));
      row.vs = baseline.vs;
    }
    this.rows.push(row);
    return row;
  }

  /** Something that was not measured, said once now and again under the table. */
  skip(line: string): void {
    this.skipped.push(line);
    console.log(`skipped: ${line}`);
  }

  print(): void {
    const header = ['section', 'measure', 'median', 'min', 'max', 'unit', 'ratio (min-max)', 'vs', 'note'];
    // Small figures (a percentage, a few ns) keep their significant digits.
    const num = (n: number) => fmt(n, Math.abs(n) < 1 ? 3 : Math.abs(n) < 10 ? 2 : 1);
    const lines = this.rows.map((r) => [
      r.section,
      r.name,
      num(r.value.median),
      num(r.value.min),
      num(r.value.max),
      r.unit,
      r.ratio ? `${fmt(r.ratio.median, 2)}x (${fmt(r.ratio.min, 2)}-${fmt(r.ratio.max, 2)})` : '',
      r.vs ?? '',
      r.note ?? '',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
    const numeric = (i: number) => i >= 2 && i <= 4;
    // Numbers are right-aligned, headers left-aligned: `| section | measure | median` stays greppable.
    const line = (cells: string[], header = false) =>
      `| ${cells.map((c, i) => (numeric(i) && !header ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' | ')} |`;
    console.log('');
    console.log(line(header, true));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const l of lines) console.log(line(l));
    for (const s of this.skipped) console.log(`skipped: ${s}`);
  }

  /** Writes meta, skipped lines, the table and the raw figures; returns the file's relative path. */
  async write(meta: Record<string, unknown>, raw: Record<string, unknown>): Promise<string> {
    await mkdir('bench/results', { recursive: true });
    const file = join('bench/results', `${new Date().toISOString().replaceAll(':', '-')}.json`);
    const out = { meta, skipped: this.skipped, table: this.rows, ...raw };
    await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
    return file;
  }
}
