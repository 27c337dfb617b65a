import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import type { Ingredient } from '../../../src-main/core/checkpoints/index.js';
import { openIngredient, weightLayout } from '../../../src-main/core/checkpoints/index.js';
import { mergeWeights } from '../../../src-main/core/recipes/merge.js';
import { DropPattern, kthLargest } from '../../../src-main/core/recipes/merge-kernels.js';
import { mergeMethod } from '../../../src-main/core/recipes/methods/index.js';
import { seededRandom } from '../checkpoints/build-onnx.js';
import { f32, writeSafetensors } from '../checkpoints/build-safetensors.js';

/**
 * Every merge method against tests/fixtures/methods/make_method_fixtures.py: the same float32 checkpoints
 * merged in float64 NumPy from the papers' definitions.
 */
const fixtures = path.resolve(__dirname, '../../fixtures/methods');
const cases = JSON.parse(fs.readFileSync(path.join(fixtures, 'cases.json'), 'utf8')) as Record<
  string,
  { method: string; params: Record<string, unknown>; models: number[] }
>;

/** Read a float64 safetensors file with a parser of its own (not Tureen's). */
function readF64(file: string): Map<string, Float64Array> {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const out = new Map<string, Float64Array>();
  for (const [name, entry] of Object.entries(header)) {
    expect(entry.dtype).toBe('F64');
    const [begin, end] = entry.data_offsets;
    const copy = Uint8Array.from(bytes.subarray(8 + length + begin, 8 + length + end));
    out.set(name, new Float64Array(copy.buffer));
  }
  return out;
}

const expected = readF64(path.join(fixtures, 'expected.safetensors'));
const base = openIngredient(path.join(fixtures, 'base.safetensors'));
const models = [0, 1, 2].map((i) => openIngredient(path.join(fixtures, `m${i}.safetensors`)));
const floatNames = base.tensors.filter((t) => t.isFloat).map((t) => t.name);

function valuesOf(bytes: Uint8Array, precision: 'f32' | 'f64'): Float64Array {
  const copy = Uint8Array.from(bytes);
  return Float64Array.from(
    precision === 'f32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer),
  );
}

async function run(name: string, precision: 'f32' | 'f64') {
  const c = cases[name]!;
  const method = mergeMethod(c.method)!;
  const { relative_to_base: relative, ...params } = c.params;
  const withBase = method.needs.base === 'required' || relative === true;
  return mergeWeights(
    method,
    params,
    { base: withBase ? base : null, models: c.models.map((i) => models[i]!) },
    weightLayout(base.tensors),
    { precision },
  );
}

describe('merge methods against NumPy (float64, from the papers)', () => {
  it('the fixture covers every registered method but DARE (tested by its properties below)', () => {
    const methods = new Set(Object.values(cases).map((c) => c.method));
    expect([...methods].sort()).toEqual(['model-stock', 'slerp', 'task-arithmetic', 'ties']);
  });

  for (const name of Object.keys(cases)) {
    it(`${name}: float32 soup within 2e-6, float64 within 1e-12 of NumPy`, async () => {
      for (const [precision, tolerance] of [
        ['f32', 2e-6],
        ['f64', 1e-12],
      ] as const) {
        const { weights } = await run(name, precision);
        let worst = 0;
        for (const tensor of floatNames) {
          const got = valuesOf(weights.tensorBytes(tensor, 1, precision), precision);
          const want = expected.get(`${name}/${tensor}`)!;
          expect(got.length, tensor).toBe(want.length);
          for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!));
        }
        expect(worst, `${name} ${precision}`).toBeLessThanOrEqual(tolerance);
      }
    });
  }

  it('DARE with drop 0 is task arithmetic; DARE + TIES with drop 0 is TIES', async () => {
    const layout = weightLayout(base.tensors);
    const sources = { base, models };
    const plain = await mergeWeights(
      mergeMethod('dare')!,
      { drop: 0, lambda: 0.7, weights: [1, 0.5, 2] },
      sources,
      layout,
      { precision: 'f64' },
    );
    const withTies = await mergeWeights(
      mergeMethod('dare')!,
      { drop: 0, ties: true, density: 0.3, lambda: 1.2 },
      sources,
      layout,
      { precision: 'f64' },
    );
    for (const tensor of floatNames) {
      const a = valuesOf(plain.weights.tensorBytes(tensor, 1, 'f64'), 'f64');
      const b = valuesOf(withTies.weights.tensorBytes(tensor, 1, 'f64'), 'f64');
      const wantA = expected.get(`task-arithmetic-weighted/${tensor}`)!;
      const wantB = expected.get(`ties-0.3/${tensor}`)!;
      for (let k = 0; k < a.length; k++) {
        expect(Math.abs(a[k]! - wantA[k]!)).toBeLessThanOrEqual(1e-12);
        expect(Math.abs(b[k]! - wantB[k]!)).toBeLessThanOrEqual(1e-12);
      }
    }
  });
});

