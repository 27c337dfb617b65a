import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TureenError } from '../../../src-main/common/errors.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { checkReadable, checkWritable } from '../../../src-main/core/services/kitchens.js';
import { tempDir, tempKitchen } from './helpers.js';

let kitchen: Kitchen | null = null;
afterEach(() => {
  kitchen?.close();
  kitchen = null;
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as TureenError).code;
  }
  return 'resolved';
}

describe('kitchen registration', () => {
  it('registers, lists and removes a folder', async () => {
    kitchen = tempKitchen().kitchen;
    const folder = tempDir('sweep-');
    const registered = await kitchen.call('kitchens:register', { path: folder });
    expect(registered.path).toBe(fs.realpathSync(folder));
    expect(registered.name).toBe(path.basename(folder));
    expect((await kitchen.call('kitchens:list', {})).kitchens.map((k) => k.id)).toEqual([registered.id]);
    expect(await kitchen.call('kitchens:remove', { id: registered.id })).toEqual({ removed: true });
    expect((await kitchen.call('kitchens:list', {})).kitchens).toEqual([]);
    expect(fs.existsSync(folder)).toBe(true);
  });

  it('refuses a folder that does not exist', async () => {
    kitchen = tempKitchen().kitchen;
    expect(await codeOf(kitchen.call('kitchens:register', { path: path.join(tempDir(), 'missing') }))).toBe(
      'not_found',
    );
  });

  it('refuses a file', async () => {
    kitchen = tempKitchen().kitchen;
    const file = path.join(tempDir(), 'model.onnx');
    fs.writeFileSync(file, 'x');
    expect(await codeOf(kitchen.call('kitchens:register', { path: file }))).toBe('bad_request');
  });

  it.skipIf(process.getuid?.() === 0)('refuses an unreadable folder', async () => {
    kitchen = tempKitchen().kitchen;
    const folder = tempDir();
    fs.chmodSync(folder, 0o000);
    expect(await codeOf(kitchen.call('kitchens:register', { path: folder }))).toBe('io_error');
    fs.chmodSync(folder, 0o700);
  });

  it('refuses a folder registered twice, also through a different spelling of the path', async () => {
    kitchen = tempKitchen().kitchen;
    const folder = tempDir();
    await kitchen.call('kitchens:register', { path: folder });
    expect(await codeOf(kitchen.call('kitchens:register', { path: folder + '/./' }))).toBe('conflict');
    const link = path.join(tempDir(), 'link');
    fs.symlinkSync(folder, link);
    expect(await codeOf(kitchen.call('kitchens:register', { path: link }))).toBe('conflict');
  });

  it('says not_found when removing an unknown id', async () => {
    kitchen = tempKitchen().kitchen;
    expect(await codeOf(kitchen.call('kitchens:remove', { id: 99 }))).toBe('not_found');
  });

  it('registers the demo kitchen on first start only, and not again after the user removed it', async () => {
    const demo = tempDir('demo-');
    const home = tempDir('home-');
    kitchen = new Kitchen({ transport: 'cli', dataDir: home, demoKitchen: demo });
    const [first] = (await kitchen.call('kitchens:list', {})).kitchens;
    expect(first).toMatchObject({ path: fs.realpathSync(demo), isDemo: true });
    await kitchen.call('kitchens:remove', { id: first!.id });
    kitchen.close();
    kitchen = new Kitchen({ transport: 'cli', dataDir: home, demoKitchen: demo });
    expect((await kitchen.call('kitchens:list', {})).kitchens).toEqual([]);
  });

  it('shares one database between two services on the same data folder', async () => {
    const { kitchen: a, home } = tempKitchen();
    kitchen = a;
    const b = new Kitchen({ transport: 'http', dataDir: home, demoKitchen: null });
    await a.call('kitchens:register', { path: tempDir() });
    expect((await b.call('kitchens:list', {})).kitchens).toHaveLength(1);
    b.close();
  });
});

describe('what serve mode may read and write', () => {
  it('reads only inside registered kitchens, writes there or into the data folder; the CLI is not fenced', async () => {
    const home = tempDir('home-');
    const http = new Kitchen({ transport: 'http', dataDir: home, demoKitchen: null });
    kitchen = http;
    const sweep = tempDir('sweep-');
    const elsewhere = tempDir('elsewhere-');
    await http.call('kitchens:register', { path: sweep });
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'ok';
      } catch (error) {
        return (error as TureenError).code;
      }
    };
    expect(code(() => checkReadable(http.context, path.join(sweep, 'run-1', 'model.onnx')))).toBe('ok');
    expect(code(() => checkReadable(http.context, path.join(elsewhere, 'model.onnx')))).toBe('unauthorized');
    expect(
      code(() => checkReadable(http.context, path.join(sweep, '..', path.basename(elsewhere), 'x'))),
    ).toBe('unauthorized');
    expect(code(() => checkWritable(http.context, path.join(home, 'soups', 'greedy.onnx')))).toBe('ok');
    expect(code(() => checkWritable(http.context, path.join(sweep, 'soup.onnx')))).toBe('ok');
    expect(code(() => checkWritable(http.context, path.join(elsewhere, 'soup.onnx')))).toBe('unauthorized');
    expect(code(() => checkWritable(http.context, path.join(home, '..', 'soup.onnx')))).toBe('unauthorized');

    const cli = new Kitchen({ transport: 'cli', dataDir: tempDir('home-'), demoKitchen: null });
    expect(code(() => checkReadable(cli.context, path.join(elsewhere, 'model.onnx')))).toBe('ok');
    expect(code(() => checkWritable(cli.context, path.join(elsewhere, 'soup.onnx')))).toBe('ok');
    cli.close();
  });
});
