import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { exampleHashes, findLeakage } from '../../../src-main/core/datasets/leakage.js';
import { planEvalSets } from '../../../src-main/core/datasets/registry.js';
import { toFloat32Input } from '../../../src-main/core/datasets/transform.js';
import { validateEvalSet } from '../../../src-main/core/datasets/validate.js';
import { images, labels, writeSafetensors } from './write-safetensors.js';

const fixtures = path.resolve(import.meta.dirname, '../../fixtures/evaluation/kitchen');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-evalset-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function errorOf(fn: () => unknown): TureenError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TureenError) return error;
    throw error;
  }
  throw new Error('expected a TureenError');
}

const transform = JSON.stringify({ image: { scale: 1 / 255, mean: [0.5], std: [0.25], channel_axis: 1 } });

describe('eval-set reader', () => {
  it('reads the fixture holdout set: N, inputs, labels, role, transform', () => {
    const set = readEvalSet(path.join(fixtures, 'data/holdout.safetensors'));
    expect(set.name).toBe('holdout');
    expect(set.fileRole).toBe('holdout');
    expect(set.n).toBe(400);
    expect(set.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([['image', 'u8', [400, 1, 4, 4]]]);
    expect(set.labels.length).toBe(400);
    expect(set.transforms.image).toEqual({ scale: 1 / 255, mean: [0.5], std: [0.25], channel_axis: 1 });
    expect(set.classSubset).toBeNull();
  });

  it('reads a class subset and keeps labels indexing into it', () => {
    const set = readEvalSet(path.join(fixtures, 'data/shift-subset.safetensors'));
    expect(set.classSubset).toEqual([0, 2, 3, 5]);
    expect(Math.max(...set.labels)).toBeLessThan(4);
  });

  it('hashes tensors, transform and subset but not name or role', () => {
    const data = { image: images(5, (i, j) => i * 16 + j), labels: labels([0, 1, 2, 0, 1]) };
    writeSafetensors(path.join(tmp, 'a.safetensors'), data, {
      'tureen.name': 'a',
      'tureen.role': 'id',
      'tureen.transform': transform,
    });
    writeSafetensors(path.join(tmp, 'b.safetensors'), data, {
      'tureen.name': 'b',
      'tureen.role': 'shift',
      'tureen.transform': transform,
    });
    writeSafetensors(path.join(tmp, 'c.safetensors'), data, { 'tureen.name': 'c' });
    writeSafetensors(path.join(tmp, 'd.safetensors'), data, {
      'tureen.transform': transform,
      'tureen.class_subset': '[0,1,2]',
    });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => readEvalSet(path.join(tmp, `${n}.safetensors`)));
    expect(a!.hash).toBe(b!.hash);
    expect(c!.hash).not.toBe(a!.hash);
    expect(d!.hash).not.toBe(a!.hash);
    expect(d!.name).toBe('d');
  });

  it('names the file and tensor when something is wrong', () => {
    const bad = path.join(tmp, 'bad.safetensors');
    writeSafetensors(bad, { image: images(3, () => 0) });
    expect(errorOf(() => readEvalSet(bad)).message).toMatch(/bad\.safetensors has no "labels" tensor/);
    writeSafetensors(bad, { image: images(3, () => 0), labels: labels([0, 1]) });
    expect(errorOf(() => readEvalSet(bad)).message).toMatch(/input "image" has 3 rows but labels has 2/);
    writeSafetensors(bad, { image: images(2, () => 0), labels: labels([0, 1]) }, { 'tureen.role': 'train' });
    expect(errorOf(() => readEvalSet(bad)).message).toMatch(/tureen.role is "train"/);
    writeSafetensors(
      bad,
      { image: images(2, () => 0), labels: labels([0, 3]) },
      { 'tureen.class_subset': '[4, 5]' },
    );
    const subset = errorOf(() => readEvalSet(bad));
    expect(subset.code).toBe('bad_evalset');
    expect(subset.message).toMatch(/label 3 at index 1 is outside tureen.class_subset/);
    writeSafetensors(
      bad,
      { image: images(2, () => 0), labels: labels([0, 1]) },
      { 'tureen.transform': '{"pixels": {"scale": 1}}' },
    );
    expect(errorOf(() => readEvalSet(bad)).message).toMatch(/names input "pixels"/);
  });

  it('applies (x·scale − mean)/std in float32 steps, per channel', () => {
    const bytes = Uint8Array.from([0, 128, 255, 7, 0, 128, 255, 7]);
    const out = toFloat32Input('u8', [1, 2, 2, 2], bytes, {
      scale: 1 / 255,
      mean: [0.5, 0.25],
      std: [0.25, 0.5],
      channel_axis: 1,
    });
    const f = Math.fround;
    const expected = [...bytes].map((x, i) => {
      const c = i < 4 ? 0 : 1;
      return f(f(f(x * f(1 / 255)) - f([0.5, 0.25][c]!)) / f([0.25, 0.5][c]!));
    });
    expect([...out]).toEqual(expected);
    // channel 0 value 255: (1 − 0.5)/0.25 = 2 exactly
    expect(out[2]).toBe(2);
    expect(out[6]).toBeCloseTo((1 - 0.25) / 0.5, 6);
  });
});

