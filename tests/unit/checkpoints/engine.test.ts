import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingredient } from '../../../src-main/core/checkpoints/index.js';
import {
  WeightAccumulator,
  averageIngredients,
  familyGraph,
  groupFamilies,
  openIngredient,
  readSafetensorsHeader,
  recipeIngredients,
  writeSoup,
} from '../../../src-main/core/checkpoints/index.js';
import { TureenError } from '../../../src-main/common/errors.js';
import type { MlpWeights } from './build-onnx.js';
import { mlpReference, randomMlp, writeMlp } from './build-onnx.js';
import { f32, writeSafetensors } from './build-safetensors.js';

let dir: string;
const weights: MlpWeights[] = [randomMlp(1), randomMlp(2), randomMlp(3)];
const X = Float32Array.from([0.5, -1, 2, 0.25, -0.75, 1.5, 0.1, -2]);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-engine-'));
  writeMlp(path.join(dir, 'sweep', 'run-a', 'model.onnx'), weights[0]!, { storage: 'raw' });
  writeMlp(path.join(dir, 'sweep', 'run-b', 'model.onnx'), weights[1]!, { storage: 'typed' });
  writeMlp(path.join(dir, 'sweep', 'run-c', 'model.onnx'), weights[2]!, { storage: 'external' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const files = () => ['run-a', 'run-b', 'run-c'].map((r) => path.join(dir, 'sweep', r, 'model.onnx'));

async function run(
  modelBytes: Uint8Array,
  externalData?: { path: string; data: Buffer },
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(
    modelBytes,
    externalData ? { externalData: [externalData] } : {},
  );
  try {
    const out = await session.run({ x: new ort.Tensor('float32', X, [2, 4]) });
    return out.y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Float32 rounding of the float64 mean: at most half an ulp away, plus the accumulation's own rounding. */
function expectCloseToF32(actual: ArrayLike<number>, expected: ArrayLike<number>, ulps = 2): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const ulp = Math.max(Math.abs(e), 2 ** -126) * 2 ** -23;
    expect(Math.abs(actual[i]! - e)).toBeLessThanOrEqual(ulps * ulp);
  }
}

describe('reading ONNX initializers', () => {
  it('reads raw_data, typed fields and external data to the same values', async () => {
    for (const [i, file] of files().entries()) {
      const ing = openIngredient(file);
      expect(ing.format).toBe('onnx');
      expect(ing.graphPath).toBe(file);
      expect(ing.tensors.map((t) => `${t.name}:${t.dtype}:${t.shape.join('x')}:${t.isFloat}`)).toEqual([
        'fc1.weight:f32:4x8:true',
        'fc1.bias:f32:8:true',
        'fc2.weight:f32:8x3:true',
        'fc2.bias:f32:3:true',
        'out_shape:i64:2:false',
      ]);
      expect([...((await ing.readTensor('fc2.weight')) as Float32Array)]).toEqual([...weights[i]!.w2]);
      expect([...((await ing.readTensor('out_shape')) as BigInt64Array)]).toEqual([-1n, 3n]);
    }
    expect(openIngredient(files()[2]!).files.map((f) => path.basename(f.path))).toEqual([
      'model.onnx',
      'model.weights',
    ]);
  });

  it('groups the three storages into one family (same graph, same tensors)', async () => {
    const report = await groupFamilies(files().map((f) => openIngredient(f)));
    expect(report.families).toHaveLength(1);
    expect(report.mismatches).toEqual([]);
    expect(report.families[0]!.members).toHaveLength(3);
    expect(report.families[0]!.params).toBe(32 + 8 + 24 + 3);
    expect(report.families[0]!.warnings).toEqual([]);
  });
});

describe('family graph with external weights in onnxruntime', () => {
  it('gives the same logits as the original model for every ingredient', async () => {
    const ingredients = files().map((f) => openIngredient(f));
    const { families } = await groupFamilies(ingredients);
    const graph = await familyGraph(families[0]!);
    expect(graph.externalDataPath).toBe('weights.bin');
    expect(graph.layout.map((e) => e.name)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(graph.inputs).toEqual(['x']);
    for (const [i, ing] of ingredients.entries()) {
      const acc = new WeightAccumulator(graph.weightLayout);
      await acc.addScaled(ing, 1);
      const viaBuffer = await run(graph.graphBytes, { path: graph.externalDataPath, data: acc.toBuffer() });
      const original = i === 2 ? null : await run(fs.readFileSync(ing.path));
      if (original) expect([...viaBuffer]).toEqual([...original]);
      const reference = mlpReference(weights[i]!, X);
      for (let k = 0; k < reference.length; k++) expect(viaBuffer[k]!).toBeCloseTo(reference[k]!, 5);
    }
  });

  it('greedy-style candidates: (S + θ)/(k+1) in a separate buffer, S unchanged', async () => {
    const ingredients = files().map((f) => openIngredient(f));
    const { families } = await groupFamilies(ingredients);
    const graph = await familyGraph(families[0]!);
    const sum = new WeightAccumulator(graph.weightLayout);
    await sum.addScaled(ingredients[0]!, 1);
    const before = Float32Array.from(sum.values);
    const candidate = sum.clone();
    await candidate.addScaled(ingredients[1]!, 1);
    expect([...sum.values]).toEqual([...before]);
    const logits = await run(graph.graphBytes, { path: 'weights.bin', data: candidate.toBuffer(1 / 2) });
    const mean = {
      w1: weights[0]!.w1.map((v, j) => (v + weights[1]!.w1[j]!) / 2),
      b1: weights[0]!.b1.map((v, j) => (v + weights[1]!.b1[j]!) / 2),
      w2: weights[0]!.w2.map((v, j) => (v + weights[1]!.w2[j]!) / 2),
      b2: weights[0]!.b2.map((v, j) => (v + weights[1]!.b2[j]!) / 2),
    };
    const reference = mlpReference(mean, X);
    for (let k = 0; k < reference.length; k++) expect(logits[k]!).toBeCloseTo(reference[k]!, 5);
  });
});

describe('safetensors state dicts bound to graph.onnx', () => {
  it('evaluate through the family graph like the float64 reference of their own weights', async () => {
    const folder = path.join(dir, 'bound');
    writeMlp(path.join(folder, 'graph.onnx'), randomMlp(77), { storage: 'external' });
    const files = weights.slice(0, 2).map((w, i) =>
      writeSafetensors(path.join(folder, `run${i}`, 'model.safetensors'), {
        'fc1.weight': f32(w.w1, [4, 8]),
        'fc1.bias': f32(w.b1, [8]),
        'fc2.weight': f32(w.w2, [8, 3]),
        'fc2.bias': f32(w.b2, [3]),
        'head.extra': f32([1, 2], [2]),
      }),
    );
    const ingredients = files.map((f) => openIngredient(f));
    expect(ingredients[0]!.graphPath).toBe(path.join(folder, 'graph.onnx'));
    expect(ingredients[0]!.unmatched).toEqual({ notInGraph: ['head.extra'], notInCheckpoint: ['out_shape'] });
    const { families } = await groupFamilies(ingredients);
    expect(families[0]!.warnings.map((w) => w.code)).toEqual(['unmatched_names']);
    const graph = await familyGraph(families[0]!);
    expect(graph.layout.map((e) => e.name)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    for (const [i, ing] of ingredients.entries()) {
      const acc = new WeightAccumulator(graph.weightLayout);
      await acc.addScaled(ing, 1);
      const logits = await run(graph.graphBytes, { path: graph.externalDataPath, data: acc.toBuffer() });
      const reference = mlpReference(weights[i]!, X);
      for (let k = 0; k < reference.length; k++) expect(logits[k]!).toBeCloseTo(reference[k]!, 5);
    }
  });

  it("keep graph initializers the state dict lacks (even in the graph's external data), not averaged", async () => {
    const folder = path.join(dir, 'partial');
    const graphWeights = randomMlp(78);
    writeMlp(path.join(folder, 'graph.onnx'), graphWeights, { storage: 'external' });
    const w = weights[2]!;
    const file = writeSafetensors(path.join(folder, 'run', 'model.safetensors'), {
      'fc1.weight': f32(w.w1, [4, 8]),
      'fc1.bias': f32(w.b1, [8]),
      'fc2.weight': f32(w.w2, [8, 3]),
    });
    const { families } = await groupFamilies([openIngredient(file)]);
    const graph = await familyGraph(families[0]!);
    const acc = new WeightAccumulator(graph.weightLayout);
    await acc.addScaled(families[0]!.members[0]!, 1);
    const logits = await run(graph.graphBytes, { path: graph.externalDataPath, data: acc.toBuffer() });
    const reference = mlpReference({ ...w, b2: graphWeights.b2 }, X);
    for (let k = 0; k < reference.length; k++) expect(logits[k]!).toBeCloseTo(reference[k]!, 5);
  });
});

describe('uniform soup written as .onnx and .safetensors', () => {
  it('equals the float64 mean to float32 rounding, with a recipe beside each output', async () => {
    const ingredients: Ingredient[] = files().map((f) => openIngredient(f));
    const { families } = await groupFamilies(ingredients);
    const family = families[0]!;
    const parts = family.members.map((ingredient) => ({ ingredient, coefficient: 1 / 3 }));
    const { weights: acc, scale } = await averageIngredients(family, parts);
    const outOnnx = path.join(dir, 'soups', 'uniform.onnx');
    const outSt = path.join(dir, 'soups', 'uniform.safetensors');
    const written = await writeSoup({
      family,
      weights: acc,
      scale,
      outputs: [outOnnx, outSt],
      recipe: {
        method: 'uniform',
        params: { precision: 'f32' },
        ingredients: await recipeIngredients(parts),
      },
    });
    expect(written.outputs.map((o) => o.format)).toEqual(['onnx', 'safetensors']);
    const soup = openIngredient(outOnnx);
    const st = openIngredient(outSt);
    for (const name of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] as const) {
      const key = { 'fc1.weight': 'w1', 'fc1.bias': 'b1', 'fc2.weight': 'w2', 'fc2.bias': 'b2' }[
        name
      ] as keyof MlpWeights;
      // reference: pairwise float64 sum, divided (not multiplied) by 3
      const expected = Array.from(
        weights[0]![key],
        (_, j) => (weights[0]![key][j]! + weights[1]![key][j]! + weights[2]![key][j]!) / 3,
      );
      expectCloseToF32((await soup.readTensor(name)) as Float32Array, expected);
      expectCloseToF32((await st.readTensor(name)) as Float32Array, expected);
    }
    expect([...((await st.readTensor('out_shape')) as BigInt64Array)]).toEqual([-1n, 3n]);
    const header = readSafetensorsHeader(outSt);
    expect(header.metadata['tureen.method']).toBe('uniform');
    const recipe = JSON.parse(fs.readFileSync(`${outOnnx}.recipe.json`, 'utf8'));
    expect(recipe.schema).toBe('tureen/recipe@1');
    expect(recipe.method).toBe('uniform');
    expect(recipe.ingredients.map((i: { coefficient: number }) => i.coefficient)).toEqual([
      1 / 3,
      1 / 3,
      1 / 3,
    ]);
    expect(recipe.outputs.map((o: { path: string }) => o.path)).toEqual([outOnnx, outSt]);
    expect(recipe.outputs[0].sha256).toBe(await soup.sha256());
    expect(fs.readdirSync(path.join(dir, 'soups')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes external data on request and onnxruntime loads it from disk', async () => {
    const ingredients = files().map((f) => openIngredient(f));
    const { families } = await groupFamilies(ingredients);
    const parts = families[0]!.members.map((ingredient) => ({ ingredient, coefficient: 1 / 3 }));
    const { weights: acc, scale } = await averageIngredients(families[0]!, parts);
    const out = path.join(dir, 'soups', 'external.onnx');
    const written = await writeSoup({
      family: families[0]!,
      weights: acc,
      scale,
      outputs: [out],
      externalData: true,
      recipe: { method: 'uniform', params: {}, ingredients: [] },
    });
    expect(written.outputs[0]!.files.map((f) => path.basename(f))).toEqual([
      'external.onnx',
      'external.onnx.data',
    ]);
    expect(fs.statSync(out).size).toBeLessThan(1000);
    const session = await ort.InferenceSession.create(out);
    const y = (await session.run({ x: new ort.Tensor('float32', X, [2, 4]) })).y!.data as Float32Array;
    await session.release();
    const embedded = await run(fs.readFileSync(path.join(dir, 'soups', 'uniform.onnx')));
    expect([...y]).toEqual([...embedded]);
  });

  it('rejects NaN weights naming the ingredient and the tensor', async () => {
    const bad = randomMlp(9);
    bad.b2[1] = NaN;
    const file = writeMlp(path.join(dir, 'nan', 'model.onnx'), bad);
    const ing = openIngredient(file);
    const { families } = await groupFamilies([ing]);
    const err = await averageIngredients(families[0]!, [{ ingredient: ing, coefficient: 1 }]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TureenError);
    expect((err as TureenError).message).toContain(file);
    expect((err as TureenError).message).toContain('"fc2.bias"');
    expect((err as TureenError).message).toContain('element 1');
  });
});
