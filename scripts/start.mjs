// npm start: build, then launch the Electron app; where Electron's binary cannot be had (an air-gapped
// machine), say so in one line and start the local web UI (`tureen serve`) instead.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' }).status !== 0) {
  console.error('npm start: the build failed');
  process.exit(1);
}

/** The Electron binary, fetched on first use by the electron package; null when it cannot be had. */
function electronBinary() {
  const probe = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (probe.status !== 0 || !probe.stdout) return null;
  return fs.existsSync(probe.stdout) ? probe.stdout : null;
}

const nativeForElectron = path.join(root, 'native', 'electron', 'better_sqlite3.node');
const binary = electronBinary();
const passthrough = process.argv.slice(2);

if (binary && fs.existsSync(nativeForElectron)) {
  const child = spawn(binary, [root, ...passthrough], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const reason = !binary
    ? 'the Electron binary could not be downloaded (offline?)'
    : 'better-sqlite3 is not built for Electron yet (run `npm run rebuild:electron` with network)';
  console.log(`Tureen: ${reason}; starting the local web UI (tureen serve) instead.`);
  const child = spawn(process.execPath, [path.join(root, 'bin', 'tureen.js'), 'serve', ...passthrough], {
    cwd: root,
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
}
