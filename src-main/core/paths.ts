import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where Tureen keeps its database and caches. The Electron app, serve mode and the CLI must agree,
 * so Electron's own app.getPath() is deliberately not used (on Linux it points at ~/.config).
 */
function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.TUREEN_HOME) return path.resolve(env.TUREEN_HOME);
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Tureen');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Tureen');
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : null;
  return path.join(xdg ?? path.join(home, '.local', 'share'), 'tureen');
}

/** The folder holding Tureen's package.json (source checkout or installed package). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'tureen') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error('Tureen package root not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export interface TureenPaths {
  dataDir: string;
  databasePath: string;
  /** cached logits and other derived artefacts */
  cacheDir: string;
  /** the demo kitchen shipped with the app, registered on first start; null when not shipped */
  demoKitchen: string | null;
}

export function resolvePaths(options: {
  dataDir?: string;
  databasePath?: string;
  demoKitchen?: string | null;
}): TureenPaths {
  const dataDir = path.resolve(options.dataDir ?? defaultDataDir());
  // The default demo; resources/demo beside it is registered with it (see registerDemoOnFirstStart).
  const shippedDemo = path.join(packageRoot(), 'resources', 'demo-soup');
  return {
    dataDir,
    databasePath: path.resolve(options.databasePath ?? path.join(dataDir, 'tureen.sqlite')),
    cacheDir: path.join(dataDir, 'cache'),
    demoKitchen:
      options.demoKitchen !== undefined
        ? options.demoKitchen
        : fs.existsSync(shippedDemo)
          ? shippedDemo
          : null,
  };
}
