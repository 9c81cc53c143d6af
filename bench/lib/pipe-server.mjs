// The "Node pipe" baseline server: the least a Node program must do to move a file over loopback.
// One request per connection: `PUT name\n` + bytes (answered `OK\n` once on disk) or `GET name\n`
// (answered with the bytes, then end). 1 MiB read buffers, no checksum, no locks. Prints `port N`.
// Plain JavaScript so that it runs without a TypeScript loader and its RSS compares with the built server.
import { createReadStream, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const root = process.argv[2];
const MIB = 1024 * 1024;

async function handle(socket, header) {
  const [verb, name] = header.split(' ');
  const path = join(root, name);
  if (verb === 'PUT') {
    await pipeline(socket, createWriteStream(path, { highWaterMark: MIB }), { end: true });
    socket.end('OK\n');
  } else {
    await pipeline(createReadStream(path, { highWaterMark: MIB }), socket);
  }
}

const server = createServer({ allowHalfOpen: true }, (socket) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0) return;
    socket.off('data', onData);
    socket.pause();
    const rest = head.subarray(nl + 1);
    if (rest.length > 0) socket.unshift(rest);
    handle(socket, head.subarray(0, nl).toString()).catch(() => socket.destroy());
  };
  socket.on('data', onData);
  socket.on('error', () => {});
});
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
// Never outlive the bench that started it.
setInterval(() => {
  if (process.ppid === 1) process.exit(0);
}, 1000);
