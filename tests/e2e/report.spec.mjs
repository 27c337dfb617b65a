// The report: prepared from a kitchen (comparison, greedy prefixes, interpolation, scan, similarity), shown
// in the Report view without console errors (light and dark), saved as a PDF from the browser (serve mode
// renders it with the system Chromium and hands it over as a download) and from the CLI; the PDF has pages
// and its text holds the recipes and the comparison table.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, ROOT, screenshot, SCREENSHOTS, startServe } from './harness.mjs';
import { runJob, TureenApp } from './pages.mjs';

// The evaluation fixture kitchen is small enough that preparing its report takes seconds; the workbench
// spec covers the demo kitchen. TUREEN_E2E_REPORT_KITCHEN points the test at another one.
const KITCHEN =
  process.env.TUREEN_E2E_REPORT_KITCHEN ?? path.join(ROOT, 'tests', 'fixtures', 'evaluation', 'kitchen');
const LONG = { timeout: 180_000 };

const hasPdftotext = spawnSync('pdftotext', ['-v']).error === undefined;
const pdfText = (file) => spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).stdout;
const pdfPages = (file) =>
  (fs.readFileSync(file, 'latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;

describe(
  'report: prepare → view → PDF (browser and CLI)',
  { skip: !fs.existsSync(KITCHEN) && `no kitchen at ${KITCHEN}` },
  () => {
    let serve;
    let browser;
    let kitchenId;
    /** The report view of the kitchen, in a page of its own, once its data is there. */
    const openReport = () =>
      TureenApp.open(browser, serve, `report?kitchen=${kitchenId}`, { timeout: LONG.timeout });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-e2e-report-'));

    before(async () => {
      serve = await startServe();
      const registered = await serve.api('kitchens:register', { path: KITCHEN, name: 'Report fixture' });
      assert.equal(registered.status, 200, JSON.stringify(registered.body));
      kitchenId = registered.body.id;
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await serve?.close();
      fs.rmSync(out, { recursive: true, force: true });
    });

    it('prepares the report and shows table, charts, recipes and environment', LONG, async () => {
      const app = await openReport();
      const { page } = app;
      await page.getByRole('heading', { level: 1, name: /Model soup report/ }).waitFor();
      await page.getByRole('button', { name: 'Prepare report' }).click();
      await page.getByRole('heading', { level: 2, name: 'Comparison' }).waitFor();
      await page.getByRole('heading', { level: 2, name: 'Interpolation' }).waitFor();
      for (const heading of [
        'Robustness',
        'Greedy soup',
        'Learned soup',
        'Ingredient similarity',
        'Recipes',
        'Environment',
      ]) {
        await page.getByRole('heading', { level: 2, name: heading, exact: true }).waitFor();
      }
      assert.equal(await page.locator('[data-report-ready]').count(), 1);
      // every chart is an SVG with marks that carry a tooltip
      assert.ok((await page.locator('figure.chart svg[role="img"]').count()) >= 6);
      assert.ok((await page.locator('figure.chart [data-tip]').count()) > 20);
      await screenshot(page, 'report');
      await page.getByRole('button', { name: 'Dark theme' }).click();
      await screenshot(page, 'report-dark');
      await page.getByRole('button', { name: 'Light theme' }).click();
      assert.deepEqual(app.problems, []);
      await app.close();
    });

    it('saves the PDF from the browser as a download', LONG, async () => {
      // prepared through the API (nothing is recomputed when the previous test already did it)
      const data = await runJob(serve, 'reports:prepare', { kitchenId });
      const app = await openReport();
      const { page } = app;
      await page.getByRole('heading', { level: 2, name: 'Comparison' }).waitFor();
      const downloaded = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Save as PDF' }).click();
      const download = await downloaded;
      const file = path.join(out, download.suggestedFilename());
      await download.saveAs(file);
      await page
        .getByRole('status')
        .filter({ hasText: /Saved \d+ pages?/ })
        .waitFor();
      assert.ok(pdfPages(file) >= 1, 'the PDF has pages');
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      fs.copyFileSync(file, path.join(SCREENSHOTS, 'report.pdf'));
      if (hasPdftotext) {
        const text = pdfText(file);
        const greedy = data.compare.rows.find((r) => r.kind === 'greedy_soup');
        const idSet = data.compare.evalsets.find((s) => s.role === 'id');
        for (const needle of [
          'Model soup report',
          'Comparison',
          'Greedy soup',
          'Best single (held-out)',
          'Recipes',
        ]) {
          assert.ok(text.includes(needle), `PDF text lacks "${needle}"`);
        }
        // a number of the table and a hash of the greedy recipe
        assert.ok(
          text.includes((greedy.metrics[idSet.name].top1 * 100).toFixed(2)),
          'PDF lacks the greedy soup top-1',
        );
        const recipe = data.recipes.find((r) => r.recipe.method === 'greedy').recipe;
        assert.ok(text.includes(recipe.ingredients[0].sha256.slice(0, 12)), 'PDF lacks the recipe hashes');
      }
      assert.deepEqual(app.problems, []);
      await app.close();
    });

    it('writes the same report from the CLI with --json', LONG, async () => {
      // its own data folder: the CLI prepares whatever the report lacks, whatever the tests above did
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-e2e-report-cli-'));
      const target = path.join(out, 'cli-report.pdf');
      const result = spawnSync(
        process.execPath,
        [
          path.join(ROOT, 'bin', 'tureen.js'),
          'report',
          KITCHEN,
          '--out',
          target,
          '--paper',
          'Letter',
          '--json',
        ],
        { env: { ...process.env, TUREEN_HOME: home }, encoding: 'utf8', timeout: LONG.timeout },
      );
      assert.equal(result.status, 0, result.stderr);
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.schema, 'tureen/report@1');
      assert.equal(doc.path, target);
      assert.ok(doc.pages >= 1 && doc.pages === pdfPages(target));
      assert.deepEqual(doc.missing, []);
      if (hasPdftotext) assert.ok(pdfText(target).includes('Greedy soup'));
    });
  },
);
