import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../../src-main/cli/http/server.js';
import type { RunningServer } from '../../../src-main/cli/http/server.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { randomMlp, writeMlp } from '../checkpoints/build-onnx.js';
import { tempDir } from './helpers.js';

/** Serve mode's promise, probed as a hostile page or user would, through HTTP to the service. */
const TOKEN = 'boundary-token-0123456789';
let kitchen: Kitchen;
let server: RunningServer;
let home: string;
let sweep: string; // the registered kitchen
let outside: string; // a folder nobody registered

interface Answer {
  status: number;
  body: { error?: { code: string; message: string }; jobId?: string } & Record<string, unknown>;
}

/** A raw request, so Host, Origin and Sec-Fetch-* can be set as a browser would. */
function request(
  target: string,
  options: { body?: string | Buffer; headers?: Record<string, string>; port?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: options.port ?? server.port,
        path: target,
        method: 'POST',
        headers: { 'x-tureen-token': TOKEN, 'content-type': 'application/json', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Answer['body']) : {} });
        });
      },
    );
    // The server may answer and close before a refused body is fully sent.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
    );
    req.end(options.body);
  });
}

const call = (channel: string, payload: unknown, headers: Record<string, string> = {}) =>
  request(`/api/${channel}`, { body: JSON.stringify(payload), headers });

async function jobOutcome(jobId: string): Promise<string> {
  for (;;) {
    const { body } = await call('jobs:get', { jobId });
    const state = (body as { summary?: { state: string } }).summary?.state ?? String(body.state);
    if (state !== 'running' && state !== 'queued') return state;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  home = tempDir('serve-home-');
  kitchen = new Kitchen({ transport: 'http', dataDir: home, demoKitchen: null });
  sweep = fs.realpathSync(tempDir('serve-sweep-'));
  outside = fs.realpathSync(tempDir('serve-outside-'));
  writeMlp(path.join(sweep, 'runs', 'a.onnx'), randomMlp(1));
  writeMlp(path.join(sweep, 'runs', 'b.onnx'), randomMlp(2));
  writeMlp(path.join(outside, 'c.onnx'), randomMlp(3));
  fs.symlinkSync(outside, path.join(sweep, 'out'));
  await kitchen.call('kitchens:register', { path: sweep });
  const staticDir = tempDir('serve-static-');
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>t</title>');
  server = await startServer({ kitchen, host: '127.0.0.1', port: 0, token: TOKEN, staticDir });
});

afterAll(async () => {
  await server.close();
  kitchen.close();
});

describe('serve mode: symlinks do not lead outside a kitchen', () => {
  it('refuses to cook into a link that points outside, also into a folder not yet made below it', async () => {
    for (const out of [path.join(sweep, 'out', 'soup.onnx'), path.join(sweep, 'out', 'new', 'soup.onnx')]) {
      const answer = await call('recipes:cook', {
        method: 'uniform',
        ingredients: [path.join(sweep, 'runs')],
        outputs: [out],
      });
      expect(answer.status, out).toBe(401);
      expect(answer.body.error?.message).toContain(outside);
      if (answer.body.jobId) await jobOutcome(answer.body.jobId);
    }
    const read = await call('recipes:cook', {
      method: 'uniform',
      ingredients: [path.join(sweep, 'runs', 'a.onnx'), path.join(sweep, 'out', 'c.onnx')],
      outputs: [path.join(sweep, 'soup.onnx')],
    });
    expect(read.status).toBe(401);
    expect(fs.readdirSync(outside).sort()).toEqual(['c.onnx']);
  });

  it('cooks inside the kitchen, also in a child folder whose name starts with two dots', async () => {
    const fine = await call('recipes:cook', {
      method: 'uniform',
      ingredients: [path.join(sweep, 'runs', 'a.onnx'), path.join(sweep, 'runs', 'b.onnx')],
      outputs: [path.join(sweep, 'soups', 'soup.onnx')],
    });
    expect(fine.status).toBe(200);
    expect(await jobOutcome(fine.body.jobId!)).toBe('done');
    expect(fs.existsSync(path.join(sweep, 'soups', 'soup.onnx.recipe.json'))).toBe(true);
    writeMlp(path.join(sweep, '..x', 'd.onnx'), randomMlp(4));
    const answer = await call('recipes:cook', {
      method: 'uniform',
      ingredients: [path.join(sweep, '..x', 'd.onnx'), path.join(sweep, 'runs', 'a.onnx')],
      outputs: [path.join(sweep, '..x', 'soup.onnx')],
    });
    expect(answer.status).toBe(200);
    expect(await jobOutcome(answer.body.jobId!)).toBe('done');
  });
});

