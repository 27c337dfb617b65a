// npm run bench [-- name...]: builds the Node output, then runs each bench/*.mjs (or the named ones) in its
// own process. Each benchmark prints one JSON document; they are collected into one array on stdout.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wanted = process.argv.slice(2);
if (spawnSync('npx', ['tsc', '-p', 'tsconfig.cli.json'], { cwd: root, stdio: 'inherit' }).status !== 0)
  process.exit(1);

const benches = fs
  .readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.mjs') && (wanted.length === 0 || wanted.some((w) => f.includes(w))))
  .sort();
const results = [];
let failed = false;
for (const file of benches) {
  process.stderr.write(`bench: ${file}\n`);
  const run = spawnSync(process.execPath, ['--expose-gc', path.join('bench', file)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  try {
    results.push({ bench: file, ...JSON.parse(run.stdout) });
  } catch {
    failed = true;
    results.push({
      bench: file,
      error: `exit ${run.status}; stdout was not one JSON document`,
      stdout: run.stdout,
    });
  }
}
console.log(JSON.stringify(results, null, 2));
process.exit(failed ? 1 : 0);
