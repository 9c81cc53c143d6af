// The interactive client on a real pseudo-terminal against the real server: tab completion, history
// across runs, Ctrl-C in the middle of a transfer, and the progress line (on a terminal, not in a pipe).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '../_helpers/cli.js';
import { CLIENT_JS, type RunningServer, startServer } from '../_helpers/server.js';
import { KEYS, startTerminal, type Terminal } from '../_helpers/terminal.js';
import { startThrottleProxy, type ThrottleProxy } from '../_helpers/throttle-proxy.js';
import { listTree } from '../_helpers/tree.js';
import { waitFor } from '../_helpers/wait.js';

const MiB = 1024 * 1024;
/** Through the proxy, so a transfer of BIG lasts seconds and one of MID about one. */
const THROTTLE = 2 * MiB;
const BIG = 16 * MiB;
const MID = 2 * MiB;
// A progress frame: name, bar, percent and a rate.
const PROGRESS = (name: string) =>
  new RegExp(`${name.replace('.', '\\.')} \\[[=> ]+\\] +\\d+% .* [\\d.]+ [KM]iB/s`);

let server: RunningServer;
let proxy: ThrottleProxy;
let scratch: string;

test.before(async () => {
  server = await startServer({ workers: 1 });
  proxy = await startThrottleProxy(server, THROTTLE);
  scratch = await mkdtemp(join(tmpdir(), 'filehive-terminal-'));
  await mkdir(join(server.root, 'docs'));
  await writeFile(join(server.root, 'docs', 'inside.txt'), 'in docs\n');
  await writeFile(join(server.root, 'report-2026.txt'), 'report\n');
  await writeFile(join(server.root, 'my notes.txt'), 'notes\n');
  await writeFile(join(server.root, 'big.bin'), Buffer.alloc(BIG, 7));
  await writeFile(join(server.root, 'mid.bin'), Buffer.alloc(MID, 8));
});

