import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Recipe } from '../../../src-main/common/api/recipes.js';
import { RecipeFile } from '../../../src-main/common/api/recipes.js';
import { runCli } from '../../../src-main/cli/main.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { meanEntropy } from '../../../src-main/core/recipes/learned.js';
import { ensureHostBuilt, fixtureDir } from '../inference/build-host.js';

/**
 * One cook path: `tureen cook <method>`, `recipes:cook` and the soups of a comparison run the same recipe
 * code, so what they record is identical; every cook answers one `tureen/cook@1` shape; and the recipe file
 * is the contract's Recipe with its header.
 */
const kitchenDir = path.join(fixtureDir, 'kitchen');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-one-cook-')));
let kitchen: Kitchen;

beforeAll(() => {
  ensureHostBuilt();
  kitchen = new Kitchen({ transport: 'cli', dataDir: path.join(tmp, 'data'), demoKitchen: null });
});
afterAll(() => {
  kitchen.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...argv, '--db', path.join(tmp, 'cli.sqlite')], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  return { code, json: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : {}, stderr };
}

describe('a comparison and tureen cook record the same recipe', () => {
  it('for every soup and merge method: params, ingredients, steps, loss curve, search and weights', async () => {
    const table = await kitchen.run('compare:run', {
      folders: [kitchenDir],
      learnedBudget: 8,
      methods: ['uniform', 'greedy', 'learned', 'task-arithmetic', 'ties', 'model-stock'],
    });
    const rows = table.rows.filter((r) => r.recipeId !== null);
    expect(rows.map((r) => r.method ?? r.kind)).toEqual([
      'uniform_soup',
      'greedy_soup',
      'learned_soup',
      'task-arithmetic',
      'ties',
      'model-stock',
    ]);
    const asked: Record<string, { params?: Record<string, unknown>; search?: string }> = {
      uniform_soup: {},
      greedy_soup: {},
      learned_soup: { params: { budget: 8, seed: 0 } },
      'task-arithmetic': { search: 'lambda=0.2:1.6:0.2' },
      ties: {},
      'model-stock': {},
    };
    for (const row of rows) {
      const fromCompare = (await kitchen.call('recipes:get', { id: row.recipeId! })).recipe;
      const method = fromCompare.method;
      const cooked = await kitchen.run('recipes:cook', {
        method,
        ingredients: [kitchenDir],
        ...asked[row.method ?? row.kind],
      });
      // the whole recipe: today's learned recipe in a comparison lacked optimiser/objective, greedy's order
      expect(cooked.recipe, method).toEqual(fromCompare);
      expect(cooked.recipe.weights_sha256, method).not.toBeNull();
    }
    const learned = (await kitchen.call('recipes:get', { id: rows[2]!.recipeId! })).recipe;
    expect(learned.params).toMatchObject({
      budget: 8,
      seed: 0,
      objective: 'held-out cross-entropy',
      optimiser: expect.stringContaining('cma-es'),
    });
    const greedy = (await kitchen.call('recipes:get', { id: rows[1]!.recipeId! })).recipe;
    expect(greedy.params).toEqual({
      precision: 'f32',
      rule: '>=',
      order: 'held-out correct count descending, ties by relative path ascending',
    });
  }, 300_000);
});

