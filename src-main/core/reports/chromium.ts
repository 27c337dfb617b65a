import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../common/errors.js';

/** Where Chrome or Chromium usually lives, per platform, in the order we try them. */
export function chromiumCandidates(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'darwin') {
    return [
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      '/Applications/Chromium.app/Contents/MacOS/Chromium',
      '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
    ];
  }
  if (platform === 'win32') {
    const roots = [env.PROGRAMFILES, env['PROGRAMFILES(X86)'], env.LOCALAPPDATA].filter((r): r is string =>
      Boolean(r),
    );
    return roots.flatMap((root) => [
      path.win32.join(root, 'Google', 'Chrome', 'Application', 'chrome.exe'),
      path.win32.join(root, 'Chromium', 'Application', 'chrome.exe'),
      path.win32.join(root, 'Microsoft', 'Edge', 'Application', 'msedge.exe'),
    ]);
  }
  return [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/snap/bin/chromium',
  ];
}

/**
 * The Chromium that renders PDFs outside the desktop app: TUREEN_CHROMIUM when set (and then only that),
 * else the first usual install path that exists.
 */
export function findChromium(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  exists: (file: string) => boolean = (file) => fs.existsSync(file),
): string {
  const forced = env.TUREEN_CHROMIUM;
  if (forced) {
    if (!exists(forced)) {
      throw new TureenError(
        'not_found',
        `TUREEN_CHROMIUM points at ${forced}, which does not exist; fix the path or unset it`,
        {
          path: forced,
        },
      );
    }
    return forced;
  }
  const candidates = chromiumCandidates(platform, env);
  const found = candidates.find(exists);
  if (found) return found;
  throw new TureenError(
    'not_found',
    'no Chrome or Chromium found to render the PDF: install one (Debian/Ubuntu: `apt-get install -y chromium`) ' +
      'or set TUREEN_CHROMIUM to its executable',
    { tried: candidates },
  );
}

/** Flags for a headless, offline, short-lived Chromium (no sandbox: it only ever loads our own page). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
