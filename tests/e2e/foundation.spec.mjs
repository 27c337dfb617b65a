import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, screenshot, startServe } from './harness.mjs';
import { TureenApp } from './pages.mjs';

describe('foundation in the browser (tureen serve)', () => {
  let serve;
  let browser;
  before(async () => {
    serve = await startServe();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await serve?.close();
  });

  it('answers 401 without the token and a typed error for an unknown channel', async () => {
    const unauthorized = await serve.api('kitchens:list', {}, null);
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.body.error.code, 'unauthorized');
    const unknown = await serve.api('kitchens:nonsense', {});
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_channel');
  });

  it('loads the UI without console errors, registers a folder, shows a clear error, and removes it', async () => {
    const app = await TureenApp.open(browser, serve);
    const { page, problems } = app;
    await page.getByRole('heading', { name: 'Kitchens' }).waitFor();
    assert.ok(!page.url().includes('token='), 'the token is hidden from the address bar');

    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-sweep-'));
    const input = page.getByLabel('Folder');
    await input.fill(folder);
    await page.getByRole('button', { name: 'Register' }).click();
    const row = page.getByRole('row').filter({ hasText: path.basename(folder) });
    await row.waitFor();
    await screenshot(page, 'foundation-kitchens-registered');

    await input.fill(path.join(folder, 'does-not-exist'));
    await page.getByRole('button', { name: 'Register' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /does not exist/);
    await screenshot(page, 'foundation-kitchens-error');

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: /Remove/ }).click();
    await row.waitFor({ state: 'detached' });
    const listed = await serve.api('kitchens:list');
    assert.ok(!listed.body.kitchens.some((k) => k.path.endsWith(path.basename(folder))));
    assert.deepEqual(problems, []);
  });
});
