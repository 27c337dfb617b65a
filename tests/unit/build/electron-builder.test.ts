import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

// Packaging needs network (it downloads Electron); what can be checked here is the configuration itself,
// against electron-builder's own schema, plus the invariants the app relies on at run time.
const root = path.resolve(import.meta.dirname, '..', '..', '..');
const require = createRequire(path.join(root, 'package.json'));
const config = YAML.parse(fs.readFileSync(path.join(root, 'build', 'electron-builder.yml'), 'utf8')) as {
  asarUnpack: string[];
  extraResources: Array<{ from: string; to: string }>;
  linux: { target: string[]; files: string[] };
  mac: { target: string[]; files: string[] };
  win: { target: string[]; files: string[] };
};

describe('electron-builder configuration', () => {
  it('passes electron-builder schema validation', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration: (c: unknown, logger: unknown) => Promise<void>;
    };
    const { DebugLogger } = require('builder-util/out/DebugLogger') as {
      DebugLogger: new (on: boolean) => unknown;
    };
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('unpacks the native modules from asar', () => {
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining(['node_modules/better-sqlite3/**', 'node_modules/onnxruntime-node/**']),
    );
  });

  it('ships the demo kitchen and the Electron build of better-sqlite3 where the shell looks for them', () => {
    expect(config.extraResources).toEqual(
      expect.arrayContaining([
        { from: 'resources/demo', to: 'demo' },
        { from: 'native/electron', to: 'native/electron' },
      ]),
    );
    const shell = fs.readFileSync(path.join(root, 'src-main', 'shell', 'native-binding.ts'), 'utf8');
    expect(shell).toContain("path.join(resourcesPath, 'native', 'electron', 'better_sqlite3.node')");
  });

  it('builds AppImage + deb, dmg and nsis, each with only its own onnxruntime binaries', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    const platforms = { linux: config.linux, darwin: config.mac, win32: config.win };
    for (const [own, section] of Object.entries(platforms)) {
      const excluded = section.files.map((f) => f.match(/napi-v\*\/(\w+)\//)?.[1]);
      expect(excluded.sort()).toEqual(['darwin', 'linux', 'win32'].filter((p) => p !== own));
      expect(fs.existsSync(path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', own))).toBe(
        true,
      );
    }
  });
});
