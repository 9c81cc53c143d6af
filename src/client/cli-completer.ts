// Tab completion at the prompt, the I/O part: remote names come from a DIR of the folder being typed
// in (kept for a few seconds, dropped after every command, since a command may change it), local
// names from the local folder. The rules for words and quoting are in completion.ts.
import { readdir, stat } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import type { CliSession } from './cli-session.js';
import type { FilehiveClient } from './client.js';
import {
  argumentIndex,
  argumentKind,
  type CompletionEntry,
  commandOptions,
  completeCommandName,
  completePath,
  findWordAtCursor,
  splitPathPrefix,
} from './completion.js';

/** How long a remote listing is reused; long enough for a burst of Tab presses. */
const REMOTE_CACHE_MS = 5_000;
/** A listing that takes longer than this gives no completion rather than a frozen prompt. */
const LIST_TIMEOUT_MS = 3_000;

export type CompletionResult = [string[], string];

export interface Completer {
  complete(line: string): Promise<CompletionResult>;
  /** Forgets cached listings: after each command, which may have changed the remote folder. */
  invalidate(): void;
}

interface CachedListing {
  client: FilehiveClient;
  at: number;
  entries: Promise<CompletionEntry[]>;
}

export function createCompleter(session: CliSession, options: { busy: () => boolean }): Completer {
  const cache = new Map<string, CachedListing>();

  const listRemote = (folder: string): Promise<CompletionEntry[]> => {
    // No DIR while a command runs: it would wait behind the transfer and freeze the Tab key.
    if (options.busy()) return Promise.resolve([]);
    const client = connectedClient(session);
    if (!client) return Promise.resolve([]);
    const key = posix.resolve(client.cwd, folder || '.');
    const hit = cache.get(key);
    if (hit && hit.client === client && Date.now() - hit.at < REMOTE_CACHE_MS) return hit.entries;
    const entries = client
      .list(folder || '.')
      .then((list) => list.map((e) => ({ name: e.name, dir: e.type === 'dir' })));
    // A failed listing (no such folder) is not kept: the next Tab asks again.
    entries.catch(() => cache.delete(key));
    cache.set(key, { client, at: Date.now(), entries });
    return entries;
  };

  const listLocal = async (folder: string): Promise<CompletionEntry[]> => {
    const path = resolve(folder || '.');
    const dirents = await readdir(path, { withFileTypes: true });
    return Promise.all(
      dirents.map(async (d) => ({
        name: d.name,
        // A link to a folder is offered as a folder, like a shell does.
        dir:
          d.isDirectory() ||
          (d.isSymbolicLink() &&
            (await stat(resolve(path, d.name)).then(
              (s) => s.isDirectory(),
              () => false,
            ))),
      })),
    );
  };

  const candidates = async (line: string): Promise<string[]> => {
    const word = findWordAtCursor(line);
    const [command] = word.before;
    if (command === undefined) return word.quoted ? [] : completeCommandName(word.raw);
    if (word.raw.startsWith('-')) return commandOptions(command).filter((o) => o.startsWith(word.raw));
    const kind = argumentKind(command, argumentIndex(word.before));
    if (kind === 'command') return completeCommandName(word.raw);
    if (kind === 'none') return [];
    const { folder } = splitPathPrefix(word.value);
    const entries = await withTimeout(kind === 'local' ? listLocal(folder) : listRemote(folder));
    return completePath(word, entries, kind === 'remote-folder');
  };

  return {
    async complete(line) {
      const raw = findWordAtCursor(line).raw;
      try {
        return [await candidates(line), raw];
      } catch {
        // No such folder, a lost connection, a timeout: no completion, and the prompt goes on.
        return [[], raw];
      }
    },
    invalidate() {
      cache.clear();
    },
  };
}

function connectedClient(session: CliSession): FilehiveClient | null {
  try {
    return session.requireClient();
  } catch {
    return null;
  }
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('listing timed out')), LIST_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
