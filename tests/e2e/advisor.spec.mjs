import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, openPage, screenshot, startServe } from './harness.mjs';

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
    const started = await serve.api('advisor:run', {
      ingredients: [kitchen.path],
      holdout: holdout.path,
      pairs: 3,
    });
    assert.equal(started.status, 200);
    for (;;) {
      const { body } = await serve.api('jobs:get', { jobId: started.body.jobId });
      if (body.state !== 'running') {
        assert.equal(body.state, 'done', JSON.stringify(body.error));
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const { page, problems } = await openPage(browser, `${serve.url}#/advisor`);
    await page.getByRole('heading', { name: 'Is this sweep soupable?' }).waitFor();
    await page.getByText('barrier (points)').waitFor();
    await page.getByRole('heading', { name: /Greedy soup: kept \d+ of \d+/ }).waitFor();
    await screenshot(page, 'advisor-view');
    assert.deepEqual(problems, []);
  });
});
