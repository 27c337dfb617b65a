import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupFamilies, openIngredient, writeSoup } from '../../../src-main/core/checkpoints/index.js';
import { uniformSoup } from './uniform-soup.js';

/** Real torch.onnx.export models (scripts/demo/make_torch_fixtures.py) with torch-computed outputs. */
const fixtures = path.join(import.meta.dirname, '..', '..', 'fixtures', 'torch-exports');

interface Expected {
  files: string[];
  input_name: string;
  output_name: string;
  input: { shape: number[]; data: number[] };
  state_dict_average_output: number[][];
  initializer_average_output: number[][];
  initializer_average_equals_state_dict_average: boolean;
}

const cases = ['cnn-bn-eval', 'cnn-bn-preserve', 'mlp-folded'].filter((name) =>
  fs.existsSync(path.join(fixtures, `${name}.expected.json`)),
);
let out: string;
beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-torch-'));
});
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

async function run(
  model: Uint8Array | string,
  expected: Expected,
  externalData?: { path: string; data: Buffer },
) {
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model)
      : await ort.InferenceSession.create(model, externalData ? { externalData: [externalData] } : {});
  try {
    const x = new ort.Tensor('float32', Float32Array.from(expected.input.data), expected.input.shape);
    const y = await session.run({ [expected.input_name]: x });
    return [...(y[expected.output_name]!.data as Float32Array)];
  } finally {
    await session.release();
  }
}

describe.skipIf(cases.length === 0)('real torch.onnx.export models', () => {
  it.each(cases)('%s: BatchNorm warning only where BatchNorm was folded', async (name) => {
    const expected = JSON.parse(
      fs.readFileSync(path.join(fixtures, `${name}.expected.json`), 'utf8'),
    ) as Expected;
    const { families, mismatches } = await groupFamilies(
      expected.files.map((f) => openIngredient(path.join(fixtures, f))),
    );
    expect(mismatches).toEqual([]);
    expect(families).toHaveLength(1);
    const codes = families[0]!.warnings.map((w) => w.code);
    if (name === 'cnn-bn-eval') expect(codes).toContain('folded_batchnorm');
    else expect(codes).not.toContain('folded_batchnorm');
  });

  it.each(cases)('%s: the uniform soup in onnxruntime matches torch', async (name) => {
    const expected = JSON.parse(
      fs.readFileSync(path.join(fixtures, `${name}.expected.json`), 'utf8'),
    ) as Expected;
    const { family, weights, scale, graph, externalData } = await uniformSoup(
      expected.files.map((f) => path.join(fixtures, f)),
    );
    const viaBuffer = await run(graph.graphBytes, expected, externalData);
    const file = path.join(out, `${name}.onnx`);
    await writeSoup({
      family,
      weights,
      scale,
      outputs: [file],
      recipe: { method: 'uniform', params: {}, ingredients: [] },
    });
    const fromFile = await run(file, expected);
    expect(fromFile).toEqual(viaBuffer);
    // averaging the initializers is what torch computed from the initializers' average ...
    const reference = expected.initializer_average_output.flat();
    viaBuffer.forEach((v, i) => expect(v).toBeCloseTo(reference[i]!, 5));
    // ... and it is the average of the models exactly when no BatchNorm was folded
    const models = expected.state_dict_average_output.flat();
    const same = viaBuffer.every((v, i) => Math.abs(v - models[i]!) < 1e-5);
    expect(same).toBe(expected.initializer_average_equals_state_dict_average);
    expect(same).toBe(name !== 'cnn-bn-eval');
  });
});
