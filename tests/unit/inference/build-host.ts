import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');
const entry = path.join(root, 'out/node/core/inference/host-process.js');

/**
 * The inference host runs as JavaScript in a child process, so tests need the compiled output; vitest's
 * globalSetup (tests/global-setup.ts) compiles src-main once per run before any test starts. Returns the
 * host's entry.
 */
export function ensureHostBuilt(): string {
  if (!fs.existsSync(entry))
    throw new Error(
      `inference host not built (${entry} missing): run the tests through vitest, whose globalSetup builds it`,
    );
  return entry;
}

export const fixtureDir = path.join(root, 'tests/fixtures/evaluation');
