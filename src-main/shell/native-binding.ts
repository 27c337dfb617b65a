import fs from 'node:fs';
import path from 'node:path';

/**
 * better-sqlite3 is not N-API: the build npm made for Node (CLI, serve, tests) does not load in Electron.
 * The app loads its own copy, compiled for Electron's ABI by `npm run rebuild:electron` (or by
 * electron-builder when packaging) into native/electron/.
 */
export function electronSqliteBinding(appRoot: string, resourcesPath: string): string {
  const candidates = [
    path.join(resourcesPath, 'native', 'electron', 'better_sqlite3.node'),
    path.join(appRoot, 'native', 'electron', 'better_sqlite3.node'),
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) {
    throw new Error(
      `better-sqlite3 has no build for Electron ${process.versions.electron} (looked in ${candidates.join(', ')}). ` +
        'Run `npm run rebuild:electron` on a machine with network, or use `npm run serve` meanwhile.',
    );
  }
  return found;
}
