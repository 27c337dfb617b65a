import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefetchOnnx, readOnnxModel } from '../../../src-main/core/checkpoints/onnx-file.js';
import { randomMlp, writeMlp } from './build-onnx.js';

// openFamily reads ONNX files ahead into a reused buffer so the serving thread only parses them; what is
// read must always be the file as it is now, never bytes prefetched for another file or an older version.
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-prefetch-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const names = (extra: string) => ({
  w1: `fc1.weight${extra}`,
  b1: 'fc1.bias',
  w2: 'fc2.weight',
  b2: 'fc2.bias',
});

describe('prefetchOnnx', () => {
  it('gives readOnnxModel the same result as a plain read', async () => {
    const a = writeMlp(path.join(dir, 'a.onnx'), randomMlp(1));
    const plain = readOnnxModel(a);
    await prefetchOnnx(a);
    expect(readOnnxModel(a)).toEqual(plain);
  });

  it('never answers for another file, nor for a file that changed after the prefetch', async () => {
    const a = writeMlp(path.join(dir, 'b.onnx'), randomMlp(2));
    const other = writeMlp(path.join(dir, 'c.onnx'), randomMlp(3), { names: names('.other') });
    await prefetchOnnx(a);
    expect(readOnnxModel(other).tensors.map((t) => t.name)).toContain('fc1.weight.other');

    await prefetchOnnx(a);
    // rewritten with a longer tensor name: another size, another graph
    writeMlp(a, randomMlp(2), { names: names('.renamed') });
    const future = new Date(Date.now() + 5000);
    fs.utimesSync(a, future, future);
    expect(readOnnxModel(a).tensors.map((t) => t.name)).toContain('fc1.weight.renamed');
  });
});
