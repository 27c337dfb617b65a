// Shared by every browser test: a `tureen serve` on a throwaway data folder, and Debian's Chromium.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
// The app's own finder and flags (compiled by `npm run build`, which npm test runs first).
import { CHROMIUM_ARGS, findChromium } from '../../out/node/core/reports/chromium.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

/** Starts `tureen serve` on a fresh TUREEN_HOME; resolves once it printed its URL. */
export async function startServe({
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-e2e-')),
  env = {},
} = {}) {
  const token = `e2e-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'tureen.js'), 'serve', '--port', '0', '--token', token],
    {
      env: { ...process.env, TUREEN_HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`tureen serve did not start in 30 s: ${stderr}`)),
      30_000,
    );
    child.stdout.on('data', (d) => {
      out += d;
      const match = out.match(/https?:\/\/\S+/);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.on('exit', (code) => reject(new Error(`tureen serve exited with ${code}: ${stderr}`)));
  });
  const base = url.replace(/\/\?token=.*$/, '');
  return {
    url,
    base,
    token,
    home,
    stderr: () => stderr,
    api: async (channel, body = {}, token_ = token) => {
      const response = await fetch(`${base}/api/${channel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token_ ? { 'x-tureen-token': token_ } : {}) },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
}

/**
 * A page (light theme) that records console errors and uncaught exceptions; tests assert the list stays empty.
 * Chromium logs every 4xx answer as "Failed to load resource"; for /api/ calls that is a typed error the
 * UI shows to the user (e.g. "folder does not exist"), so those are not problems. Everything else is.
 */
export async function openPage(browser, url, { viewport = { width: 1280, height: 800 }, timeout } = {}) {
  const page = await browser.newPage({ viewport });
  if (timeout) page.setDefaultTimeout(timeout);
  // Screenshots are compared across runs: start every page in the light theme, whatever the machine prefers.
  await page.addInitScript(() => localStorage.setItem('tureen.theme', 'light'));
  const problems = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const source = message.location()?.url ?? '';
    if (/\/api\/[a-z]+(:|%3A)[a-zA-Z]+$/.test(source) && message.text().startsWith('Failed to load resource'))
      return;
    problems.push(`console: ${message.text()} (${source})`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  await page.goto(url);
  return { page, problems };
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
