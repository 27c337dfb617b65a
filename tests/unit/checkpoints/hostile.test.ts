import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema } from 'onnx-buf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import {
  averageIngredients,
  groupFamilies,
  openIngredient,
} from '../../../src-main/core/checkpoints/index.js';
import { floatTensor, node, randomMlp, seededRandom, writeMlp } from './build-onnx.js';
import { f32, i64, safetensorsBytes, writeSafetensors } from './build-safetensors.js';
import { mutate } from './mutate.js';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-hostile-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const f = path.join(dir, `${n++}`, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, bytes);
  return f;
}

function header(json: string, dataBytes = 0): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), Buffer.alloc(dataBytes)]);
}

/** Opens and reads every tensor; returns the TureenError, fails the test on anything else. */
async function failure(target: string): Promise<TureenError | null> {
  try {
    const ing = openIngredient(target);
    for (const t of ing.tensors) await ing.readTensorBytes(t.name);
    return null;
  } catch (error) {
    if (!(error instanceof TureenError)) throw error;
    return error;
  }
}

async function expectRefused(
  target: string,
  fragment: string,
  code: TureenError['code'] = 'bad_checkpoint',
): Promise<void> {
  const error = await failure(target);
  expect(error, `${target} should be refused`).not.toBeNull();
  expect(error!.code).toBe(code);
  expect(error!.message).toContain(fragment);
  expect(error!.message).toContain(target);
}

describe('hostile safetensors', () => {
  const tensor = (extra = '') => `{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}${extra}}`;
  it('refuses truncated files and wrong magic', async () => {
    await expectRefused(file('a.safetensors', Buffer.from([1, 2, 3])), 'too short');
    await expectRefused(file('b.safetensors', header(tensor(), 8).subarray(0, 20)), 'truncated');
    await expectRefused(file('c.safetensors', header('[1, 2]  ')), 'not a safetensors file');
    await expectRefused(
      file('d.safetensors', Buffer.from('PK\u0003\u0004 this is a zip file of some sort')),
      'header',
    );
  });

  it('refuses header lengths beyond the file or absurdly large', async () => {
    const big = Buffer.alloc(16);
    big.writeBigUInt64LE(2n ** 60n);
    await expectRefused(file('a.safetensors', big), 'limit');
    const beyond = Buffer.alloc(64);
    beyond.writeBigUInt64LE(1000n);
    await expectRefused(file('b.safetensors', beyond), 'truncated');
  });

  it('refuses invalid JSON, bad entries, out-of-range and overlapping offsets', async () => {
    await expectRefused(file('a.safetensors', header('{"w": {"dtype": "F32",', 8)), 'not valid JSON');
    await expectRefused(
      file('b.safetensors', header('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}', 8)),
      'needs 8',
    );
    await expectRefused(
      file('c.safetensors', header('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', 8)),
      'beyond',
    );
    await expectRefused(
      file(
        'd.safetensors',
        header(
          '{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}',
          8,
        ),
      ),
      'overlap',
    );
    await expectRefused(
      file('e.safetensors', header('{"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}', 8)),
      'shape',
    );
    await expectRefused(
      file('f.safetensors', header('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}', 8)),
      'data_offsets',
    );
    await expectRefused(
      file('g.safetensors', header(tensor(', "__metadata__": {"a": 1}'), 8)),
      '__metadata__',
    );
    await expectRefused(
      file('h.safetensors', header('{"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}', 2)),
      'F8_E4M3',
      'not_supported',
    );
  });

  it('refuses shard indexes that escape their folder or miss shards', async () => {
    const escape = file(
      'model.safetensors.index.json',
      JSON.stringify({ weight_map: { w: '../other/model.safetensors' } }),
    );
    await expectRefused(escape, 'outside its folder');
    const missing = file(
      'model.safetensors.index.json',
      JSON.stringify({ weight_map: { w: 'model-00001-of-00002.safetensors' } }),
    );
    await expectRefused(missing, 'missing');
  });

  it('reads a sharded checkpoint with its metadata, and tells an eval set from a state dict', async () => {
    const folder = path.join(dir, 'sharded');
    writeSafetensors(
      path.join(folder, 'model-00001-of-00002.safetensors'),
      { a: f32([1, 2], [2]) },
      { format: 'pt', note: 'kept' },
    );
    writeSafetensors(path.join(folder, 'model-00002-of-00002.safetensors'), { b: f32([3], [1]) });
    fs.writeFileSync(
      path.join(folder, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 12 },
        weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
      }),
    );
    const ing = openIngredient(folder);
    expect(ing.path).toBe(path.join(folder, 'model.safetensors.index.json'));
    expect(ing.metadata).toEqual({ format: 'pt', note: 'kept' });
    expect([...((await ing.readTensor('b')) as Float32Array)]).toEqual([3]);
    expect(ing.files).toHaveLength(3);
    const evalset = path.join(dir, 'evalset.safetensors');
    writeSafetensors(evalset, { image: f32(new Float32Array(8), [2, 4]), labels: i64([0n, 1n], [2]) });
    await expectRefused(evalset, 'eval set');
  });
});

