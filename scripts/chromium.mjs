// Where a Chromium for tests and PDF reports is found; one place so npm test and the app agree.
import fs from 'node:fs';

export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

export function findChromium(env = process.env) {
  if (env.TUREEN_CHROMIUM) return fs.existsSync(env.TUREEN_CHROMIUM) ? env.TUREEN_CHROMIUM : null;
  return CHROMIUM_CANDIDATES.find((file) => fs.existsSync(file)) ?? null;
}

export const CHROMIUM_HELP =
  'No Chromium found for the browser tests. On Debian/Ubuntu: sudo apt-get install -y chromium ' +
  '(or point TUREEN_CHROMIUM at a Chrome/Chromium binary). Never run `npx playwright install`.';
