import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  groupFamilies,
  openIngredient,
  readSafetensorsHeader,
} from '../../../src-main/core/checkpoints/index.js';
import { discover } from '../../../src-main/core/checkpoints/discover.js';
import { uniformSoup } from './uniform-soup.js';

/** The demo kitchen (scripts/demo/make_demo.py) with PyTorch's reference numbers. */
const demo = path.join(import.meta.dirname, '..', '..', '..', 'resources', 'demo');
const referenceFile = path.join(demo, 'reference.json');

interface Reference {
  transform: { image: { scale: number; mean: number[]; std: number[] } };
  models: Record<string, { kind: string; sha256: string }>;
  uniform_soup: { ingredients: string[]; holdout_logits_first8: number[][] };
}

/** The first `count` holdout images as float32, preprocessed as the reference says: (x·scale − mean)/std. */
function holdoutImages(reference: Reference, count: number): { data: Float32Array; shape: number[] } {
  const file = path.join(demo, 'data', 'holdout.safetensors');
  const header = readSafetensorsHeader(file);
  const image = header.tensors.find((t) => t.name === 'image')!;
  const perImage = image.shape.slice(1).reduce((a, b) => a * b, 1);
  const fd = fs.openSync(file, 'r');
  const raw = Buffer.alloc(count * perImage);
  fs.readSync(fd, raw, 0, raw.length, image.offset);
  fs.closeSync(fd);
  const { scale, mean, std } = reference.transform.image;
  const data = Float32Array.from(raw, (v) => (v * scale - mean[0]!) / std[0]!);
  return { data, shape: [count, ...image.shape.slice(1)] };
}

describe.skipIf(!fs.existsSync(referenceFile))('the demo kitchen', () => {
  it('is one family of ONNX and safetensors runs with its base, hashes as PyTorch recorded', async () => {
    const reference = JSON.parse(fs.readFileSync(referenceFile, 'utf8')) as Reference;
    const found = discover(demo);
    const ingredients = found.checkpoints.map((c) => openIngredient(c.path));
    const { families, mismatches } = await groupFamilies(ingredients);
    expect(mismatches).toEqual([]);
    expect(families).toHaveLength(1);
    const family = families[0]!;
    expect(family.base?.path).toBe(path.join(demo, 'base', 'model.onnx'));
    expect(family.warnings.filter((w) => w.code !== 'unmatched_names')).toEqual([]);
    const runs = Object.entries(reference.models).filter(([, m]) => m.kind !== 'base');
    expect(family.members.map((m) => path.relative(demo, m.path)).sort()).toEqual(
      runs.map(([p]) => p).sort(),
    );
    for (const m of [...family.members, family.base!]) {
      expect(await m.sha256()).toBe(reference.models[path.relative(demo, m.path)]!.sha256);
    }
  });

  it("uniform soup: onnxruntime on the family graph gives PyTorch's logits", async () => {
    const reference = JSON.parse(fs.readFileSync(referenceFile, 'utf8')) as Reference;
    const { graph, externalData } = await uniformSoup(
      reference.uniform_soup.ingredients.map((p) => path.join(demo, p)),
    );
    const session = await ort.InferenceSession.create(graph.graphBytes, { externalData: [externalData] });
    const { data, shape } = holdoutImages(reference, 8);
    const out = await session.run({ [graph.inputs[0]!]: new ort.Tensor('float32', data, shape) });
    await session.release();
    const logits = out[graph.outputs[0]!]!.data as Float32Array;
    const expected = reference.uniform_soup.holdout_logits_first8.flat();
    let worst = 0;
    expected.forEach((e, i) => (worst = Math.max(worst, Math.abs(logits[i]! - e))));
    expect(worst).toBeLessThan(1e-4);
  });
});
