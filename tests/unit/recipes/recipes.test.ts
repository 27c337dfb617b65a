import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRequest, EventPayload, JobChannel } from '../../../src-main/common/api.js';
import { runCli } from '../../../src-main/cli/main.js';
import { Kitchen } from '../../../src-main/core/kitchen.js';
import { CmaEs } from '../../../src-main/core/recipes/cmaes.js';
import { saveComparison } from '../../../src-main/core/store/comparison-store.js';
import { accepts, greedyOrder } from '../../../src-main/core/recipes/greedy.js';
import { ensureHostBuilt, fixtureDir } from '../inference/build-host.js';

interface Want {
  correct: number;
  top1: number;
  nll: number;
  ece: number;
}
const expected = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'expected.json'), 'utf8')) as {
  models: Record<string, Record<string, Want>>;
  uniform: { ingredients: string[]; metrics: Record<string, Want> };
  greedy: {
    ingredients: string[];
    steps: Array<{ candidate: string; holdout_correct: number; accepted: boolean }>;
    metrics: Record<string, Want>;
  };
  greedy_strict: {
    ingredients: string[];
    steps: Array<{ candidate: string; holdout_correct: number; accepted: boolean }>;
    metrics: Record<string, Want>;
  };
  ensemble: { metrics: Record<string, Want> };
};
const kitchenDir = path.join(fixtureDir, 'kitchen');
const data = (name: string) => path.join(kitchenDir, 'data', `${name}.safetensors`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-recipes-'));
let kitchen: Kitchen;

/** Start a job and wait for its result, typed by the contract (a failed job rejects with its error). */
const job = <C extends JobChannel>(channel: C, request: ApiRequest<C>) => kitchen.run(channel, request);

/** Soup weights are averaged by Tureen and by numpy in float32: logits agree to a few ULP, metrics to 1e-5. */
function expectMetrics(
  got: { correct: number; nll: number | null; ece: number | null },
  want: Want,
  what: string,
) {
  expect(got.correct, what).toBe(want.correct);
  expect(Math.abs(got.nll! - want.nll), what).toBeLessThan(1e-5);
  expect(Math.abs(got.ece! - want.ece), what).toBeLessThan(1e-5);
}

beforeAll(() => {
  ensureHostBuilt();
  kitchen = new Kitchen({ transport: 'cli', dataDir: tmp, demoKitchen: null });
});
afterAll(() => {
  kitchen.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('greedy rule', () => {
  it('orders by held-out correct count, ties by relative path (code-unit order)', () => {
    const order = greedyOrder([
      { item: 1, rel: 'run-b', correct: 5 },
      { item: 2, rel: 'run-a', correct: 5 },
      { item: 3, rel: 'run-c', correct: 7 },
      { item: 4, rel: 'Run-z', correct: 5 },
    ]);
    expect(order.map((o) => o.rel)).toEqual(['run-c', 'Run-z', 'run-a', 'run-b']);
  });
  it('accepts equal counts with >=, not with --strict', () => {
    expect(accepts(10, 10, false)).toBe(true);
    expect(accepts(10, 10, true)).toBe(false);
    expect(accepts(11, 10, true)).toBe(true);
    expect(accepts(9, 10, false)).toBe(false);
  });
});

describe('CMA-ES', () => {
  it('minimises a shifted ill-conditioned quadratic from a fixed seed, reproducibly', () => {
    const target = [1, -2, 0.5, 3];
    const f = (x: number[]) => x.reduce((s, v, i) => s + 10 ** i * (v - target[i]!) ** 2, 0);
    const run = () => {
      const es = new CmaEs([0, 0, 0, 0], 1, 42);
      let best = Infinity;
      for (let g = 0; g < 150; g++) {
        const xs = es.ask();
        const fs_ = xs.map(f);
        best = Math.min(best, ...fs_);
        es.tell(xs, fs_);
      }
      return { best, mean: es.currentMean };
    };
    const a = run();
    expect(a.best).toBeLessThan(1e-8);
    a.mean.forEach((v, i) => expect(v).toBeCloseTo(target[i]!, 3));
    expect(run()).toEqual(a);
  });
});

describe('recipes on the fixture sweep (numpy reference)', () => {
  it('greedy soup follows the paper: steps, the >= tie at step 2, and the final metrics', async () => {
    const published: Array<EventPayload<'recipes:step'>> = [];
    const off = kitchen.events.subscribe((name, payload) => {
      if (name === 'recipes:step') published.push(payload as EventPayload<'recipes:step'>);
    });
    const result = await job('recipes:cook', {
      method: 'greedy',
      ingredients: [kitchenDir],
      holdout: data('holdout'),
      evals: [data('test'), data('shift-noise'), data('shift-subset')],
    }).finally(off);
    const steps = result.recipe.steps!;
    // every step was published as it finished, in order, under the cook job's id
    const cookJob = (await kitchen.call('jobs:list', {})).jobs.find((j) => j.kind === 'cook:greedy')!;
    expect(published.map((p) => p.jobId)).toEqual(steps.map(() => cookJob.jobId));
    expect(
      published.map((p) => [p.step, p.candidate, p.holdout_correct, p.holdout_top1, p.accepted, p.size]),
    ).toEqual(steps.map((s) => [s.step, s.candidate, s.holdout_correct, s.holdout_top1, s.accepted, s.size]));
    expect(steps.map((s) => [s.candidate, s.holdout_correct, s.accepted])).toEqual(
      expected.greedy.steps.map((s) => [s.candidate, s.holdout_correct, s.accepted]),
    );
    expect(steps[0]!.step).toBe(0);
    expect(steps[2]!.holdout_correct).toBe(steps[1]!.holdout_correct); // the tie the >= rule accepts
    expect(result.recipe.ingredients.map((i) => path.relative(kitchenDir, i.path))).toEqual(
      expected.greedy.ingredients,
    );
    for (const e of result.evaluations)
      expectMetrics(e, expected.greedy.metrics[e.evalset.name]!, `greedy on ${e.evalset.name}`);
    expect(result.evaluations.map((e) => e.evalset.name)).toEqual([
      'holdout',
      'test',
      'shift-noise',
      'shift-subset',
    ]);
    for (const e of result.evaluations) expect(e.provider).toBe('cpu');
  });

  it('--strict rejects the tie and ends with two ingredients', async () => {
    const result = await job('recipes:cook', {
      method: 'greedy',
      ingredients: [kitchenDir],
      strict: true,
      holdout: data('holdout'),
      evals: [data('test')],
    });
    expect(result.recipe.steps!.map((s) => [s.candidate, s.holdout_correct, s.accepted])).toEqual(
      expected.greedy_strict.steps.map((s) => [s.candidate, s.holdout_correct, s.accepted]),
    );
    expect(result.recipe.params.rule).toBe('>');
    expectMetrics(
      result.evaluations.find((e) => e.evalset.name === 'test')!,
      expected.greedy_strict.metrics.test!,
      'strict greedy on test',
    );
  });

  it('uniform soup equals the numpy mean of the fine-tuned runs (the base is left out)', async () => {
    const result = await job('recipes:cook', { method: 'uniform', ingredients: [kitchenDir] });
    expect(result.recipe.ingredients.map((i) => path.relative(kitchenDir, i.path))).toEqual(
      expected.uniform.ingredients,
    );
    for (const e of result.evaluations)
      expectMetrics(e, expected.uniform.metrics[e.evalset.name]!, `uniform on ${e.evalset.name}`);
  });

  it('learned soup: seeded, budgeted, starts at the uniform soup and never ends worse on held-out loss', async () => {
    const request = {
      method: 'learned' as const,
      ingredients: [path.join(kitchenDir, 'sweep')],
      holdout: data('holdout'),
      evals: [data('test')],
      budget: 16,
      seed: 5,
    };
    const a = await job('recipes:cook', request);
    const r = a.recipe;
    expect(r.budget).toBe(16);
    expect(r.optimiser).toMatch(/cma-es/);
    expect(r.loss_curve).toHaveLength(16);
    const curve = r.loss_curve!.map((p) => p.loss);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!).toBeLessThanOrEqual(curve[i - 1]!);
    expect(r.coefficients!.reduce((s, c) => s + c, 0)).toBeCloseTo(1, 12);
    expect(r.logit_scale!).toBeGreaterThan(0);
    // the soup's reported held-out NLL is of softmax(logit_scale · logits): the optimiser's best loss
    expect(a.evaluations[0]!.evalset.name).toBe('holdout');
    expect(a.evaluations[0]!.nll).toBeCloseTo(curve.at(-1)!, 12);
    // evaluation 1 is the uniform soup: its loss at the best logit scale is at most its loss at scale 1
    expect(curve[0]!).toBeLessThanOrEqual(expected.uniform.metrics.holdout!.nll + 1e-6);
    const b = await job('recipes:cook', request);
    expect(b.recipe.coefficients).toEqual(r.coefficients);
    expect(b.recipe.weights_sha256).toBe(r.weights_sha256);
    // written later from the stored coefficients, the soup has exactly the weights that were evaluated
    const saved = await job('recipes:saveSoup', {
      id: a.recipeId,
      out: path.join(tmp, 'learned.safetensors'),
    });
    expect(saved.same_weights_as_evaluated).toBe(true);
  });

  it('interpolation sweep: α = 0 is A and α = 1 is B on every set', async () => {
    const result = await job('recipes:cook', {
      method: 'interpolate',
      ingredients: [
        path.join(kitchenDir, 'base/model.onnx'),
        path.join(kitchenDir, 'sweep/run-01/model.onnx'),
      ],
      evals: [data('test'), data('shift-noise')],
      alphas: [0, 0.5, 1],
    });
    const points = result.recipe.points!;
    expect(points.map((p) => p.alpha)).toEqual([0, 0.5, 1]);
    for (const name of ['test', 'shift-noise']) {
      expectMetrics(points[0]!.metrics[name]!, expected.models['base/model.onnx']![name]!, `α=0 on ${name}`);
      expectMetrics(
        points[2]!.metrics[name]!,
        expected.models['sweep/run-01/model.onnx']![name]!,
        `α=1 on ${name}`,
      );
    }
  });

  it('compare: every row kind, ensembles from cached logits, McNemar against the best single model', async () => {
    const table = await job('compare:run', { folders: [kitchenDir], learnedBudget: 8 });
    expect(table.rows.map((r) => r.kind)).toEqual([
      'base',
      ...Array(6).fill('ingredient'),
      'best_single',
      'oracle',
      'uniform_soup',
      'greedy_soup',
      'learned_soup',
      'merge',
      'merge',
      'ensemble',
      'greedy_ensemble',
    ]);
    // the kitchen has a base: Model Stock and task arithmetic (λ searched on the held-out set) by default
    expect(table.rows.filter((r) => r.kind === 'merge').map((r) => r.method)).toEqual([
      'model-stock',
      'task-arithmetic',
    ]);
    expect(table.evalsets.map((s) => [s.name, s.role])).toEqual([
      ['holdout', 'holdout'],
      ['test', 'id'],
      ['shift-noise', 'shift'],
      ['shift-subset', 'shift'],
    ]);
    const row = (kind: string) => table.rows.find((r) => r.kind === kind)!;
    expect(row('best_single').ingredients).toEqual(['sweep/run-01/model.onnx']);
    for (const name of ['holdout', 'test', 'shift-noise', 'shift-subset']) {
      expectMetrics(row('ensemble').metrics[name]!, expected.ensemble.metrics[name]!, `ensemble on ${name}`);
      expectMetrics(
        row('greedy_soup').metrics[name]!,
        expected.greedy.metrics[name]!,
        `greedy soup on ${name}`,
      );
      expectMetrics(
        row('uniform_soup').metrics[name]!,
        expected.uniform.metrics[name]!,
        `uniform soup on ${name}`,
      );
      expect(row('best_single').mcnemarP[name]).toBeNull();
    }
    expect(row('ensemble').relativeCost).toBe(6);
    expect(row('greedy_soup').relativeCost).toBe(1);
    const shifts = ['shift-noise', 'shift-subset'].map((n) => row('greedy_soup').metrics[n]!.top1);
    expect(row('greedy_soup').meanShift).toBeCloseTo((shifts[0]! + shifts[1]!) / 2, 12);
    // oracle: the best ingredient on each set, by the numpy reference
    for (const name of ['test', 'shift-noise']) {
      const best = Math.max(
        ...Object.entries(expected.models)
          .filter(([k]) => k.startsWith('sweep/'))
          .map(([, v]) => v[name]!.correct),
      );
      expect(row('oracle').metrics[name]!.correct).toBe(best);
    }
    expect(row('greedy_soup').mcnemarP.test!).toBeLessThan(0.001);
    expect(row('base').params).toBe(16 * 12 + 12 + 12 * 6 + 6);
    const stored = await kitchen.call('compare:table', {});
    expect(stored!.id).toBe(table.id);
    // a newer comparison of another folder: the folder filter still finds this kitchen's
    const { id: _id, createdAt: _at, ...document } = table;
    const other = saveComparison(kitchen.db, { ...document, folders: [path.join(tmp, 'elsewhere')] });
    expect((await kitchen.call('compare:table', {}))!.id).toBe(other.id);
    expect((await kitchen.call('compare:table', { folder: kitchenDir }))!.id).toBe(table.id);
    expect((await kitchen.call('compare:table', { folder: path.join(kitchenDir, 'sweep') }))!.id).toBe(
      table.id,
    );
    expect((await kitchen.call('compare:table', { folder: fixtureDir }))!.id).toBe(table.id);
    // no comparison yet is an empty state (null), an id that names none is not_found
    expect(await kitchen.invoke('compare:table', { folder: path.join(tmp, 'nowhere') })).toBeNull();
    await expect(kitchen.invoke('compare:table', { id: other.id, folder: kitchenDir })).rejects.toMatchObject(
      { code: 'not_found' },
    );
  });

  it('mixes .onnx ingredients and safetensors state dicts bound to one graph.onnx (the demo layout)', async () => {
    const mixed = path.join(fixtureDir, 'kitchen-mixed');
    const result = await job('recipes:cook', {
      method: 'greedy',
      ingredients: [mixed],
      evals: [data('test')],
    });
    const rename = (p: string) =>
      p.replace(/^sweep-safetensors\/(run-0[45])\/model\.safetensors$/, 'sweep/$1/model.onnx');
    expect(result.recipe.steps!.map((s) => [rename(s.candidate), s.holdout_correct, s.accepted])).toEqual(
      expected.greedy.steps.map((s) => [s.candidate, s.holdout_correct, s.accepted]),
    );
    expect(result.recipe.steps![4]!.candidate).toBe('sweep-safetensors/run-04/model.safetensors');
    for (const e of result.evaluations)
      expectMetrics(e, expected.greedy.metrics[e.evalset.name]!, `mixed greedy on ${e.evalset.name}`);
  });

  it('saves a stored recipe as an .onnx soup that evaluates like the soup did', async () => {
    const cooked = await job('recipes:cook', {
      method: 'greedy',
      ingredients: [kitchenDir],
      holdout: data('holdout'),
      evals: [data('test')],
    });
    const out = path.join(tmp, 'greedy-soup.onnx');
    const saved = await job('recipes:saveSoup', {
      id: cooked.recipeId,
      out,
    });
    expect(saved.outputs[0]!.path).toBe(out);
    expect(saved.same_weights_as_evaluated).toBe(true);
    expect(fs.existsSync(`${out}.recipe.json`)).toBe(true);
    const evaluated = await job('evaluations:run', { models: [out], evalsets: [data('holdout')] });
    expect(evaluated.evaluations[0]!.correct).toBe(
      expected.greedy.steps.filter((s) => s.accepted).at(-1)!.holdout_correct,
    );
    const got = await kitchen.call('recipes:get', { id: cooked.recipeId });
    expect(got.outputs.map((o) => o.path)).toEqual([out]);
  });
});

describe('CLI', () => {
  it('tureen compare <folder> --json finds eval sets by role and prints tureen/compare@1', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(
      ['compare', kitchenDir, '--learned-budget', '0', '--json', '--db', path.join(tmp, 'cli.sqlite')],
      {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        isTTY: false,
      },
    );
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout) as {
      schema: string;
      rows: Array<{ kind: string; mean_shift: number | null; mcnemar_p: Record<string, number | null> }>;
    };
    expect(doc.schema).toBe('tureen/compare@1');
    expect(doc.rows.map((r) => r.kind)).not.toContain('learned_soup');
    expect(doc.rows.find((r) => r.kind === 'greedy_ensemble')).toBeDefined();
  });

  it('tureen eval and cook greedy print the documented shapes', async () => {
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli([...argv, '--json', '--db', path.join(tmp, 'cli.sqlite')], {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        isTTY: false,
      });
      expect(code, stderr + stdout).toBe(0);
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    const evalDoc = (await run([
      'eval',
      path.join(kitchenDir, 'sweep/run-00/model.onnx'),
      '--data',
      data('test'),
      data('holdout'),
    ])) as {
      schema: string;
      evaluations: Array<Record<string, unknown>>;
    };
    expect(evalDoc.schema).toBe('tureen/eval@1');
    expect(evalDoc.evaluations.map((e) => [e.data, e.n])).toEqual([
      ['test', 500],
      ['holdout', 400],
    ]);
    expect(Object.keys(evalDoc.evaluations[0]!)).toEqual(
      expect.arrayContaining(['model', 'data', 'n', 'top1', 'top5', 'nll', 'ece', 'provider']),
    );
    const cookDoc = (await run([
      'cook',
      'greedy',
      kitchenDir,
      '--holdout',
      data('holdout'),
      '--eval',
      data('test'),
    ])) as {
      schema: string;
      recipe: {
        method: string;
        ingredients: unknown[];
        steps: Array<{ candidate: string; holdout_top1: number; accepted: boolean }>;
      };
      evaluations: unknown[];
      outputs: unknown[];
    };
    expect(cookDoc.schema).toBe('tureen/cook@1');
    expect(cookDoc.recipe.method).toBe('greedy');
    expect(cookDoc.recipe.steps[0]).toMatchObject({ candidate: 'sweep/run-01/model.onnx', accepted: true });
    expect(cookDoc.evaluations).toHaveLength(2);
    expect(cookDoc.outputs).toEqual([]);
  });
  it('tureen sweep expands "a,b,...,z" and data inspect prints the histogram', async () => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t), isTTY: false };
    const db = ['--db', path.join(tmp, 'cli.sqlite')];
    const a = path.join(kitchenDir, 'base/model.onnx');
    const b = path.join(kitchenDir, 'sweep/run-01/model.onnx');
    expect(
      await runCli(['sweep', a, b, '--alphas', '0,0.25,...,1', '--data', data('test'), '--json', ...db], io),
      stderr,
    ).toBe(0);
    const sweep = JSON.parse(stdout) as {
      schema: string;
      points: Array<{ alpha: number; evaluations: Array<{ data: string; top1: number }> }>;
    };
    expect(sweep.schema).toBe('tureen/sweep@1');
    expect(sweep.points.map((p) => p.alpha)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(sweep.points[4]!.evaluations[0]!.top1).toBe(
      expected.models['sweep/run-01/model.onnx']!.test!.top1,
    );
    stdout = '';
    expect(await runCli(['data', 'inspect', data('shift-subset'), '--json', ...db], io), stderr).toBe(0);
    const inspected = JSON.parse(stdout) as {
      schema: string;
      evalsets: Array<{ n: number; classSubset: number[]; labelHistogram: number[] }>;
    };
    expect(inspected.schema).toBe('tureen/data@1');
    expect(inspected.evalsets[0]!.classSubset).toEqual([0, 2, 3, 5]);
    expect(inspected.evalsets[0]!.labelHistogram.reduce((x, y) => x + y, 0)).toBe(inspected.evalsets[0]!.n);
    expect(await runCli(['data', 'list', ...db], io)).toBe(2);
  });
});