describe('hostile ONNX', () => {
  it('refuses garbage, truncated models and models without a graph', async () => {
    await expectRefused(
      file('a.onnx', Buffer.from('\u0089PNG\r\n\u001a\n not an onnx model at all')),
      'ONNX',
    );
    const good = writeMlp(path.join(dir, 'good', 'model.onnx'), randomMlp(1));
    const bytes = fs.readFileSync(good);
    await expectRefused(file('b.onnx', bytes.subarray(0, bytes.length - 30)), 'ONNX');
    await expectRefused(
      file('c.onnx', toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n }))),
      'no graph',
    );
  });

  function externalModel(location: string, offset = 0): Uint8Array {
    const t = floatTensor('w', [2], Float32Array.from([1, 2]), 'external', { file: location, offset });
    const graph = create(GraphProtoSchema, {
      node: [create(NodeProtoSchema, { opType: 'Identity', input: ['w'], output: ['y'] })],
      initializer: [t],
    });
    return toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, graph }));
  }

  it('refuses external data that escapes the folder, is absolute, missing or too short', async () => {
    fs.writeFileSync(path.join(dir, 'secret.bin'), Buffer.alloc(64));
    await expectRefused(file('a.onnx', externalModel('../secret.bin')), 'outside its folder');
    await expectRefused(file('b.onnx', externalModel('sub/../../secret.bin')), 'outside its folder');
    await expectRefused(file('c.onnx', externalModel(path.join(dir, 'secret.bin'))), 'absolute path');
    await expectRefused(file('d.onnx', externalModel('weights.bin')), 'missing');
    const short = file('e.onnx', externalModel('weights.bin', 4));
    fs.writeFileSync(path.join(path.dirname(short), 'weights.bin'), Buffer.alloc(8));
    await expectRefused(short, 'beyond the end');
    const linked = file('f.onnx', externalModel('link.bin'));
    fs.symlinkSync(path.join(dir, 'secret.bin'), path.join(path.dirname(linked), 'link.bin'));
    await expectRefused(linked, 'outside its folder');
  });

  it('refuses raw_data whose size does not match the shape', async () => {
    const t = floatTensor('w', [3], Float32Array.from([1, 2]), 'raw');
    const graph = create(GraphProtoSchema, {
      node: [create(NodeProtoSchema, { opType: 'Identity', input: ['w'], output: ['y'] })],
      initializer: [t],
    });
    await expectRefused(
      file('a.onnx', toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n, graph }))),
      'raw_data has 8 bytes',
    );
  });

  it('refuses a PyTorch file that is no PyTorch checkpoint, naming it', async () => {
    for (const name of ['model.pt', 'pytorch_model.bin']) {
      const error = await failure(file(name, 'PK'));
      expect(error?.message).toContain(name);
    }
  });
});

describe('export warnings', () => {
  it('warns about BatchNorm folded into Conv weights with generated names', async () => {
    const names = { w1: 'onnx::Conv_36', b1: 'onnx::Conv_37', w2: 'fc2.weight', b2: 'fc2.bias' };
    const f = writeMlp(path.join(dir, 'folded', 'model.onnx'), randomMlp(2), {
      names,
      extraNodes: [node('Conv', ['x', 'onnx::Conv_36', 'onnx::Conv_37'], ['c'])],
    });
    const { families } = await groupFamilies([openIngredient(f)]);
    const warning = families[0]!.warnings.find((w) => w.code === 'folded_batchnorm');
    expect(warning?.tensors).toEqual(['onnx::Conv_36', 'onnx::Conv_37']);
    expect(warning?.message).toContain('TrainingMode.PRESERVE');
    expect(warning?.message).toContain('no BatchNormalization node');
  });

  it('does not warn about Linear weights transposed into onnx::MatMul_N', async () => {
    const names = { w1: 'onnx::MatMul_12', b1: 'fc1.bias', w2: 'onnx::MatMul_13', b2: 'fc2.bias' };
    const f = writeMlp(path.join(dir, 'matmul', 'model.onnx'), randomMlp(3), { names });
    const { families } = await groupFamilies([openIngredient(f)]);
    expect(families[0]!.warnings).toEqual([]);
  });

  it('warns about quantized or fused operators', async () => {
    const f = writeMlp(path.join(dir, 'quant', 'model.onnx'), randomMlp(4), {
      extraNodes: [node('QLinearMatMul', ['x'], ['q']), node('DequantizeLinear', ['q'], ['d'])],
    });
    const { families } = await groupFamilies([openIngredient(f)]);
    expect(families[0]!.warnings.map((w) => w.code)).toEqual(['quantized_or_fused']);
    expect(families[0]!.warnings[0]!.message).toContain('DequantizeLinear, QLinearMatMul');
  });
});

