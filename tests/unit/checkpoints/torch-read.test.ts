import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Ingredient, TensorData } from '../../../src-main/core/checkpoints/index.js';
import { openIngredient } from '../../../src-main/core/checkpoints/index.js';
import type { TorchExpected } from './torch-fixtures.js';
import { torchExpected, torchFixtures } from './torch-fixtures.js';

/** The generator's values in the form readTensor gives them (f16/bf16 bit patterns, i64 as bigint). */
function asJs(data: TensorData, dtype: string): Array<number | string> {
  if (dtype === 'i64' || dtype === 'u64') return [...(data as BigInt64Array)].map((v) => v.toString());
  return [...(data as Float32Array)].map(Number);
}

async function expectTensors(ingredient: Ingredient, expected: TorchExpected['tensors'][string]) {
  const names = Object.keys(expected);
  expect(ingredient.tensors.map((t) => t.name).sort()).toEqual(
    names.map((n) => (ingredient.strippedPrefix ? n.slice(ingredient.strippedPrefix.length) : n)).sort(),
  );
  for (const [key, want] of Object.entries(expected)) {
    const name = ingredient.strippedPrefix ? key.slice(ingredient.strippedPrefix.length) : key;
    const info = ingredient.tensor(name)!;
    expect(info.dtype, name).toBe(want.dtype);
    expect(info.shape, name).toEqual(want.shape);
    const got = asJs(await ingredient.readTensor(name), want.dtype);
    // f32 values are exact: the generator printed each float32 as a float64 repr
    expect(got, name).toEqual(want.values);
  }
}

describe('PyTorch checkpoints read equal to the generator’s NumPy dump', () => {
  const expected = torchExpected();
  const files = Object.keys(expected.tensors).filter((f) => !f.includes('#'));

  it.each(files)('%s', async (rel) => {
    const ingredient = openIngredient(path.join(torchFixtures, rel));
    expect(ingredient.format).toBe('pytorch');
    await expectTensors(ingredient, expected.tensors[rel]!);
  });

  it('EMA weights are opened on request, and hash differently from the raw weights', async () => {
    const file = path.join(torchFixtures, 'timm/run-a/checkpoint-3.pth.tar');
    const raw = openIngredient(file);
    const ema = openIngredient(file, { ema: true });
    expect(raw.pickle).toMatchObject({
      stateDictKey: 'state_dict',
      emaKey: 'state_dict_ema',
      usedEma: false,
    });
    expect(ema.pickle).toMatchObject({ stateDictKey: 'state_dict_ema', usedEma: true });
    await expectTensors(ema, expected.tensors['timm/run-a/checkpoint-3.pth.tar#ema']!);
    expect(await ema.sha256()).not.toBe(await raw.sha256());
    expect(() => openIngredient(path.join(torchFixtures, 'soups/model_0.pt'), { ema: true })).toThrow(
      /no EMA weights/,
    );
  });

  it('stored tensors are located in the file without copying; views are materialised', () => {
    const bin = openIngredient(path.join(torchFixtures, 'hf/checkpoint-10/pytorch_model.bin'));
    for (const t of bin.tensors) expect(bin.locate(t.name).kind, t.name).toBe('file');
    const view = openIngredient(path.join(torchFixtures, 'views/view.pt'));
    expect(view.locate('transposed').kind).toBe('memory');
    expect(view.locate('strided').kind).toBe('memory');
    // a row-major slice at a storage offset is still a plain file range
    expect(view.locate('slice').kind).toBe('file');
  });

  it('tied weights: one storage, both names, reported as tied', async () => {
    const tied = openIngredient(path.join(torchFixtures, 'tied/tied.pt'));
    expect(tied.pickle!.tied).toEqual([['embed.weight', 'head.weight']]);
    expect(tied.locate('embed.weight')).toEqual(tied.locate('head.weight'));
  });

  it('the legacy (pre-1.6) format is read, views and tied weights included', () => {
    const legacy = openIngredient(path.join(torchFixtures, 'legacy/legacy-views.pt'));
    expect(legacy.pickle!.container).toBe('legacy');
    expect(legacy.pickle!.tied).toEqual([['tied_a', 'tied_b']]);
  });

  it('a checkpoint is hashed as its file (what sha256sum prints)', async () => {
    const { createHash } = await import('node:crypto');
    const file = path.join(torchFixtures, 'soups/model_1.pt');
    const want = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect(await openIngredient(file).sha256()).toBe(want);
  });
});
