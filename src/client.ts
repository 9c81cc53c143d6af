// Entry point of the `filehive` command.
import { main } from './client/cli.js';

// A reader that went away (`filehive -c DIR | head`) is no reason for a stack trace; stop quietly,
// with a failure status because later commands did not run.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(1);
    throw err;
  });
}

main(process.argv.slice(2), process).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // main() reports its own errors; reaching this is a bug, still shown as one line.
    process.stderr.write(`error: INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
