// The in-memory share behind the fake server: folder commands of docs/PROTOCOL.md on a Map and a Set.
import { posix } from 'node:path';
import type { ErrorCode } from '../../src/errors.js';
import { encodeError, encodeReply, type Request } from '../../src/protocol/index.js';

export const FAKE_MTIME = '2026-11-25T10:01:02.345Z';

export class FakeShare {
  /** File contents by absolute virtual path. */
  readonly files = new Map<string, Buffer>();
  /** Folders by absolute virtual path; `/` always exists. */
  readonly dirs = new Set<string>(['/']);

  isDir(path: string): boolean {
    return this.dirs.has(path);
  }

  children(dir: string): string[] {
    return [...this.dirs, ...this.files.keys()].filter((p) => p !== '/' && posix.dirname(p) === dir).sort();
  }

  /** Runs a command that moves no file bytes; returns the reply lines and the session's folder after. */
  run(cwd: string, request: Request): { lines: string[]; cwd: string } {
    const at = (p: string) => posix.resolve('/', cwd, p);
    const done = (fields: Record<string, string>, nextCwd = cwd) => ({
      lines: [encodeReply('OK', { ...fields, msg: 'ok' })],
      cwd: nextCwd,
    });
    const fail = (code: ErrorCode, msg: string) => ({ lines: [encodeError(code, msg)], cwd });
    switch (request.verb) {
      case 'DIR': {
        const path = at(request.path);
        if (this.files.has(path)) return fail('NOT_A_DIRECTORY', 'not a folder');
        if (!this.isDir(path)) return fail('NOT_FOUND', 'no such folder');
        const names = this.children(path);
        const lines = names.map((child) => {
          const file = this.files.get(child);
          const fields = { type: file ? 'file' : 'dir', size: file?.length ?? 0, mtime: FAKE_MTIME };
          return encodeReply('ENTRY', { ...fields, name: posix.basename(child) });
        });
        lines.push(encodeReply('OK', { count: names.length, path, msg: `${names.length} entries` }));
        return { lines, cwd };
      }
      case 'MKDIR': {
        const path = at(request.path);
        if (this.isDir(path) || this.files.has(path)) return fail('EXISTS', 'already exists');
        if (!this.isDir(posix.dirname(path))) return fail('NOT_FOUND', 'no such folder');
        this.dirs.add(path);
        return done({ path });
      }
      case 'RMDIR': {
        const path = at(request.path);
        if (!this.isDir(path))
          return fail(this.files.has(path) ? 'NOT_A_DIRECTORY' : 'NOT_FOUND', 'no such folder');
        if (this.children(path).length > 0) return fail('NOT_EMPTY', 'not empty');
        this.dirs.delete(path);
        return done({ path });
      }
      case 'DELETE': {
        const path = at(request.path);
        if (this.isDir(path)) return fail('IS_A_DIRECTORY', 'use RMDIR');
        if (!this.files.delete(path)) return fail('NOT_FOUND', 'no such file');
        return done({ path });
      }
      case 'CHDIR': {
        const path = at(request.path);
        if (!this.isDir(path))
          return fail(this.files.has(path) ? 'NOT_A_DIRECTORY' : 'NOT_FOUND', 'no such folder');
        return done({ path }, path);
      }
      case 'MOVE': {
        const from = at(request.from);
        let to = at(request.to);
        if (this.isDir(to)) to = posix.join(to, posix.basename(from));
        const data = this.files.get(from);
        if (!data) return fail('NOT_FOUND', 'no such file');
        if (this.files.has(to) || this.isDir(to)) return fail('EXISTS', 'already exists');
        this.files.delete(from);
        this.files.set(to, data);
        return done({ from, to });
      }
      case 'PWD':
        return done({ path: cwd });
      case 'NOOP':
        return done({});
      default:
        return fail('BAD_REQUEST', `${request.verb} is not a folder command`);
    }
  }
}
