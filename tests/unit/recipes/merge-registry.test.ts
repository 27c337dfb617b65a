import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MergeMethodName, RecipeMethod } from '../../../src-main/common/api/recipes.js';
import { TureenError } from '../../../src-main/common/errors.js';
import { describeMethod } from '../../../src-main/core/recipes/methods/describe.js';
import { MERGE_METHODS, METHODS, mergeMethod } from '../../../src-main/core/recipes/methods/index.js';
import { methodsMarkdown } from '../../../src-main/core/recipes/methods/markdown.js';
import { parseSearch } from '../../../src-main/core/recipes/search.js';

describe('the merge-method registry', () => {
  it('describes every method with its params, defaults and ranges', () => {
    const described = Object.fromEntries(MERGE_METHODS.map((m) => [m.name, describeMethod(m)]));
    expect(Object.keys(described)).toEqual(['task-arithmetic', 'ties', 'dare', 'slerp', 'model-stock']);
    const density = described.ties!.params.find((p) => p.name === 'density')!;
    expect(density).toMatchObject({
      kind: 'number',
      default: 0.2,
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 1,
      searchable: true,
    });
    const seed = described.dare!.params.find((p) => p.name === 'seed')!;
    expect(seed).toMatchObject({ kind: 'integer', default: 0, minimum: 0, maximum: 0xffffffff });
    expect(described.dare!.params.find((p) => p.name === 'ties')).toMatchObject({
      kind: 'boolean',
      default: false,
    });
    expect(described['task-arithmetic']!.params.find((p) => p.name === 'weights')!.kind).toBe('numbers');
    expect(described['model-stock']!.params).toEqual([]);
    expect(described.slerp!.needs).toEqual({
      base: 'optional',
      models: { min: 2, max: 2 },
      holdout: false,
      unlabelled: false,
    });
    for (const d of Object.values(described)) {
      expect(d.reference, d.name).toMatch(/\d{4}/);
      for (const p of d.params) expect(p.description, `${d.name}.${p.name}`).not.toBe('');
    }
  });
});

describe('--search grids', () => {
  const ta = mergeMethod('task-arithmetic')!;
  it('includes both ends without float drift', () => {
    expect(parseSearch('lambda=0.2:1.6:0.2', ta)).toEqual({
      param: 'lambda',
      values: [0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6],
    });
    expect(parseSearch('lambda=1:1:0.5', ta).values).toEqual([1]);
  });

  it('refuses unknown params, bad grids and huge grids, saying what is allowed', () => {
    const refusal = (text: string) => {
      try {
        parseSearch(text, mergeMethod('ties')!);
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(TureenError);
        return (error as TureenError).message;
      }
    };
    expect(refusal('seed=0:3:1')).toBe('--search seed: ties can search lambda, density');
    expect(refusal('lambda=1.6:0.2:0.2')).toMatch(/needs from ≤ to and a step > 0/);
    expect(refusal('lambda')).toMatch(/expected name=from:to:step/);
    expect(refusal('density=0:1:0.001')).toMatch(/1001 grid points; at most 101/);
  });
});

describe('docs/cli.md', () => {
  it('lists the methods exactly as the registry describes them', () => {
    const docs = fs.readFileSync(path.resolve(__dirname, '../../../docs/cli.md'), 'utf8');
    const begin = docs.indexOf('<!-- methods:begin');
    const end = docs.indexOf('<!-- methods:end -->');
    expect(begin).toBeGreaterThan(0);
    const listed = docs.slice(docs.indexOf('\n', begin) + 1, end).trim();
    expect(listed, 'regenerate the block from methodsMarkdown()').toBe(methodsMarkdown());
  });
});

describe('the contract', () => {
  it('names exactly the registered methods', () => {
    expect(MergeMethodName.options).toEqual(MERGE_METHODS.map((m) => m.name));
  });
});

describe('the whole registry', () => {
  it('holds the soups and the merges, and the contract names every method in registry order', () => {
    expect(METHODS.map((m) => `${m.kind}:${m.name}`)).toEqual([
      'soup:uniform',
      'soup:greedy',
      'soup:learned',
      'soup:interpolate',
      ...MERGE_METHODS.map((m) => `merge:${m.name}`),
    ]);
    expect(RecipeMethod.options).toEqual(METHODS.map((m) => m.name));
  });

  it('describes the soups with their params, defaults and ranges', () => {
    const described = Object.fromEntries(METHODS.map((m) => [m.name, describeMethod(m)]));
    expect(described.greedy!.params).toEqual([
      expect.objectContaining({ name: 'strict', kind: 'boolean', default: false }),
      expect.objectContaining({ name: 'with-replacement', kind: 'boolean', default: false }),
      expect.objectContaining({ name: 'passes', kind: 'integer', default: 3, minimum: 2, maximum: 10 }),
    ]);
    expect(described.greedy!.needs.holdout).toBe(true);
    expect(described.learned!.params).toEqual([
      expect.objectContaining({ name: 'budget', kind: 'integer', default: 48, minimum: 4, maximum: 5000 }),
      expect.objectContaining({ name: 'seed', kind: 'integer', default: 0 }),
      expect.objectContaining({
        name: 'objective',
        kind: 'choice',
        choices: ['cross-entropy', 'entropy'],
        default: 'cross-entropy',
      }),
    ]);
    expect(described.interpolate!.params.map((p) => [p.name, p.kind])).toEqual([
      ['alpha', 'number'],
      ['alphas', 'numbers'],
    ]);
    expect(described.uniform!.params).toEqual([]);
    for (const d of Object.values(described)) expect(d.reference, d.name).toMatch(/\d{4}/);
  });
});
