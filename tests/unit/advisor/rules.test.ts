import { describe, expect, it } from 'vitest';
import {
  barrierGrid,
  divergingFill,
  divergingPosition,
  symmetricExtent,
} from '../../../src-renderer/charts/barriers.js';
import { barrierOf, pairsAmong, pathGrid } from '../../../src-main/core/advisor/barriers.js';
import { headTensors, lineageGroups } from '../../../src-main/core/advisor/lineage.js';
import { describeRun, formatSetting, shortNames } from '../../../src-main/core/advisor/names.js';
import { findOutliers } from '../../../src-main/core/advisor/outliers.js';
import { median, robustSpread, robustZ } from '../../../src-main/core/advisor/robust.js';
import { testGreedySteps } from '../../../src-main/core/advisor/significance.js';

describe('robust rule (median and MAD)', () => {
  it('computes the modified z-score from the median and 1.4826 · MAD', () => {
    const values = [1, 2, 3, 4, 100];
    // median 3; |x − 3| = 2, 1, 0, 1, 97 → MAD 1
    expect(median(values)).toBe(3);
    expect(robustSpread(values)).toBeCloseTo(1.4826, 12);
    expect(robustZ(values)[4]).toBeCloseTo(97 / 1.4826, 9);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('falls back to the scaled mean absolute deviation when most values are equal, and to 0 without spread', () => {
    const values = [5, 5, 5, 5, 9];
    // MAD 0; mean |x − 5| = 0.8, × √(π/2)
    expect(robustSpread(values)).toBeCloseTo(0.8 * Math.sqrt(Math.PI / 2), 12);
    expect(robustZ([2, 2, 2])).toEqual([0, 0, 0]);
  });
});

describe('outliers with reasons', () => {
  const run = (who: string, distance: number, meanBarrier: number | null, top1: number) => ({
    who,
    distance,
    meanBarrier,
    top1,
    separateLineage: null,
  });
  it('flags a far run by distance, barrier and accuracy, naming it once and continuing with "its"', () => {
    const runs = [
      run('a', 3.1, 0.01, 0.84),
      run('b', 3.5, 0.012, 0.845),
      run('c', 4.0, 0.009, 0.842),
      run('d', 3.8, 0.011, 0.838),
      run('e (lr = 2e-2)', 24, 0.14, 0.7),
    ];
    const verdicts = findOutliers(runs, true, 0.016);
    expect(verdicts.slice(0, 4).every((v) => !v.outlier)).toBe(true);
    expect(verdicts[4]!.reasons).toEqual([
      'e (lr = 2e-2) is 6.3× further from the base than the median run (‖θ − θ_base‖ = 24.0 vs 3.80)',
      'its average barrier with the others is 14.0 points (median run: 1.1)',
      "its held-out top-1 is 14.0 points below the median run's (70.00 % vs 84.00 %)",
    ]);
  });
  it('does not flag a run only for its distance when its midpoints are no worse and its accuracy typical', () => {
    const runs = [
      run('a', 0.3, -0.001, 0.86),
      run('b', 0.35, -0.002, 0.857),
      run('c', 0.4, -0.001, 0.859),
      run('d', 0.37, -0.001, 0.858),
      run('far', 1.1, -0.003, 0.86),
    ];
    expect(findOutliers(runs, true, 0.016).map((v) => v.outlier)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    // unpaired (barrier unknown), the distance decides alone
    const unpaired = findOutliers([...runs.slice(0, 4), { ...runs[4]!, meanBarrier: null }], true, 0.016);
    expect(unpaired[4]!.reasons).toEqual([
      'far is 3.0× further from the base than the median run (‖θ − θ_base‖ = 1.10 vs 0.370)',
    ]);
  });
  it('does not flag a gap the held-out set cannot resolve, however large its z-score', () => {
    const runs = [
      run('a', 3, 0.01, 0.84),
      run('b', 3, 0.01, 0.841),
      run('c', 3, 0.01, 0.842),
      run('d', 3, 0.01, 0.83),
    ];
    expect(findOutliers(runs, true, 0.016).map((v) => v.outlier)).toEqual([false, false, false, false]);
    expect(findOutliers(runs, true, 0.001)[3]!.outlier).toBe(true);
  });
});

describe('lineage groups', () => {
  it('links checkpoints whose centred correlation reaches 0.2; the base group comes first', () => {
    // rows: base, r0, r1, r2 (other start), r3 (fine-tuned from r2)
    const c = [
      [1, 0.9, 0.5, 0.01, 0.02],
      [0.9, 1, 0.6, 0.0, 0.01],
      [0.5, 0.6, 1, 0.03, 0.0],
      [0.01, 0.0, 0.03, 1, 0.95],
      [0.02, 0.01, 0.0, 0.95, 1],
    ];
    expect(lineageGroups(c, true)).toEqual({
      groups: [
        [0, 1],
        [2, 3],
      ],
      groupOf: [0, 0, 1, 1],
    });
    // without a base, the largest group comes first
    const noBase = [
      [1, 0.05, 0.04],
      [0.05, 1, 0.9],
      [0.04, 0.9, 1],
    ];
    expect(lineageGroups(noBase, false)).toEqual({ groups: [[1, 2], [0]], groupOf: [1, 0, 0] });
  });
  it('takes the last tensor as the head, with its weight when the last is the bias', () => {
    const e = (name: string, shape: number[]) => ({
      name,
      shape,
      dtype: 'f32' as const,
      offset: 0,
      byteLength: 0,
    });
    expect(
      headTensors([e('a', [4, 4]), e('head.weight', [10, 64]), e('head.bias', [10])]).map((t) => t.name),
    ).toEqual(['head.weight', 'head.bias']);
    expect(headTensors([e('a', [4]), e('proj', [8, 3])]).map((t) => t.name)).toEqual(['proj']);
  });
});

describe('names and settings', () => {
  it('names runs by their folder without key=value settings, and the full path when that is ambiguous', () => {
    expect(
      shortNames(['sweep/run-11_lr=2e-2_wd=0.05/model.onnx', 'sweep-st/run-13_lr=8e-4/model.safetensors']),
    ).toEqual(['run-11', 'run-13']);
    expect(shortNames(['a/run_lr=1/model.onnx', 'b/run_lr=2/model.onnx'])).toEqual([
      'a/run_lr=1/model.onnx',
      'b/run_lr=2/model.onnx',
    ]);
    expect(shortNames(['ckpt-epoch3.onnx', 'ckpt-epoch4.onnx'])).toEqual(['ckpt-epoch3', 'ckpt-epoch4']);
  });
  it('writes learning rates as people do', () => {
    expect([0.02, 0.0015, 0.5, 4, 0].map(formatSetting)).toEqual(['2e-2', '1.5e-3', '0.5', '4', '0']);
    expect(describeRun('run-11', { lr: 0.02, wd: 0.05 })).toBe('run-11 (lr = 2e-2)');
    expect(describeRun('run-x', { 'optimizer.learning_rate': 0.001 })).toBe('run-x (learning_rate = 1e-3)');
    expect(describeRun('run-y', { wd: 0.1 })).toBe('run-y');
  });
});

describe('barriers', () => {
  it('is the mean of the ends minus the midpoint, or the largest drop below the straight line on a grid', () => {
    expect(barrierOf(0.8, 0.9, [{ alpha: 0.5, correct: 0, top1: 0.7 }])).toBeCloseTo(0.15, 12);
    const points = [
      { alpha: 0.25, correct: 0, top1: 0.81 },
      { alpha: 0.5, correct: 0, top1: 0.8 },
      { alpha: 0.75, correct: 0, top1: 0.86 },
    ];
    // line: 0.825, 0.85, 0.875 → drops 0.015, 0.05, 0.015
    expect(barrierOf(0.8, 0.9, points)).toBeCloseTo(0.05, 12);
    expect(pathGrid([0.75, 0.25])).toEqual([0.25, 0.5, 0.75]);
    expect(pathGrid(undefined)).toEqual([0.5]);
    expect(pairsAmong([0, 2, 5])).toEqual([
      [0, 2],
      [0, 5],
      [2, 5],
    ]);
  });
});

describe('greedy step significance', () => {
  it('compares each trial with the last accepted soup, image by image', () => {
    const start = Uint8Array.from([1, 1, 0, 0, 1, 0]);
    const trial1 = Uint8Array.from([1, 0, 1, 1, 1, 0]); // +2 −1: accepted
    const trial2 = Uint8Array.from([0, 0, 1, 1, 1, 0]); // against trial1: −1
    const steps = testGreedySteps(
      [
        { step: 0, candidate: 'a', accepted: true, holdout_correct: 3 },
        { step: 1, candidate: 'b', accepted: true, holdout_correct: 4 },
        { step: 2, candidate: 'c', accepted: false, holdout_correct: 3 },
      ],
      start,
      [trial1, trial2],
    );
    expect(steps.map((s) => [s.better, s.worse])).toEqual([
      [0, 0],
      [2, 1],
      [0, 1],
    ]);
    // exact: b = 2, c = 1 → 2 · (1 + 3) / 8 = 1; b = 0, c = 1 → 2 · 1/2 = 1
    expect(steps[1]!.p).toBe(1);
    expect(steps[2]!.explanation).toBe(
      'rejected: 1 of 6 images worse (0 better, 1 worse), p = 1 — within noise',
    );
  });
});

describe('barrier heatmap layout', () => {
  const runs = [
    { path: '/a', label: 'a', holdoutTop1: 0.8, outlier: false },
    { path: '/b', label: 'b', holdoutTop1: 0.85, outlier: false },
    { path: '/c', label: 'c', holdoutTop1: 0.7, outlier: true },
  ];
  it('orders rows by held-out top-1 and fills both triangles; missing pairs stay null', () => {
    const grid = barrierGrid(runs, [
      { a: '/a', b: '/b', barrier: 0.01 },
      { a: '/a', b: '/c', barrier: -0.02 },
    ]);
    expect(grid.runs.map((r) => r.label)).toEqual(['b', 'a', 'c']);
    expect(grid.values).toEqual([
      [null, 0.01, null],
      [0.01, null, -0.02],
      [null, -0.02, null],
    ]);
    expect(symmetricExtent(grid.values)).toBe(0.02);
    expect(symmetricExtent([[null]])).toBeNull();
  });
  it('maps barriers onto a diverging scale centred at 0', () => {
    expect(divergingPosition(0.01, 0.02)).toBe(0.5);
    expect(divergingPosition(-0.04, 0.02)).toBe(-1);
    expect(divergingPosition(0, 0)).toBe(0);
    expect(divergingPosition(null, 0.02)).toBeNull();
    expect(divergingFill(-0.5)).toBe('color-mix(in srgb, var(--chart-1) 50.0%, var(--bg))');
    expect(divergingFill(0.25)).toBe('color-mix(in srgb, var(--chart-4) 25.0%, var(--bg))');
    expect(divergingFill(null)).toBe('var(--bg-sunken)');
  });
});
