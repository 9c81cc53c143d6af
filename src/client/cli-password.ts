// Where the CLI gets a password for --user and CONNECT ... user: FILEHIVE_PASSWORD, or the terminal
// without echo. Never from the command line, where other local users could read it.
import type { Interface } from 'node:readline';
import type { Writable } from 'node:stream';
import { readSecretFromTerminal, SecretCancelled, type SecretInput } from '../terminal/read-secret.js';
import { FilehiveClientError } from './errors.js';

/** Asks for a secret with the given prompt. */
export type SecretReader = (prompt: string) => Promise<string>;

export const PASSWORD_ENV = 'FILEHIVE_PASSWORD';

/** Raw-mode reading on the terminal; for use while no readline prompt owns it. */
export function createTerminalSecretReader(stdin: SecretInput, stderr: Writable): SecretReader | null {
  if (stdin.isTTY !== true) return null;
  return (prompt) =>
    readSecretFromTerminal(stdin, stderr, prompt).catch((err: unknown) => {
      if (err instanceof SecretCancelled) throw new FilehiveClientError('CANCELLED', 'no password given');
      throw err;
    });
}

/**
 * While the interactive prompt owns the terminal: readline's question with its echo muted and its
 * history off, so the password is neither shown nor recalled by the up arrow. Ctrl-C cancels.
 */
export function createReadlineSecretReader(rl: Interface, output: Writable): SecretReader {
  // _writeToOutput and historySize are readline's long-standing hooks for exactly this.
  const internals = rl as unknown as { _writeToOutput: (text: string) => void; historySize: number };
  return (prompt) =>
    new Promise((resolve, reject) => {
      const controller = new AbortController();
      const write = internals._writeToOutput;
      const historySize = internals.historySize;
      const restore = () => {
        internals._writeToOutput = write;
        internals.historySize = historySize;
        rl.off('SIGINT', onInterrupt);
        output.write('\n');
      };
      const onInterrupt = () => {
        controller.abort();
        restore();
        reject(new FilehiveClientError('CANCELLED', 'no password given'));
      };
      rl.on('SIGINT', onInterrupt);
      rl.question(prompt, { signal: controller.signal }, (answer) => {
        restore();
        resolve(answer);
      });
      // Muted only after the prompt itself was written.
      internals._writeToOutput = () => undefined;
      internals.historySize = 0;
    });
}

/** FILEHIVE_PASSWORD when set, else the reader, else a USAGE error that names both ways. */
export async function obtainPassword(
  user: string,
  where: string,
  env: NodeJS.ProcessEnv,
  reader: SecretReader | null,
): Promise<string> {
  // Empty counts as unset: no account has an empty password, and `FILEHIVE_PASSWORD= cmd` clears it.
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (reader === null) {
    throw new FilehiveClientError(
      'USAGE',
      `no password for ${user}: set ${PASSWORD_ENV}, or run on a terminal to be asked`,
    );
  }
  return reader(`Password for ${user}@${where}: `);
}
