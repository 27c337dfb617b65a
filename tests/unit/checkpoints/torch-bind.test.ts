import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main.js';
import type { Ingredient } from '../../../src-main/core/checkpoints/index.js';
import {
  averageIngredients,
  familyGraph,
  groupFamilies,
  openIngredient,
} from '../../../src-main/core/checkpoints/index.js';
import { ensureHostBuilt } from '../inference/build-host.js';
import { f32, i64, writeSafetensors } from './build-safetensors.js';
import { torchExpected, torchFixtures } from './torch-fixtures.js';
import { uniformSoup } from './uniform-soup.js';

const expected = torchExpected();
const sweep = Object.keys(expected.eval.correct).filter((f) => !f.includes('#'));
const at = (rel: string) => path.join(torchFixtures, rel);
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-torch-bind-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The eval set's images and labels, read by the safetensors spec (8-byte length, JSON header, data). */
function evalSet(): { images: Float32Array; labels: number[]; n: number } {
  const bytes = fs.readFileSync(at(expected.eval.set));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  const data = (name: string) => {
    const [begin, end] = header[name]!.data_offsets;
    return bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
  };
  const image = data('image');
  const images = new Float32Array(image.byteLength / 4);
  for (let i = 0; i < images.length; i++) images[i] = image.readFloatLE(i * 4);
  const label = data('labels');
  const labels = Array.from({ length: label.byteLength / 8 }, (_, i) => Number(label.readBigInt64LE(i * 8)));
  return { images, labels, n: labels.length };
}

/** onnxruntime's correct count of the uniform soup of some ingredients (one: the checkpoint itself). */
async function correctCount(
  input: string[] | Ingredient[],
): Promise<{ correct: number; weights: Map<string, Float32Array> }> {
  const soup =
    typeof input[0] === 'string' ? await uniformSoup(input as string[]) : await soupOf(input as Ingredient[]);
  const session = await ort.InferenceSession.create(soup.graph.graphBytes, {
    externalData: [soup.externalData],
  });
  try {
    const { images, labels, n } = evalSet();
    const y = await session.run({ image: new ort.Tensor('float32', images, [n, 3, 8, 8]) });
    const logits = y.logits!.data as Float32Array;
    const classes = logits.length / n;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    }
    const weights = new Map<string, Float32Array>();
    const buffer = soup.externalData.data;
    for (const e of soup.graph.layout)
      weights.set(
        e.name,
        new Float32Array(
          buffer.buffer.slice(buffer.byteOffset + e.offset, buffer.byteOffset + e.offset + e.byteLength),
        ),
      );
    return { correct, weights };
  } finally {
    await session.release();
  }
}

async function soupOf(ingredients: Ingredient[]) {
  const { families } = await groupFamilies(ingredients);
  const family = families[0]!;
  const parts = family.members.map((ingredient) => ({ ingredient, coefficient: 1 / family.members.length }));
  const { weights, scale } = await averageIngredients(family, parts);
  const graph = await familyGraph(family);
  return {
    graph,
    externalData: { path: graph.externalDataPath, data: weights.toBuffer(scale, graph.weightLayout) },
  };
}

