import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import { WeightAccumulator, openIngredient, weightLayout } from '../../../src-main/core/checkpoints/index.js';
import { seededRandom } from './build-onnx.js';
import { f32, writeSafetensors } from './build-safetensors.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-acc-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function values(seed: number, n: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 100);
}

describe('WeightAccumulator', () => {
  it('sums float32 tensors of odd sizes (vector body and scalar tail) exactly like Math.fround(a + b)', async () => {
    const sizes = [1, 3, 4, 5, 1003, 300_001];
    const make = (seed: number) =>
      Object.fromEntries(sizes.map((n, i) => [`t${i}`, f32(values(seed * 100 + i, n), [n])]));
    const a = openIngredient(writeSafetensors(path.join(dir, 'a.safetensors'), make(1)));
    const b = openIngredient(writeSafetensors(path.join(dir, 'b.safetensors'), make(2)));
    const acc = new WeightAccumulator(weightLayout(a.tensors));
    await acc.addScaled(a, 1);
    await acc.addScaled(b, 1);
    for (const [i, n] of sizes.entries()) {
      const va = values(100 + i, n);
      const vb = values(200 + i, n);
      const got = acc.tensorBytes(`t${i}`);
      const view = new Float32Array(got.buffer, got.byteOffset, n);
      let wrong = 0;
      for (let k = 0; k < n; k++) if (view[k] !== Math.fround(va[k]! + vb[k]!)) wrong++;
      expect(wrong, `t${i}`).toBe(0);
    }
    // scaled output equals the float64 mean rounded once
    const half = new Float32Array(acc.toBuffer(0.5).buffer, acc.layout.entries[4]!.offset, 1003);
    const va = values(104, 1003);
    const vb = values(204, 1003);
    for (let k = 0; k < 1003; k++) expect(half[k]).toBe(Math.fround(Math.fround(va[k]! + vb[k]!) * 0.5));
  });

  it('keeps running sums apart: clone and copyFrom, addAccumulator, scale', async () => {
    const a = openIngredient(
      writeSafetensors(path.join(dir, 'c.safetensors'), { w: f32([1, 2, 3, 4, 5], [5]) }),
    );
    const sum = new WeightAccumulator(weightLayout(a.tensors));
    await sum.addScaled(a, 1);
    const candidate = sum.clone();
    await candidate.addScaled(a, 2);
    expect([...sum.values]).toEqual([1, 2, 3, 4, 5]);
    expect([...candidate.values]).toEqual([3, 6, 9, 12, 15]);
    candidate.copyFrom(sum);
    candidate.addAccumulator(sum, -1);
    expect([...candidate.values]).toEqual([0, 0, 0, 0, 0]);
    sum.scale(0.5);
    expect([...sum.values]).toEqual([0.5, 1, 1.5, 2, 2.5]);
  });

  it('rejects NaN and Inf in the vectorised part, naming tensor and element', async () => {
    const v = values(5, 1003);
    v[517] = -Infinity;
    const file = writeSafetensors(path.join(dir, 'inf.safetensors'), { big: f32(v, [1003]) });
    const ing = openIngredient(file);
    const acc = new WeightAccumulator(weightLayout(ing.tensors));
    const error = await acc.addScaled(ing, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).message).toContain(
      `${file}: tensor "big" contains NaN or Inf (element 517 is -Infinity)`,
    );
  });

  it('splits big tensors into 4 MiB chunks, sums exactly, and finds NaN in a later chunk', async () => {
    const n = 1_500_003; // 6 MB: two chunks
    const va = values(21, n);
    const vb = values(22, n);
    const a = openIngredient(
      writeSafetensors(path.join(dir, 'big-a.safetensors'), { big: f32(va, [n]), small: f32([1], [1]) }),
    );
    const b = openIngredient(
      writeSafetensors(path.join(dir, 'big-b.safetensors'), { big: f32(vb, [n]), small: f32([2], [1]) }),
    );
    const acc = new WeightAccumulator(weightLayout(a.tensors));
    await acc.addScaled(a, 1);
    await acc.addScaled(b, 1);
    let wrong = 0;
    for (let k = 0; k < n; k++) if (acc.values[k] !== Math.fround(va[k]! + vb[k]!)) wrong++;
    expect(wrong).toBe(0);
    expect(acc.values[n]).toBe(3);
    const bad = values(23, n);
    bad[1_400_000] = NaN;
    const file = writeSafetensors(path.join(dir, 'big-nan.safetensors'), {
      big: f32(bad, [n]),
      small: f32([1], [1]),
    });
    const error = await acc.addScaled(openIngredient(file), 1).catch((e: unknown) => e);
    expect((error as TureenError).message).toContain(
      `${file}: tensor "big" contains NaN or Inf (element 1400000 is NaN)`,
    );
  });

  it('addScaledMany (slice by slice across ingredients) equals adding them one by one', async () => {
    const n = 1_100_001;
    const files = [31, 32, 33].map((seed) =>
      writeSafetensors(path.join(dir, `many-${seed}.safetensors`), {
        big: f32(values(seed, n), [n]),
        half: {
          dtype: 'F16',
          shape: [5],
          data: new Uint8Array(Uint16Array.from([0x3c00, 0x4000, 0xc000, 0x3800, seed]).buffer),
        },
        bias: f32(values(seed + 100, 7), [7]),
      }),
    );
    const ingredients = files.map((f) => openIngredient(f));
    const coefficients = [0.5, -0.25, 1.75];
    const one = new WeightAccumulator(weightLayout(ingredients[0]!.tensors));
    for (const [i, ing] of ingredients.entries()) await one.addScaled(ing, coefficients[i]!);
    const many = new WeightAccumulator(weightLayout(ingredients[0]!.tensors));
    let reported = 0;
    await many.addScaledMany(
      ingredients.map((ingredient, i) => ({ ingredient, coefficient: coefficients[i]! })),
      { onProgress: (done, total) => (reported = done / total) },
    );
    expect(reported).toBe(1);
    expect(Buffer.from(many.toBuffer()).equals(Buffer.from(one.toBuffer()))).toBe(true);
  });

  it('accumulates in float64 on request', async () => {
    const a = openIngredient(writeSafetensors(path.join(dir, 'd.safetensors'), { w: f32([1e8, 1], [2]) }));
    const acc = new WeightAccumulator(weightLayout(a.tensors), { precision: 'f64' });
    expect(acc.values).toBeInstanceOf(Float64Array);
    for (let i = 0; i < 3; i++) await acc.addScaled(a, 1 / 3);
    expect(acc.values[0]).toBeCloseTo(1e8, 6);
    expect(acc.values[1]).toBeCloseTo(1, 14);
  });
});
