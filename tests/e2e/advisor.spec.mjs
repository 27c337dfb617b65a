import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, screenshot, startServe } from './harness.mjs';
import { runJob, TureenApp } from './pages.mjs';

describe('advisor view (tureen serve)', () => {
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

  it('shows the stored advice of the demo kitchen: verdict, barrier heatmap with legend, greedy steps', async () => {
    const kitchen = (await serve.api('kitchens:list')).body.kitchens[0];
    assert.ok(kitchen, 'the demo kitchen is registered on first start');
    const holdout = (await serve.api('evalsets:list')).body.evalsets.find(
      (s) => s.role === 'holdout' && s.path.startsWith(kitchen.path),
    );
    // three pairs among the best runs keep this quick; the view shows whatever the advisor stored
    await runJob(serve, 'advisor:run', { ingredients: [kitchen.path], holdout: holdout.path, pairs: 3 });
    const app = await TureenApp.open(browser, serve, 'advisor');
    const { page } = app;
    await page.getByRole('heading', { name: 'Is this sweep soupable?' }).waitFor();
    await page.getByText('barrier (points)').waitFor();
    await page.getByRole('heading', { name: /Greedy soup: kept \d+ of \d+/ }).waitFor();
    await screenshot(page, 'advisor-view');
    assert.deepEqual(app.problems, []);
  });
});
