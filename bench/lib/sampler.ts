// Peak resident memory of processes, sampled from /proc/<pid>/status (Linux only).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** RSS in bytes (VmRSS), or null when the process is gone or /proc is missing. */
export async function rssOf(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The worker PIDs of a cluster primary (its direct children). */
export async function childrenOf(pid: number): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-P', String(pid)]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Samples VmRSS of the given PIDs every `everyMs` until stop(); stop() returns the peak of each. */
export function sampleRss(pids: readonly number[], everyMs = 20): { stop(): Promise<Map<number, number>> } {
  const peaks = new Map<number, number>(pids.map((p) => [p, 0]));
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    for (const pid of pids) {
      const rss = await rssOf(pid);
      if (rss !== null && rss > (peaks.get(pid) ?? 0)) peaks.set(pid, rss);
    }
    busy = false;
  };
  const timer = setInterval(() => void tick(), everyMs);
  void tick();
  return {
    async stop() {
      clearInterval(timer);
      await tick();
      return peaks;
    },
  };
}
