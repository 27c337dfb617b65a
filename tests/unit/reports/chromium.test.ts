import { describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import { chromiumCandidates, findChromium } from '../../../src-main/core/reports/chromium.js';

describe('findChromium', () => {
  it('uses TUREEN_CHROMIUM when it exists, without looking elsewhere', () => {
    const seen: string[] = [];
    const found = findChromium({ TUREEN_CHROMIUM: '/opt/chrome/chrome' }, 'linux', (f) => {
      seen.push(f);
      return true;
    });
    expect(found).toBe('/opt/chrome/chrome');
    expect(seen).toEqual(['/opt/chrome/chrome']);
  });

  it('names TUREEN_CHROMIUM when it points nowhere', () => {
    expect(() => findChromium({ TUREEN_CHROMIUM: '/nope/chrome' }, 'linux', () => false)).toThrow(
      /TUREEN_CHROMIUM.*\/nope\/chrome/,
    );
  });

  it('falls back to the usual Linux paths in order', () => {
    const found = findChromium(
      {},
      'linux',
      (f) => f === '/usr/bin/google-chrome' || f === '/usr/bin/chromium-browser',
    );
    expect(found).toBe('/usr/bin/chromium-browser');
  });

  it('knows where Chrome lives on macOS and Windows', () => {
    expect(chromiumCandidates('darwin', {})).toContain(
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    );
    const win = chromiumCandidates('win32', { PROGRAMFILES: 'C:\\Program Files' });
    expect(win).toContain('C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe');
  });

  it('says how to install one when none is found', () => {
    let error: unknown;
    try {
      findChromium({}, 'linux', () => false);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).code).toBe('not_found');
    expect((error as TureenError).message).toMatch(/TUREEN_CHROMIUM/);
    expect((error as TureenError).message).toMatch(/apt-get install -y chromium/);
  });
});