test.after.always(async () => {
  await proxy?.close();
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

let folders = 0;
async function freshFolder(): Promise<string> {
  const dir = join(scratch, `run-${++folders}`);
  await mkdir(dir);
  return dir;
}

const promptFor = (port: number, folder = '/') => `filehive 127.0.0.1:${port}:${folder}> `;

/** Types `keys` once the text from `from` on shows `after`; returns where the screen was. */
async function typeAfter(term: Terminal, after: string | RegExp, keys: string, from = 0): Promise<number> {
  await term.waitFor(after, from);
  const mark = term.text().length;
  term.type(keys);
  return mark;
}

/** Temporary files the server left anywhere in its root (its own .filehive folder aside). */
async function serverTempFiles(): Promise<string[]> {
  return (await listTree(server.root)).filter(
    (p) => !p.startsWith('.filehive/') && /(^|\/)\.filehive-/.test(p),
  );
}

test.serial(
  'Tab completes commands, remote names (quoted when needed), folders and local paths',
  async (t) => {
    t.timeout(30_000);
    const cwd = await freshFolder();
    await writeFile(join(cwd, 'local-report.txt'), 'from here\n');
    const term = startTerminal(['--no-history', '127.0.0.1', String(server.port)], { cwd });
    try {
      // Each step types the start of a word and Tab, in one write: readline completes only on a Tab
      // that ends its chunk (a pasted Tab is text). It waits for the whole completed line, counted from
      // that line's start, then presses Enter and waits for the command's result.
      const steps: [string[], string, string | RegExp][] = [
        [['DOWN', 'rep'], 'DOWNLOAD report-2026.txt ', 'downloaded report-2026.txt '],
        [['get my'], 'get "my notes.txt" ', 'downloaded "my notes.txt" '],
        [['put local-r'], 'put local-report.txt ', 'uploaded local-report.txt '],
        [['cd d'], 'cd docs/', 'now in /docs'],
        [['help mo'], 'help move ', /MOVE src dst: move src/],
      ];
      let prompt = promptFor(server.port);
      for (const [parts, completed, result] of steps) {
        await term.waitFor(prompt, term.text().lastIndexOf('\n') + 1);
        const mark = term.text().length;
        for (const [i, part] of parts.entries()) {
          // The next part goes only once this Tab's completion shows.
          term.type(`${part}${KEYS.tab}`);
          if (i < parts.length - 1)
            await term.waitFor(
              completed
                .split(' ')
                .slice(0, i + 1)
                .join(' '),
              mark,
            );
        }
        await typeAfter(term, completed, KEYS.enter, mark);
        await term.waitFor(result, mark);
        prompt = completed.startsWith('cd') ? promptFor(server.port, '/docs') : prompt;
      }
      term.type(`EXIT${KEYS.enter}`);
      t.is(await term.exited(), 0);
      t.is(await readFile(join(cwd, 'report-2026.txt'), 'utf8'), 'report\n');
      t.is(await readFile(join(cwd, 'my notes.txt'), 'utf8'), 'notes\n');
      t.is(await readFile(join(server.root, 'local-report.txt'), 'utf8'), 'from here\n');
    } finally {
      term.kill();
    }
  },
);

test.serial(
  'history: the up arrow recalls a command of the previous run; --no-history reads none',
  async (t) => {
    t.timeout(30_000);
    const state = await freshFolder();
    const env = { XDG_STATE_HOME: state };
    const prompt = promptFor(server.port);
    const args = ['127.0.0.1', String(server.port)];

    const first = startTerminal(args, { env, cwd: state });
    try {
      const mark = await typeAfter(first, prompt, `CD docs${KEYS.enter}`);
      await typeAfter(first, 'now in /docs', KEYS.ctrlD, mark);
      t.is(await first.exited(), 0);
    } finally {
      first.kill();
    }
    const file = join(state, 'filehive', 'history');
    t.is(await readFile(file, 'utf8'), 'CD docs\n');
    t.is((await stat(file)).mode & 0o777, 0o600);

    // The next run recalls it; one with --no-history at the same time recalls nothing.
    const recall = async () => {
      const term = startTerminal(args, { env, cwd: state });
      try {
        let mark = await typeAfter(term, prompt, KEYS.up);
        mark = await typeAfter(term, 'CD docs', KEYS.enter, mark);
        await typeAfter(term, 'now in /docs', `EXIT${KEYS.enter}`, mark);
        t.is(await term.exited(), 0);
      } finally {
        term.kill();
      }
    };
    const forget = async () => {
      const term = startTerminal(['--no-history', ...args], { env, cwd: state });
      try {
        let mark = await typeAfter(term, prompt, `${KEYS.up}${KEYS.enter}`);
        mark = await typeAfter(term, prompt, `PWD${KEYS.enter}`, mark);
        await typeAfter(term, /^\/\r?$/m, `EXIT${KEYS.enter}`, mark);
        t.is(await term.exited(), 0);
        t.false(term.text().includes('now in /docs'), 'the up arrow recalled nothing');
      } finally {
        term.kill();
      }
    };
    await Promise.all([recall(), forget()]);
    t.is(await readFile(file, 'utf8'), 'CD docs\nEXIT\n');
  },
);

test.serial(
  'Ctrl-C mid-download cancels it: no partial file, back in the same folder, DIR works',
  async (t) => {
    t.timeout(30_000);
    const cwd = await freshFolder();
    const term = startTerminal(['--no-history', '127.0.0.1', String(proxy.port)], { cwd });
    try {
      let mark = await typeAfter(term, promptFor(proxy.port), `CD docs${KEYS.enter}`);
      mark = await typeAfter(term, promptFor(proxy.port, '/docs'), `DOWNLOAD /big.bin${KEYS.enter}`, mark);
      // The progress line is on the terminal with a bar, percent and rate; then Ctrl-C.
      mark = await typeAfter(term, PROGRESS('big.bin'), KEYS.ctrlC, mark);
      await term.waitFor('error: CANCELLED: ', mark);
      mark = await typeAfter(
        term,
        `reconnected to 127.0.0.1:${proxy.port} in /docs\r\n${promptFor(proxy.port, '/docs')}`,
        `DIR${KEYS.enter}`,
        mark,
      );
      await typeAfter(term, / inside\.txt\r\n/, `EXIT${KEYS.enter}`, mark);
      t.is(await term.exited(), 0);
      t.false(term.text().includes('downloaded big.bin'));
    } finally {
      term.kill();
    }
    t.deepEqual(await readdir(cwd), [], 'neither big.bin nor a temporary file is left');
    t.deepEqual(await serverTempFiles(), []);
  },
);

test.serial('Ctrl-C mid-upload cancels it: the server discards it and the prompt goes on', async (t) => {
  t.timeout(30_000);
  const cwd = await freshFolder();
  await writeFile(join(cwd, 'up.bin'), Buffer.alloc(BIG, 9));
  const term = startTerminal(['--no-history', '127.0.0.1', String(proxy.port)], { cwd });
  try {
    let mark = await typeAfter(term, promptFor(proxy.port), `UPLOAD up.bin${KEYS.enter}`);
    mark = await typeAfter(term, PROGRESS('up.bin'), KEYS.ctrlC, mark);
    mark = await typeAfter(term, `reconnected to 127.0.0.1:${proxy.port} in /`, `PWD${KEYS.enter}`, mark);
    await typeAfter(term, /^\/\r?$/m, `EXIT${KEYS.enter}`, mark);
    t.is(await term.exited(), 0);
  } finally {
    term.kill();
  }
  // The server notices the closed connection and removes its temporary file.
  t.true(await waitFor(async () => (await serverTempFiles()).length === 0, 10_000), 'no temporary file left');
  await t.throwsAsync(stat(join(server.root, 'up.bin')), { code: 'ENOENT' });
});

test.serial(
  'batch mode into a pipe shows no progress unless --progress; the summary line is the same',
  async (t) => {
    t.timeout(30_000);
    const summary = /^downloaded mid\.bin 2\.0 MiB in \d+\.\d\d s \([\d.]+ [KM]iB\/s\)\n$/;
    const args = ['-c', 'DOWNLOAD mid.bin', '127.0.0.1', String(proxy.port)];
    // Both at once: each has its own throttled connection.
    const [quiet, forced] = await Promise.all([
      runCli(args, { cwd: await freshFolder() }),
      runCli(['--progress', ...args], { cwd: await freshFolder() }),
    ]);
    t.is(quiet.code, 0, quiet.stderr);
    t.regex(quiet.stdout, summary);
    t.is(quiet.stderr, '');

    t.is(forced.code, 0, forced.stderr);
    t.regex(forced.stdout, summary);
    t.regex(forced.stderr, PROGRESS('mid.bin'));
    t.false(forced.stderr.includes('\x1b'), 'no terminal escapes into a pipe');
  },
);

test.serial(
  'Ctrl-C in a batch cancels the download, leaves no partial file and stops with 130',
  async (t) => {
    t.timeout(30_000);
    const cwd = await freshFolder();
    const child = spawn(
      process.execPath,
      [CLIENT_JS, '-c', 'DOWNLOAD big.bin; MKDIR after-interrupt', '127.0.0.1', String(proxy.port)],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = once(child, 'exit');
    try {
      // The download has started once its temporary file exists.
      t.true(await waitFor(async () => (await readdir(cwd)).length > 0, 15_000), 'the download started');
      child.kill('SIGINT');
      const [code] = await exited;
      t.is(code, 130);
    } finally {
      child.kill('SIGKILL');
    }
    t.regex(stderr, /^error: CANCELLED: /m);
    t.deepEqual(await readdir(cwd), [], 'the partial download is gone');
    await t.throwsAsync(stat(join(server.root, 'after-interrupt')), { code: 'ENOENT' });
  },
);
