import { describe, expect, it } from 'vitest';
import { MethodDescription } from '../../../src-main/common/api/recipes.js';
import { describeMethod } from '../../../src-main/core/recipes/methods/describe.js';
import { findMethod, mergeMethod } from '../../../src-main/core/recipes/methods/index.js';
import { parseMethodParams } from '../../../src-main/core/recipes/merge.js';
import { compareRows } from '../../../src-renderer/lib/compare.js';
import type { ApiCompareShape } from '../../../src-renderer/lib/compare.js';
import {
  defaultParamValues,
  formText,
  paramApplies,
  paramProblem,
  paramsForRequest,
} from '../../../src-renderer/lib/recipes.js';

/** The Cook view's forms are built from recipes:methods; what they send must be what the method accepts. */
const described = (name: string) => MethodDescription.parse(describeMethod(mergeMethod(name)!));

describe('merge-method forms', () => {
  it('start from the defaults and send params the method parses to the same values', () => {
    for (const name of ['task-arithmetic', 'ties', 'dare', 'slerp', 'model-stock']) {
      const info = described(name);
      const sent = paramsForRequest(info, defaultParamValues(info));
      expect(parseMethodParams(mergeMethod(name)!, sent), name).toEqual(
        parseMethodParams(mergeMethod(name)!, {}),
      );
    }
  });

  it('say what is out of range the way the schema does', () => {
    const ties = described('ties');
    const density = ties.params.find((p) => p.name === 'density')!;
    expect(paramProblem(density, 0)).toBe('density must be 0 < density ≤ 1');
    expect(paramProblem(density, 0.5)).toBeNull();
    expect(() => parseMethodParams(mergeMethod('ties')!, { density: 0 })).toThrow(/density/);
    const seed = described('dare').params.find((p) => p.name === 'seed')!;
    expect(paramProblem(seed, 1.5)).toBe('seed: a whole number');
    const weights = ties.params.find((p) => p.name === 'weights')!;
    expect(paramProblem(weights, '1, 0.5,x')).toBe('weights: comma-separated numbers');
    expect(paramsForRequest(ties, { density: '0.3', lambda: 1, weights: '1, 0.5' })).toEqual({
      density: 0.3,
      lambda: 1,
      weights: [1, 0.5],
    });
  });
});

describe('merge rows in the comparison table', () => {
  it('are named by their method and params, and sorted after the soups', () => {
    const row = (kind: string, label: string) => ({
      kind,
      label,
      ingredients: ['a', 'b'],
      metrics: { test: { top1: 0.5, nll: 1, ece: 0.1 } },
      meanShift: null,
      params: 10,
      relativeCost: 1,
      mcnemarP: {},
    });
    const table: ApiCompareShape = {
      evalsets: [{ name: 'test', role: 'id', n: 10 }],
      rows: [
        row('merge', 'Model Stock (2)'),
        row('ensemble', 'ensemble'),
        row('merge', 'Task arithmetic (2, lambda 0.6)'),
        row('uniform_soup', 'uniform soup'),
      ],
    };
    expect(compareRows(table, (l) => l).rows.map((r) => r.label)).toEqual([
      'Uniform soup',
      'Model Stock (2)',
      'Task arithmetic (2, lambda 0.6)',
      'Ensemble (all)',
    ]);
  });

  it("show greedy's passes only with with-replacement on, and send it only then", () => {
    const greedy = MethodDescription.parse(describeMethod(findMethod('greedy')!));
    const passes = greedy.params.find((p) => p.name === 'passes')!;
    const strict = greedy.params.find((p) => p.name === 'strict')!;
    const values = defaultParamValues(greedy);
    expect(paramApplies(greedy, passes, values)).toBe(false);
    expect(paramApplies(greedy, strict, values)).toBe(true);
    expect(paramsForRequest(greedy, values)).not.toHaveProperty('passes');
    values['with-replacement'] = true;
    expect(paramApplies(greedy, passes, values)).toBe(true);
    expect(paramsForRequest(greedy, values)).toMatchObject({ 'with-replacement': true, passes: 3 });
  });

  it('word registry texts for the form: params by name, not as CLI flags', () => {
    expect(formText('trim each task vector to its largest --density fraction per tensor')).toBe(
      'trim each task vector to its largest density fraction per tensor',
    );
    expect(formText('then sum or --ties.')).toBe('then sum or ties.');
    expect(formText('with --with-replacement: passes over the order in all')).toBe(
      'passes over the order in all',
    );
    expect(formText('θ = (1 − α)·A + α·B (α outside [0, 1] extrapolates)')).toBe(
      'θ = (1 − α)·A + α·B (α outside [0, 1] extrapolates)',
    );
  });
});
