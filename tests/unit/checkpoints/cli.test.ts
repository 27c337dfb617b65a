import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIngredient } from '../../../src-main/core/checkpoints/index.js';
import type { MlpWeights } from './build-onnx.js';
import { randomMlp, writeMlp } from './build-onnx.js';
import { f32, i64, writeSafetensors } from './build-safetensors.js';
import { runTureen } from './run-cli.js';

let dir: string;
let db: string;
const weights: MlpWeights[] = [randomMlp(11), randomMlp(12), randomMlp(13)];
const base = randomMlp(10);

const cli = (...argv: string[]) => runTureen(db, argv);

function stateDict(w: MlpWeights, prefix = '') {
  return {
    [`${prefix}fc1.weight`]: f32(w.w1, [4, 8]),
    [`${prefix}fc1.bias`]: f32(w.b1, [8]),
    [`${prefix}fc2.weight`]: f32(w.w2, [8, 3]),
    [`${prefix}fc2.bias`]: f32(w.b2, [3]),
    [`${prefix}out_shape`]: i64([-1n, 3n], [2]),
  };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-cli-'));
  db = path.join(dir, 'db.sqlite');
  const sweep = path.join(dir, 'sweep');
  weights.forEach((w, i) => writeMlp(path.join(sweep, `lr=${i + 1}e-5_wd=0.1`, 'model.onnx'), w));
  writeMlp(path.join(sweep, 'base', 'model.onnx'), base);
  fs.writeFileSync(
    path.join(sweep, 'lr=1e-5_wd=0.1', 'hparams.json'),
    JSON.stringify({ seed: 3, optimizer: { name: 'adamw' } }),
  );
  fs.writeFileSync(path.join(sweep, 'old.pt'), 'not a pickle');
  // safetensors runs bound to graph.onnx in the parent folder, one saved from DataParallel (module.)
  const st = path.join(dir, 'st');
  writeMlp(path.join(st, 'graph.onnx'), randomMlp(99));
  writeSafetensors(path.join(st, 'run1', 'model.safetensors'), stateDict(weights[0]!), { format: 'pt' });
  writeSafetensors(path.join(st, 'run2', 'model.safetensors'), stateDict(weights[1]!, 'module.'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tureen scan', () => {
  it('lists checkpoints with hyperparameters, the base, families and unreadable files, and rescans incrementally', async () => {
    const first = await cli('scan', path.join(dir, 'sweep'), '--json');
    expect(first.code).toBe(0);
    expect(first.json.schema).toBe('tureen/scan@1');
    const checkpoints = first.json.checkpoints as Array<Record<string, unknown>>;
    expect(checkpoints.map((c) => c.relativePath)).toEqual([
      'base/model.onnx',
      'lr=1e-5_wd=0.1/model.onnx',
      'lr=2e-5_wd=0.1/model.onnx',
      'lr=3e-5_wd=0.1/model.onnx',
      'old.pt',
    ]);
    // a .pt file that is no PyTorch checkpoint is listed as unreadable with its reason, and the scan goes on
    expect(checkpoints[4]!.format).toBeNull();
    expect((checkpoints[4]!.error as { message: string }).message).toContain(
      path.join(dir, 'sweep', 'old.pt'),
    );
    expect(checkpoints[0]!.isBase).toBe(true);
    expect(checkpoints[1]!.hyperparameters).toEqual({
      lr: 1e-5,
      wd: 0.1,
      seed: 3,
      'optimizer.name': 'adamw',
    });
    expect(checkpoints[1]!.params).toBe(67);
    const families = first.json.families as Array<{ members: string[]; base: string }>;
    expect(families).toHaveLength(1);
    expect(families[0]!.members).toHaveLength(3);
    expect(families[0]!.base).toBe(path.join(dir, 'sweep', 'base', 'model.onnx'));
    expect(first.json.ignored).toEqual([]);
    expect(first.json.stats).toEqual([
      { root: path.join(dir, 'sweep'), read: 4, reused: 0, removed: 0, failed: 1 },
    ]);
    const second = await cli('scan', path.join(dir, 'sweep'), '--json');
    expect(second.json.stats).toEqual([
      { root: path.join(dir, 'sweep'), read: 0, reused: 4, removed: 0, failed: 1 },
    ]);
  });

  it('binds safetensors to graph.onnx in a parent folder and strips module.', async () => {
    const res = await cli('scan', path.join(dir, 'st'), '--json');
    expect(res.code).toBe(0);
    const families = res.json.families as Array<{
      members: string[];
      graphPath: string;
      warnings: Array<{ code: string }>;
    }>;
    expect(families).toHaveLength(1);
    expect(families[0]!.members).toHaveLength(2);
    expect(families[0]!.graphPath).toBe(path.join(dir, 'st', 'graph.onnx'));
    expect(families[0]!.warnings.map((w) => w.code)).toEqual(['prefix_differs']);
  });
});

describe('tureen cook', () => {
  it('cooks a uniform soup leaving out the base, and replays its recipe', async () => {
    const out = path.join(dir, 'out', 'uniform.onnx');
    const res = await cli(
      'cook',
      'uniform',
      path.join(dir, 'sweep'),
      '--out',
      out,
      path.join(dir, 'out', 'uniform.safetensors'),
      '--json',
    );
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.json.schema).toBe('tureen/cook@1');
    const recipe = res.json.recipe as {
      method: string;
      ingredients: Array<{ path: string; coefficient: number; sha256: string }>;
    };
    expect(recipe.method).toBe('uniform');
    expect(recipe.ingredients.map((i) => path.basename(path.dirname(i.path)))).toEqual([
      'lr=1e-5_wd=0.1',
      'lr=2e-5_wd=0.1',
      'lr=3e-5_wd=0.1',
    ]);
    // tureen/cook@1: outputs are objects {path, sha256, ...} for every method
    expect((res.json.outputs as Array<{ path: string; sha256: string }>).map((o) => o.path)).toEqual([
      out,
      path.join(dir, 'out', 'uniform.safetensors'),
    ]);
    const b2 = (await openIngredient(out).readTensor('fc2.bias')) as Float32Array;
    for (let j = 0; j < 3; j++)
      expect(b2[j]!).toBeCloseTo((weights[0]!.b2[j]! + weights[1]!.b2[j]! + weights[2]!.b2[j]!) / 3, 6);
    const replay = await cli('cook', '--recipe', `${out}.recipe.json`, '--json');
    expect(replay.code, replay.stdout).toBe(0);
    expect(replay.json.reproduced).toEqual([
      expect.objectContaining({ path: out, same: true }),
      expect.objectContaining({ path: path.join(dir, 'out', 'uniform.safetensors'), same: true }),
    ]);
  });

  it('refuses to replay when an ingredient changed', async () => {
    const copy = path.join(dir, 'changed', 'a', 'model.onnx');
    writeMlp(copy, weights[0]!);
    writeMlp(path.join(dir, 'changed', 'b', 'model.onnx'), weights[1]!);
    const out = path.join(dir, 'out', 'changed.safetensors');
    expect((await cli('cook', 'uniform', path.join(dir, 'changed'), '--out', out)).code).toBe(0);
    writeMlp(copy, weights[2]!);
    const res = await cli('cook', '--recipe', `${out}.recipe.json`);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${copy} changed since the recipe was cooked`);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('interpolates (1 − α)·A + α·B and writes f16 safetensors on request', async () => {
    const a = path.join(dir, 'sweep', 'base', 'model.onnx');
    const b = path.join(dir, 'sweep', 'lr=1e-5_wd=0.1', 'model.onnx');
    const out = path.join(dir, 'out', 'wise.safetensors');
    const res = await cli(
      'cook',
      'interpolate',
      a,
      b,
      '--alpha',
      '0.25',
      '--out',
      out,
      '--dtype',
      'f16',
      '--json',
    );
    expect(res.code, res.stdout).toBe(0);
    const recipe = res.json.recipe as {
      params: { alpha: number };
      ingredients: Array<{ coefficient: number }>;
    };
    expect(recipe.params.alpha).toBe(0.25);
    expect(recipe.ingredients.map((i) => i.coefficient)).toEqual([0.75, 0.25]);
    const soup = openIngredient(out);
    expect(soup.tensor('fc1.weight')!.dtype).toBe('f16');
    expect(soup.tensor('out_shape')!.dtype).toBe('i64');
  });

  it('lists the families it cannot average together, and refuses an unreadable file given by name', async () => {
    const other = path.join(dir, 'mixed');
    writeMlp(path.join(other, 'a', 'model.onnx'), weights[0]!);
    writeSafetensors(path.join(other, 'b', 'model.safetensors'), {
      'fc1.weight': f32(new Float32Array(32), [8, 4]),
    });
    const res = await cli('cook', 'uniform', other, '--out', path.join(dir, 'out', 'x.onnx'));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('2 families of checkpoints that cannot be averaged together');
    expect(res.stderr).toContain('--family');
    const pickle = await cli(
      'cook',
      'uniform',
      path.join(dir, 'sweep', 'old.pt'),
      '--out',
      path.join(dir, 'out', 'y.onnx'),
    );
    expect(pickle.code).toBe(1);
    expect(pickle.stderr).toContain(path.join(dir, 'sweep', 'old.pt'));
    expect(fs.existsSync(path.join(dir, 'out', 'x.onnx'))).toBe(false);
  });
});

describe('tureen similarity', () => {
  it('gives cosine, angle and L2 of task vectors against --base, checked against a float64 computation', async () => {
    const runs = [1, 2].map((i) => path.join(dir, 'sweep', `lr=${i}e-5_wd=0.1`, 'model.onnx'));
    const res = await cli(
      'similarity',
      ...runs,
      '--base',
      path.join(dir, 'sweep', 'base', 'model.onnx'),
      '--json',
    );
    expect(res.code, res.stdout).toBe(0);
    expect(res.json.schema).toBe('tureen/similarity@1');
    expect(res.json.taskVectors).toBe(true);
    const flat = (w: MlpWeights) => [...w.w1, ...w.b1, ...w.w2, ...w.b2];
    const t1 = flat(weights[0]!).map((v, k) => v - flat(base)[k]!);
    const t2 = flat(weights[1]!).map((v, k) => v - flat(base)[k]!);
    const dot = t1.reduce((s, v, k) => s + v * t2[k]!, 0);
    const n1 = Math.hypot(...t1);
    const n2 = Math.hypot(...t2);
    const cosine = res.json.cosine as number[][];
    expect(cosine[0]![1]!).toBeCloseTo(dot / (n1 * n2), 10);
    expect((res.json.angleDegrees as number[][])[1]![0]!).toBeCloseTo(
      (Math.acos(dot / (n1 * n2)) * 180) / Math.PI,
      8,
    );
    expect((res.json.l2 as number[][])[0]![1]!).toBeCloseTo(Math.hypot(...t1.map((v, k) => v - t2[k]!)), 8);
    const plain = await cli('similarity', ...runs);
    expect(plain.stdout).toContain('No --base: comparing the weights themselves');
  });
});
