import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kitchen } from '../../../src-main/core/kitchen.js';

/** A Kitchen on a throwaway data folder, with no demo kitchen unless asked. */
export function tempKitchen(options: { demoKitchen?: string | null } = {}): {
  kitchen: Kitchen;
  home: string;
} {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-test-'));
  const kitchen = new Kitchen({ transport: 'cli', dataDir: home, demoKitchen: options.demoKitchen ?? null });
  return { kitchen, home };
}

export function tempDir(prefix = 'tureen-dir-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
