// Reading a password: from a terminal without echo, or as the first line of a pipe. Shared by
// `filehive-server user add` and the client's --user.

import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export type SecretInput = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

/** The person pressed Ctrl-C or Ctrl-D at the prompt, or the pipe ended before any line. */
export class SecretCancelled extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'SecretCancelled';
  }
}

/**
 * Prompts on `output` and reads one line from the terminal `input` in raw mode, so nothing typed is
 * shown. Backspace and Ctrl-U edit; Ctrl-C (or Ctrl-D on an empty line) cancels.
 */
export function readSecretFromTerminal(
  input: SecretInput,
  output: Writable,
  prompt: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let secret = '';
    const wasRaw = (input as { isRaw?: boolean }).isRaw === true;
    input.setRawMode?.(true);
    output.write(prompt);
    const finish = (error: Error | null) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(secret);
    };
    const onEnd = () => finish(new SecretCancelled());
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\x03') return finish(new SecretCancelled());
        if (ch === '\x04') return finish(secret === '' ? new SecretCancelled() : null);
        if (ch === '\x7f' || ch === '\b') secret = [...secret].slice(0, -1).join('');
        else if (ch === '\x15') secret = '';
        else if (ch >= ' ' && ch !== '\x7f') secret += ch;
        // Other control characters (arrow keys' escape sequences...) are not part of a password.
      }
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  });
}

/** The first line of a non-terminal input (a pipe or file), without its line ending. */
export function readFirstLine(input: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let text = '';
    const done = (result: string | null, error?: Error) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      if (error) reject(error);
      else if (result === null) reject(new SecretCancelled('no input'));
      else resolve(result);
    };
    const onData = (chunk: Buffer | string) => {
      text += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const newline = text.indexOf('\n');
      if (newline >= 0) done(text.slice(0, newline).replace(/\r$/, ''));
    };
    const onEnd = () => {
      text += decoder.end();
      done(text === '' ? null : text.replace(/\r$/, ''));
    };
    const onError = (err: Error) => done(null, err);
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
}
