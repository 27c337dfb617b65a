import fs from 'node:fs';
import type { Route } from 'playwright-core';
import { assertRendererBuilt, contentType, resolveStatic } from '../renderer-files.js';
import { toErrorInfo, TureenError } from '../../common/errors.js';
import { CHROMIUM_ARGS, findChromium } from './chromium.js';
import { countPdfPages, PDF_FOOTER_TEMPLATE, PDF_HEADER_TEMPLATE, PDF_MARGINS_MM } from './pdf-file.js';
import type { Invoke } from './sources.js';

/** The report page only reads; a page rendered for a PDF gets no other channel. */
const READ_CHANNELS = new Set([
  'app:info',
  'jobs:list',
  'kitchens:list',
  'reports:data',
  'evalsets:list',
  'evaluations:matrix',
  'compare:table',
  'recipes:list',
  'recipes:get',
  'advisor:latest',
]);

/** A made-up origin that never reaches the network: every request to it is answered in-process. */
const ORIGIN = 'http://tureen.report';

export interface RenderOptions {
  invoke: Invoke;
  /** the built renderer (out/renderer) */
  staticDir: string;
  kitchenId: number;
  paper: 'A4' | 'Letter';
  /** accuracy axes on a logit scale */
  logit?: boolean;
  timeoutMs?: number;
  /** where Chromium is; default: findChromium() */
  chromium?: string;
}

export interface RenderedPdf {
  pdf: Buffer;
  pages: number;
  /** console errors of the page while it rendered (the e2e test asserts there are none) */
  consoleErrors: string[];
}

async function answer(route: Route, options: RenderOptions): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  if (url.origin !== ORIGIN) return route.abort('blockedbyclient');
  if (url.pathname === '/api/events') return route.fulfill({ status: 204 });
  if (url.pathname.startsWith('/api/')) {
    const channel = decodeURIComponent(url.pathname.slice('/api/'.length));
    const json = (status: number, body: unknown) =>
      route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
    if (!READ_CHANNELS.has(channel)) {
      return json(403, {
        error: { code: 'unauthorized', message: `${channel} is not available while rendering a PDF` },
      });
    }
    try {
      return json(200, await options.invoke(channel, request.postDataJSON() ?? {}));
    } catch (error) {
      return json(400, { error: toErrorInfo(error) });
    }
  }
  const file = resolveStatic(options.staticDir, url.pathname);
  if (!file) return route.fulfill({ status: 404, body: 'not found' });
  return route.fulfill({ status: 200, contentType: contentType(file), body: fs.readFileSync(file) });
}

/**
 * Renders the report view (#/report in print mode) in a headless system Chromium and prints it to a vector
 * PDF. No server socket is opened: Playwright's request routing serves the built renderer and answers the
 * page's read-only API calls in-process, so this works the same from the CLI and from serve mode.
 */
export async function renderReportPdf(options: RenderOptions): Promise<RenderedPdf> {
  assertRendererBuilt(options.staticDir);
  const executablePath = options.chromium ?? findChromium();
  const { chromium } = await import('playwright-core');
  const browser = await chromium
    .launch({ executablePath, args: CHROMIUM_ARGS, headless: true })
    .catch((error: unknown) => {
      throw new TureenError(
        'io_error',
        `could not start ${executablePath}: ${(error as Error).message.split('\n')[0]}`,
        {
          path: executablePath,
        },
      );
    });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.route('**/*', (route) => answer(route, options));
    await page.goto(
      `${ORIGIN}/?token=pdf#/report?kitchen=${options.kitchenId}&print=1${options.logit ? '&logit=1' : ''}`,
    );
    const timeout = options.timeoutMs ?? 60_000;
    const outcome = await page.waitForSelector('[data-report-ready], [data-report-error]', { timeout });
    if ((await outcome.getAttribute('data-report-error')) !== null) {
      throw new TureenError(
        'internal',
        `the report page failed: ${(await outcome.textContent())?.trim() ?? ''}`,
      );
    }
    await page.emulateMedia({ media: 'print' });
    const mm = (v: number) => `${v}mm`;
    const pdf = await page.pdf({
      format: options.paper,
      printBackground: true,
      preferCSSPageSize: false,
      displayHeaderFooter: true,
      headerTemplate: PDF_HEADER_TEMPLATE,
      footerTemplate: PDF_FOOTER_TEMPLATE,
      margin: {
        top: mm(PDF_MARGINS_MM.top),
        bottom: mm(PDF_MARGINS_MM.bottom),
        left: mm(PDF_MARGINS_MM.left),
        right: mm(PDF_MARGINS_MM.right),
      },
    });
    return { pdf, pages: countPdfPages(pdf), consoleErrors };
  } finally {
    await browser.close();
  }
}
