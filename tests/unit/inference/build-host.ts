import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');
const sources = path.join(root, 'src-main');
const entry = path.join(root, 'out/node/core/inference/host-process.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const item of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (item.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * The inference host runs as JavaScript in a child process, so tests need the compiled output: build it when
 * it is missing or older than the sources it is made from (core and common).
 */
export function ensureHostBuilt(): string {
  const stale =
    !fs.existsSync(entry) ||
    fs.statSync(entry).mtimeMs <
      Math.max(newestSource(path.join(sources, 'core')), newestSource(path.join(sources, 'common')));
  if (stale) {
    try {
      execFileSync(
        process.execPath,
        [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.cli.json'],
        { cwd: root, stdio: 'pipe' },
      );
    } catch {
      // tsc exits non-zero on type errors elsewhere in the tree but still emits; the check below decides.
    }
  }
  if (!fs.existsSync(entry))
    throw new Error(`inference host not built: run npx tsc -p tsconfig.cli.json (${entry} missing)`);
  return entry;
}

export const fixtureDir = path.join(root, 'tests/fixtures/evaluation');
