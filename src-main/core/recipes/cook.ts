import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { z } from 'zod';
import type { CookResult, Recipe, RecipeMethod } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';
import type { Ingredient, WeightAccumulator } from '../checkpoints/index.js';
import { writeSoup } from '../checkpoints/index.js';
import type { EvalSet } from '../datasets/evalset.js';
import type { EvalPlan } from '../datasets/registry.js';
import { planEvalSets } from '../datasets/registry.js';
import type { Evaluation } from '../store/evaluation-store.js';
import { computeMetrics } from '../inference/metrics.js';
import type { MetricValues } from '../../common/api/evaluations.js';
import type { Ranked } from './greedy.js';
import { greedySoup } from './greedy.js';
import type { OpenedFamily } from '../checkpoints/open-family.js';
import { openFamily } from '../checkpoints/open-family.js';
import { LEARNED_DEFAULT_BUDGET, LEARNED_OPTIMISER, learnedSoup } from './learned.js';
import { mergeRecipeFields, mergeSoup } from './merge-cook.js';
import { mergeMethod } from './methods/index.js';
import { saveRecipe } from '../store/recipe-store.js';
import type { RecipeRunner } from './runner.js';
import { parseSearch } from './search.js';
import type { IdentifiedModel } from './soup-models.js';
import { SoupModels } from './soup-models.js';

export type CookOutput = z.output<typeof CookResult>;
export type RecipeDoc = z.output<typeof Recipe>;
type Metrics = z.output<typeof MetricValues>;

export interface CookInput {
  method: z.output<typeof RecipeMethod>;
  ingredients: readonly string[];
  /** merge methods: the base checkpoint, the method's params, and a held-out search `name=from:to:step` */
  base?: string | undefined;
  params?: Record<string, unknown> | undefined;
  search?: string | undefined;
  holdout?: string | undefined;
  evals?: readonly string[] | undefined;
  strict?: boolean | undefined;
  budget?: number | undefined;
  seed?: number | undefined;
  alphas?: readonly number[] | undefined;
  out?: string | undefined;
}

export const DEFAULT_ALPHAS = Array.from({ length: 11 }, (_, i) => i / 10);

export function metricValues(e: Evaluation): Metrics {
  return { n: e.n, correct: e.correct, top1: e.top1, top5: e.top5, nll: e.nll, ece: e.ece };
}

/** Held-out correct counts of every ingredient (cached after the first run), ranked for greedy selection. */
export async function rankOnHoldout(
  runner: RecipeRunner,
  models: SoupModels,
  sweep: OpenedFamily,
  holdout: EvalSet,
): Promise<Array<Ranked<Ingredient>>> {
  runner.plan(holdout.n * sweep.members.length);
  const ranked: Array<Ranked<Ingredient>> = [];
  for (const ingredient of sweep.members) {
    const model = await models.ingredientModel(ingredient, runner.signal);
    const rel = sweep.relative(ingredient.path);
    const result = await runner.evaluate(model, holdout, `held-out: ${rel}`);
    ranked.push({ item: ingredient, rel, correct: result.outcome.metrics.correct });
  }
  return ranked;
}

/**
 * The soup on every eval set. A learned soup's NLL and ECE are of softmax(logit_scale · logits) (its own
 * calibration); the stored evaluation of its weights keeps scale 1.
 */
async function evaluateEverywhere(
  runner: RecipeRunner,
  model: IdentifiedModel,
  plan: EvalPlan,
  label: string,
  logitScale: number,
): Promise<Evaluation[]> {
  const sets = [...(plan.holdout ? [plan.holdout.set] : []), ...plan.others.map((o) => o.set)];
  runner.plan(sets.reduce((a, s) => a + s.n, 0));
  const out: Evaluation[] = [];
  for (const set of sets) {
    const { record, outcome } = await runner.evaluate(model, set, `${label} on ${set.name}`);
    if (logitScale === 1) out.push(record);
    else {
      const scaled = computeMetrics(outcome.logits, set.labels, set.classSubset, logitScale);
      out.push({ ...record, nll: scaled.nll, ece: scaled.ece });
    }
  }
  return out;
}

