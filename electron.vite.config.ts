import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = import.meta.dirname;

// Custom folders (src-main, src-renderer) need explicit inputs; native modules stay external.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: true,
      rollupOptions: {
        // worker.js beside index.js: core/workers/pool.ts looks for it next to itself (the heavy work of
        // cooking runs on worker threads, off the main process)
        input: {
          index: resolve(root, 'src-main/shell/main.ts'),
          worker: resolve(root, 'src-main/core/workers/worker.ts'),
        },
        external: ['better-sqlite3', 'onnxruntime-node', 'playwright-core', 'sharp'],
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // The sandboxed preload must be a single CommonJS file.
      rollupOptions: {
        input: { index: resolve(root, 'src-main/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    base: './',
    plugins: [svelte({ configFile: resolve(root, 'svelte.config.js') })],
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      rollupOptions: { input: resolve(root, 'src-renderer/index.html') },
    },
  },
});
