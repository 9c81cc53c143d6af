// Entry point of the `filehive` command.
import { main } from './client/cli.js';

main(process.argv.slice(2), process).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // main() reports its own errors; reaching this is a bug, still shown as one line.
    process.stderr.write(`error: INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
