import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const outDir = path.join(root, 'out/node');
/** The newest source time the build in out/node was made from. */
const stampFile = path.join(outDir, '.sources-mtime');
const sources = ['src-main/common', 'src-main/core', 'src-main/cli'].map((p) => path.join(root, p));

function newestSource(target: string): number {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return target.endsWith('.ts') ? stat.mtimeMs : 0;
  let newest = stat.mtimeMs; // a deleted or renamed file changes its folder's time
  for (const item of fs.readdirSync(target)) newest = Math.max(newest, newestSource(path.join(target, item)));
  return newest;
}

/** Sources up to this time are in out/node: the stamp of our last build, else (npm run build:cli) its output's time. */
function builtFrom(): number {
  try {
    return Number(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    try {
      return fs.statSync(path.join(outDir, 'cli/main.js')).mtimeMs;
    } catch {
      return -1;
    }
  }
}

/**
 * Vitest globalSetup: compile src-main (tsc -p tsconfig.cli.json → out/node) once per run, before any test
 * file starts, when the output is older than its sources. Tests that run the inference host or `tureen` as
 * a child process use this output (tests/unit/inference/build-host.ts, tests/unit/cli/build-cli.ts only
 * check that it is there). The build goes to a temporary folder that replaces out/node when complete, so
 * another run reading out/node never sees half-written files.
 */
export default function setup(): void {
  const newest = Math.max(...sources.map(newestSource));
  if (builtFrom() >= newest && fs.existsSync(path.join(outDir, 'cli/main.js'))) return;
  const staging = path.join(root, 'out', `.node-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  const started = Date.now();
  try {
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.cli.json', '--outDir', staging],
      { cwd: root, stdio: 'pipe' },
    );
  } catch {
    // tsc exits non-zero on a type error anywhere in the tree but still emits; the tests judge the output
  }
  if (!fs.existsSync(path.join(staging, 'cli/main.js')))
    throw new Error('globalSetup: tsc -p tsconfig.cli.json emitted nothing; run it to see why');
  fs.writeFileSync(path.join(staging, '.sources-mtime'), String(newest));
  const old = path.join(root, 'out', `.node-old-${process.pid}`);
  if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
  fs.renameSync(staging, outDir);
  fs.rmSync(old, { recursive: true, force: true });
  console.log(
    `globalSetup: compiled src-main to out/node in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
