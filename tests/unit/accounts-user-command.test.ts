// `filehive-server user ...` in-process: the terminal prompt (raw mode, no echo, asked twice), stdin,
// and the usage errors.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import { runUserCommand } from '../../src/accounts/user-command.js';
import { loadUsersFile } from '../../src/accounts/user-store.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  rawModes: boolean[];
}

/** Runs the command; on a "terminal" the keystrokes are typed one chunk per prompt shown. */
async function run(
  argv: string[],
  options: { tty?: string[]; stdin?: string; env?: NodeJS.ProcessEnv },
): Promise<Run> {
  const rawModes: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: options.tty !== undefined,
    setRawMode: (mode: boolean) => rawModes.push(mode),
  });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const keys = [...(options.tty ?? [])];
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    // A prompt ends with ': ': type the next answer.
    if (chunk.toString().endsWith(': ') && keys.length > 0) setImmediate(() => stdin.write(keys.shift()));
  });
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const code = await runUserCommand(argv, { stdin, stdout, stderr, env: options.env ?? {} });
  return { code, stdout: out, stderr: err, rawModes };
}

async function tempFile(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'filehive-usercmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'users');
}

test('add on a terminal: raw mode, no echo, asked twice, backspace edits', async (t) => {
  const file = await tempFile(t);
  const result = await run(['add', 'alice', '--users', file], {
    tty: ['good passwordX\x7f\r', 'good password\r'],
  });
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, 'Password for alice: \nRepeat the password: \n');
  t.deepEqual(result.rawModes, [true, false, true, false]);
  t.regex(result.stdout, /^added user alice \(home \/alice, read-write\) to /);
  t.false((await readFile(file, 'utf8')).includes('good password'));
  t.is((await loadUsersFile(file)).users[0]?.name, 'alice');
});

test('add on a terminal: different answers or Ctrl-C change nothing', async (t) => {
  const file = await tempFile(t);
  const differ = await run(['add', 'alice', '--users', file], {
    tty: ['good password\r', 'good passwore\r'],
  });
  t.is(differ.code, 1);
  t.regex(differ.stderr, /the passwords differ; nothing was changed\n$/);
  const cancelled = await run(['add', 'alice', '--users', file], { tty: ['good pa\x03'] });
  t.is(cancelled.code, 1);
  t.deepEqual(cancelled.rawModes, [true, false]);
  await t.throwsAsync(readFile(file));
});

test('add from stdin takes the first line; passwd and remove edit the file', async (t) => {
  const file = await tempFile(t);
  const env = { FILEHIVE_USERS: file };
  t.is(
    (await run(['add', 'bob', '--home', 'team docs', '--read-only'], { stdin: 'first line\nsecond\n', env }))
      .code,
    0,
  );
  const [bob] = (await loadUsersFile(file)).users;
  t.like(bob, { name: 'bob', home: '/team docs', access: 'read-only' });
  t.is((await run(['passwd', 'bob'], { stdin: 'a new password', env })).code, 0);
  const [changed] = (await loadUsersFile(file)).users;
  t.like(changed, { name: 'bob', home: '/team docs', access: 'read-only' });
  t.notDeepEqual(changed?.hash.key, bob?.hash.key);
  t.is((await run(['list'], { env })).stdout, 'bob "/team docs" read-only\n');
  t.is((await run(['remove', 'bob'], { env })).code, 0);
  t.is((await run(['list'], { env })).stdout, '');
  const missing = await run(['remove', 'bob'], { env });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no user bob in /);
});

test('short, empty and missing passwords are refused', async (t) => {
  const file = await tempFile(t);
  t.regex((await run(['add', 'a', '--users', file], { stdin: 'short\n' })).stderr, /at least 8 characters/);
  t.regex((await run(['add', 'a', '--users', file], { stdin: '' })).stderr, /no password on stdin/);
  await t.throwsAsync(readFile(file));
});

test('usage errors exit 2 with one line', async (t) => {
  const file = await tempFile(t);
  for (const [argv, message] of [
    [['add', 'alice'], /name the users file with --users FILE or FILEHIVE_USERS/],
    [['frob', '--users', file], /unknown action "frob"/],
    [[], /expected add, passwd, remove or list/],
    [['add', '--users', file], /add needs a user name/],
    [['add', '-x', '--users', file], /bad user name "-x"|Unknown option/],
    [['add', 'a/b', '--users', file], /bad user name "a\/b"/],
    [['add', 'a', '--home', '/../x', '--users', file], /bad home/],
    [['list', 'extra', '--users', file], /too many arguments/],
    [['remove', 'a', '--read-only', '--users', file], /--home and --read-only go with add/],
    [['list', '--bogus'], /Unknown option '--bogus'/],
  ] as const) {
    const result = await run([...argv], { stdin: 'password123\n' });
    t.is(result.code, 2, argv.join(' '));
    t.regex(result.stderr, message, argv.join(' '));
    t.is(result.stderr.trim().split('\n').length, 1);
  }
  t.regex((await run(['--help'], {})).stdout, /^Usage: filehive-server user add NAME/);
});
