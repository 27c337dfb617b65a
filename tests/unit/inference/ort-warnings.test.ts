import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labels, writeSafetensors } from '../datasets/write-safetensors.js';

/**
 * onnxruntime warns once per initializer no node uses. A model with 20,000 of them made `tureen eval` print
 * 20,000 lines from the inference host (100,000 took over a minute); the host now asks onnxruntime for
 * errors only, and failures still arrive as exceptions.
 */
const UNUSED = 20_000;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-ort-warnings-'));
  const floats = (values: number[], dims: number[], name: string) => ({
    name,
    dataType: 1,
    dims: dims.map(BigInt),
    rawData: new Uint8Array(Float32Array.from(values).buffer),
  });
  const int64s = (values: number[], dims: number[], name: string) => ({
    name,
    dataType: 7,
    dims: dims.map(BigInt),
    rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer),
  });
  const type = (dims: Array<number | string>) => ({
    value: {
      case: 'tensorType' as const,
      value: {
        elemType: 1,
        shape: {
          dim: dims.map((d) =>
            typeof d === 'string'
              ? { value: { case: 'dimParam' as const, value: d } }
              : { value: { case: 'dimValue' as const, value: BigInt(d) } },
          ),
        },
      },
    },
  });
  const write = (
    file: string,
    node: Array<{ opType: string; input: string[]; output: string[] }>,
    initializer: Array<ReturnType<typeof floats> | ReturnType<typeof int64s>>,
  ) =>
    fs.writeFileSync(
      path.join(dir, file),
      toBinary(
        ModelProtoSchema,
        create(ModelProtoSchema, {
          irVersion: 8n,
          opsetImport: [{ domain: '', version: 13n }],
          graph: {
            name: file,
            node,
            initializer,
            input: [{ name: 'x', type: type(['N', 4]) }],
            output: [{ name: 'logits', type: type(['N', 3]) }],
          },
        }),
      ),
    );
  const W = floats([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], [4, 3], 'W');
  write(
    'model.onnx',
    [{ opType: 'MatMul', input: ['x', 'W'], output: ['logits'] }],
    [W, ...Array.from({ length: UNUSED }, (_, i) => floats([i], [1], `unused${i}`))],
  );
  // a Gather whose index is past the input's 4 columns: valid to load, fails when run
  write(
    'broken.onnx',
    [
      { opType: 'Gather', input: ['x', 'idx'], output: ['picked'] },
      { opType: 'MatMul', input: ['picked', 'W'], output: ['logits'] },
    ],
    [W, int64s([0, 1, 2, 9], [4], 'idx')],
  );
  // rows whose largest of the first three entries is the label: the identity-like W classifies them all
  const x = new Float32Array(8 * 4);
  for (let i = 0; i < 8; i++) x[i * 4 + (i % 3)] = 1;
  writeSafetensors(path.join(dir, 'set.safetensors'), {
    x: { dtype: 'F32', shape: [8, 4], data: x },
    labels: labels([0, 1, 2, 0, 1, 2, 0, 1]),
  });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a model with thousands of unused initializers', () => {
  it('evaluates without onnxruntime printing a warning per initializer', () => {
    const cli = path.resolve(__dirname, '../../../bin/tureen.js');
    const res = spawnSync(
      process.execPath,
      [cli, 'eval', path.join(dir, 'model.onnx'), '--data', path.join(dir, 'set.safetensors'), '--json'],
      { encoding: 'utf8', env: { ...process.env, TUREEN_HOME: dir }, timeout: 120_000 },
    );
    expect(res.status).toBe(0);
    const doc = JSON.parse(res.stdout) as { evaluations: Array<{ top1: number; n: number }> };
    expect(doc.evaluations[0]).toMatchObject({ top1: 1, n: 8 });
    expect(res.stderr).not.toMatch(/Removing initializer/);
    expect(res.stderr.split('\n').length).toBeLessThan(20);
  }, 150_000);
});

describe('a model onnxruntime cannot run', () => {
  it('fails its evaluation naming the model file and the eval set, not only the node', () => {
    const cli = path.resolve(__dirname, '../../../bin/tureen.js');
    const model = path.join(dir, 'broken.onnx');
    const set = path.join(dir, 'set.safetensors');
    const res = spawnSync(process.execPath, [cli, 'eval', model, '--data', set, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, TUREEN_HOME: dir },
      timeout: 120_000,
    });
    expect(res.status).toBe(1);
    const doc = JSON.parse(res.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('inference_failed');
    expect(doc.error.message).toContain(model);
    expect(doc.error.message).toContain(set);
    expect(doc.error.message).toMatch(/Gather/);
  }, 150_000);
});
