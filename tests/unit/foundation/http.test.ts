import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../../src-main/cli/http/server.js';
import type { RunningServer } from '../../../src-main/cli/http/server.js';
import type { Kitchen } from '../../../src-main/core/kitchen.js';
import { tempDir, tempKitchen } from './helpers.js';

const TOKEN = 'a-test-token-0123456789';
let kitchen: Kitchen;
let server: RunningServer;
let base: string;
let secretOutside: string;

beforeAll(async () => {
  kitchen = tempKitchen().kitchen;
  const parent = tempDir('http-');
  const staticDir = path.join(parent, 'renderer');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>t</title>');
  secretOutside = path.join(parent, 'secret.txt');
  fs.writeFileSync(secretOutside, 'TOP-SECRET-CONTENT');
  server = await startServer({ kitchen, host: '127.0.0.1', port: 0, token: TOKEN, staticDir });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
  kitchen.close();
});

const post = (channel: string, body: unknown, token: string | null = TOKEN) =>
  fetch(`${base}/api/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { 'x-tureen-token': token } : {}) },
    body: JSON.stringify(body),
  });

describe('HTTP transport', () => {
  it('prints a URL with the token', () => {
    expect(server.url).toBe(`${base}/?token=${TOKEN}`);
  });

  it('answers 401 without the token or with a wrong one', async () => {
    expect((await post('kitchens:list', {}, null)).status).toBe(401);
    const wrong = await post('kitchens:list', {}, 'nope');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('calls the service with the token', async () => {
    const response = await post('kitchens:list', {});
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ kitchens: [] });
  });

  it('answers a typed error for an unknown channel', async () => {
    const response = await post('nothing:here', {});
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        code: 'unknown_channel',
        message: 'unknown channel "nothing:here"',
        detail: { channel: 'nothing:here' },
      },
    });
  });

  it('answers 400 with field paths for a bad payload, and for invalid JSON', async () => {
    const bad = await post('kitchens:register', { path: [] });
    expect(bad.status).toBe(400);
    const invalid = await fetch(`${base}/api/kitchens:list`, {
      method: 'POST',
      headers: { 'x-tureen-token': TOKEN },
      body: '{nope',
    });
    expect(invalid.status).toBe(400);
  });

  it('serves the UI with a CSP, and refuses path traversal', async () => {
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    for (const attempt of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const response = await fetch(`${base}${attempt}`);
      expect(response.status, attempt).toBe(404);
      expect(await response.text()).not.toContain('TOP-SECRET-CONTENT');
    }
  });

  it('refuses requests for another host name (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/kitchens:list',
          method: 'POST',
          headers: { host: 'evil.example:80', 'x-tureen-token': TOKEN },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(401);
  });

  it('streams events over SSE', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/events?token=${TOKEN}`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    await post('kitchens:register', { path: tempDir() });
    let text = '';
    while (!text.includes('kitchens:changed')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toMatch(/data: \{"name":"kitchens:changed"/);
  });
});
