// Compiles better-sqlite3 for Electron's ABI into native/electron/, leaving the Node build that the CLI,
// serve mode and the tests use untouched. Needs network (Electron headers). See docs/architecture.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const electronVersion = require('electron/package.json').version;
const sqliteDir = path.dirname(require.resolve('better-sqlite3/package.json'));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-electron-sqlite-'));
fs.cpSync(sqliteDir, path.join(work, 'better-sqlite3'), { recursive: true });
const result = spawnSync(
  'npx',
  [
    '--no-install',
    'node-gyp',
    'rebuild',
    '--release',
    `--target=${electronVersion}`,
    '--dist-url=https://electronjs.org/headers',
  ],
  {
    cwd: path.join(work, 'better-sqlite3'),
    stdio: 'inherit',
    env: { ...process.env, npm_config_runtime: 'electron' },
  },
);
if (result.status !== 0) {
  console.error(`rebuild for Electron ${electronVersion} failed (it needs network for Electron's headers)`);
  process.exit(1);
}
const target = path.join(root, 'native', 'electron');
fs.mkdirSync(target, { recursive: true });
fs.copyFileSync(
  path.join(work, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
  path.join(target, 'better_sqlite3.node'),
);
console.log(
  `better-sqlite3 for Electron ${electronVersion} written to ${path.relative(root, target)}/better_sqlite3.node`,
);