describe('what each method needs', () => {
  const layout = weightLayout(base.tensors);
  const refusal = async (
    method: string,
    params: unknown,
    sources: { base: Ingredient | null; models: Ingredient[] },
  ) =>
    mergeWeights(mergeMethod(method)!, params, sources, layout).then(
      () => null,
      (error: unknown) => error as TureenError,
    );

  it('refuses a missing base, a wrong number of models, and params out of range, naming the field', async () => {
    const noBase = await refusal('ties', {}, { base: null, models });
    expect(noBase).toBeInstanceOf(TureenError);
    expect(noBase!.message).toContain('ties needs the base model');
    const three = await refusal('slerp', { t: 0.5 }, { base: null, models });
    expect(three!.message).toBe('slerp needs exactly 2 ingredients, got 3');
    const one = await refusal('model-stock', {}, { base, models: [models[0]!] });
    expect(one!.message).toBe('model-stock needs at least 2 ingredients, got 1');
    const density = await refusal('ties', { density: 1.5 }, { base, models });
    expect(density!.code).toBe('bad_request');
    expect(density!.message).toMatch(/^ties: density: /);
    const weights = await refusal('task-arithmetic', { weights: [1, 2] }, { base, models });
    expect(weights!.message).toBe(
      'task-arithmetic: 2 weights for 3 ingredients; give one weight per ingredient',
    );
  });

  it('fills in defaults and records them', async () => {
    const merged = await mergeWeights(mergeMethod('ties')!, {}, { base, models }, layout);
    expect(merged.params).toEqual({ density: 0.2, lambda: 1 });
  });
});

describe('DARE by its properties', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-dare-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const n = 60_000;
  const random = seededRandom(7);
  const baseValues = Float32Array.from({ length: n }, () => random() - 0.5);
  const write = (name: string, spread: number) =>
    openIngredient(
      writeSafetensors(path.join(dir, `${name}.safetensors`), {
        w: f32(
          baseValues.map((v) => v + (random() - 0.5) * spread),
          [n],
        ),
        b: f32([0.25, -0.5, 1], [3]),
      }),
    );
  const daBase = openIngredient(
    writeSafetensors(path.join(dir, 'base.safetensors'), {
      w: f32(baseValues, [n]),
      b: f32([0.25, -0.5, 1], [3]),
    }),
  );
  const small = [write('s0', 0.01), write('s1', 0.01)];
  const layout = weightLayout(daBase.tensors);
  const dare = (models: Ingredient[], params: Record<string, unknown>) =>
    mergeWeights(mergeMethod('dare')!, params, { base: daBase, models }, layout, { precision: 'f64' });
  const tensorOf = (merged: { weights: { tensorBytes(n: string, s: number, d: 'f64'): Uint8Array } }) =>
    valuesOf(merged.weights.tensorBytes('w', 1, 'f64'), 'f64');

  it('keeps a 1 − p fraction of entries and rescales each kept one by exactly 1/(1 − p)', async () => {
    for (const p of [0.1, 0.5, 0.9]) {
      const merged = await dare([small[0]!], { drop: p, seed: 3 });
      const got = tensorOf(merged);
      const raw = await small[0]!.readTensorBytes('w');
      const values = new Float32Array(Uint8Array.from(raw).buffer);
      let kept = 0;
      let worst = 0;
      for (let k = 0; k < n; k++) {
        const delta = values[k]! - baseValues[k]!;
        const out = got[k]! - baseValues[k]!;
        if (out === 0 && delta !== 0) continue;
        kept++;
        worst = Math.max(worst, Math.abs(out - delta / (1 - p)));
      }
      expect(worst, `p = ${p}`).toBeLessThanOrEqual(1e-15);
      // binomial: within 5 standard deviations of n(1 − p)
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(kept - n * (1 - p)), `p = ${p}`).toBeLessThan(5 * sd);
      expect(merged.report.record.kept_fraction).toBeCloseTo(kept / n, 2);
    }
  });

  it('reruns with one seed are bit-identical; another seed drops other entries', async () => {
    const a = tensorOf(await dare(small, { drop: 0.7, seed: 11 }));
    const b = tensorOf(await dare(small, { drop: 0.7, seed: 11 }));
    const c = tensorOf(await dare(small, { drop: 0.7, seed: 12 }));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it("an entry's drop depends only on (seed, ingredient, tensor, index), so slicing cannot change it", () => {
    const whole = new DropPattern(5, 0, 'w', 0.5);
    const again = new DropPattern(5, 0, 'w', 0.5);
    const other = new DropPattern(5, 1, 'w', 0.5);
    let same = 0;
    for (let k = 0; k < 10_000; k++) {
      expect(again.kept(k)).toBe(whole.kept(k));
      if (other.kept(k) === whole.kept(k)) same++;
    }
    // another ingredient's pattern is independent: agreement about half the time
    expect(Math.abs(same - 5000)).toBeLessThan(5 * Math.sqrt(2500));
  });

  it('warns when task-vector entries are large (|δ| > 0.03), not when they are small', async () => {
    const quiet = await dare(small, { drop: 0.5 });
    expect(quiet.report.warnings).toEqual([]);
    const loud = await dare([write('l0', 0.5), write('l1', 0.5)], { drop: 0.5 });
    expect(loud.report.warnings.join('\n')).toMatch(/% of task-vector entries exceed \|δ\| 0\.03/);
    expect(loud.report.record.large_delta_fraction as number).toBeGreaterThan(0.5);
  });
});

describe('kthLargest', () => {
  it('matches a sort on random, sorted, reversed and tied inputs', () => {
    const random = seededRandom(99);
    const inputs = [
      Float64Array.from({ length: 1001 }, () => random()),
      Float64Array.from({ length: 500 }, (_, i) => i),
      Float64Array.from({ length: 500 }, (_, i) => -i),
      Float64Array.from({ length: 777 }, () => Math.floor(random() * 5)),
      Float64Array.from([3]),
    ];
    for (const input of inputs) {
      const sorted = [...input].sort((a, b) => b - a);
      for (const k of [1, 2, Math.ceil(input.length / 3), input.length].filter((k) => k <= input.length)) {
        expect(kthLargest(Float64Array.from(input), k)).toBe(sorted[k - 1]);
      }
    }
  });
});
