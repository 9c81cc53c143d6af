// `npm start` on a fresh clone builds first; later starts reuse dist/ unless a source file is newer.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const built = ['dist/server.js', 'dist/client.js'];
const stale =
  built.some((f) => !existsSync(f)) ||
  newestMtime('src') > Math.min(...built.map((f) => statSync(f).mtimeMs));
if (stale) execSync('npx tsup', { stdio: 'inherit' });