function folderInputs(inputs: readonly string[]): string[] {
  return inputs.filter((p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
}

/** Cook a soup (or an interpolation sweep), evaluate it on every eval set, store the recipe, write it if asked. */
export async function cook(db: Database, runner: RecipeRunner, input: CookInput): Promise<CookOutput> {
  const sweep = await openFamily(input.ingredients, { db, ...(input.base ? { base: input.base } : {}) });
  const merge = mergeMethod(input.method) ?? null;
  const search = merge && input.search ? parseSearch(input.search, merge) : null;
  const needsHoldout = input.method === 'greedy' || input.method === 'learned' || search !== null;
  const plan = planEvalSets(db, {
    folders: folderInputs(input.ingredients),
    holdout: input.holdout,
    evals: input.evals,
    requireHoldout: needsHoldout,
  });
  const holdoutSet = plan.holdout?.set ?? null;
  const models = await SoupModels.create(sweep);
  const shaOf = (ingredient: Ingredient) => ingredient.sha256(runner.signal);
  let sum: WeightAccumulator;
  let scale = 1;
  let label: string;
  let parts: Array<{ ingredient: Ingredient; coefficient: number }>;
  let extra: Partial<RecipeDoc> = {};
  const warnings: string[] = [];
  const params: Record<string, unknown> = { precision: 'f32' };
  if (input.method === 'uniform') {
    sum = models.accumulator();
    for (const ingredient of sweep.members)
      await sum.addScaled(ingredient, 1, runner.signal ? { signal: runner.signal } : {});
    scale = 1 / sweep.members.length;
    parts = sweep.members.map((ingredient) => ({ ingredient, coefficient: scale }));
    label = `uniform soup (${sweep.members.length})`;
  } else if (input.method === 'greedy') {
    const ranked = await rankOnHoldout(runner, models, sweep, holdoutSet!);
    const greedy = await greedySoup(runner, models, ranked, holdoutSet!, input.strict === true);
    sum = greedy.sum;
    scale = 1 / greedy.accepted.length;
    parts = greedy.accepted.map((a) => ({ ingredient: a.item, coefficient: scale }));
    label = `greedy soup (${greedy.accepted.length} of ${ranked.length})`;
    params.rule = input.strict ? '>' : '>=';
    params.order = 'held-out correct count descending, ties by relative path ascending';
    extra = { steps: greedy.steps };
  } else if (input.method === 'learned') {
    const budget = input.budget ?? LEARNED_DEFAULT_BUDGET;
    const seed = input.seed ?? 0;
    const learned = await learnedSoup(runner, models, sweep.members, holdoutSet!, { budget, seed });
    sum = learned.sum;
    parts = sweep.members.map((ingredient, i) => ({ ingredient, coefficient: learned.coefficients[i]! }));
    label = `learned soup (${sweep.members.length})`;
    Object.assign(params, {
      optimiser: LEARNED_OPTIMISER,
      budget,
      seed,
      objective: 'held-out cross-entropy',
    });
    extra = {
      coefficients: learned.coefficients,
      logit_scale: learned.logitScale,
      loss_curve: learned.lossCurve,
      optimiser: LEARNED_OPTIMISER,
      budget,
    };
  } else if (merge) {
    const merged = await mergeSoup(runner, models, sweep, merge, input.params ?? {}, {
      search,
      holdout: holdoutSet,
    });
    sum = merged.weights;
    parts = merged.parts;
    label = merged.label;
    const { params: recorded, ...fields } = await mergeRecipeFields(merged, sweep, runner.signal);
    Object.assign(params, recorded);
    extra = fields;
    warnings.push(...merged.report.warnings);
  } else {
    const result = await interpolate(runner, models, sweep, plan, input.alphas ?? DEFAULT_ALPHAS);
    sum = result.sum;
    parts = result.parts;
    label = result.label;
    Object.assign(params, {
      alphas: result.alphas,
      alpha: result.alpha,
      chosen_by: holdoutSet ? 'held-out top-1' : 'middle of the grid',
    });
    extra = { points: result.points };
  }
  const { model } = models.soupModel(sum, scale, label);
  const evaluations = await evaluateEverywhere(runner, model, plan, label, extra.logit_scale ?? 1);
  const ingredients: RecipeDoc['ingredients'] = [];
  for (const p of parts)
    ingredients.push({
      path: p.ingredient.path,
      sha256: await shaOf(p.ingredient),
      coefficient: p.coefficient,
    });
  const recipe: RecipeDoc = {
    method: input.method,
    params,
    ingredients,
    holdout: holdoutSet ? { name: holdoutSet.name, sha256: holdoutSet.hash } : null,
    ...extra,
    weights_sha256: model.hash,
  };
  let outputs: Array<{ path: string; sha256: string }> = [];
  if (input.out) {
    runner.job?.progress({ done: 0, total: null, unit: 'files', message: `writing ${input.out}` });
    const written = await writeSoup({
      family: sweep.family,
      weights: sum,
      scale,
      outputs: [path.resolve(input.out)],
      recipe: {
        method: input.method,
        params,
        ingredients: parts.map((p, i) => ({
          path: p.ingredient.path,
          bytes: p.ingredient.bytes,
          sha256: ingredients[i]!.sha256,
          coefficient: p.coefficient,
        })),
        ...(sweep.base && merge
          ? {
              base: {
                path: sweep.base.path,
                bytes: sweep.base.bytes,
                sha256: await shaOf(sweep.base),
              },
            }
          : {}),
        selection: {
          holdout: recipe.holdout,
          ...(recipe.merge ? { merge: recipe.merge } : {}),
          ...(recipe.search ? { search: recipe.search } : {}),
          ...(recipe.steps ? { steps: recipe.steps } : {}),
          ...(recipe.loss_curve
            ? {
                loss_curve: recipe.loss_curve,
                logit_scale: recipe.logit_scale,
                optimiser: recipe.optimiser,
                budget: recipe.budget,
              }
            : {}),
          weights_sha256: model.hash,
        },
      },
    });
    outputs = written.outputs.map((o) => ({ path: o.path, sha256: o.sha256 }));
  }
  const recipeId = saveRecipe(db, {
    method: input.method,
    label,
    folder: sweep.root,
    weightsHash: model.hash,
    document: { recipe, evaluations, outputs, ...(warnings.length ? { warnings } : {}) },
  });
  return { recipeId, recipe, evaluations, outputs, ...(warnings.length ? { warnings } : {}) };
}

/** A, B for interpolation: two ingredients, or the base and one fine-tuned ingredient (WiSE-FT). */
function interpolationEnds(sweep: OpenedFamily): [Ingredient, Ingredient] {
  if (sweep.members.length === 2) return [sweep.members[0]!, sweep.members[1]!];
  if (sweep.members.length === 1 && sweep.base) return [sweep.base, sweep.members[0]!];
  throw new TureenError(
    'bad_request',
    `interpolation needs two checkpoints A and B (or a base and one fine-tuned checkpoint); got ${sweep.members.length} ingredient(s)${sweep.base ? ' and a base' : ''}`,
  );
}

async function interpolate(
  runner: RecipeRunner,
  models: SoupModels,
  sweep: OpenedFamily,
  plan: EvalPlan,
  alphas: readonly number[],
) {
  const [a, b] = interpolationEnds(sweep);
  const signal = runner.signal ? { signal: runner.signal } : {};
  const sets = [...(plan.holdout ? [plan.holdout.set] : []), ...plan.others.map((o) => o.set)];
  if (sets.length === 0)
    throw new TureenError(
      'bad_evalset',
      'an interpolation sweep needs eval sets: pass --data (or --holdout/--eval)',
    );
  const points: NonNullable<RecipeDoc['points']> = [];
  runner.plan(alphas.length * sets.reduce((s, x) => s + x.n, 0));
  let chosen: { alpha: number; correct: number; sum: WeightAccumulator } | null = null;
  const middle = alphas[Math.floor(alphas.length / 2)]!;
  for (const alpha of alphas) {
    runner.throwIfCancelled();
    const sum = models.accumulator();
    if (alpha !== 1) await sum.addScaled(a, 1 - alpha, signal);
    if (alpha !== 0) await sum.addScaled(b, alpha, signal);
    const { model } = models.soupModel(sum, 1, `α = ${alpha}`);
    const metrics: Record<string, Metrics> = {};
    for (const set of sets) {
      const result = await runner.evaluate(model, set, `α = ${alpha} on ${set.name}`);
      metrics[set.name] = metricValues(result.record);
    }
    points.push({ alpha, metrics });
    const score = plan.holdout ? metrics[plan.holdout.set.name]!.correct : alpha === middle ? 1 : 0;
    if (!chosen || score > chosen.correct) chosen = { alpha, correct: score, sum };
  }
  return {
    sum: chosen!.sum,
    alpha: chosen!.alpha,
    alphas: [...alphas],
    points,
    parts: [
      { ingredient: a, coefficient: 1 - chosen!.alpha },
      { ingredient: b, coefficient: chosen!.alpha },
    ],
    label: `interpolation ${sweep.relative(a.path)} → ${sweep.relative(b.path)} (α = ${chosen!.alpha})`,
  };
}
