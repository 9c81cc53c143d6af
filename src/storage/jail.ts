// The jail: maps virtual paths to real paths and proves, after following symbolic links, that they
// stay inside the storage root. Every file operation goes through it.
import type { Stats } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { FilehiveError, fromErrno } from '../errors.js';
import { virtualBase, virtualParent } from './virtual-path.js';

/** A name to act on itself (UPLOAD, DELETE, MOVE): its real folder, proven inside the root, and the name. */
export interface NameTarget {
  readonly virtual: string;
  readonly dir: string;
  readonly name: string;
  readonly path: string;
  /** Path relative to the root, the key for locks: the same file gets the same key from any session. */
  readonly key: string;
}

export class Jail {
  /**
   * `root` bounds every path; `keyRoot` (the storage root) anchors lock keys. They differ for an
   * account's jail: its home is its `/`, yet two accounts reaching one file must contend on one lock.
   */
  private constructor(
    readonly root: string,
    private readonly keyRoot: string = root,
  ) {}

  /** Creates the root if missing and pins its real path. */
  static async open(root: string): Promise<Jail> {
    await mkdir(resolve(root), { recursive: true });
    return new Jail(await realpath(resolve(root)));
  }

  contains(realPath: string): boolean {
    return (
      realPath === this.root || realPath.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep)
    );
  }

  keyOf(realPath: string): string {
    return relative(this.keyRoot, realPath).split(sep).join('/');
  }

  /** A jail for the real folder `folder` inside this one (an account's home), keys still from the storage root. */
  narrow(folder: string): Jail {
    if (!this.contains(folder)) throw new FilehiveError('BAD_PATH', 'path leads outside the share');
    return new Jail(folder, this.keyRoot);
  }

  /**
   * Follows links to the real path behind `virtual`, without looking at what it is. Missing:
   * NOT_FOUND; outside the root (a link leading out): BAD_PATH.
   */
  async locate(virtual: string): Promise<{ path: string; key: string }> {
    let real: string;
    try {
      real = await realpath(join(this.root, virtual));
    } catch (err) {
      throw fromErrno(err, 'no such file or folder');
    }
    if (!this.contains(real)) throw new FilehiveError('BAD_PATH', 'path leads outside the share');
    return { path: real, key: this.keyOf(real) };
  }

  /** `locate`, plus the stats of what is there. */
  async resolveExisting(virtual: string): Promise<{ path: string; stats: Stats; key: string }> {
    const { path, key } = await this.locate(virtual);
    try {
      return { path, stats: await stat(path), key };
    } catch (err) {
      throw fromErrno(err, 'no such file or folder');
    }
  }

  /** Resolves the folder that holds `virtual` (following links) and keeps the last name as it is. */
  async resolveName(virtual: string): Promise<NameTarget> {
    if (virtual === '/') throw new FilehiveError('BAD_PATH', 'not allowed on the root of the share');
    const parent = await this.resolveExisting(virtualParent(virtual)).catch((err: unknown) => {
      throw err instanceof FilehiveError && err.code === 'NOT_FOUND'
        ? new FilehiveError('NOT_FOUND', 'the folder does not exist')
        : err;
    });
    if (!parent.stats.isDirectory()) throw new FilehiveError('NOT_A_DIRECTORY', 'the parent is not a folder');
    const name = virtualBase(virtual);
    const path = join(parent.path, name);
    return { virtual, dir: parent.path, name, path, key: this.keyOf(path) };
  }
}