describe('tureen/cook@1 has one shape', () => {
  it('uniform (averaged only) and greedy (evaluated) answer the same keys, outputs as {path, sha256}', async () => {
    const uniformOut = path.join(tmp, 'uniform.onnx');
    const uniform = await cli([
      'cook',
      'uniform',
      path.join(kitchenDir, 'sweep'),
      '--out',
      uniformOut,
      '--json',
    ]);
    expect(uniform.code, uniform.stderr).toBe(0);
    const greedyOut = path.join(tmp, 'greedy.onnx');
    const greedy = await cli(['cook', 'greedy', kitchenDir, '--out', greedyOut, '--json']);
    expect(greedy.code, greedy.stderr).toBe(0);
    expect(Object.keys(uniform.json).sort()).toEqual(Object.keys(greedy.json).sort());
    expect(uniform.json.evaluations).toEqual([]);
    expect((greedy.json.evaluations as unknown[]).length).toBeGreaterThan(0);
    for (const [doc, out] of [
      [uniform.json, uniformOut],
      [greedy.json, greedyOut],
    ] as const) {
      const outputs = doc.outputs as Array<{ path: string; sha256: string }>;
      expect(outputs).toEqual([
        expect.objectContaining({ path: out, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }),
      ]);
      // the file beside the soup is the contract's recipe (one variant per method) with its header
      const file = RecipeFile.parse(JSON.parse(fs.readFileSync(`${out}.recipe.json`, 'utf8')));
      const { schema, tool, created, outputs: recorded, ...recipe } = file;
      expect(schema).toBe('tureen/recipe@1');
      expect(tool.name).toBe('tureen');
      expect(created).not.toBe('');
      expect(recorded).toEqual([{ path: out, sha256: outputs[0]!.sha256 }]);
      expect(recipe).toEqual(doc.recipe);
    }
    const steps = (greedy.json.recipe as z.output<typeof Recipe>).steps;
    expect(steps?.length).toBe(6);
  }, 300_000);

  it('a recipe file of the older layout (what chose the soup under "selection") still replays', async () => {
    const out = path.join(tmp, 'old-greedy.onnx');
    const cooked = await cli(['cook', 'greedy', kitchenDir, '--out', out, '--json']);
    expect(cooked.code, cooked.stderr).toBe(0);
    const file = JSON.parse(fs.readFileSync(`${out}.recipe.json`, 'utf8')) as Record<string, unknown>;
    const { holdout, steps, weights_sha256, ...rest } = file;
    fs.writeFileSync(
      `${out}.recipe.json`,
      JSON.stringify({ ...rest, selection: { holdout, steps, weights_sha256 } }),
    );
    const replay = await cli(['cook', '--recipe', `${out}.recipe.json`, '--json']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.json.recipe_id).toBeNull();
    expect((replay.json.recipe as { steps: unknown[] }).steps).toEqual(steps);
    expect(replay.json.reproduced).toEqual([expect.objectContaining({ path: out })]);
  }, 300_000);
});

describe('greedy with replacement (issue 13)', () => {
  it('offers every ingredient again in later passes; coefficients are counts (NumPy reference)', async () => {
    const want = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'greedy-replacement.json'), 'utf8')) as {
      passes: number;
      steps: Array<{ candidate: string; holdout_correct: number; accepted: boolean; size: number }>;
      counts: Record<string, number>;
      additions: number;
      holdout_correct: number;
    };
    const cooked = await kitchen.run('recipes:cook', {
      method: 'greedy',
      ingredients: [kitchenDir],
      params: { 'with-replacement': true, passes: want.passes },
    });
    const recipe = cooked.recipe;
    if (recipe.method !== 'greedy') throw new Error('not a greedy recipe');
    expect(
      recipe.steps.map((s) => ({
        candidate: s.candidate,
        holdout_correct: s.holdout_correct,
        accepted: s.accepted,
        size: s.size,
      })),
    ).toEqual(want.steps);
    expect(recipe.params).toMatchObject({ 'with-replacement': true, passes: want.passes, rule: '>=' });
    const coefficients = Object.fromEntries(
      recipe.ingredients.map((i) => [path.relative(kitchenDir, i.path), i.coefficient]),
    );
    expect(coefficients).toEqual(
      Object.fromEntries(Object.entries(want.counts).map(([r, c]) => [r, c / want.additions])),
    );
    expect(cooked.evaluations[0]!.correct).toBe(want.holdout_correct);
    // saving rebuilds the additions in their order: the very weights that were evaluated
    const saved = await kitchen.run('recipes:saveSoup', {
      id: cooked.recipeId,
      out: path.join(tmp, 'replacement.onnx'),
    });
    expect(saved.same_weights_as_evaluated).toBe(true);
    // and replaying its recipe file sums the additions in the same order: the same file, bit for bit
    const out = path.join(tmp, 'replacement-cli.onnx');
    const written = await cli(['cook', 'greedy', kitchenDir, '--with-replacement', '--out', out, '--json']);
    expect(written.code, written.stderr).toBe(0);
    const replay = await cli(['cook', '--recipe', `${out}.recipe.json`, '--json']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.json.reproduced).toEqual([expect.objectContaining({ path: out, same: true })]);
    // without the option the soup is the paper's (one pass, no repeats), as before
    const plain = await kitchen.run('recipes:cook', { method: 'greedy', ingredients: [kitchenDir] });
    expect(plain.recipe.steps).toHaveLength(6);
    expect(plain.recipe.params).not.toHaveProperty('with-replacement');
  }, 300_000);
});

