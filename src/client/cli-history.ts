// The prompt's command history across sessions: one file, one command a line, oldest first, like a
// shell's. Every session appends its commands as they are run (so two open prompts both keep theirs)
// and the file is cut back to the newest HISTORY_LIMIT lines when a session starts.
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';

/** Lines kept in the file and offered by the up arrow. */
export const HISTORY_LIMIT = 1_000;

export const HISTORY_ENV = 'FILEHIVE_HISTORY';

/**
 * Where the history lives, or null for none. FILEHIVE_HISTORY=off (or `none`, `0`) turns it off and
 * any other value names the file; otherwise `$XDG_STATE_HOME/filehive/history`, with XDG's default
 * `~/.local/state`. Without HOME there is no default: nothing is written to an unknown place.
 */
export function resolveHistoryPath(env: NodeJS.ProcessEnv): string | null {
  const chosen = env[HISTORY_ENV];
  if (chosen !== undefined && chosen !== '') {
    return ['off', 'none', '0', 'false', 'no'].includes(chosen.toLowerCase()) ? null : chosen;
  }
  // XDG: a relative XDG_STATE_HOME is invalid and is to be ignored.
  const state = env.XDG_STATE_HOME;
  if (state !== undefined && isAbsolute(state)) return join(state, 'filehive', 'history');
  const home = env.HOME;
  if (home === undefined || !isAbsolute(home)) return null;
  return join(home, '.local', 'state', 'filehive', 'history');
}

/** The file's lines as readline wants them: newest first, blank lines dropped, at most `limit`. */
export function parseHistory(text: string, limit = HISTORY_LIMIT): string[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.slice(-limit).reverse();
}

/** True for lines that are not recorded: blank, or typed with a leading space (as in bash). */
export function isUnrecorded(line: string): boolean {
  return line.trim() === '' || line.startsWith(' ');
}

/** The open history: what to preload into readline, and where to append. Never throws on I/O. */
export class HistoryFile {
  private last: string | undefined;
  private failed = false;

  private constructor(
    readonly path: string,
    /** Newest first, for readline's `history` option. */
    readonly lines: readonly string[],
    private readonly warn: (message: string) => void,
  ) {
    this.last = lines[0];
  }

  /** Reads the file (a missing one is empty) and cuts it back to `limit` lines when it grew past. */
  static async open(
    path: string,
    warn: (message: string) => void,
    limit = HISTORY_LIMIT,
  ): Promise<HistoryFile> {
    let text = '';
    let unreadable: unknown = null;
    try {
      text = await readFile(path, 'utf8');
      // The file tells what was done on which server: only its owner reads it.
      if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') unreadable = err;
    }
    const lines = parseHistory(text, limit);
    const history = new HistoryFile(path, lines, warn);
    if (unreadable !== null) history.fail('read', unreadable);
    else if (text.split('\n').length - 1 > limit) await history.rewrite([...lines].reverse());
    return history;
  }

  /** Appends one command; consecutive repeats and unrecorded lines are skipped. */
  async add(typed: string): Promise<void> {
    // Trailing spaces (a completed name leaves one) mean nothing to the command line.
    const line = typed.trimEnd();
    if (this.failed || isUnrecorded(typed) || line === this.last) return;
    this.last = line;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await appendFile(this.path, `${line}\n`, { mode: 0o600 });
    } catch (err) {
      this.fail('write', err);
    }
  }

  /** Replaces the file in one rename, so a reader never sees it half-written. */
  private async rewrite(oldestFirst: string[]): Promise<void> {
    const temp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temp, oldestFirst.map((line) => `${line}\n`).join(''), { mode: 0o600, flag: 'wx' });
      await rename(temp, this.path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      this.fail('write', err);
    }
  }

  private fail(action: 'read' | 'write', err: unknown): void {
    // One warning, then the prompt goes on without saving.
    this.failed = true;
    this.warn(`cannot ${action} ${this.path}: ${describe(err)}; history is not saved`);
  }
}

function describe(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}
