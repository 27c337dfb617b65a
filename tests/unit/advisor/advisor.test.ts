import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Advice } from '../../../src-main/common/api/advisor.js';
import type { CookResult } from '../../../src-main/common/api/recipes.js';
import { runCli } from '../../../src-main/cli/main.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { seededRandom } from '../checkpoints/build-onnx.js';
import { f32, writeSafetensors } from '../checkpoints/build-safetensors.js';
import { writeSafetensors as writeEvalSet, labels as labelTensor } from '../datasets/write-safetensors.js';
import { ensureHostBuilt, fixtureDir } from '../inference/build-host.js';

type AdviceDoc = z.output<typeof Advice>;

/*
 * Generated runs with a known answer, over the fixture MLP's graph (Flatten, Gemm, Relu, Gemm; 16 → 12 → 6):
 * a base B; six runs B + D + ε_i fine-tuned along one shared direction D (small against B, as fine-tuning
 * is); a run pushed 12× further along D with noise (the too-high learning rate); and a run that starts
 * from an independent initialisation X + D. Labels come from the "fine-tuned truth" B + D.
 */
const SHAPES: Record<string, number[]> = {
  'fc1.weight': [12, 16],
  'fc1.bias': [12],
  'fc2.weight': [6, 12],
  'fc2.bias': [6],
};
const SCALE: Record<string, number> = {
  'fc1.weight': 0.6,
  'fc1.bias': 0.1,
  'fc2.weight': 0.8,
  'fc2.bias': 0.1,
};
type Weights = Record<string, Float32Array>;

function normal(random: () => number): () => number {
  return () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}
