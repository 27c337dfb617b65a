import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../../..');
/** The command a user runs. */
export const tureenBin = path.join(root, 'bin/tureen.js');

/**
 * Tests that run `tureen` as a child process (to kill it, or to stop it with a signal) need the compiled
 * CLI: build it when one of `sources` (paths under src-main, without .ts) is newer than its output.
 */
export function ensureCliBuilt(sources: readonly string[]): void {
  const stale = sources.some((name) => {
    const built = path.join(root, 'out/node', `${name}.js`);
    const source = path.join(root, 'src-main', `${name}.ts`);
    return !fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(source).mtimeMs;
  });
  if (!stale) return;
  try {
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.cli.json'],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
  } catch {
    // tsc exits non-zero on type errors elsewhere in the tree but still emits
  }
}
