import fs from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../../..');
/** The command a user runs. */
export const tureenBin = path.join(root, 'bin/tureen.js');

/**
 * Tests that run `tureen` as a child process (to kill it, or to stop it with a signal) need the compiled
 * CLI; vitest's globalSetup (tests/global-setup.ts) compiles src-main once per run. This checks that the
 * modules named in `sources` (paths under src-main, without .ts) are there.
 */
export function ensureCliBuilt(sources: readonly string[]): void {
  for (const name of sources) {
    const built = path.join(root, 'out/node', `${name}.js`);
    if (!fs.existsSync(built))
      throw new Error(`${built} missing: run the tests through vitest, whose globalSetup builds the CLI`);
  }
}
