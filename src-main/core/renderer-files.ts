import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../common/errors.js';
import { packageRoot } from './paths.js';
import { isWithin } from './within.js';

/** The built renderer (out/renderer): served by `tureen serve`, printed to PDF by the report. */
export function rendererDir(): string {
  return path.join(packageRoot(), 'out', 'renderer');
}

/** Both front doors need the built UI; say how to build it when it is not there. */
export function assertRendererBuilt(staticDir: string): void {
  if (!fs.existsSync(path.join(staticDir, 'index.html'))) {
    throw new TureenError(
      'not_found',
      `the UI is not built (${staticDir}/index.html missing): run \`npm run build\``,
    );
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.pdf': 'application/pdf',
  '.csv': 'text/csv; charset=utf-8',
};

export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file under `root` that a URL path names, or null. Decoding happens before the containment check,
 * so `%2e%2e/` cannot climb out of the root.
 */
export function resolveStatic(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = path.resolve(root, relative);
  if (!isWithin(root, file)) return null;
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return null;
  return file;
}
