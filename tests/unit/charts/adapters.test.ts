import { describe, expect, it } from 'vitest';
import { CompareTable } from '../../../src-main/common/api/recipes.js';
import {
  evalSetRefs,
  greedyProgress,
  greedySteps,
  interpolationPoints,
  modelScores,
  nameIn,
} from '../../../src-renderer/charts/adapters.js';

const metrics = (top1: number) => ({
  n: 100,
  correct: Math.round(top1 * 100),
  top1,
  top5: null,
  nll: 1,
  ece: 0.1,
});

// A comparison shaped like compare:table's answer, small enough to check by hand.
const table = CompareTable.parse({
  id: 1,
  folders: ['/k'],
  evalsets: [
    { name: 'held', role: 'holdout', path: '/k/held.safetensors', n: 100 },
    { name: 'test', role: 'id', path: '/k/test.safetensors', n: 100 },
    { name: 'rot', role: 'shift', path: '/k/rot.safetensors', n: 100 },
    { name: 'blur', role: 'shift', path: '/k/blur.safetensors', n: 100 },
  ],
  rows: [
    {
      kind: 'base',
      label: 'base',
      ingredients: ['base/model.onnx'],
      metrics: { test: metrics(0.5), rot: metrics(0.3), blur: metrics(0.4) },
      meanShift: 0.35,
    },
    {
      kind: 'ingredient',
      label: 'a',
      ingredients: ['runs/a.onnx'],
      metrics: { test: metrics(0.7), rot: metrics(0.5), blur: metrics(0.6) },
      meanShift: 0.55,
    },
    {
      kind: 'ingredient',
      label: 'b',
      ingredients: ['runs/b.onnx'],
      metrics: { test: metrics(0.8), rot: metrics(0.4), blur: null },
      meanShift: null,
    },
    { kind: 'best_single', label: 'best', ingredients: ['runs/b.onnx'], metrics: {}, meanShift: null },
    {
      kind: 'oracle',
      label: 'oracle',
      ingredients: ['runs/a.onnx', 'runs/b.onnx'],
      metrics: {},
      meanShift: null,
    },
    {
      kind: 'greedy_soup',
      label: 'greedy soup (2)',
      ingredients: ['runs/a.onnx', 'runs/b.onnx'],
      metrics: { test: metrics(0.82) },
      meanShift: 0.6,
    },
    {
      kind: 'ensemble',
      label: 'ensemble (2)',
      ingredients: ['runs/a.onnx', 'runs/b.onnx'],
      metrics: { test: metrics(0.81) },
      meanShift: 0.58,
      relativeCost: 2,
    },
  ].map((r) => ({ params: 10, relativeCost: 1, mcnemarP: {}, recipeId: null, ...r })),
  provider: 'cpu',
  ortVersion: '1.30.0',
  warnings: [],
  createdAt: '2026-11-29T00:00:00Z',
});

describe('comparison → chart points', () => {
  const scores = modelScores(table);

  it('keeps models, drops the best-single and oracle rows, rings the best ingredient', () => {
    expect(scores.map((s) => s.kind)).toEqual(['base', 'ingredient', 'ingredient', 'greedy', 'ensemble']);
    expect(scores.filter((s) => s.best).map((s) => s.label)).toEqual(['runs/b.onnx']);
  });

  it('reads x from the id set, y from the mean over shifts, per-shift values, and cost', () => {
    const a = scores.find((s) => s.label === 'runs/a.onnx')!;
    expect(a).toMatchObject({ id: 0.7, shiftMean: 0.55, shifts: { rot: 0.5, blur: 0.6 }, cost: 1 });
    const b = scores.find((s) => s.label === 'runs/b.onnx')!;
    expect(b.shifts).toEqual({ rot: 0.4, blur: null });
    expect(scores.find((s) => s.kind === 'ensemble')!.cost).toBe(2);
  });

  it('lists eval sets with their roles and N', () => {
    expect(evalSetRefs(table).map((s) => `${s.name}:${s.role}:${s.n}`)).toEqual([
      'held:holdout:100',
      'test:id:100',
      'rot:shift:100',
      'blur:shift:100',
    ]);
  });
});

describe('greedy and interpolation data', () => {
  it('averages the shift sets for each prefix, and only when all are known', () => {
    const sets = evalSetRefs(table);
    const progress = greedyProgress(
      [
        { models: 2, top1: { test: 0.8, rot: 0.5, blur: 0.7 } },
        { models: 1, top1: { test: 0.75, rot: 0.4, blur: null } },
      ],
      sets,
    );
    expect(progress.map((p) => p.models)).toEqual([1, 2]);
    expect(progress[0]).toEqual({ models: 1, id: 0.75, shiftMean: null });
    expect(progress[1]!.shiftMean).toBeCloseTo((0.5 + 0.7) / 2, 12);
  });

  it('maps steps and α points', () => {
    const recipe = {
      method: 'greedy' as const,
      params: {},
      ingredients: [],
      holdout: null,
      weights_sha256: null,
      steps: [
        {
          step: 0,
          candidate: '/k/runs/b/model.onnx',
          holdout_correct: 80,
          holdout_top1: 0.8,
          accepted: true,
          size: 1,
        },
      ],
    };
    // one recipe per method (the recipe is a union keyed by method: only interpolation has points)
    const interpolation = {
      method: 'interpolate' as const,
      params: {},
      ingredients: [],
      holdout: null,
      weights_sha256: null,
      points: [{ alpha: 0.5, metrics: { test: metrics(0.6) } }],
    };
    expect(greedySteps(recipe, ['/k'])).toEqual([
      { step: 0, candidate: 'runs/b', heldout: 0.8, accepted: true },
    ]);
    expect(interpolationPoints(interpolation)).toEqual([{ alpha: 0.5, sets: { test: 0.6 } }]);
  });
});

describe('checkpoint names', () => {
  it('are the same for a path relative to the folder and for the absolute path', () => {
    expect(nameIn(['/k'], 'sweep/run-00/model.onnx')).toBe('sweep/run-00');
    expect(nameIn(['/k'], '/k/sweep/run-00/model.onnx')).toBe('sweep/run-00');
    expect(nameIn(['/k/'], 'base.onnx')).toBe('base.onnx');
  });
});
