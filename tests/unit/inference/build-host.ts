import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');
const entry = path.join(root, 'out/node/core/inference/host-process.js');
const lock = path.join(root, 'out/.tureen-host-build.lock');
/** What the host process runs (it imports nothing else from src-main). */
const hostSources = ['src-main/core/inference', 'src-main/core/datasets', 'src-main/common/errors.ts'].map(
  (p) => path.join(root, p),
);

function newestSource(target: string): number {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const item of fs.readdirSync(target)) {
    const full = path.join(target, item);
    if (fs.statSync(full).isDirectory() || item.endsWith('.ts'))
      newest = Math.max(newest, newestSource(full));
  }
  return newest;
}

const stale = () =>
  !fs.existsSync(entry) || fs.statSync(entry).mtimeMs < Math.max(...hostSources.map(newestSource));

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The inference host runs as JavaScript in a child process, so tests need the compiled output: build it when
 * it is missing or older than its sources. Test files run in parallel workers, so one builds (holding a
 * lock file) while the others wait.
 */
export function ensureHostBuilt(): string {
  for (let waited = 0; stale() && waited < 180_000;) {
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    let fd: number;
    try {
      fd = fs.openSync(lock, 'wx');
    } catch {
      sleep(500);
      waited += 500;
      continue;
    }
    try {
      if (stale()) {
        execFileSync(
          process.execPath,
          [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.cli.json'],
          { cwd: root, stdio: 'pipe' },
        );
      }
    } catch {
      // tsc exits non-zero on type errors elsewhere in the tree but still emits; the check below decides.
    } finally {
      fs.closeSync(fd);
      fs.rmSync(lock, { force: true });
    }
    break;
  }
  if (!fs.existsSync(entry))
    throw new Error(`inference host not built: run npx tsc -p tsconfig.cli.json (${entry} missing)`);
  return entry;
}

export const fixtureDir = path.join(root, 'tests/fixtures/evaluation');