describe('serve mode: a recipe cannot name paths the request could not', () => {
  const recipe = (ingredients: string[], outputs: string[]) => {
    const file = path.join(sweep, `r-${Math.random().toString(36).slice(2)}.recipe.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        schema: 'tureen/recipe@1',
        method: 'uniform',
        params: {},
        ingredients: ingredients.map((p) => ({
          path: p,
          bytes: 1,
          sha256: '0'.repeat(64),
          coefficient: 0.5,
        })),
        outputs: outputs.map((p) => ({ path: p, sha256: '0'.repeat(64) })),
      }),
    );
    return file;
  };

  it('refuses a recipe inside the kitchen whose ingredients lie outside', async () => {
    const file = recipe(
      [path.join(outside, 'c.onnx'), path.join(sweep, 'runs', 'a.onnx')],
      [path.join(sweep, 'replayed.onnx')],
    );
    const answer = await call('checkpoints:replay', { recipe: file });
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).toContain(path.join(outside, 'c.onnx'));
    // a merge recipe's base is read like an ingredient
    const withBase = recipe(
      [path.join(sweep, 'runs', 'a.onnx'), path.join(sweep, 'runs', 'b.onnx')],
      [path.join(sweep, 'merged.onnx')],
    );
    const document = JSON.parse(fs.readFileSync(withBase, 'utf8')) as Record<string, unknown>;
    // (a base belongs to a merge method's recipe: the recipe schema is a union keyed by method)
    document.method = 'task-arithmetic';
    document.base = { path: path.join(outside, 'c.onnx'), bytes: 1, sha256: '0'.repeat(64) };
    fs.writeFileSync(withBase, JSON.stringify(document));
    const base = await call('checkpoints:replay', { recipe: withBase });
    expect(base.status).toBe(401);
    expect(base.body.error?.message).toContain(path.join(outside, 'c.onnx'));
  });

  it('refuses a recipe whose recorded output lies outside, unless the request names another output', async () => {
    const ingredients = [path.join(sweep, 'runs', 'a.onnx'), path.join(sweep, 'runs', 'b.onnx')];
    const file = recipe(ingredients, [path.join(outside, 'replayed.onnx')]);
    const refused = await call('checkpoints:replay', { recipe: file });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.message).toContain(path.join(outside, 'replayed.onnx'));
    const redirected = await call('checkpoints:replay', {
      recipe: file,
      outputs: [path.join(sweep, 'replayed.onnx')],
    });
    expect(redirected.status).toBe(200);
    // the recorded sha256 is made up, so the replay itself refuses: but only after passing the boundary
    expect(await jobOutcome(redirected.body.jobId!)).toBe('failed');
    expect(fs.existsSync(path.join(outside, 'replayed.onnx'))).toBe(false);
  });
});

describe('serve mode: folders that are never a kitchen or a cache', () => {
  it('refuses to register the filesystem root, system folders and the home folder', async () => {
    for (const folder of ['/', '/etc', '/usr/lib', os.homedir()]) {
      if (!fs.existsSync(folder)) continue;
      const answer = await call('kitchens:register', { path: folder });
      expect(answer.status, folder).toBe(400);
      expect(answer.body.error?.message).toMatch(/filesystem root|system folder|home folder/);
    }
    expect(((await call('kitchens:list', {})).body.kitchens as unknown[]).length).toBe(1);
  });

  it('keeps cached logits in the data folder or a kitchen, never at / or elsewhere', async () => {
    expect((await call('evaluations:setCacheDir', { dir: '/' })).status).toBe(401);
    expect((await call('evaluations:setCacheDir', { dir: outside })).status).toBe(401);
    expect((await call('evaluations:setCacheDir', { dir: path.join(sweep, 'out', 'cache') })).status).toBe(
      401,
    );
    const inKitchen = await call('evaluations:setCacheDir', { dir: path.join(sweep, 'logits') });
    expect(inKitchen.status).toBe(200);
    expect(inKitchen.body.dir).toBe(path.join(sweep, 'logits'));
    const inData = await call('evaluations:setCacheDir', { dir: path.join(home, 'other-cache') });
    expect(inData.status).toBe(200);
    expect((await call('evaluations:setCacheDir', { dir: null })).status).toBe(200);
  });
});

describe('serve mode: requests from other sites and malformed requests', () => {
  it('refuses a call from a page of another origin even with the token', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    expect((await call('kitchens:list', {}, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await call('kitchens:list', {}, { origin: 'null' })).status).toBe(403);
    // another port on the same host is another origin (same-site is not enough)
    expect((await call('kitchens:list', {}, { origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await call('kitchens:list', {}, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await call('kitchens:list', {}, { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    const own = await call('kitchens:list', {}, { origin, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
    expect((await call('kitchens:list', {})).status).toBe(200); // curl: no Origin, no Sec-Fetch-Site
  });

  it('answers 400, not 500, for malformed percent-encoding in the channel', async () => {
    const answer = await request('/api/%E0%A4%A', { body: '{}' });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('bad_request');
  });

  it('refuses a body larger than any channel takes, without reading it', async () => {
    const big = Buffer.alloc(15 * 1024 * 1024, 0x20);
    const started = Date.now();
    const answer = await request('/api/kitchens:list', { body: big });
    expect(answer.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(5000);
    // declared small, sent large (chunked): refused while streaming
    const chunked = await request('/api/kitchens:list', {
      body: Buffer.alloc(1024 * 1024, 0x20),
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.status).toBe(413);
  });

  it('answers 20 parallel 15 MB bodies quickly, each with 413', async () => {
    const big = Buffer.alloc(15 * 1024 * 1024, 0x20);
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => request('/api/kitchens:list', { body: big })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(413));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1024 * 1024);
  });
});

describe('serve --host 0.0.0.0', () => {
  it('lists the addresses it is reachable at and still checks the Host header', async () => {
    const wide = await startServer({
      kitchen,
      host: '0.0.0.0',
      port: 0,
      token: TOKEN,
      staticDir: tempDir('serve-static-'),
    });
    try {
      expect(wide.network).toBe(true);
      expect(wide.url).toBe(`http://127.0.0.1:${wide.port}/?token=${TOKEN}`);
      const ipv4 = Object.values(os.networkInterfaces())
        .flatMap((list) => list ?? [])
        .filter((e) => e.family === 'IPv4' && !e.internal)
        .map((e) => `http://${e.address}:${wide.port}/?token=${TOKEN}`);
      expect(wide.urls).toEqual([wide.url, ...ipv4]);
      const list = (host: string) =>
        request('/api/kitchens:list', { body: '{}', port: wide.port, headers: { host } });
      expect((await list(`127.0.0.1:${wide.port}`)).status).toBe(200);
      for (const address of ipv4) expect((await list(new URL(address).host)).status).toBe(200);
      expect((await list(`evil.example:${wide.port}`)).status).toBe(401);
    } finally {
      await wide.close();
    }
  });
});