function draw(seed: number, relative: number): Weights {
  const g = normal(seededRandom(seed));
  const out: Weights = {};
  for (const [name, shape] of Object.entries(SHAPES))
    out[name] = Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      () => g() * SCALE[name]! * relative,
    );
  return out;
}
function combine(parts: Array<[Weights, number]>): Weights {
  const out: Weights = {};
  for (const name of Object.keys(SHAPES))
    out[name] = Float32Array.from(parts[0]![0][name]!, (_, k) =>
      parts.reduce((s, [w, c]) => s + c * w[name]![k]!, 0),
    );
  return out;
}
function writeRun(file: string, w: Weights): string {
  return writeSafetensors(
    file,
    Object.fromEntries(Object.entries(SHAPES).map(([name, shape]) => [name, f32(w[name]!, shape)])),
  );
}
/** The MLP in float64, as the ONNX graph computes it (Gemm with transB = 1). */
function forward(w: Weights, x: Float64Array): number[] {
  const h = Array.from({ length: 12 }, (_, j) => {
    let s = w['fc1.bias']![j]!;
    for (let k = 0; k < 16; k++) s += w['fc1.weight']![j * 16 + k]! * x[k]!;
    return Math.max(0, s);
  });
  return Array.from({ length: 6 }, (_, c) => {
    let s = w['fc2.bias']![c]!;
    for (let j = 0; j < 12; j++) s += w['fc2.weight']![c * 12 + j]! * h[j]!;
    return s;
  });
}
function distance(a: Weights, b: Weights): number {
  let s = 0;
  for (const name of Object.keys(SHAPES))
    for (let k = 0; k < a[name]!.length; k++) s += (a[name]![k]! - b[name]![k]!) ** 2;
  return Math.sqrt(s);
}
/** Exact two-sided McNemar p from scratch: 2·Σ_{i ≤ min(b, c)} C(b + c, i) / 2^(b + c), in BigInt, capped at 1. */
function mcnemarFromScratch(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  let coefficient = 1n;
  let tail = 0n;
  for (let i = 0; i <= Math.min(b, c); i++) {
    tail += coefficient;
    coefficient = (coefficient * BigInt(n - i)) / BigInt(i + 1);
  }
  const scale = 10n ** 30n;
  return Math.min(1, (2 * Number((tail * scale) / 2n ** BigInt(n))) / 1e30);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-advisor-'));
const kitchenDir = path.join(tmp, 'kitchen');
const holdoutFile = path.join(kitchenDir, 'data', 'holdout.safetensors');
const N = 600;
const base = draw(1, 1);
const direction = draw(2, 0.1);
const weights: Record<string, Weights> = {};
for (let i = 1; i <= 6; i++)
  weights[`run-0${i}_lr=${i}e-4`] = combine([
    [base, 1],
    [direction, 1],
    [draw(10 + i, 0.03), 1],
  ]);
weights['run-hot_lr=5e-2'] = combine([
  [base, 1],
  [direction, 12],
  [draw(30, 0.3), 1],
]);
weights['other-init_lr=3e-4'] = combine([
  [draw(40, 1), 1],
  [direction, 1],
  [draw(41, 0.03), 1],
]);
const fileOf = (run: string) => path.join(kitchenDir, 'runs', run, 'model.safetensors');
let kitchen: Kitchen;
let advice: AdviceDoc;

beforeAll(async () => {
  ensureHostBuilt();
  fs.mkdirSync(kitchenDir, { recursive: true });
  fs.copyFileSync(path.join(fixtureDir, 'kitchen/base/model.onnx'), path.join(kitchenDir, 'graph.onnx'));
  writeRun(path.join(kitchenDir, 'base', 'model.safetensors'), base);
  for (const [run, w] of Object.entries(weights)) writeRun(fileOf(run), w);
  // Held-out images: uint8 pixels, labels from the fine-tuned truth B + D on the normalised input.
  const random = seededRandom(99);
  const pixels = Uint8Array.from({ length: N * 16 }, () => Math.floor(random() * 256));
  const truth = combine([
    [base, 1],
    [direction, 1],
  ]);
  const labels = Array.from({ length: N }, (_, i) => {
    const x = Float64Array.from(pixels.subarray(i * 16, i * 16 + 16), (p) => (p / 255 - 0.5) / 0.25);
    const logits = forward(truth, x);
    return logits.indexOf(Math.max(...logits));
  });
  fs.mkdirSync(path.dirname(holdoutFile), { recursive: true });
  writeEvalSet(
    holdoutFile,
    { image: { dtype: 'U8', shape: [N, 1, 4, 4], data: pixels }, labels: labelTensor(labels) },
    {
      'tureen.name': 'holdout',
      'tureen.role': 'holdout',
      'tureen.transform': JSON.stringify({
        image: { scale: 1 / 255, mean: [0.5], std: [0.25], channel_axis: 1 },
      }),
    },
  );
  kitchen = new Kitchen({ transport: 'cli', dataDir: path.join(tmp, 'data'), demoKitchen: null });
  const { jobId } = await kitchen.call('advisor:run', { ingredients: [kitchenDir], holdout: holdoutFile });
  const summary = await kitchen.jobs.wait(jobId);
  if (summary.state !== 'done') throw new Error(JSON.stringify(summary.error));
  advice = summary.result as AdviceDoc;
}, 180_000);
afterAll(() => {
  kitchen?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const entry = (run: string) => advice.ingredients.find((i) => i.path === fileOf(run))!;

describe('advisor on generated runs with a known answer', () => {
  it('puts the run from another initialisation in its own lineage group, and names it', () => {
    const other = fileOf('other-init_lr=3e-4');
    expect(advice.base).toBe(path.join(kitchenDir, 'base', 'model.safetensors'));
    expect(advice.lineage.groups).toHaveLength(2);
    expect(advice.lineage.groups[1]).toEqual([other]);
    expect(advice.lineage.groups[0]!.sort()).toEqual(
      Object.keys(weights)
        .filter((r) => !r.startsWith('other'))
        .map(fileOf)
        .sort(),
    );
    expect(advice.lineage.notes[0]).toMatch(/^other-init \(lr = 3e-4\): did not start from the base/);
    expect(entry('other-init_lr=3e-4').outlier).toBe(true);
    expect(entry('other-init_lr=3e-4').reasons[0]).toMatch(
      /^other-init \(lr = 3e-4\) did not start from the base/,
    );
    expect(advice.lineage.head.map((h) => [h.name, h.shape])).toEqual([
      ['fc2.weight', [6, 12]],
      ['fc2.bias', [6]],
    ]);
  });

  it('flags the run moved far from the base, with its learning rate and the distance ratio in words', () => {
    // task-vector norms against an independent float64 computation from the generated weights
    for (const [run, w] of Object.entries(weights))
      expect(entry(run).task_vector_norm! / distance(w, base)).toBeCloseTo(1, 9);
    const norms = Object.entries(weights)
      .map(([, w]) => distance(w, base))
      .sort((a, b) => a - b);
    const medianNorm = (norms[3]! + norms[4]!) / 2;
    const ratio = distance(weights['run-hot_lr=5e-2']!, base) / medianNorm;
    const hot = entry('run-hot_lr=5e-2');
    expect(hot.outlier).toBe(true);
    expect(hot.reasons[0]).toBe(
      `run-hot (lr = 5e-2) is ${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}× further from the base than the median run (‖θ − θ_base‖ = ${distance(weights['run-hot_lr=5e-2']!, base).toPrecision(3)} vs ${medianNorm.toPrecision(3)})`,
    );
    for (let i = 1; i <= 6; i++) expect(entry(`run-0${i}_lr=${i}e-4`).outlier).toBe(false);
    expect(advice.verdict).toContain('run-hot (lr = 5e-2)');
    expect(advice.verdict).toContain('other-init (lr = 3e-4)');
    expect(advice.outlook.excluded.sort()).toEqual(
      [fileOf('other-init_lr=3e-4'), fileOf('run-hot_lr=5e-2')].sort(),
    );
  });

  it('reports the midpoint accuracy that cooking interpolate --alpha 0.5 gives, evaluated the usual way', async () => {
    const a = fileOf('run-01_lr=1e-4');
    const b = fileOf('run-hot_lr=5e-2');
    const pair = advice.pairs.find((p) => p.a === a && p.b === b)!;
    // a separate kitchen (its own logits cache), so the cook really evaluates the interpolated weights
    const other = new Kitchen({ transport: 'cli', dataDir: path.join(tmp, 'data-cook'), demoKitchen: null });
    try {
      const { jobId } = await other.call('recipes:cook', {
        method: 'interpolate',
        ingredients: [a, b],
        holdout: holdoutFile,
        alphas: [0.5],
      });
      const summary = await other.jobs.wait(jobId);
      if (summary.state !== 'done') throw new Error(JSON.stringify(summary.error));
      const cooked = summary.result as z.output<typeof CookResult>;
      const held = cooked.recipe.points![0]!.metrics['holdout']!;
      expect(pair.midpoint_top1).toBe(held.top1);
      expect(pair.points).toEqual([{ alpha: 0.5, correct: held.correct, top1: held.top1 }]);
    } finally {
      other.close();
    }
    const ends = [entry('run-01_lr=1e-4'), entry('run-hot_lr=5e-2')];
    expect(pair.barrier).toBeCloseTo(
      (ends[0]!.holdout_top1 + ends[1]!.holdout_top1) / 2 - pair.midpoint_top1,
      12,
    );
    expect(advice.pairs).toHaveLength((8 * 7) / 2);
  }, 60_000);

  it("tests each greedy step with McNemar's exact test, as an independent binomial tail gives it", () => {
    const steps = advice.greedy!.steps;
    expect(steps).toHaveLength(8);
    let current = steps[0]!.holdout_correct;
    for (const step of steps.slice(1)) {
      // the images it changed account exactly for the change in the held-out count
      expect(step.better - step.worse).toBe(step.holdout_correct - current);
      expect(Math.abs(step.p - mcnemarFromScratch(step.better, step.worse))).toBeLessThan(1e-12);
      expect(step.explanation).toMatch(step.accepted ? /^accepted: / : /^rejected: /);
      expect(step.explanation).toContain(`${step.better} better, ${step.worse} worse`);
      if (step.accepted) current = step.holdout_correct;
    }
    expect(advice.greedy!.size).toBe(steps.filter((s) => s.accepted).length);
  });

  it('prints the tureen/advise@1 document with --json (pairs among the k best)', async () => {
    let stdout = '';
    const code = await runCli(
      [
        'advise',
        kitchenDir,
        '--holdout',
        holdoutFile,
        '--pairs',
        '3',
        '--points',
        '0.25,0.5',
        '--no-greedy',
        '--json',
        '--db',
        path.join(tmp, 'data', 'tureen.db'),
      ],
      { stdout: (t) => (stdout += t), stderr: () => {}, isTTY: false },
    );
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Record<string, unknown> & AdviceDoc & { schema: string };
    expect(doc.schema).toBe('tureen/advise@1');
    for (const i of doc.ingredients)
      expect(Object.keys(i)).toEqual(
        expect.arrayContaining(['path', 'holdout_top1', 'task_vector_norm', 'outlier', 'reasons']),
      );
    expect(doc.pairs).toHaveLength(3);
    for (const p of doc.pairs) {
      expect(Object.keys(p)).toEqual(
        expect.arrayContaining(['a', 'b', 'cosine', 'midpoint_top1', 'barrier']),
      );
      expect(p.points.map((x) => x.alpha)).toEqual([0.25, 0.5]);
      const ends = [p.a, p.b].map((f) => doc.ingredients.find((i) => i.path === f)!.holdout_top1);
      const line = (alpha: number) => (1 - alpha) * ends[0]! + alpha * ends[1]!;
      expect(p.barrier).toBeCloseTo(Math.max(...p.points.map((x) => line(x.alpha) - x.top1)), 12);
    }
    expect(doc.lineage.groups.flat().sort()).toEqual(Object.keys(weights).map(fileOf).sort());
    expect(typeof doc.verdict).toBe('string');
    expect(doc.outlook).toHaveProperty('ensemble_top1');
    expect(doc.greedy).toBeNull();
  }, 60_000);
});
