import { describe, expect, it } from 'vitest';
import type { EvalSet, Evaluation, Leakage } from '../../../src-renderer/lib/domain.js';
import { classCount, evalSetProblems, leakKey, leaksOf } from '../../../src-renderer/lib/evalsets.js';
import { buildMatrix, isBasePath, keepCachedFlags, matrixKey } from '../../../src-renderer/lib/matrix.js';

function set(name: string, role: EvalSet['role'], extra: Partial<EvalSet> = {}): EvalSet {
  return {
    path: `/k/data/${name}.safetensors`,
    name,
    role,
    roleSource: role ? 'file' : null,
    n: 10,
    hash: `h-${name}`,
    inputs: [{ name: 'image', dtype: 'U8', shape: [10, 1, 28, 28] }],
    transform: {},
    classSubset: null,
    labelHistogram: [5, 5],
    bytes: 7840,
    ...extra,
  };
}

function record(
  model: string,
  setName: string,
  top1: number,
  createdAt: string,
  kind: 'ingredient' | 'soup' = 'ingredient',
  cached?: boolean,
): Evaluation {
  return {
    // one id per (model, set), like the store's unique row
    id: model.length * 100 + setName.length,
    n: 10,
    correct: Math.round(top1 * 10),
    top1,
    top5: null,
    nll: 0.3,
    ece: 0.02,
    nonFinite: 0,
    model: {
      hash: `w-${model}`,
      label: model,
      path: kind === 'soup' ? null : `/k/${model}/model.onnx`,
      kind,
    },
    evalset: { hash: `h-${setName}`, name: setName, path: `/k/data/${setName}.safetensors` },
    perClass: [],
    provider: 'cpu',
    ortVersion: '1.30.0',
    batchSize: 256,
    threads: null,
    durationMs: 5,
    createdAt,
    ...(cached === undefined ? {} : { cached }),
  };
}

describe('buildMatrix', () => {
  const sets = [set('shift-a', 'shift'), set('test', 'id'), set('holdout', 'holdout')];
  const records = [
    record('run-2', 'test', 0.8, '2026-01-01T10:00:00Z'),
    record('base', 'test', 0.5, '2026-01-01T10:00:00Z'),
    record('run-10', 'test', 0.7, '2026-01-02T10:00:00Z'),
    record('greedy', 'test', 0.9, '2026-01-02T10:00:00Z', 'soup'),
  ];
  it('puts the base first, ingredients in natural order, soups last, and sets by role', () => {
    const m = buildMatrix(records, sets);
    expect(m.models.map((x) => `${x.kind}:${x.label}`)).toEqual([
      'base:base',
      'ingredient:run-2',
      'ingredient:run-10',
      'soup:greedy',
    ]);
    expect(m.sets.map((s) => s.name)).toEqual(['holdout', 'test', 'shift-a']);
  });
  it('marks a cell cached only when its record says it came from the logits cache', () => {
    const m = buildMatrix(
      [
        record('run-2', 'test', 0.8, '2026-01-01T10:00:00Z', 'ingredient', true),
        record('run-10', 'test', 0.7, '2026-01-02T10:00:00Z', 'ingredient', false),
        record('base', 'test', 0.5, '2026-01-01T10:00:00Z'),
      ],
      sets,
    );
    expect(m.cells.get(matrixKey('w-run-2', 'test'))!.cached).toBe(true);
    expect(m.cells.get(matrixKey('w-run-10', 'test'))!.cached).toBe(false);
    // an older stored row is not assumed to be cached
    expect(m.cells.get(matrixKey('w-base', 'test'))!.cached).toBe(false);
  });
  it("keeps a run's cached flag on re-read stored rows until the row is recomputed", () => {
    const run = [
      record('run-2', 'test', 0.8, '2026-01-01T10:00:00Z', 'ingredient', true),
      record('run-10', 'test', 0.7, '2026-01-02T10:00:00Z', 'ingredient', true),
    ];
    const stored = [
      record('run-2', 'test', 0.8, '2026-01-01T10:00:00Z', 'ingredient', false),
      record('run-10', 'test', 0.71, '2026-01-03T10:00:00Z', 'ingredient', false),
      record('base', 'test', 0.5, '2026-01-01T10:00:00Z', 'ingredient', false),
    ];
    expect(keepCachedFlags(stored, run).map((r) => [r.model.label, r.cached])).toEqual([
      ['run-2', true],
      ['run-10', false],
      ['base', false],
    ]);
  });
  it('recognises base folders', () => {
    expect(isBasePath('/k/base/model.onnx')).toBe(true);
    expect(isBasePath('C:\\k\\Pretrained\\model.onnx')).toBe(true);
    expect(isBasePath('/k/sweep/run-1/model.onnx')).toBe(false);
    expect(isBasePath(null)).toBe(false);
  });
});

describe('evalSetProblems', () => {
  it('asks for exactly one holdout and an id set', () => {
    const none = evalSetProblems([set('a', 'shift')]);
    expect(none.some((p) => p.severity === 'error' && /holdout/.test(p.message))).toBe(true);
    expect(none.some((p) => /in-distribution/.test(p.message))).toBe(true);
    const two = evalSetProblems([set('a', 'holdout'), set('b', 'holdout'), set('c', 'id')]);
    expect(two.filter((p) => p.path === null).map((p) => p.message)).toEqual([
      '2 sets have the role holdout (a, b); keep exactly one.',
    ]);
  });
  it('flags duplicate names, missing roles and empty classes', () => {
    const problems = evalSetProblems([
      set('x', 'holdout'),
      set('x', 'id', { path: '/other/x.safetensors' }),
      set('y', null, { labelHistogram: [3, 0, 7] }),
    ]);
    expect(problems.filter((p) => /also named "x"/.test(p.message))).toHaveLength(2);
    expect(problems.some((p) => p.path === '/k/data/y.safetensors' && /No role/.test(p.message))).toBe(true);
    expect(problems.some((p) => /1 of 3 classes have no example/.test(p.message))).toBe(true);
    expect(evalSetProblems([])).toEqual([]);
  });
  it('counts classes of a subset', () => {
    expect(classCount({ classSubset: [1, 4, 7], labelHistogram: [1, 1, 1] })).toBe(3);
    expect(classCount({ classSubset: null, labelHistogram: [1, 1, 1, 0] })).toBe(4);
  });
});

describe('leaksOf', () => {
  const leak = (holdoutPath: string, otherPath: string): Leakage => ({
    holdout: 'holdout',
    holdoutPath,
    other: 'test',
    otherPath,
    role: 'id',
    shared: 2,
    examples: [2, 5],
    message: '2 of 10 holdout examples also appear in id set "test"',
  });
  it('matches warnings by path, so a same-named set of another kitchen is not flagged', () => {
    const a = leak('/a/data/holdout.safetensors', '/a/data/test.safetensors');
    const b = leak('/b/data/holdout.safetensors', '/b/data/test.safetensors');
    expect(leaksOf([a, b], '/a/data/test.safetensors')).toEqual([a]);
    expect(leaksOf([a, b], '/b/data/holdout.safetensors')).toEqual([b]);
    expect(leaksOf([a, b], '/c/data/test.safetensors')).toEqual([]);
    expect(leakKey(a)).not.toBe(leakKey(b));
  });
});
