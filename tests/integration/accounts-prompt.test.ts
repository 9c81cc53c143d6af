// The CLI asks for the password on a terminal: at start for --user, and at the prompt for CONNECT ...
// user. Driven in-process through streams that claim to be a terminal, against the built server.
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import { main } from '../../src/client/cli.js';
import { addUser } from '../_helpers/accounts.js';
import { type RunningServer, startServer } from '../_helpers/server.js';
import { waitFor } from '../_helpers/wait.js';

const PASSWORD = 'prompted secret 1';
let server: RunningServer;
let dir: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'filehive-prompt-'));
  await addUser(join(dir, 'users'), 'alice', PASSWORD);
  server = await startServer({ workers: 1, args: ['--users', join(dir, 'users'), '--login-delay', '0'] });
});

test.after.always(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with a terminal-like stdin; `script` gets a function that types after a prompt shows. */
async function run(
  terminal: boolean,
  argv: string[],
  script: (typeAfter: (prompt: string, text: string) => Promise<void>) => Promise<void>,
) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  // A terminal stdout makes readline echo what is typed: the password prompt must mute it.
  const stdout = Object.assign(new PassThrough(), terminal ? { isTTY: true, columns: 100 } : {});
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const typeAfter = async (prompt: string, text: string) => {
    const seen = out.length + err.length;
    if (
      !(await waitFor(() => (out + err).includes(prompt) || out.length + err.length > seen + 10_000, 30_000))
    ) {
      throw new Error(`no ${JSON.stringify(prompt)} in:\n${out}\n${err}`);
    }
    stdin.write(text);
  };
  const exited = main(argv, { stdin, stdout, stderr, env: {} });
  await script(typeAfter);
  stdin.end();
  const code = await exited;
  return { code, stdout: out, stderr: err };
}

test('--user on a terminal asks for the password without showing it', async (t) => {
  const where = `127.0.0.1:${server.port}`;
  const result = await run(
    false,
    ['--user', 'alice', '127.0.0.1', String(server.port)],
    async (typeAfter) => {
      await typeAfter(`Password for alice@${where}: `, `${PASSWORD}\n`);
      await typeAfter(`filehive alice@${where}:/> `, 'pwd\n');
      await typeAfter('/\n', 'mkdir docs\n');
      await typeAfter('created /docs', '');
    },
  );
  t.is(result.code, 0, result.stderr);
  t.true(result.stdout.includes(`filehive alice@${where}:/> created /docs`));
  t.false(result.stdout.includes(PASSWORD));
  t.false(result.stderr.includes(PASSWORD));
});

test('CONNECT host port user at the prompt asks for the password through the prompt, muted', async (t) => {
  const where = `127.0.0.1:${server.port}`;
  const result = await run(true, [], async (typeAfter) => {
    await typeAfter('filehive (not connected)> ', `connect 127.0.0.1 ${server.port} alice\n`);
    await typeAfter(`Password for alice@${where}: `, `${PASSWORD}\n`);
    await typeAfter(`connected to ${where}`, 'pwd\n');
    await typeAfter('\n/\n', 'connect 127.0.0.1 1 alice\n');
    await typeAfter('Password for alice@127.0.0.1:1: ', 'anything else\n');
    await typeAfter('CONNECT_FAILED', '');
  });
  t.is(result.code, 0, result.stderr);
  t.false(result.stdout.includes(PASSWORD));
  t.false(result.stdout.includes('anything else'));
  t.regex(result.stderr, /^error: CONNECT_FAILED: /m);
});

test('a wrong password typed at the prompt is AUTH_FAILED and the prompt goes on', async (t) => {
  const where = `127.0.0.1:${server.port}`;
  const result = await run(false, [], async (typeAfter) => {
    await typeAfter('filehive (not connected)> ', `connect 127.0.0.1 ${server.port} alice\n`);
    await typeAfter(`Password for alice@${where}: `, 'not it at all\n');
    await typeAfter('AUTH_FAILED', 'pwd\n');
    await typeAfter('NOT_CONNECTED', '');
  });
  t.is(result.code, 0);
  t.regex(result.stderr, /^error: AUTH_FAILED: /m);
  t.false(result.stdout.includes('not it at all'));
});

test('--retry: a CONNECT that is retried asks for the password once', async (t) => {
  // A port nobody listens on: every attempt fails to connect, and is retried.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const prompt = `Password for alice@127.0.0.1:${port}: `;
  const result = await run(
    false,
    ['--user', 'alice', '--retry', '2', '127.0.0.1', String(port)],
    async (typeAfter) => {
      await typeAfter(prompt, `${PASSWORD}\n`);
    },
  );
  t.is(result.code, 3, result.stderr);
  t.regex(result.stderr, /retry 2 of 2/, 'the connect was retried');
  t.is((result.stdout + result.stderr).split(prompt).length - 1, 1, 'the password was asked for once');
});

test('CONNECT and the password pasted in one go: the password answers, unseen, and never runs as a command', async (t) => {
  const where = `127.0.0.1:${server.port}`;
  const result = await run(true, [], async (typeAfter) => {
    await typeAfter('filehive (not connected)> ', `connect 127.0.0.1 ${server.port} alice\n${PASSWORD}\n`);
    await typeAfter(`connected to ${where}`, 'pwd\n');
    await typeAfter('\n/\n', '');
  });
  t.is(result.code, 0, result.stderr);
  t.false(result.stdout.includes(PASSWORD), 'not echoed');
  t.false(result.stderr.includes(PASSWORD), 'not in an error');
  t.notRegex(result.stderr, /unknown command/);
});
