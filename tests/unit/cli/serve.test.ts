import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, tureenBin } from './build-cli.js';

beforeAll(
  () => ensureCliBuilt(['cli/commands/serve', 'cli/http/server', 'cli/http/hosts', 'cli/main']),
  300_000,
);

/** Run `tureen serve` until it announces itself, then stop it with SIGTERM; everything it printed. */
async function serveOnce(
  args: string[],
): Promise<{ stdout: string; stderr: string; code: number | string | null }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-serve-cli-'));
  const staticDir = path.join(home, 'renderer');
  fs.mkdirSync(staticDir);
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>t</title>');
  const child = spawn(
    process.execPath,
    [tureenBin, 'serve', '--port', '0', '--static-dir', staticDir, ...args],
    { env: { ...process.env, TUREEN_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = new Promise<number | string | null>((resolve) => child.on('exit', (c, s) => resolve(c ?? s)));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('\n')) resolve();
    }),
  );
  child.kill('SIGTERM');
  const exit = await code;
  return { stdout, stderr, code: exit };
}

describe('tureen serve', () => {
  it('with --json prints exactly one JSON document, also after it stops', async () => {
    const { stdout, code } = await serveOnce(['--json']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(doc).toMatchObject({ schema: 'tureen/serve@1', network: false });
    expect(doc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
  });

  it('with --host 0.0.0.0 warns that the UI is reachable from the network and prints where', async () => {
    const { stdout, stderr, code } = await serveOnce(['--json', '--host', '0.0.0.0']);
    expect(code).toBe(0);
    expect(stderr).toContain('reachable from the network');
    expect(stderr).toContain('token');
    const doc = JSON.parse(stdout) as { urls: string[]; port: number; network: boolean };
    expect(doc.network).toBe(true);
    const addresses = Object.values(os.networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((e) => e.family === 'IPv4' && !e.internal)
      .map((e) => e.address);
    for (const address of addresses) {
      expect(doc.urls.some((u) => u.startsWith(`http://${address}:${doc.port}/`))).toBe(true);
      expect(stderr).toContain(`http://${address}:${doc.port}/`);
    }
  });
});
