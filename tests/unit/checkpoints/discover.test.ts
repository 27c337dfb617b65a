import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discover } from '../../../src-main/core/checkpoints/discover.js';
import { f32, i64, writeSafetensors } from './build-safetensors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-discover-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function touch(relative: string, text = 'x'): void {
  fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
  fs.writeFileSync(path.join(dir, relative), text);
}

describe('discover', () => {
  it('classifies every file once, in code-unit order of the relative path', () => {
    touch('a-b/model.onnx');
    touch('a/model.onnx');
    touch('a/model.onnx.data');
    touch('a/hparams.json', '{}');
    touch('sweep/graph.onnx');
    writeSafetensors(path.join(dir, 'sweep/run1/model.safetensors'), { w: f32([1], [1]) });
    writeSafetensors(path.join(dir, 'data/test.safetensors'), {
      image: f32([1, 2], [2, 1]),
      labels: i64([0n, 1n], [2]),
    });
    touch('hf/checkpoint-30/pytorch_model.bin.index.json', '{}');
    touch('hf/checkpoint-30/pytorch_model-00001-of-00002.bin');
    touch('hf/checkpoint-30/optimizer.pt');
    touch('hf/checkpoint-30/trainer_state.json', '{}');
    touch('hf/checkpoint-30/rng_state_0.pth');
    touch('lightning/epoch=1-step=9.ckpt');
    touch('lightning/soup.recipe.json', '{}');
    touch('notes/README.md');
    touch('notes/weights.npz');
    touch('.cache/model.onnx');
    const found = discover(dir);
    const rel = (p: string) => path.relative(dir, p).split(path.sep).join('/');
    expect(found.checkpoints.map((c) => [rel(c.path), c.kind])).toEqual([
      ['a-b/model.onnx', 'onnx'],
      ['a/model.onnx', 'onnx'],
      ['hf/checkpoint-30/pytorch_model.bin.index.json', 'torch'],
      ['lightning/epoch=1-step=9.ckpt', 'torch'],
      ['sweep/run1/model.safetensors', 'safetensors'],
    ]);
    expect(found.evalSets.map(rel)).toEqual(['data/test.safetensors']);
    expect(found.graphs.map(rel)).toEqual(['sweep/graph.onnx']);
    expect(found.sidecars.map(rel)).toEqual([
      'a/hparams.json',
      'a/model.onnx.data',
      'hf/checkpoint-30/pytorch_model-00001-of-00002.bin',
      'hf/checkpoint-30/trainer_state.json',
      'lightning/soup.recipe.json',
    ]);
    expect(found.ignored.map((i) => [rel(i.path), i.reason])).toEqual([
      ['hf/checkpoint-30/optimizer.pt', 'training state, not a model'],
      ['hf/checkpoint-30/rng_state_0.pth', 'training state, not a model'],
      ['notes/weights.npz', 'not a format Tureen reads (ONNX, safetensors, PyTorch)'],
    ]);
    expect(found.otherFiles).toBe(1);
  });

  it('refuses a folder that does not exist', () => {
    expect(() => discover(path.join(dir, 'missing'))).toThrow(/does not exist/);
  });
});
