// Client side of the Node pipe baseline (pipe-server.mjs): the least a Node program must do to move a
// file over loopback, one connection per file.
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MIB } from './config.js';

export interface Pipe {
  readonly port: number;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts bench/lib/pipe-server.mjs on a free loopback port with a temporary root. */
export async function startPipe(): Promise<Pipe> {
  const root = await mkdtemp(join(tmpdir(), 'filehive-bench-pipe-'));
  const proc = spawn(process.execPath, ['bench/lib/pipe-server.mjs', root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((ok, fail) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      const m = /port (\d+)/.exec(chunk.toString());
      if (m) ok(Number(m[1]));
    });
    proc.once('exit', (code) => fail(new Error(`pipe server exited ${code}`)));
  });
  return {
    port,
    proc,
    async stop() {
      proc.kill('SIGTERM');
      await rm(root, { recursive: true, force: true });
    },
  };
}

function pipeSocket(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const socket = connect({ host: '127.0.0.1', port }, () => ok(socket));
    socket.once('error', fail);
  });
}

/** `PUT name` + the file's bytes; resolves when the server answered that they are on disk. */
export async function pipeUpload(port: number, local: string, name: string): Promise<void> {
  const socket = await pipeSocket(port);
  socket.write(`PUT ${name}\n`);
  const answer = new Promise<void>((ok, fail) => {
    socket.once('data', () => ok());
    socket.once('error', fail);
  });
  await pipeline(createReadStream(local, { highWaterMark: MIB }), socket, { end: true });
  await answer;
  socket.destroy();
}

export async function pipeDownload(port: number, name: string, local: string): Promise<void> {
  const socket = await pipeSocket(port);
  socket.write(`GET ${name}\n`);
  await pipeline(socket, createWriteStream(local, { highWaterMark: MIB }));
}
