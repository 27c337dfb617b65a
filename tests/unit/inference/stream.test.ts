import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalSet } from '../../../src-main/core/datasets/evalset.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { toFloat32Input } from '../../../src-main/core/datasets/transform.js';
import { Evaluator } from '../../../src-main/core/inference/evaluator.js';
import type { EvalModel } from '../../../src-main/core/inference/evaluator.js';
import { InferenceHost } from '../../../src-main/core/inference/host.js';
import { LogitsCache } from '../../../src-main/core/inference/logits-cache.js';
import { computeMetrics } from '../../../src-main/core/inference/metrics.js';
import { forkSpawner } from '../../../src-main/core/inference/spawner.js';
import { labels, writeSafetensors } from '../datasets/write-safetensors.js';
import { ensureHostBuilt, fixtureDir } from './build-host.js';
import { writeTinyModel } from './tiny-model.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof Ort;
const kitchen = path.join(fixtureDir, 'kitchen');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-stream-'));
const options = { provider: 'cpu', threads: 1, batchSize: 64 };
let host: InferenceHost;
let evaluator: Evaluator;

beforeAll(() => {
  host = new InferenceHost(forkSpawner(ensureHostBuilt()));
  evaluator = new Evaluator(host, new LogitsCache(path.join(tmp, 'cache')));
});
afterAll(() => {
  host.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const fileModel = (file: string, key = ''): EvalModel => ({
  hash: `file:${file}${key}`,
  label: path.basename(file),
  path: file,
  source: () => ({ kind: 'file', path: file }),
});

/**
 * The in-memory path as it was before streaming: the whole input cast to float32 by the plain formula, then
 * run in batches of the same size with the host's session options, in this process.
 */
async function inMemoryLogits(modelFile: string, set: EvalSet, batchSize: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(modelFile, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const input = set.inputs[0]!;
  const all = set.batch(0, set.n).inputs[0]!.bytes;
  const data = toFloat32Input(input.dtype, input.shape, all, set.transforms[input.name]);
  const rowShape = input.shape.slice(1);
  const row = rowShape.reduce((a, b) => a * b, 1);
  const parts: Float32Array[] = [];
  for (let start = 0; start < set.n; start += batchSize) {
    const count = Math.min(batchSize, set.n - start);
    const feed = new ort.Tensor('float32', data.subarray(start * row, (start + count) * row), [
      count,
      ...rowShape,
    ]);
    const outputs = await session.run({ [input.name]: feed });
    parts.push(Float32Array.from(outputs[session.outputNames[0]!]!.data as Float32Array));
  }
  await session.release();
  const logits = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const part of parts) {
    logits.set(part, at);
    at += part.length;
  }
  return logits;
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** n seeded colour images [n, 3, side, side] with ImageNet's normalisation, and labels of 10 classes */
function writeImageSet(file: string, n: number, side: number): void {
  const per = 3 * side * side;
  const data = new Uint8Array(n * per);
  let seed = 1;
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 23;
  writeSafetensors(
    file,
    {
      image: { dtype: 'U8', shape: [n, 3, side, side], data },
      labels: labels(Array.from({ length: n }, (_, i) => (i * 7) % 10)),
    },
    {
      'tureen.transform': JSON.stringify({
        image: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channel_axis: 1 },
      }),
    },
  );
}

function peakRssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
}

describe('streaming evaluation', () => {
  it('gives the in-memory path’s logits bit for bit, and its metrics', async () => {
    const tiny = path.join(tmp, 'tiny.onnx');
    writeTinyModel(tiny, { channels: 3, height: 8, width: 8, classes: 10 });
    const colour = path.join(tmp, 'colour.safetensors');
    writeImageSet(colour, 300, 8);
    const pairs: Array<[string, string]> = [
      [path.join(kitchen, 'sweep/run-00/model.onnx'), path.join(kitchen, 'data/test.safetensors')],
      [path.join(kitchen, 'sweep/run-03/model.onnx'), path.join(kitchen, 'data/shift-noise.safetensors')],
      [path.join(kitchen, 'sweep/run-01/model.onnx'), path.join(kitchen, 'data/shift-subset.safetensors')],
      [tiny, colour],
    ];
    for (const [model, file] of pairs) {
      const set = readEvalSet(file);
      // a batch size that does not divide n: the last batch is short. The second run is another model key
      // (no logits-cache hit), served from the float32 form the host kept after the first (a small set)
      for (const batchSize of [64, 7]) {
        const streamed = await evaluator.evaluate(fileModel(model, `:${batchSize}`), set, {
          ...options,
          batchSize,
        });
        expect(streamed.cached).toBe(false);
        const reference = await inMemoryLogits(model, set, batchSize);
        expect(bytesOf(streamed.logits.data).equals(bytesOf(reference)), `${model} on ${file}`).toBe(true);
        expect(streamed.metrics).toEqual(
          computeMetrics(
            { n: set.n, classes: streamed.logits.classes, data: reference },
            set.labels,
            set.classSubset,
          ),
        );
      }
    }
  });

  it('evaluates a set many batches long without holding it: the host’s peak memory stays near one batch', async () => {
    // 6144 examples of 3x64x64 bytes: 72 MiB stored, 288 MiB as float32 (more than the host keeps, 256 MiB);
    // batches of 64 are 3 MiB
    const side = 64;
    const n = 6144;
    const tiny = path.join(tmp, 'tiny64.onnx');
    writeTinyModel(tiny, { channels: 3, height: side, width: side, classes: 10 });
    const file = path.join(tmp, 'large.safetensors');
    writeImageSet(file, n, side);
    const set = readEvalSet(file);
    const fresh = new InferenceHost(forkSpawner(ensureHostBuilt()));
    try {
      const own = new Evaluator(fresh, new LogitsCache(path.join(tmp, 'cache-large')));
      // load first (a one-example set), so the peak before measures the process with its session
      const one = path.join(tmp, 'one.safetensors');
      writeImageSet(one, 1, side);
      await own.evaluate(fileModel(tiny), readEvalSet(one), options);
      const before = peakRssKiB(fresh.pid!);
      let progressed = 0;
      const out = await own.evaluate(fileModel(tiny), set, {
        ...options,
        onProgress: () => progressed++,
      });
      const grown = peakRssKiB(fresh.pid!) - before;
      expect(out.logits.n).toBe(n);
      expect(progressed).toBeGreaterThan(0);
      // the in-memory path grew by the stored set plus its float32 copy (360 MiB); a stream by about a batch
      expect(grown / 1024).toBeLessThan(40);
      const reference = await inMemoryLogits(tiny, set, options.batchSize);
      expect(bytesOf(out.logits.data).equals(bytesOf(reference))).toBe(true);
    } finally {
      fresh.close();
    }
  });

  it('refuses to return logits for a file that changed after the caller hashed it', async () => {
    const tiny = path.join(tmp, 'tiny-change.onnx');
    writeTinyModel(tiny, { channels: 3, height: 8, width: 8, classes: 10 });
    const file = path.join(tmp, 'change.safetensors');
    writeImageSet(file, 50, 8);
    const set = readEvalSet(file);
    const bytes = fs.readFileSync(file);
    bytes[bytes.byteLength - 500]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    const error = await evaluator.evaluate(fileModel(tiny), set, options).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/changed since it was validated/);
  });

  it('hashes the file itself when the caller sends no stamp, and refuses a hash that does not match', async () => {
    const tiny = path.join(tmp, 'tiny-nostamp.onnx');
    writeTinyModel(tiny, { channels: 3, height: 8, width: 8, classes: 10 });
    const file = path.join(tmp, 'nostamp.safetensors');
    writeImageSet(file, 40, 8);
    const set = readEvalSet(file);
    await host.load('nostamp', { kind: 'file', path: tiny }, 'cpu', 1);
    const good = await host.evaluate('nostamp', { file, hash: set.hash }, 16);
    expect(good.n).toBe(40);
    const error = await host
      .evaluate('nostamp', { file, hash: '0'.repeat(64) }, 16)
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/changed since it was validated/);
  });
});
