import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TureenError } from '../../../src-main/common/errors.js';
import { readEvalSet } from '../../../src-main/core/datasets/evalset.js';
import { Evaluator } from '../../../src-main/core/inference/evaluator.js';
import type { EvalModel } from '../../../src-main/core/inference/evaluator.js';
import { InferenceHost } from '../../../src-main/core/inference/host.js';
import { LogitsCache } from '../../../src-main/core/inference/logits-cache.js';
import { forkSpawner } from '../../../src-main/core/inference/spawner.js';
import { ensureHostBuilt, fixtureDir } from './build-host.js';

const kitchen = path.join(fixtureDir, 'kitchen');
const expected = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'expected.json'), 'utf8')) as {
  models: Record<
    string,
    Record<
      string,
      { n: number; correct: number; top1: number; top5: number | null; nll: number; ece: number }
    >
  >;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-host-'));
let host: InferenceHost;
let evaluator: Evaluator;

const fileModel = (rel: string): EvalModel => {
  const file = path.join(kitchen, rel);
  return { hash: `file:${rel}`, label: rel, path: file, source: () => ({ kind: 'file', path: file }) };
};
const options = { provider: 'cpu', threads: 1, batchSize: 64 };

beforeAll(() => {
  host = new InferenceHost(forkSpawner(ensureHostBuilt()));
  evaluator = new Evaluator(host, new LogitsCache(path.join(tmp, 'cache')));
});
afterAll(() => {
  host.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('inference host', () => {
  it('evaluates every fixture model on every set like the numpy forward pass', async () => {
    for (const [rel, perSet] of Object.entries(expected.models)) {
      for (const [name, want] of Object.entries(perSet)) {
        const set = readEvalSet(path.join(kitchen, 'data', `${name}.safetensors`));
        const out = await evaluator.evaluate(fileModel(rel), set, options);
        expect(out.metrics.correct, `${rel} on ${name}`).toBe(want.correct);
        // ORT and numpy sum the float32 products in different orders: logits differ by a few ULP
        expect(Math.abs(out.metrics.nll! - want.nll)).toBeLessThan(1e-5);
        expect(Math.abs(out.metrics.ece! - want.ece)).toBeLessThan(1e-5);
        expect(out.provider).toBe('cpu');
      }
    }
  });

  it('serves a repeated evaluation from the logits cache', async () => {
    const set = readEvalSet(path.join(kitchen, 'data/test.safetensors'));
    const first = await evaluator.evaluate(fileModel('sweep/run-02/model.onnx'), set, options);
    const second = await evaluator.evaluate(fileModel('sweep/run-02/model.onnx'), set, options);
    expect(second.cached).toBe(true);
    expect(second.metrics).toEqual(first.metrics);
    expect(Buffer.from(second.logits.data.buffer).equals(Buffer.from(first.logits.data.buffer))).toBe(true);
    const usage = evaluator.cache.usage();
    expect(usage.files).toBeGreaterThan(0);
    const pruned = evaluator.cache.prune(0);
    expect(pruned.usage.files).toBe(0);
    expect(pruned.removedBytes).toBe(usage.bytes);
  });

  it('refuses an eval set that does not fit the model before running it', async () => {
    const bad = path.join(tmp, 'wrong-shape.safetensors');
    const n = 4;
    const header = JSON.stringify({
      image: { dtype: 'U8', shape: [n, 1, 2, 2], data_offsets: [0, 16] },
      labels: { dtype: 'I64', shape: [n], data_offsets: [16, 48] },
    });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(bad, Buffer.concat([len, Buffer.from(header), Buffer.alloc(48)]));
    const error = await evaluator
      .evaluate(fileModel('sweep/run-00/model.onnx'), readEvalSet(bad), options)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).code).toBe('bad_evalset');
    expect((error as TureenError).message).toMatch(/"image" axis 2 is 2 but the model expects 4/);
  });

  it('cancels between batches', async () => {
    const set = readEvalSet(path.join(kitchen, 'data/shift-noise.safetensors'));
    const controller = new AbortController();
    let seen = 0;
    const run = evaluator.evaluate(fileModel('sweep/run-03/model.onnx'), set, {
      ...options,
      batchSize: 1,
      signal: controller.signal,
      onProgress: (done) => {
        seen = done;
        controller.abort();
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect((error as TureenError).code).toBe('cancelled');
    expect(seen).toBeLessThan(set.n);
    // the host is still usable afterwards
    const after = await evaluator.evaluate(fileModel('sweep/run-03/model.onnx'), set, options);
    expect(after.metrics.correct).toBe(expected.models['sweep/run-03/model.onnx']!['shift-noise']!.correct);
  });

  it('reports a killed host as host_crashed, restarts it, and resumes from the cache', async () => {
    const set = readEvalSet(path.join(kitchen, 'data/holdout.safetensors'));
    await evaluator.evaluate(fileModel('sweep/run-04/model.onnx'), set, options);
    const pid = host.pid!;
    const run = evaluator.evaluate(fileModel('sweep/run-05/model.onnx'), set, {
      ...options,
      batchSize: 1,
      onProgress: () => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TureenError);
    expect((error as TureenError).code).toBe('host_crashed');
    // the finished evaluation is not redone; the interrupted one runs in a fresh host
    const cached = await evaluator.evaluate(fileModel('sweep/run-04/model.onnx'), set, options);
    expect(cached.cached).toBe(true);
    const retried = await evaluator.evaluate(fileModel('sweep/run-05/model.onnx'), set, options);
    expect(retried.cached).toBe(false);
    expect(retried.metrics.correct).toBe(expected.models['sweep/run-05/model.onnx']!.holdout!.correct);
    expect(host.pid).not.toBe(pid);
  });
});
