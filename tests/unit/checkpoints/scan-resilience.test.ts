import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanFolder } from '../../../src-main/core/checkpoints/scan.js';
import { openDatabase } from '../../../src-main/core/store/database.js';
import { randomMlp, seededRandom, writeMlp } from './build-onnx.js';
import { f32, i64, safetensorsBytes, writeSafetensors } from './build-safetensors.js';
import { mutate } from './mutate.js';
import { runTureen } from './run-cli.js';

/**
 * One broken file never breaks a scan (issue 9, section 2): a kitchen of good checkpoints plus damaged,
 * special and non-model files goes through the whole path (CLI → Kitchen service → store), and every good
 * checkpoint is listed while every broken one is reported with its reason.
 */
let dir: string;
let db: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-scan-resilience-'));
  db = path.join(dir, 'db.sqlite');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (...argv: string[]) => runTureen(db, argv);

interface ScanJson {
  checkpoints: Array<{ relativePath: string; format: string | null; error: { message: string } | null }>;
  families: Array<{ members: string[] }>;
  ignored: Array<{ path: string; reason: string }>;
  evalSets: string[];
  stats: Array<{ read: number; failed: number }>;
}

const stateDict = (seed: number) => {
  const w = randomMlp(seed);
  return {
    'fc1.weight': f32(w.w1, [4, 8]),
    'fc1.bias': f32(w.b1, [8]),
    'fc2.weight': f32(w.w2, [8, 3]),
    'fc2.bias': f32(w.b2, [3]),
  };
};

/** A header whose declared length is one byte short: the JSON (padded with spaces) still parses. */
function headerOneByteShort(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out.writeBigUInt64LE(out.readBigUInt64LE(0) - 1n, 0);
  return out;
}

function buildKitchen(root: string): void {
  writeMlp(path.join(root, 'good-a', 'model.onnx'), randomMlp(1));
  writeMlp(path.join(root, 'good-b', 'model.onnx'), randomMlp(2));
  const truncated = fs.readFileSync(writeMlp(path.join(root, 'truncated', 'model.onnx'), randomMlp(3)));
  fs.writeFileSync(path.join(root, 'truncated', 'model.onnx'), truncated.subarray(0, truncated.length >> 1));
  const flipped = fs.readFileSync(writeMlp(path.join(root, 'flipped', 'model.onnx'), randomMlp(4)));
  for (let i = 0; i < 8; i++) flipped[i] = flipped[i]! ^ 0xff;
  fs.writeFileSync(path.join(root, 'flipped', 'model.onnx'), flipped);
  const st = safetensorsBytes(stateDict(5));
  fs.mkdirSync(path.join(root, 'short-header'));
  fs.writeFileSync(path.join(root, 'short-header', 'model.safetensors'), headerOneByteShort(st));
  fs.mkdirSync(path.join(root, 'appended'));
  fs.writeFileSync(path.join(root, 'appended', 'model.safetensors'), Buffer.concat([st, Buffer.alloc(4)]));
  writeSafetensors(path.join(root, 'empty', 'model.safetensors'), {});
  fs.mkdirSync(path.join(root, 'empty-index'));
  fs.writeFileSync(
    path.join(root, 'empty-index', 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: {} }),
  );
  fs.mkdirSync(path.join(root, 'fifo'));
  execFileSync('mkfifo', [path.join(root, 'fifo', 'model.safetensors')]);
  fs.mkdirSync(path.join(root, 'devzero'));
  fs.symlinkSync('/dev/zero', path.join(root, 'devzero', 'model.onnx'));
  fs.mkdirSync(path.join(root, 'trainer'));
  fs.writeFileSync(path.join(root, 'trainer', 'optimizer.pt'), 'optimizer state');
  fs.writeFileSync(path.join(root, 'trainer', 'training_args.bin'), 'arguments');
  writeSafetensors(path.join(root, 'data', 'holdout.safetensors'), {
    image: f32(new Float32Array(8), [2, 4]),
    labels: i64([0n, 1n], [2]),
  });
}

