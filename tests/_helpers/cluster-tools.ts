// The outside programs the multi-instance tests run for real: HAProxy, OpenSSH's sshd and sshfs, and the
// libfaketime library preloaded into an instance to skew its clock. Found in an environment variable
// (HAPROXY_BIN, SSHD_BIN, SSHFS_BIN, FUSERMOUNT_BIN, FAKETIME_LIB), then in .cache
// (scripts/install-cluster-tools.sh unpacks them there, with the libraries the machine lacks), then on
// PATH (the library: at Debian's path). Tests that need a missing one are skipped on a developer machine
// and fail when CI is set.
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import test, { type ExecutionContext } from 'ava';

export type ClusterTool = 'haproxy' | 'sshd' | 'sshfs' | 'fusermount3' | 'libfaketime';

const CACHE = resolve(import.meta.dirname, '../../.cache');
const FAKETIME_SO = 'usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

/** `system`: a shared library's installed path, looked at instead of PATH (it only needs to be readable). */
const WHERE: Record<ClusterTool, { env: string; cached: string; system?: string }> = {
  haproxy: { env: 'HAPROXY_BIN', cached: 'haproxy/usr/sbin/haproxy' },
  sshd: { env: 'SSHD_BIN', cached: 'sshfs/usr/sbin/sshd' },
  sshfs: { env: 'SSHFS_BIN', cached: 'sshfs/usr/bin/sshfs' },
  fusermount3: { env: 'FUSERMOUNT_BIN', cached: 'sshfs/bin/fusermount3' },
  libfaketime: { env: 'FAKETIME_LIB', cached: `faketime/${FAKETIME_SO}`, system: `/${FAKETIME_SO}` },
};

function isAccessible(path: string, mode = constants.X_OK): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** A program to run: its path and the environment it needs (unpacked libraries on LD_LIBRARY_PATH). */
export interface ToolCommand {
  readonly bin: string;
  readonly env: NodeJS.ProcessEnv;
}

function libraryEnv(prefix: string): NodeJS.ProcessEnv {
  const dirs = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'usr/lib', 'lib'].map((d) =>
    join(prefix, d),
  );
  const current = process.env.LD_LIBRARY_PATH;
  return { ...process.env, LD_LIBRARY_PATH: [...dirs, ...(current ? [current] : [])].join(delimiter) };
}

/** The program (or library), or undefined when it is nowhere to be found. */
export function findClusterTool(tool: ClusterTool): ToolCommand | undefined {
  const { env, cached, system } = WHERE[tool];
  const fromEnv = process.env[env];
  if (fromEnv) return { bin: fromEnv, env: process.env }; // explicit: used as given
  const inCache = join(CACHE, cached);
  if (system) {
    const found = [inCache, system].find((path) => isAccessible(path, constants.R_OK));
    return found ? { bin: found, env: process.env } : undefined;
  }
  if (isAccessible(inCache))
    return { bin: inCache, env: libraryEnv(join(CACHE, cached.split('/')[0] ?? '')) };
  const name = cached.split('/').at(-1) ?? tool;
  const path = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of path) {
    if (dir && isAccessible(join(dir, name))) return { bin: join(dir, name), env: process.env };
  }
  return undefined;
}

export function missingToolsMessage(tools: readonly ClusterTool[]): string {
  const names = tools.map(
    (tool) => `${tool} (${WHERE[tool].env}, .cache/${WHERE[tool].cached}, ${WHERE[tool].system ?? 'PATH'})`,
  );
  return `not found: ${names.join(', ')}; run scripts/install-cluster-tools.sh`;
}

type ToolsTest = (
  title: string,
  fn: (t: ExecutionContext, tools: Record<string, ToolCommand>) => Promise<void> | void,
) => void;

/**
 * Declares tests that need `tools`: they run when all are installed; otherwise they are skipped (the
 * title says why) on a developer machine and fail under CI, where a missing program means a broken
 * install step rather than a choice. `unavailable` (a reason) skips them everywhere: for what the
 * machine does not allow (say, FUSE mounts in a container), which no install step can fix.
 */
export function testWithClusterTools(
  tools: readonly ClusterTool[],
  options: { serial?: boolean; unavailable?: string | null } = {},
): ToolsTest {
  const declare = options.serial ? test.serial : test;
  const found: Record<string, ToolCommand> = {};
  const missing: ClusterTool[] = [];
  for (const tool of tools) {
    const command = findClusterTool(tool);
    if (command) found[tool] = command;
    else missing.push(tool);
  }
  if (missing.length > 0 && process.env.CI) {
    return (title) =>
      declare(title, (t) => {
        t.fail(`${missingToolsMessage(missing)} (required when CI is set)`);
      });
  }
  const reason = missing.length > 0 ? missingToolsMessage(missing) : options.unavailable;
  if (reason) return (title, fn) => test.skip(`${title} [skipped: ${reason}]`, (t) => fn(t, found));
  return (title, fn) => declare(title, (t) => fn(t, found));
}
