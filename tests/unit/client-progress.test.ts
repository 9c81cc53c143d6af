// The progress line: its text (pure) and when the renderer draws, erases and stays quiet.
import { PassThrough } from 'node:stream';
import test from 'ava';
import { createProgressLine } from '../../src/client/cli-progress.js';
import { displayName } from '../../src/client/format.js';
import { formatBar, formatEta, formatProgress, RateMeter } from '../../src/client/progress-format.js';

const MiB = 1024 * 1024;

test('formatEta: minutes and seconds, hours when needed, unknown without a rate', (t) => {
  t.is(formatEta(MiB, 7 * MiB), '0:07');
  t.is(formatEta(1, 754), '12:34');
  t.is(formatEta(1, 3723), '1:02:03');
  t.is(formatEta(1, 0.2), '0:01');
  t.is(formatEta(null, 10), '--:--');
  t.is(formatEta(0, 10), '--:--');
  t.is(formatEta(5, 0), '0:00');
  t.is(formatEta(1, 500 * 3600), '>99h');
});

test('formatBar fills in proportion and keeps its width', (t) => {
  t.is(formatBar(0, 12), '[>         ]');
  t.is(formatBar(50, 12), '[=====>    ]');
  t.is(formatBar(100, 12), '[==========]');
  for (const percent of [0, 1, 33, 99, 100]) t.is(formatBar(percent, 20).length, 20);
});

test('formatProgress shows name, bar, percent, bytes, rate and time left', (t) => {
  const line = formatProgress({ label: 'report.pdf', done: 5 * MiB, total: 20 * MiB, rate: 5 * MiB }, 100);
  t.regex(line, /^report\.pdf \[=+> +\] +25% {2}5\.0 MiB \/ 20\.0 MiB {2}5\.0 MiB\/s {2}ETA 0:03$/);
  t.true(line.length <= 99);
});

test('formatProgress shows its label as given: a count of files is not quoted like a name', (t) => {
  const line = formatProgress({ label: '12 files', done: MiB, total: 2 * MiB, rate: null }, 100);
  t.true(line.startsWith('12 files '), line);
});

test('formatProgress fits narrow terminals: the bar goes first, then the name is cut', (t) => {
  const view = {
    label: 'a very long file name that goes on and on.iso',
    done: MiB,
    total: 4 * MiB,
    rate: null,
  };
  for (const columns of [40, 60, 80, 120, 200]) {
    const line = formatProgress(view, columns);
    t.true(line.length <= columns - 1, `${columns}: ${line}`);
    t.regex(line, /25%/, `${columns}`);
  }
  t.false(formatProgress(view, 60).includes('['));
  t.true(formatProgress(view, 200).includes('['));
  t.regex(formatProgress(view, 80), /…/);
  t.regex(formatProgress(view, 80), /--\/s {2}ETA --:--$/);
});

test('a name shown the way the command line quotes it (displayName), and an empty file is 100%', (t) => {
  const line = formatProgress({ label: displayName('my file.txt'), done: 0, total: 0, rate: 0 }, 100);
  t.true(line.startsWith('"my file.txt" ['));
  t.regex(line, /100%/);
});

test('RateMeter measures over its window, so a stall brings the rate down', (t) => {
  const meter = new RateMeter(3_000);
  meter.add(0, 0);
  t.is(meter.rate(), null);
  for (let s = 1; s <= 5; s++) meter.add(s * 1000, s * MiB);
  t.is(meter.rate(), MiB);
  // Stalled for 2 s: the window now holds 1 MiB over 3 s.
  meter.add(6000, 5 * MiB);
  meter.add(7000, 5 * MiB);
  t.is(meter.rate(), MiB / 3);
  meter.add(10_000, 5 * MiB);
  t.is(meter.rate(), 0);
});

test('RateMeter: the start gives the first rate, reports in steps hold it, silence lowers it', (t) => {
  const meter = new RateMeter(3_000);
  meter.seed(0, 0);
  meter.add(500, MiB);
  t.is(meter.rate(700), 2 * MiB, 'from the start to the first report');
  meter.add(1000, 2 * MiB);
  t.is(meter.rate(1400), 2 * MiB, 'between two reports the rate holds');
  t.is(meter.rate(3000), MiB / 1.5, 'a second without a report: falling');
});

test('RateMeter: a resumed transfer is not counted from 0 once a second report came', (t) => {
  const meter = new RateMeter(3_000);
  meter.seed(0, 0);
  meter.add(500, 101 * MiB); // resumed at 100 MiB
  meter.add(1000, 102 * MiB);
  t.is(meter.rate(), 2 * MiB);
});

test('RateMeter: reports closer than 50 ms are merged, and the rate stays right', (t) => {
  const meter = new RateMeter(3_000);
  for (let ms = 0; ms <= 2_000; ms++) meter.add(ms, ms * 1024);
  t.is(Math.round(meter.rate() as number), 1024 * 1000);
  t.true((meter as unknown as { samples: unknown[] }).samples.length <= 45);
});

function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), isTTY ? { isTTY: true, columns: 100 } : {});
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream, text: () => text };
}

test('the progress line is off when stderr is not a terminal, unless forced', (t) => {
  t.is(createProgressLine(capture(false).stream, 'x'), null);
  t.is(createProgressLine(capture(true).stream, 'x', 'never'), null);
  t.not(createProgressLine(capture(false).stream, 'x', 'always'), null);
});

test('on a terminal: nothing for a short transfer, then redrawn in place, and erased at the end', async (t) => {
  const out = capture(true);
  let now = 1_000;
  const line = createProgressLine(out.stream, 'big.bin', 'auto', () => now);
  t.truthy(line);
  line?.update(MiB, 10 * MiB);
  now += 100;
  line?.update(2 * MiB, 10 * MiB);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(out.text(), '', 'nothing in the first 300 ms');
  now += 400;
  line?.update(4 * MiB, 10 * MiB);
  now += 50;
  line?.update(5 * MiB, 10 * MiB); // within 100 ms of the last draw: skipped
  now += 100;
  line?.update(6 * MiB, 10 * MiB);
  line?.clear();
  await new Promise((resolve) => setImmediate(resolve));
  const frames = out.text().split('\r').filter(Boolean);
  t.is(frames.length, 3, JSON.stringify(out.text()));
  t.true((frames[0] as string).endsWith('\x1b[K'), 'the rest of the line is erased');
  t.regex(
    frames[0] as string,
    /^big\.bin \[=+> *\] +40% {2}4\.0 MiB \/ 10\.0 MiB {2}[\d.]+ MiB\/s {2}ETA 0:\d\d/,
  );
  t.regex(frames[1] as string, /60%/);
  t.is(frames[2], '\x1b[K', 'erased before the summary line');
});

test('forced onto a pipe: no terminal escapes, leftovers overwritten with spaces', async (t) => {
  const out = capture(false);
  let now = 0;
  const line = createProgressLine(out.stream, 'a.bin', 'always', () => now);
  now = 500;
  line?.update(9 * MiB, 10 * MiB);
  now = 700;
  line?.update(10 * MiB, 10 * MiB);
  line?.clear();
  await new Promise((resolve) => setImmediate(resolve));
  t.false(out.text().includes('\x1b'));
  t.regex(out.text(), /^\ra\.bin \[.*90%.*\r +\r$/s);
});
