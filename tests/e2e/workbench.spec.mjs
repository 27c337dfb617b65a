// The researcher's whole path in the browser against `tureen serve`: register the demo kitchen, scan it,
// evaluate everything, cook a greedy soup and save it, compare, export — with no console errors, and a
// screenshot of every view (light and dark) in test-results/screenshots/. Each test stands alone: it opens
// its own page and first makes, through the API, the state it needs (the kitchen registered and scanned).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, ROOT, screenshot, startServe } from './harness.mjs';
import { ensureKitchen, runJob, TureenApp } from './pages.mjs';

const KITCHEN = process.env.TUREEN_E2E_KITCHEN ?? path.join(ROOT, 'resources', 'demo');
const LONG = { timeout: 180_000 };

describe(
  'workbench: register → scan → evaluate → cook greedy → save → compare',
  { skip: !fs.existsSync(KITCHEN) && `no kitchen at ${KITCHEN}` },
  () => {
    let serve;
    let browser;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-e2e-soup-'));
    const real = fs.existsSync(KITCHEN) ? fs.realpathSync(KITCHEN) : KITCHEN;

    /** The kitchen under test, registered and scanned (by the API when no earlier test did it). */
    const scannedKitchen = async () => {
      const kitchen = await ensureKitchen(serve, real);
      const listed = await serve.api('checkpoints:list', { kitchenId: kitchen.id });
      if (listed.body.checkpoints.length === 0)
        await runJob(serve, 'checkpoints:scan', { kitchenId: kitchen.id });
      return kitchen;
    };

    const open = (route) => TureenApp.open(browser, serve, route, { timeout: LONG.timeout });

    before(async () => {
      serve = await startServe();
      browser = await launchBrowser();
      // A first start registers the shipped demos; forget them so the views show the kitchen under test only.
      const listed = await serve.api('kitchens:list');
      for (const kitchen of listed.body.kitchens.filter((k) => k.isDemo))
        await serve.api('kitchens:remove', { id: kitchen.id });
    });

    after(async () => {
      await browser?.close();
      await serve?.close();
      fs.rmSync(out, { recursive: true, force: true });
    });

    it(
      'registers the kitchen through the form and scans it',
      async () => {
        // the form is exercised like a user's: the kitchen is not registered yet
        const listed = await serve.api('kitchens:list');
        for (const kitchen of listed.body.kitchens.filter((k) => k.path === real))
          await serve.api('kitchens:remove', { id: kitchen.id });
        const app = await open('kitchens');
        const { page } = app;
        await page.getByRole('heading', { name: 'Kitchens' }).waitFor();
        await page.getByLabel('Folder').fill(KITCHEN);
        await page.getByRole('button', { name: 'Register' }).click();
        await page.getByRole('table', { name: 'Registered kitchens' }).getByRole('row').nth(1).waitFor();

        await page.getByRole('button', { name: /^(Scan|Rescan)$/ }).click();
        const table = page.getByRole('table', { name: 'Checkpoints' });
        await table.waitFor();
        const rows = await table.locator('tbody tr').count();
        assert.ok(rows >= 2, `the scan lists the checkpoints (${rows} rows)`);
        assert.ok(await table.getByText('base', { exact: true }).count(), 'the base is flagged');

        // Sorting by a header updates aria-sort; the filter narrows the rows.
        const header = table.getByRole('columnheader', { name: /Checkpoint/ });
        await header.getByRole('button').click();
        assert.equal(await header.getAttribute('aria-sort'), 'ascending');
        await page.getByLabel('Filter').fill('base');
        assert.ok((await table.locator('tbody tr').count()) < rows);
        await page.getByLabel('Filter').fill('');
        await screenshot(page, 'workbench-kitchens');
        assert.deepEqual(app.problems, []);
        await app.close();
      },
      LONG,
    );

    it('lists eval sets with roles', LONG, async () => {
      await scannedKitchen();
      const app = await open('kitchens');
      await app.go('Eval sets');
      const { page } = app;
      const table = page.getByRole('table', { name: 'Eval sets' });
      await table.waitFor();
      const roles = await page
        .getByRole('combobox', { name: /Role of/ })
        .evaluateAll((els) => els.map((e) => e.value));
      assert.ok(roles.includes('holdout'), `one set is the holdout: ${roles.join(', ')}`);
      await screenshot(page, 'workbench-evalsets');
      assert.deepEqual(app.problems, []);
      await app.close();
    });

    it(
      'evaluates everything in one job, then reuses the cache',
      async () => {
        await scannedKitchen();
        const app = await open('kitchens');
        await app.go('Evaluate');
        const { page } = app;
        await page.getByRole('button', { name: 'Evaluate all' }).click();
        await page
          .getByRole('status')
          .filter({ hasText: /Last run done/ })
          .waitFor();
        const matrix = page.getByRole('table', { name: 'Top-1 accuracy of every model on every eval set' });
        const models = await matrix.locator('tbody tr').count();
        assert.ok(models >= 2, `matrix rows: ${models}`);
        const cell = (await matrix.locator('tbody td').first().innerText()).trim();
        assert.match(cell, /^\d{1,3}\.\d{2}/, `percent with two decimals, got "${cell}"`);
        await screenshot(page, 'workbench-evaluate');

        await page.getByRole('button', { name: 'Evaluate all' }).click();
        const again = page.getByRole('status').filter({ hasText: /Last run done/ });
        await again.filter({ hasText: / 0 computed/ }).waitFor();
        assert.deepEqual(app.problems, []);
        await app.close();
      },
      LONG,
    );
    it(
      'cooks a greedy soup, shows its steps and recipe, and saves it as ONNX',
      async () => {
        await scannedKitchen();
        const app = await open('kitchens');
        await app.go('Cook');
        const { page } = app;
        await page.getByRole('radio', { name: /Greedy soup/ }).check();
        await page.getByRole('button', { name: 'Cook greedy soup' }).click();
        const steps = page.getByRole('table', { name: 'Greedy soup steps' });
        await steps.waitFor();
        assert.ok((await steps.locator('tbody tr').count()) >= 2);
        const card = page.getByRole('article', { name: /Recipe: Greedy soup/ });
        await card.waitFor();
        assert.ok(
          await card.getByRole('table', { name: 'Ingredients and coefficients' }).locator('tbody tr').count(),
        );

        // Serve mode writes only into registered kitchens or Tureen's data folder, where the UI proposes.
        const outside = path.join(out, 'greedy-soup.onnx');
        const field = page.getByLabel('Save soup as');
        const proposed = await field.inputValue();
        assert.ok(proposed.startsWith(path.join(serve.home, 'soups')), proposed);
        await field.fill(outside);
        await card.getByRole('button', { name: 'Save', exact: true }).click();
        const refusal = page.getByRole('alert').filter({ hasText: /outside every registered kitchen/ });
        await refusal.waitFor();
        assert.ok(!fs.existsSync(outside), 'nothing written outside');
        await refusal.getByRole('button', { name: 'Dismiss' }).click();

        const file = proposed.replace(/\.onnx$/, '') + '.onnx';
        await field.fill(file);
        await card.getByRole('button', { name: 'Save', exact: true }).click();
        await page.getByRole('list', { name: 'Saved files' }).waitFor();
        assert.ok(fs.existsSync(file), 'the soup was written');
        assert.ok(fs.existsSync(`${file}.recipe.json`), 'the recipe was written beside it');
        await screenshot(page, 'workbench-cook-greedy');
        assert.deepEqual(app.problems, []);
        await app.close();
      },
      LONG,
    );

    it(
      'compares soups, ensembles and the best single model, and exports CSV',
      async () => {
        await scannedKitchen();
        const app = await open('kitchens');
        await app.go('Compare');
        const { page } = app;
        // A small learned-soup budget keeps the test short; the table has the same rows.
        await page.getByLabel('Learned soup budget (held-out evaluations)').fill('8');
        await page.getByRole('button', { name: /Run comparison/ }).click();
        const table = page.getByRole('table', { name: 'Comparison of soups, ensembles and single models' });
        await table.waitFor();
        for (const kind of [
          'best_single',
          'oracle',
          'uniform_soup',
          'greedy_soup',
          'ensemble',
          'greedy_ensemble',
        ]) {
          await table.locator(`tbody tr[data-kind="${kind}"]`).waitFor();
        }
        assert.ok(await table.locator('td.winner').count(), 'a winner is highlighted');
        await table.getByRole('button', { name: /Show \d+ individual ingredients/ }).click();
        await screenshot(page, 'workbench-compare');

        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('button', { name: 'Export CSV' }).click(),
        ]);
        const csv = fs.readFileSync(await download.path(), 'utf8');
        assert.match(csv.split('\r\n')[0], /^model,kind,members,top1_/);
        assert.match(csv, /greedy_soup/);

        const [json] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('button', { name: 'Export recipe JSON' }).click(),
        ]);
        const exported = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
        const greedy = exported.recipes.find((r) => r.method === 'greedy');
        assert.ok(greedy?.ingredients.length >= 1, 'the greedy recipe is exported with its ingredients');
        assert.ok(greedy.steps.length >= 1);
        assert.deepEqual(app.problems, []);
        await app.close();
      },
      LONG,
    );

    it(
      'renders every view in the dark theme without console errors',
      async () => {
        await scannedKitchen();
        const app = await open('kitchens');
        await app.theme('dark');
        for (const [label, name] of [
          ['Kitchens', 'kitchens'],
          ['Eval sets', 'evalsets'],
          ['Evaluate', 'evaluate'],
          ['Cook', 'cook'],
          ['Compare', 'compare'],
        ]) {
          await app.go(label);
          await screenshot(app.page, `workbench-${name}-dark`);
        }
        await app.theme('light');
        assert.deepEqual(app.problems, []);
        await app.close();
      },
      LONG,
    );
  },
);