describe('families', () => {
  it('explains shape, dtype and missing-tensor mismatches and detects duplicates', async () => {
    const folder = path.join(dir, 'fam');
    const sd = (w: number[]) => ({
      'a.weight': f32(w, [2, 2]),
      'a.bias': f32([0, 0], [2]),
      steps: i64([5n], [1]),
    });
    const a = writeSafetensors(path.join(folder, 'a', 'model.safetensors'), sd([1, 2, 3, 4]));
    const b = writeSafetensors(path.join(folder, 'b', 'model.safetensors'), sd([1, 2, 3, 5]));
    const dup = writeSafetensors(path.join(folder, 'c', 'model.safetensors'), sd([1, 2, 3, 5]));
    const shape = writeSafetensors(path.join(folder, 'd', 'model.safetensors'), {
      'a.weight': f32([1, 2, 3, 4, 5, 6], [3, 2]),
      'a.bias': f32([0, 0], [2]),
      steps: i64([5n], [1]),
    });
    const missing = writeSafetensors(path.join(folder, 'e', 'model.safetensors'), {
      'a.weight': f32([1, 2, 3, 4], [2, 2]),
      steps: i64([5n], [1]),
    });
    const report = await groupFamilies([a, b, dup, shape, missing].map((p) => openIngredient(p)));
    expect(report.families[0]!.members.map((m) => m.path)).toEqual([a, b]);
    expect(report.families[0]!.duplicates).toEqual([
      { kept: b, duplicates: [dup], sha256: expect.any(String) },
    ]);
    expect(report.families[0]!.warnings.map((w) => w.code)).toEqual(['no_graph', 'duplicate']);
    const byPath = new Map(report.mismatches.map((m) => [m.path, m]));
    expect(byPath.get(shape)!.message).toContain('"a.weight" [3, 2] vs [2, 2]');
    expect(byPath.get(missing)!.details[0]!.kind).toBe('missing_tensors');
    expect(byPath.get(missing)!.message).toContain('"a.bias"');
  });
});

describe('integer tensors', () => {
  it('are copied when identical and refused when they differ, naming the tensor and both files', async () => {
    const folder = path.join(dir, 'ints');
    const sd = (step: bigint) => ({ w: f32([1, 2], [2]), 'bn.num_batches_tracked': i64([step], [1]) });
    const a = openIngredient(writeSafetensors(path.join(folder, 'a', 'model.safetensors'), sd(7n)));
    const b = openIngredient(writeSafetensors(path.join(folder, 'b', 'model.safetensors'), sd(7n)));
    const c = openIngredient(writeSafetensors(path.join(folder, 'c', 'model.safetensors'), sd(9n)));
    const same = await groupFamilies([a, b]);
    const parts = same.families[0]!.members.map((ingredient) => ({ ingredient, coefficient: 0.5 }));
    await expect(averageIngredients(same.families[0]!, parts)).resolves.toBeDefined();
    const differ = await groupFamilies([a, c]);
    const error = await averageIngredients(
      differ.families[0]!,
      differ.families[0]!.members.map((ingredient) => ({ ingredient, coefficient: 0.5 })),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).code).toBe('family_mismatch');
    expect((error as TureenError).message).toContain('"bn.num_batches_tracked"');
    expect((error as TureenError).message).toContain(c.path);
  });
});

describe('seeded fuzz: a typed error or a valid parse, never a crash or hang', () => {
  async function fuzz(
    name: string,
    seedBytes: Uint8Array,
    count: number,
    seed: number,
  ): Promise<{ parsed: number; refused: number }> {
    const random = seededRandom(seed);
    const folder = path.join(dir, `fuzz-${name}`);
    fs.mkdirSync(folder, { recursive: true });
    const target = path.join(folder, name);
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < count; i++) {
      fs.writeFileSync(target, mutate(seedBytes, random));
      const error = await failure(target).catch((e: unknown) => {
        throw new Error(
          `case ${i} of ${name} (seed ${seed}) threw a non-Tureen error: ${(e as Error).stack}`,
        );
      });
      if (error) refused++;
      else parsed++;
    }
    return { parsed, refused };
  }

  it('safetensors: 2000 mutated files', async () => {
    const bytes = safetensorsBytes(
      { 'a.weight': f32([1, 2, 3, 4, 5, 6], [2, 3]), 'a.bias': f32([1, 2], [2]), step: i64([3n], [1]) },
      { format: 'pt' },
    );
    const { parsed, refused } = await fuzz('model.safetensors', bytes, 2000, 1234);
    expect(parsed + refused).toBe(2000);
    expect(refused).toBeGreaterThan(500);
  });

  it('ONNX: 1500 mutated files (raw, typed and external storage)', async () => {
    const raw = fs.readFileSync(writeMlp(path.join(dir, 'seed-raw', 'model.onnx'), randomMlp(5)));
    const typed = fs.readFileSync(
      writeMlp(path.join(dir, 'seed-typed', 'model.onnx'), randomMlp(6), { storage: 'typed' }),
    );
    const ext = writeMlp(path.join(dir, 'fuzz-model.onnx', 'model.onnx'), randomMlp(7), {
      storage: 'external',
    });
    const extBytes = fs.readFileSync(ext);
    const results = [
      await fuzz('model.onnx', raw, 500, 1),
      await fuzz('model.onnx', typed, 500, 2),
      await fuzz('model.onnx', extBytes, 500, 3),
    ];
    expect(results.reduce((s, r) => s + r.parsed + r.refused, 0)).toBe(1500);
  });
});
