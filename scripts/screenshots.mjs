#!/usr/bin/env node
// Full-page screenshots of every view, light and dark, for looking at the UI as a user does (not a test:
// nothing is asserted). Usage: node scripts/screenshots.mjs <out-folder> [kitchen folder]
// Needs `npm run build` first; starts its own `tureen serve` on a throwaway data folder and Debian's
// Chromium (through the browser tests' harness). The default kitchen is the bundled demo-soup; it is
// scanned and evaluated through the UI (about a minute on the demo). TUREEN_SCREENSHOTS_HOME=<folder> keeps
// the data folder between runs (cached logits: later runs are quicker). Console errors and uncaught
// exceptions are printed under the view they happened in. Viewport 1440×900; names are <view>-<theme>.png.
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, ROOT, startServe } from '../tests/e2e/harness.mjs';
import { ensureKitchen, runJob, TureenApp } from '../tests/e2e/pages.mjs';

const outDir = path.resolve(process.argv[2] ?? 'screenshots');
const kitchenFolder = fs.realpathSync(process.argv[3] ?? path.join(ROOT, 'resources', 'demo-soup'));
const VIEWPORT = { width: 1440, height: 900 };
const LONG = 600_000;
fs.mkdirSync(outDir, { recursive: true });

const serve = await startServe({ home: process.env.TUREEN_SCREENSHOTS_HOME });
const browser = await launchBrowser();
try {
  console.log(`serving ${serve.url}`);
  const kitchen = await ensureKitchen(serve, kitchenFolder);
  const listed = await serve.api('checkpoints:list', { kitchenId: kitchen.id });
  if (listed.body.checkpoints.length === 0)
    await runJob(serve, 'checkpoints:scan', { kitchenId: kitchen.id });
  console.log(`kitchen ${kitchen.name} scanned`);

  const app = await TureenApp.open(browser, serve, 'kitchens', { viewport: VIEWPORT, timeout: LONG });
  const { page } = app;

  /** Both themes of what the page shows now, as <name>-light.png and <name>-dark.png. */
  /** Resolves once no job runs (no Cancel button left in the view or the tray). */
  const idle = () =>
    page.waitForFunction(
      () => ![...document.querySelectorAll('button')].some((b) => b.textContent?.trim() === 'Cancel'),
    );
  let reported = 0;
  const shoot = async (name) => {
    // the page starts light; the theme button toggles
    await page.waitForTimeout(300); // progress bars ease to their width over 0.2 s
    await page.screenshot({ path: path.join(outDir, `${name}-light.png`), fullPage: true });
    await app.theme('dark');
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(outDir, `${name}-dark.png`), fullPage: true });
    await app.theme('light');
    console.log(name);
    // a console error or exception names the view it happened in
    while (app.problems.length > reported) console.log(`  problem in ${name}: ${app.problems[reported++]}`);
  };

  await app.go('Kitchens');
  await shoot('kitchens');
  await app.go('Eval sets');
  await shoot('evalsets');
  await page.getByRole('button', { name: 'Import image folder…' }).click();
  await shoot('evalsets-import');
  await page.getByRole('button', { name: 'Import image folder…' }).click();

  await app.go('Evaluate');
  await shoot('evaluate-before');
  await page.getByRole('button', { name: 'Evaluate all' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /Last run done/ })
    .waitFor();
  await idle();
  await app.settled();
  await shoot('evaluate');

  await app.go('Cook');
  await shoot('cook-empty');
  await page.getByRole('radio', { name: /Greedy soup/ }).check();
  await shoot('cook-greedy-params');
  await page.getByRole('checkbox', { name: /with-replacement/ }).check();
  await shoot('cook-greedy-replacement');
  await page.getByRole('checkbox', { name: /with-replacement/ }).uncheck();
  await page.getByRole('button', { name: 'Cook greedy soup' }).click();
  await page.getByRole('article', { name: /Recipe: Greedy soup/ }).waitFor();
  await idle();
  await app.settled();
  await shoot('cook-greedy');
  const merge = page.getByRole('radio', { name: /TIES/i });
  if (await merge.count()) {
    await merge.first().check();
    await shoot('cook-merge-params');
  }

  await app.go('Advisor');
  await shoot('advisor-empty');
  const advise = page.getByRole('button', { name: /^Advise( again)?$/ });
  if (await advise.count()) {
    await advise.first().click();
    await page.getByRole('heading', { name: 'Is this sweep soupable?' }).waitFor();
    await page.getByRole('heading', { name: /Greedy soup: kept/ }).waitFor();
    await app.settled();
    await shoot('advisor');
  }

  await app.go('Compare');
  await shoot('compare-empty');
  await page.getByLabel('Learned soup budget (held-out evaluations)').fill('8');
  await page.getByRole('button', { name: /Run comparison/ }).click();
  await page.getByRole('table', { name: 'Comparison of soups, ensembles and single models' }).waitFor();
  await idle();
  await app.settled();
  await shoot('compare');

  await app.go('Report');
  await shoot('report-empty');
  await page.getByRole('button', { name: 'Prepare report' }).click();
  await page.getByRole('heading', { level: 2, name: 'Interpolation' }).waitFor();
  await idle();
  await app.settled();
  await shoot('report');

  await app.close();
} finally {
  await browser.close();
  await serve.close();
}
