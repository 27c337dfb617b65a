// Page objects for the browser tests: they wait for what the app says (its heading, its calls answered,
// a job's final state), never for network silence after a hash route.
import assert from 'node:assert/strict';
import { openPage } from './harness.mjs';

/** The whole app in one page: navigation, the theme, and "this view has its data". */
export class TureenApp {
  constructor(page, problems) {
    this.page = page;
    /** console errors and uncaught exceptions so far (tests assert it stays empty) */
    this.problems = problems;
  }

  /** A fresh page on `route` (e.g. 'kitchens', 'report?kitchen=1'), once that view has its data. */
  static async open(browser, serve, route = 'kitchens', options = {}) {
    const { page, problems } = await openPage(browser, `${serve.url}#/${route}`, options);
    const app = new TureenApp(page, problems);
    await app.settled();
    return app;
  }

  /**
   * Every call the views made is answered: the renderer's API client publishes its calls in flight as
   * <html data-api-pending="n"> (absent before the first call).
   */
  async settled() {
    await this.page.waitForFunction(() => (document.documentElement.dataset.apiPending ?? '0') === '0');
  }

  /** Go to a view through the main navigation, as a user does; resolves when it shows and has its data. */
  async go(label) {
    await this.page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: label, exact: true })
      .click();
    await this.page.getByRole('heading', { level: 1, name: label }).waitFor();
    await this.settled();
  }

  async theme(name) {
    await this.page.getByRole('button', { name: name === 'dark' ? 'Dark theme' : 'Light theme' }).click();
  }

  async reload() {
    await this.page.reload();
    await this.settled();
  }

  close() {
    return this.page.close();
  }
}

/** Start a job through the HTTP API and wait for its final state; returns the job's result. */
export async function runJob(serve, channel, request) {
  const started = await serve.api(channel, request);
  assert.equal(started.status, 200, `${channel}: ${JSON.stringify(started.body)}`);
  for (;;) {
    const { body } = await serve.api('jobs:get', { jobId: started.body.jobId });
    if (body.state !== 'running') {
      assert.equal(body.state, 'done', `${channel}: ${JSON.stringify(body.error)}`);
      return body.result;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A registered kitchen for `folder` (registered now if it is not yet); its summary. */
export async function ensureKitchen(serve, folder, name) {
  const listed = await serve.api('kitchens:list');
  const found = listed.body.kitchens.find((k) => k.path === folder);
  if (found) return found;
  const registered = await serve.api('kitchens:register', { path: folder, ...(name ? { name } : {}) });
  assert.equal(registered.status, 200, JSON.stringify(registered.body));
  return registered.body;
}
