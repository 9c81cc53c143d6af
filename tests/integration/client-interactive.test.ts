// The prompt, driven in-process through streams that claim to be a terminal's stdin.
import { PassThrough } from 'node:stream';
import test from 'ava';
import { main } from '../../src/client/cli.js';
import { startFakeServer } from '../_helpers/fake-server.js';

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return () => text;
}

async function runPrompt(argv: string[], input: string) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  stdin.end(input);
  const code = await main(argv, { stdin, stdout, stderr });
  return { code, stdout: out(), stderr: err() };
}

test('the prompt shows server and folder, survives errors, and leaves on end of input', async (t) => {
  const server = await startFakeServer();
  try {
    const where = `${server.host}:${server.port}`;
    const run = await runPrompt(
      [server.host, String(server.port)],
      'mkdir x\ncd nope\ncd x\n\ndisconnect\npwd\n',
    );
    t.is(run.code, 0);
    t.is(
      run.stdout,
      [
        `filehive ${where}:/> created /x`,
        `filehive ${where}:/> filehive ${where}:/> now in /x`,
        `filehive ${where}:/x> filehive ${where}:/x> disconnected from ${where}`,
        'filehive (not connected)> filehive (not connected)> ',
      ].join('\n'),
    );
    t.is(
      run.stderr,
      'error: NOT_FOUND: no such folder\nerror: NOT_CONNECTED: not connected (use CONNECT host port)\n',
    );
  } finally {
    await server.close();
  }
});

test('EXIT leaves the prompt with 0 and ignores what follows', async (t) => {
  const server = await startFakeServer();
  try {
    const run = await runPrompt([], `connect ${server.host} ${server.port}\nexit\nmkdir y\n`);
    t.is(run.code, 0);
    t.false(server.dirs.has('/y'));
    t.true(server.requests.includes('QUIT'));
  } finally {
    await server.close();
  }
});

test('a failed connect at start is exit 3 before any prompt', async (t) => {
  const server = await startFakeServer();
  await server.close();
  const run = await runPrompt([server.host, String(server.port)], 'pwd\n');
  t.is(run.code, 3);
  t.is(run.stdout, '');
  t.regex(run.stderr, /^error: CONNECT_FAILED: /);
});