describe('tureen scan of a kitchen with broken files', () => {
  it('lists the good checkpoints, reports each broken one with its reason, and exits 0', async () => {
    const root = path.join(dir, 'kitchen');
    buildKitchen(root);
    const res = await cli('scan', root, '--json');
    expect(res.code, res.stderr).toBe(0);
    const scan = JSON.parse(res.stdout) as ScanJson;
    const byPath = new Map(scan.checkpoints.map((c) => [c.relativePath, c]));
    for (const good of ['good-a/model.onnx', 'good-b/model.onnx']) {
      expect(byPath.get(good)?.error).toBeNull();
      expect(byPath.get(good)?.format).toBe('onnx');
    }
    expect(scan.families).toHaveLength(1);
    expect(scan.families[0]!.members).toHaveLength(2);
    const reasons: Record<string, string> = {
      'truncated/model.onnx': 'ONNX',
      'flipped/model.onnx': 'ONNX',
      'short-header/model.safetensors': 'the header length is wrong',
      'appended/model.safetensors': 'the header length is wrong',
      'empty/model.safetensors': 'holds no tensors',
      'empty-index/model.safetensors.index.json': '"weight_map" is empty',
    };
    for (const [file, reason] of Object.entries(reasons)) {
      const row = byPath.get(file);
      expect(row?.format, file).toBeNull();
      expect(row?.error?.message, file).toContain(path.join(root, file));
      expect(row?.error?.message, file).toContain(reason);
    }
    expect(scan.stats[0]).toMatchObject({ read: 2, failed: Object.keys(reasons).length });
    const ignored = new Map(scan.ignored.map((i) => [path.relative(root, i.path), i.reason]));
    expect(ignored.get('fifo/model.safetensors')).toContain('FIFO');
    expect(ignored.get('devzero/model.onnx')).toContain('character device');
    expect(ignored.get('trainer/optimizer.pt')).toBe('training state, not a model');
    expect(ignored.get('trainer/training_args.bin')).toBe('training state, not a model');
    expect(scan.evalSets).toEqual([path.join(root, 'data', 'holdout.safetensors')]);
    const human = await cli('scan', root);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('ignored (training state, not a model): trainer/optimizer.pt');
    expect(human.stdout).toMatch(/✗ short-header\/model\.safetensors: .*the header length is wrong/);
  });

  it('refuses a special file given by name with a clear error instead of hanging or reading forever', async () => {
    const fifo = path.join(dir, 'kitchen', 'fifo', 'model.safetensors');
    const zero = path.join(dir, 'kitchen', 'devzero', 'model.onnx');
    for (const file of [fifo, zero]) {
      const res = await cli('cook', 'uniform', file, '--out', path.join(dir, 'out.safetensors'));
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toContain(`${file} is a`);
      expect(res.stderr).toContain('Tureen reads only regular files');
    }
  });

  it.skipIf(process.getuid?.() === 0)('lists a file the user may not read as unreadable', async () => {
    const root = path.join(dir, 'locked');
    writeMlp(path.join(root, 'good', 'model.onnx'), randomMlp(1));
    const locked = writeMlp(path.join(root, 'locked', 'model.onnx'), randomMlp(2));
    fs.chmodSync(locked, 0);
    const res = await cli('scan', root, '--json');
    expect(res.code).toBe(0);
    const scan = JSON.parse(res.stdout) as ScanJson;
    expect(scan.checkpoints.find((c) => c.relativePath === 'locked/model.onnx')?.error?.message).toContain(
      locked,
    );
  });

  it('exits 1 with one line for a folder that does not exist', async () => {
    const missing = path.join(dir, 'no-such-folder');
    const res = await cli('scan', missing);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(`${missing} does not exist`);
  });
});

describe('seeded mutation fuzz through scanFolder', () => {
  it('keeps every good checkpoint and lists each mutated one as read or unreadable (300 cases)', async () => {
    const root = path.join(dir, 'fuzz');
    writeMlp(path.join(root, 'good', 'model.onnx'), randomMlp(7));
    const seeds = {
      'model.onnx': fs.readFileSync(writeMlp(path.join(dir, 'fuzz-seed', 'model.onnx'), randomMlp(8))),
      'model.safetensors': safetensorsBytes(stateDict(9), { format: 'pt' }),
    };
    const database = openDatabase(path.join(dir, 'fuzz.sqlite'));
    const random = seededRandom(2026);
    const counts = { read: 0, failed: 0 };
    try {
      for (let i = 0; i < 300; i++) {
        const [name, bytes] = Object.entries(seeds)[i % 2]!;
        const target = path.join(root, 'mutated', name);
        fs.rmSync(path.dirname(target), { recursive: true, force: true });
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, mutate(bytes, random));
        const scan = await scanFolder(database, root).catch((e: unknown) => {
          throw new Error(`case ${i} (${name}, seed 2026) failed the whole scan: ${(e as Error).stack}`);
        });
        const good = scan.checkpoints.find((c) => c.relativePath === 'good/model.onnx');
        expect(good?.error, `case ${i}`).toBeNull();
        const mutated = scan.checkpoints.find((c) => c.path === target);
        expect(mutated, `case ${i}`).toBeDefined();
        if (mutated!.error) {
          expect(mutated!.error.message, `case ${i}`).toContain(target);
          expect(mutated!.format).toBeNull();
          counts.failed++;
        } else counts.read++;
      }
    } finally {
      database.close();
    }
    expect(counts.read + counts.failed).toBe(300);
    expect(counts.failed).toBeGreaterThan(100);
  });
});