describe('validation against the model, before inference', () => {
  const set = () => readEvalSet(path.join(fixtures, 'data/test.safetensors'));
  it('accepts the matching signature', () => {
    expect(() =>
      validateEvalSet(
        set(),
        { inputs: [{ name: 'image', type: 'float32', shape: ['N', 1, 4, 4] }], classes: 6 },
        'm',
      ),
    ).not.toThrow();
  });
  it('lists every mismatch: input names, shapes, label range', () => {
    const error = errorOf(() =>
      validateEvalSet(
        set(),
        { inputs: [{ name: 'pixel_values', type: 'float32', shape: ['N', 3, 4, 4] }], classes: 3 },
        'model.onnx',
      ),
    );
    expect(error.code).toBe('bad_evalset');
    expect(error.message).toMatch(/model input "pixel_values" has no tensor in the eval set/);
    expect(error.message).toMatch(/tensors "image" are not inputs of the model/);
    expect(error.message).toMatch(/"labels" reaches 5 but the model has 3 logits/);
    const shape = errorOf(() =>
      validateEvalSet(
        set(),
        { inputs: [{ name: 'image', type: 'float32', shape: ['N', 3, 4, 4] }], classes: 6 },
        'm',
      ),
    );
    expect(shape.message).toMatch(/"image" axis 1 is 1 but the model expects 3/);
  });
  it('checks the class subset against the number of logits', () => {
    const subset = readEvalSet(path.join(fixtures, 'data/shift-subset.safetensors'));
    const error = errorOf(() =>
      validateEvalSet(
        subset,
        { inputs: [{ name: 'image', type: 'float32', shape: ['N', 1, 4, 4] }], classes: 4 },
        'm',
      ),
    );
    expect(error.message).toMatch(/class_subset lists logit indices 5/);
  });
});

describe('leakage guard', () => {
  it('finds holdout examples repeated in id/shift sets by example hash', () => {
    const hold = path.join(tmp, 'hold.safetensors');
    const test = path.join(tmp, 'test.safetensors');
    writeSafetensors(hold, {
      image: images(6, (i, j) => (i * 31 + j) % 256),
      labels: labels([0, 1, 2, 0, 1, 2]),
    });
    // rows 0..3 of test are new, rows 4..5 copy holdout rows 2 and 5 (with different labels: still a leak)
    writeSafetensors(test, {
      image: images(6, (i, j) => (i < 4 ? (i * 7 + j * 3 + 100) % 256 : ((i === 4 ? 2 : 5) * 31 + j) % 256)),
      labels: labels([1, 1, 1, 1, 0, 0]),
    });
    const h = readEvalSet(hold);
    const t = readEvalSet(test);
    expect(new Set(exampleHashes(h)).size).toBe(6);
    const reports = findLeakage(h, [{ set: t, role: 'id' }]);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.shared).toBe(2);
    expect(reports[0]!.examples).toEqual([2, 5]);
    expect([reports[0]!.holdoutPath, reports[0]!.otherPath]).toEqual([h.file, t.file]);
    expect([reports[0]!.holdout, reports[0]!.other]).toEqual([h.name, t.name]);
    expect(findLeakage(h, [{ set: h, role: 'shift' }])).toEqual([]);
  });
});

describe('finding eval sets by role', () => {
  it('finds one holdout and the id/shift sets in a folder; state dicts are not eval sets', () => {
    const plan = planEvalSets(null, { folders: [fixtures], requireHoldout: true });
    expect(plan.holdout?.set.name).toBe('holdout');
    expect(plan.others.map((o) => [o.set.name, o.role])).toEqual([
      ['test', 'id'],
      ['shift-noise', 'shift'],
      ['shift-subset', 'shift'],
    ]);
  });
  it('refuses two holdouts, and two sets with one name', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'roles-'));
    const data = { image: images(2, () => 1), labels: labels([0, 1]) };
    writeSafetensors(path.join(dir, 'h1.safetensors'), data, { 'tureen.role': 'holdout' });
    writeSafetensors(path.join(dir, 'h2.safetensors'), data, { 'tureen.role': 'holdout' });
    expect(errorOf(() => planEvalSets(null, { folders: [dir], requireHoldout: true })).message).toMatch(
      /several holdout eval sets/,
    );
    const dir2 = fs.mkdtempSync(path.join(tmp, 'names-'));
    writeSafetensors(path.join(dir2, 'x.safetensors'), data, { 'tureen.role': 'id', 'tureen.name': 'same' });
    writeSafetensors(path.join(dir2, 'y.safetensors'), data, {
      'tureen.role': 'shift',
      'tureen.name': 'same',
    });
    expect(errorOf(() => planEvalSets(null, { folders: [dir2], requireHoldout: false })).message).toMatch(
      /two eval sets are named "same"/,
    );
    expect(errorOf(() => planEvalSets(null, { folders: [dir2], requireHoldout: true })).message).toMatch(
      /no holdout eval set|two eval sets/,
    );
  });
});