describe('learned --objective entropy (issue 13, label-free)', () => {
  it('the mean prediction entropy is the closed form', () => {
    // p = (1/4, 3/4): H = −(¼ ln ¼ + ¾ ln ¾); p = (½, ½): ln 2; a non-finite row has no distribution
    const logits = { n: 2, classes: 2, data: Float32Array.from([0, Math.log(3), 5, 5]) };
    const h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(meanEntropy(logits, null)).toBeCloseTo((h + Math.log(2)) / 2, 6);
    expect(meanEntropy({ n: 1, classes: 2, data: Float32Array.from([NaN, 0]) }, null)).toBe(Infinity);
  });

  it('never reads the labels: the same soup with the held-out labels permuted', async () => {
    const holdout = path.join(kitchenDir, 'data', 'holdout.safetensors');
    const bytes = Buffer.from(fs.readFileSync(holdout));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
      string,
      { data_offsets: [number, number] }
    >;
    const [a, b] = header.labels!.data_offsets;
    const start = 8 + headerLength + a;
    const labels = new BigInt64Array(
      bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + 8 + headerLength + b),
    );
    labels.reverse();
    Buffer.from(labels.buffer).copy(bytes, start);
    const permuted = path.join(tmp, 'permuted', 'holdout.safetensors');
    fs.mkdirSync(path.dirname(permuted), { recursive: true });
    fs.writeFileSync(permuted, bytes);
    const cook = (file: string) =>
      kitchen.run('recipes:cook', {
        method: 'learned',
        ingredients: [path.join(kitchenDir, 'sweep')],
        holdout: file,
        params: { budget: 8, objective: 'entropy' },
      });
    const original = await cook(holdout);
    const shuffled = await cook(permuted);
    if (original.recipe.method !== 'learned' || shuffled.recipe.method !== 'learned')
      throw new Error('learned');
    expect(shuffled.recipe.coefficients).toEqual(original.recipe.coefficients);
    expect(shuffled.recipe.loss_curve).toEqual(original.recipe.loss_curve);
    expect(original.recipe.logit_scale).toBe(1);
    expect(original.recipe.params.objective).toMatch(/^mean prediction entropy/);
    const curve = original.recipe.loss_curve.map((p) => p.loss);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!).toBeLessThanOrEqual(curve[i - 1]!);
    // the labels do decide with cross-entropy, the paper's objective (the control)
    const ce = await kitchen.run('recipes:cook', {
      method: 'learned',
      ingredients: [path.join(kitchenDir, 'sweep')],
      holdout: permuted,
      params: { budget: 8 },
    });
    if (ce.recipe.method !== 'learned') throw new Error('learned');
    expect(ce.recipe.params.objective).toBe('held-out cross-entropy');
    expect(ce.recipe.loss_curve).not.toEqual(original.recipe.loss_curve);
  }, 300_000);
});

describe('tureen cook --help', () => {
  it('lists one verb per method of the registry, with the options its params declare', async () => {
    let stdout = '';
    const code = await runCli(['cook', '--help'], {
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      isTTY: false,
    });
    expect(code).toBe(0);
    for (const verb of [
      'uniform',
      'greedy',
      'learned',
      'interpolate',
      'task-arithmetic',
      'ties',
      'dare',
      'slerp',
      'model-stock',
    ])
      expect(stdout, verb).toContain(`tureen cook ${verb} `);
    expect(stdout).toContain('--with-replacement');
    expect(stdout).toMatch(
      /--objective NAME\s+cross-entropy: .*: cross-entropy \| entropy \(default cross-entropy\)/,
    );
    expect(stdout).toMatch(/--alphas X,X,…/);
  });
});
