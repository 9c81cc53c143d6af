// Process lookups for tests that watch or kill the server's workers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** PIDs of the direct children of `pid` (for the server: its workers), sorted; [] when it has none. */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const { stdout } = await promisify(execFile)('pgrep', ['-P', String(pid)]);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b);
  } catch (err) {
    // pgrep exits 1 when nothing matched: no children is an answer, not an error.
    if ((err as { code?: unknown }).code === 1) return [];
    throw err;
  }
}
