import { defineConfig } from 'tsup';

// Two entry points, both ESM for Node 20: the server (cluster primary and its workers run the same file)
// and the client CLI. Dependencies stay external so native addons (@node-rs/xxhash) load from node_modules.
export default defineConfig({
  entry: { server: 'src/server.ts', client: 'src/client.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  splitting: true,
  banner: { js: '#!/usr/bin/env node' },
});
