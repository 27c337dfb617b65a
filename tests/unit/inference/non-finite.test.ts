import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import type { MlpWeights } from '../checkpoints/build-onnx.js';
import { mlpReference, randomMlp, seededRandom, writeMlp } from '../checkpoints/build-onnx.js';
import { writeSafetensors } from '../datasets/write-safetensors.js';
import { ensureHostBuilt } from './build-host.js';

/**
 * Overflowing weights and NaN/Inf pixels give logits that are not numbers. They used to end `tureen eval`
 * with "NOT NULL constraint failed: evaluations.nll"; now they are a finding: the count of such examples,
 * top-1 with those examples as misses, NLL and ECE null.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-non-finite-'));
const N = 10;

/** An eval set for the test MLP (input x: [N, 4] float32, labels). */
function writeSet(file: string, x: Float32Array, labels: number[]): string {
  writeSafetensors(file, {
    x: { dtype: 'F32', shape: [N, 4], data: x },
    labels: { dtype: 'I64', shape: [N], data: BigInt64Array.from(labels.map(BigInt)) },
  });
  return file;
}

/** Float64 forward pass of one row (the reference), argmax with the first index on ties. */
function referenceRow(w: MlpWeights, row: ArrayLike<number>): { logits: number[]; argmax: number } {
  const logits = mlpReference(w, [...Array.from(row), ...Array.from(row)]).slice(0, 3);
  let argmax = 0;
  for (let j = 1; j < 3; j++) if (logits[j]! > logits[argmax]!) argmax = j;
  return { logits, argmax };
}

beforeAll(() => {
  ensureHostBuilt();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('threads', () => {
  it('caps --threads at the core count, stores what ran and says so', async () => {
    const model = writeMlp(path.join(tmp, 'threads', 'model.onnx'), randomMlp(21));
    const x = Float32Array.from({ length: N * 4 }, (_, i) => (i % 7) / 7);
    const set = writeSet(
      path.join(tmp, 'threads-set.safetensors'),
      x,
      Array.from({ length: N }, (_, i) => i % 3),
    );
    const kitchen = new Kitchen({
      transport: 'cli',
      dataDir: path.join(tmp, 'threads-home'),
      demoKitchen: null,
    });
    try {
      const { jobId } = await kitchen.call('evaluations:run', {
        models: [model],
        evalsets: [set],
        batchSize: 2,
        threads: 100_000,
      });
      const result = await kitchen.jobs.wait('evaluations:run', jobId);
      const cores = os.availableParallelism();
      expect(result.evaluations[0]!.threads).toBe(cores);
      expect(result.notes).toEqual([`100000 threads asked, this machine has ${cores} cores: using ${cores}`]);
    } finally {
      kitchen.close();
    }
  });
});

describe('non-finite logits', () => {
  it('CLI: a model with weights of 3.4e38 is evaluated with every example non-finite, not a database error', async () => {
    const huge: MlpWeights = { ...randomMlp(5), w1: new Float32Array(32).fill(3.4e38) };
    const model = writeMlp(path.join(tmp, 'huge', 'model.onnx'), huge);
    const x = Float32Array.from({ length: N * 4 }, (_, i) => 0.5 + (i % 4) / 8);
    const set = writeSet(
      path.join(tmp, 'huge-set.safetensors'),
      x,
      Array.from({ length: N }, (_, i) => i % 3),
    );
    // the premise: every hidden pre-activation x·W1 + b1 is beyond float32's range (3.4028e38)
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < 8; j++) {
        let s = huge.b1[j]!;
        for (let k = 0; k < 4; k++) s += x[i * 4 + k]! * huge.w1[k * 8 + j]!;
        expect(Math.fround(s)).toBe(Infinity);
      }
    }

    const previousHome = process.env.TUREEN_HOME;
    process.env.TUREEN_HOME = path.join(tmp, 'home');
    try {
      for (const run of ['fresh', 'cached']) {
        let stdout = '';
        let stderr = '';
        const code = await runCli(
          ['eval', model, '--data', set, '--batch-size', '2', '--json', '--db', path.join(tmp, 'cli.sqlite')],
          { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false },
        );
        expect(code, `${run}: ${stdout}${stderr}`).toBe(0);
        const doc = JSON.parse(stdout) as { evaluations: Array<Record<string, unknown>> };
        expect(doc.evaluations, run).toHaveLength(1);
        expect(doc.evaluations[0], run).toMatchObject({
          n: N,
          top1: 0,
          nll: null,
          ece: null,
          non_finite: N,
        });
      }
    } finally {
      if (previousHome === undefined) delete process.env.TUREEN_HOME;
      else process.env.TUREEN_HOME = previousHome;
    }
  });

  it('service and store: Inf pixels make some rows non-finite; top-1 counts the others like the reference', async () => {
    const w = randomMlp(11);
    const model = writeMlp(path.join(tmp, 'mlp', 'model.onnx'), w);
    const r = seededRandom(99);
    const x = Float32Array.from({ length: N * 4 }, () => (r() - 0.5) * 4);
    const broken = [1, 4, 7];
    x[1 * 4 + 0] = Infinity;
    x[4 * 4 + 2] = -Infinity;
    x[7 * 4 + 3] = Infinity;
    const reference = Array.from({ length: N }, (_, i) => referenceRow(w, x.subarray(i * 4, i * 4 + 4)));
    for (const i of broken) expect(reference[i]!.logits.every(Number.isFinite), `row ${i}`).toBe(false);
    // labels: the reference prediction on even rows, another class on odd rows
    const labels = reference.map((row, i) => (i % 2 === 0 ? row.argmax : (row.argmax + 1) % 3));
    const expectedCorrect = reference.filter(
      (row, i) => !broken.includes(i) && row.argmax === labels[i],
    ).length;
    const set = writeSet(path.join(tmp, 'inf-pixels.safetensors'), x, labels);

    const kitchen = new Kitchen({ transport: 'cli', dataDir: path.join(tmp, 'service'), demoKitchen: null });
    try {
      const { jobId } = await kitchen.call('evaluations:run', {
        models: [model],
        evalsets: [set],
        batchSize: 2,
      });
      let job = await kitchen.call('jobs:get', { jobId });
      while (job.state === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 50));
        job = await kitchen.call('jobs:get', { jobId });
      }
      expect(job.error).toBeNull();
      const [stored] = (await kitchen.call('evaluations:matrix', { models: [model] })).evaluations;
      expect(stored).toMatchObject({
        n: N,
        nonFinite: broken.length,
        correct: expectedCorrect,
        top1: expectedCorrect / N,
        nll: null,
        ece: null,
      });
    } finally {
      kitchen.close();
    }
  });
});