describe('pickled state dicts bound to a torch.onnx.export graph', () => {
  it.each(sweep)('%s binds to graph.onnx; only num_batches_tracked is left over', (rel) => {
    const ingredient = openIngredient(at(rel));
    expect(ingredient.graphPath).toBe(at('graph.onnx'));
    expect(ingredient.strippedPrefix).toBe(rel.endsWith('.ckpt') ? 'model.' : null);
    expect(ingredient.unmatched).toEqual({ notInGraph: ['bn.num_batches_tracked'], notInCheckpoint: [] });
    expect(
      ingredient.tensors
        .map((t) => t.name)
        .filter((n) => n !== 'bn.num_batches_tracked')
        .sort(),
    ).toEqual(expected.graph_initializers);
  });

  it.each(sweep)('%s: onnxruntime counts what PyTorch counted on the eval set', async (rel) => {
    expect((await correctCount([at(rel)])).correct).toBe(expected.eval.correct[rel]);
  });

  it('EMA weights evaluate to PyTorch’s count for the EMA model', async () => {
    const rel = 'timm/run-a/checkpoint-3.pth.tar';
    const ema = openIngredient(at(rel), { ema: true });
    expect(ema.pickle!.usedEma).toBe(true);
    // the EMA model and the raw one differ on this set, so the count tells which weights were evaluated
    expect(expected.eval.correct[`${rel}#ema`]).not.toBe(expected.eval.correct[rel]);
    expect((await correctCount([ema])).correct).toBe(expected.eval.correct[`${rel}#ema`]);
  });

  it('a uniform soup of a .bin, a .pth.tar and a .ckpt equals NumPy’s float32 mean, and PyTorch’s count', async () => {
    const files = expected.soup.files.map(at);
    const { families, mismatches } = await groupFamilies(files.map((f) => openIngredient(f)));
    expect(mismatches).toEqual([]);
    expect(families).toHaveLength(1);
    const { correct, weights } = await correctCount(files);
    const inputs = expected.soup.files.map((rel) => expected.tensors[rel]!);
    for (const [name, want] of Object.entries(expected.soup.tensors)) {
      const got = weights.get(name)!;
      expect(got.length, name).toBe(want.length);
      const terms = inputs.map((t) => (t[name] ?? t[`model.${name}`])!.values as number[]);
      // float32 rounding of a three-term mean: a few ulp of the terms' magnitude (the mean may cancel)
      want.forEach((v, i) => {
        const magnitude = terms.reduce((s, t) => s + Math.abs(t[i]!), 0) / terms.length;
        expect(Math.abs(got[i]! - v), `${name}[${i}]`).toBeLessThanOrEqual(4 * 2 ** -24 * magnitude);
      });
    }
    expect(correct).toBe(expected.soup.correct);
  });

  it('a pickled checkpoint and a safetensors copy of it are one family', async () => {
    const rel = 'soups/model_1.pt';
    const copy = path.join(tmp, 'copy', 'model.safetensors');
    const tensors = Object.fromEntries(
      Object.entries(expected.tensors[rel]!).map(([name, t]) => [
        name,
        t.dtype === 'i64'
          ? i64(
              t.values.map((v) => BigInt(v)),
              t.shape,
            )
          : f32(t.values as number[], t.shape),
      ]),
    );
    writeSafetensors(copy, tensors);
    const { families } = await groupFamilies([
      openIngredient(at(rel)),
      openIngredient(copy, { graph: at('graph.onnx') }),
    ]);
    expect(families).toHaveLength(1);
    expect(families[0]!.duplicates).toEqual([]);
    expect(families[0]!.members.map((m) => m.format).sort()).toEqual(['pytorch', 'safetensors']);
  });
});

describe('tureen eval on pickled checkpoints', () => {
  beforeAll(() => ensureHostBuilt(), 300_000);

  it('evaluates a .bin, a .pth.tar and a .ckpt to PyTorch’s counts', async () => {
    const files = [
      'hf/checkpoint-20/pytorch_model.bin',
      'timm/run-a/checkpoint-3.pth.tar',
      'lightning/lightning_logs/version_0/checkpoints/epoch=2-step=30.ckpt',
    ];
    const previousHome = process.env.TUREEN_HOME;
    process.env.TUREEN_HOME = path.join(tmp, 'home');
    try {
      let stdout = '';
      let stderr = '';
      const code = await runCli(
        [
          'eval',
          ...files.map(at),
          '--data',
          at(expected.eval.set),
          '--json',
          '--db',
          path.join(tmp, 'cli.sqlite'),
        ],
        { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false },
      );
      expect(code, stdout + stderr).toBe(0);
      const doc = JSON.parse(stdout) as { evaluations: Array<{ model: string; n: number; top1: number }> };
      for (const rel of files) {
        const row = doc.evaluations.find((e) => e.model === at(rel));
        expect(row, rel).toBeDefined();
        expect(Math.round(row!.top1 * row!.n), rel).toBe(expected.eval.correct[rel]);
      }
    } finally {
      if (previousHome === undefined) delete process.env.TUREEN_HOME;
      else process.env.TUREEN_HOME = previousHome;
    }
  }, 120_000);
});
